"""Generate text from a trained character model, and the eval mode that a pass outside training runs in."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from rnnexp.data.vocab import Vocabulary
from rnnexp.models.tagger import RecurrentTagger


# Here rather than in rnnexp.tracking.graph or rnnexp.tools.shapes, which use it too:
# tracking imports torch only once a run opens its writer, and shapes is a
# command that composes configs; this module sits just above the models.
@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """``model`` in eval mode (dropout off) inside the block, then back in the mode it was in, even on an error."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@torch.no_grad()
def sample_text(
    model: RecurrentTagger,
    vocab: Vocabulary,
    prime: str,
    length: int,
    temperature: float,
    window: int,
    generator: torch.Generator,
    carry_state: bool = False,
) -> str:
    """Continue ``prime`` by ``length`` characters, each drawn at ``temperature``.

    With ``carry_state`` (a model trained statefully, for which the whole text
    so far is context) the model reads the prime once and then one character
    per step, carrying its state. Otherwise each step reruns the model from
    zeros over the last ``window`` characters (the length it was trained on).
    Either way each draw comes from the scores at the final position, and from
    ``generator``, so sampling never moves the training's random state.
    """
    device = next(model.parameters()).device
    ids = vocab.encode(prime).tolist()
    with eval_mode(model):
        if carry_state:
            state = model.initial_state(1)
            context = torch.tensor([ids], device=device)  # (1, len(prime)), then (1, 1)
            for _ in range(length):
                logits, _, state = model(context, state=state)  # (1, T, C)
                ids.append(_draw(logits, temperature, generator))
                context = torch.tensor([ids[-1:]], device=device)
        else:
            for _ in range(length):
                context = torch.tensor([ids[-window:]], device=device)  # (1, <=window)
                logits, _ = model(context)  # (1, T, C)
                ids.append(_draw(logits, temperature, generator))
    return vocab.decode(ids)


def _draw(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> int:
    """A character id drawn from the scores at the last position of ``logits`` (1, T, C)."""
    probabilities = torch.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)  # (C,)
    return int(torch.multinomial(probabilities, 1, generator=generator))
