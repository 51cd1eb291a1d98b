"""Save and load a run's weights with its config and vocabulary.

A checkpoint is a plain dict of tensors, strings, numbers and lists (no pickled
modules), so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from rnnexp.files import write_atomically
from rnnexp.models import RecurrentTagger, build_model
from rnnexp.vocab import Vocabulary

CHECKPOINT_NAME = "model.pt"


def save_checkpoint(path: str | os.PathLike, model: nn.Module, config: dict, vocabulary: list[str]) -> None:
    state = {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config,  # resolved, with the data-derived sizes filled in
        "vocabulary": vocabulary,
    }
    write_atomically(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def restore_model(state: dict[str, Any]) -> tuple[RecurrentTagger, Vocabulary]:
    """Rebuild the trained model and its vocabulary from a loaded checkpoint."""
    vocab = Vocabulary(state["vocabulary"])
    model = build_model(state["config"], len(vocab))
    model.load_state_dict(state["state_dict"])
    return model, vocab
