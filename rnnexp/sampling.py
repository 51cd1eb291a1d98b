"""Generate text from a trained character model."""

from __future__ import annotations

import torch

from rnnexp.models import RecurrentTagger
from rnnexp.vocab import Vocabulary


@torch.no_grad()
def sample_text(
    model: RecurrentTagger,
    vocab: Vocabulary,
    prime: str,
    length: int,
    temperature: float,
    window: int,
    generator: torch.Generator,
) -> str:
    """Continue ``prime`` by ``length`` characters, each drawn at ``temperature``.

    Each step reruns the model over the last ``window`` characters (the length
    it was trained on) and draws from the scores at the final position. The
    draws come from ``generator``, so sampling never moves the training's
    random state.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = vocab.encode(prime).tolist()
    for _ in range(length):
        context = torch.tensor([ids[-window:]], device=device)  # (1, <=window)
        logits, _ = model(context)  # (1, T, C)
        probabilities = torch.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)  # (C,)
        ids.append(int(torch.multinomial(probabilities, 1, generator=generator)))
    model.train(was_training)
    return vocab.decode(ids)
