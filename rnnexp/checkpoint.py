"""Save and load a run's checkpoints.

A run keeps two: ``last.pt``, written after every epoch (what ``resume=``
continues from), and ``best.pt``, the weights with the lowest monitored loss
(validation loss when there is a validation split, else training loss; what
``rnnexp.predict`` uses). Each is a plain dict of tensors, strings, numbers and
lists (no pickled modules), so it loads with ``torch.load(weights_only=True)``:

    state_dict   the model's weights
    config       the resolved config (data-derived sizes filled in)
    vocabulary   the characters, in id order
    optimizer, scheduler   their state_dicts (scheduler: None without one)
    epoch        the last epoch finished
    rng          torch's random state and the batch-shuffling generator's
    history      the losses so far and the early-stopping bookkeeping
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from omegaconf import DictConfig, OmegaConf

from rnnexp.errors import UserError
from rnnexp.files import write_atomically
from rnnexp.models import RecurrentTagger, build_model
from rnnexp.vocab import Vocabulary

LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    write_atomically(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def find_checkpoint(run_dir: str | os.PathLike, name: str, key: str) -> Path:
    """``run_dir/name``, or a UserError naming ``key`` (the option that gave run_dir)."""
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise UserError(f"{key}={run_dir}: no such run directory")
    path = run_dir / name
    if not path.is_file():
        raise UserError(f"{key}={run_dir}: holds no {name} (is it an rnnexp run directory?)")
    return path


def restore_model(state: dict[str, Any]) -> tuple[RecurrentTagger, Vocabulary]:
    """Rebuild the trained model and its vocabulary from a loaded checkpoint."""
    vocab = Vocabulary(state["vocabulary"])
    model = build_model(state["config"], len(vocab))
    model.load_state_dict(state["state_dict"])
    return model, vocab


@dataclass
class Resume:
    """Where a resumed run picks up: a loaded last.pt and the directory it came from."""

    state: dict[str, Any]
    source_dir: Path


def load_resume(run_dir: str, epochs: Optional[int]) -> tuple[DictConfig, Resume]:
    """The config and state to continue ``run_dir`` from its last checkpoint.

    The run continues with the config it was started with; ``epochs``, when
    given, extends (or shortens) it to that many epochs in all.
    """
    path = find_checkpoint(run_dir, LAST, "resume")
    state = load_checkpoint(path)
    cfg = OmegaConf.create(state["config"])
    if epochs is not None:
        cfg.epochs = epochs
    if state["epoch"] >= cfg.epochs:
        raise UserError(
            f"resume={run_dir}: the run already finished its {state['epoch']} epochs; "
            f"add epochs=N (N > {state['epoch']}) to train it further"
        )
    return cfg, Resume(state, path.parent)
