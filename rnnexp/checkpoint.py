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
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn
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
    """Load a checkpoint safely: tensors and plain data only, never arbitrary objects.

    ``weights_only=True`` makes torch's unpickler refuse anything but tensors
    and plain containers, so no code in a foreign file can run.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(
            f"checkpoint {path}: refused, it holds pickled objects other than tensors and plain data "
            f"({_first_line(error)}); rnnexp checkpoints never do"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise UserError(f"checkpoint {path}: truncated or corrupted ({_first_line(error)})") from None
    if not isinstance(state, dict) or not {"state_dict", "config", "vocabulary"} <= set(state):
        raise UserError(f"checkpoint {path}: not an rnnexp checkpoint (no state_dict, config and vocabulary)")
    return state


def _first_line(error: BaseException) -> str:
    """The error's first sentence: torch's messages go on for paragraphs."""
    text = str(error).strip()
    return text.splitlines()[0].split(". ")[0] if text else type(error).__name__


def load_weights(model: nn.Module, state: dict[str, Any], path: str | os.PathLike) -> None:
    """Put a checkpoint's weights into ``model``, or say why they do not fit."""
    try:
        model.load_state_dict(state["state_dict"])
    except RuntimeError as error:
        # "Missing key(s) ...", "size mismatch for head.weight ...": weights from
        # another model or vocabulary than the config the checkpoint carries.
        detail = " ".join(str(error).split())
        raise UserError(
            f"checkpoint {path}: its weights do not fit its model and vocabulary "
            f"(another model's or vocabulary's checkpoint?): {detail[:300]}"
        ) from None


def find_checkpoint(run_dir: str | os.PathLike, name: str, key: str) -> Path:
    """``run_dir/name``, or a UserError naming ``key`` (the option that gave run_dir)."""
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise UserError(f"{key}={run_dir}: no such run directory")
    path = run_dir / name
    if not path.is_file():
        raise UserError(f"{key}={run_dir}: holds no {name} (is it an rnnexp run directory?)")
    return path


def restore_model(state: dict[str, Any], path: str | os.PathLike = "(checkpoint)") -> tuple[RecurrentTagger, Vocabulary]:
    """Rebuild the trained model and its vocabulary from a loaded checkpoint."""
    vocab = Vocabulary(state["vocabulary"])
    model = build_model(state["config"], len(vocab))
    load_weights(model, state, path)
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
