"""Save and load a run's checkpoints.

A run keeps two: ``last.pt``, the state after the latest epoch (what
``resume=`` continues from; written at most once a second, see
CheckpointWriter, and when the run stops), and ``best.pt``, the weights with the lowest monitored loss
(validation loss when there is a validation split, else training loss; what
``rnnexp.predict`` uses). Each is a plain dict of tensors, strings, numbers and
lists (no pickled modules), so it loads with ``torch.load(weights_only=True)``:

    state_dict   the model's weights: encoder.*, recurrence.*, head.*
    config       the resolved config (data-derived sizes filled in); on loading,
                 rnnexp.config.keys.migrate adds the keys introduced since it was saved
                 (model.recurrence, from the option model.name names), and the
                 weights of a model saved before model.recurrence (cell.*,
                 rnn.*) move under recurrence.
    vocabulary   the characters, in id order (empty for real values)
    sizes        what the model was sized from (rnnexp.data.task.DataSizes: inputs, outputs, length)
    optimizer, scheduler   their state_dicts (scheduler: None without one)
    epoch        the last epoch finished
    rng          torch's random state and the batch-shuffling generator's
    history      the losses so far and the early-stopping bookkeeping
    partial      only after SIGINT/SIGTERM mid-epoch: where in the epoch it stopped
"""

from __future__ import annotations

import io
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnexp.config.command_words import start_command
from rnnexp.config.keys import migrate
from rnnexp.config.schemas import COSINE
from rnnexp.data.task import DataSizes
from rnnexp.data.vocab import Vocabulary
from rnnexp.errors import UserError
from rnnexp.files import write_atomically, write_bytes
from rnnexp.models.tagger import RecurrentTagger, build_model
from rnnexp.results import BEST, LAST, METRICS_NAME, RunResult, Status, saved_overrides


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    write_atomically(path, lambda tmp: torch.save(state, tmp))


class CheckpointWriter:
    """Writes a run's last.pt and best.pt after its epochs, at most once per ``interval`` seconds.

    A save costs as much as an epoch of hello even for the notebook's models,
    so saving every epoch would double a short run and dominate a sweep job's
    overhead (figures in docs/performance.md, "Checkpoints"). Between writes
    the newest states wait in memory (copied, since training goes on changing
    the live tensors) and :meth:`flush` writes them: after the last epoch, and
    when the run stops for any reason. A crash loses at most ``interval``
    seconds of epochs; an epoch longer than that is saved as soon as it ends.
    """

    def __init__(self, run_dir: str | os.PathLike, interval: float = 1.0):
        self.run_dir = Path(run_dir)
        self.interval = interval
        self._written_at = time.perf_counter()
        self._last: Optional[dict[str, Any]] = None  # states not yet on disk
        self._best: Optional[dict[str, Any]] = None

    def epoch_end(self, state: dict[str, Any], improved: bool) -> None:
        """Record the state after an epoch; ``improved``: it is also the new best."""
        if time.perf_counter() - self._written_at >= self.interval:
            self._last, self._best = state, state if improved else self._best
            self.flush()
        else:
            snapshot = _copy(state)  # the live weights and history lists move on
            self._last, self._best = snapshot, snapshot if improved else self._best

    def flush(self) -> None:
        """Write the states still in memory (each serialised once, even when best is last)."""
        if self._last is not None:
            last = _serialise(self._last)
            write_bytes(self.run_dir / LAST, last)
        if self._best is not None:
            write_bytes(self.run_dir / BEST, last if self._best is self._last else _serialise(self._best))
        self._last = self._best = None
        self._written_at = time.perf_counter()


def _copy(value: Any) -> Any:
    """Tensors cloned and containers rebuilt; the rest (numbers, strings) shared.

    copy.deepcopy does the same but takes ten times as long over a state's
    many small tensors.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_copy(item) for item in value)
    return value


def _serialise(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint safely: tensors and plain data only, never arbitrary objects.

    ``weights_only=True`` makes torch's unpickler refuse anything but tensors
    and plain containers, so no code in a foreign file can run. The config is
    migrated to the current schemas, so a checkpoint saved before a key existed
    resumes, and restores its model, with that key's default.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserError(
            f"checkpoint {path}: refused, it holds pickled objects other than tensors and plain data "
            f"({_first_sentence(error)}); rnnexp checkpoints never do"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        raise UserError(f"checkpoint {path}: truncated or corrupted ({_first_sentence(error)})") from None
    if not isinstance(state, dict) or not {"state_dict", "config", "vocabulary"} <= set(state):
        raise UserError(f"checkpoint {path}: not an rnnexp checkpoint (no state_dict, config and vocabulary)")
    state["config"] = migrate(state["config"])
    state["state_dict"] = migrate_weights(state["state_dict"])
    return state


# The modules of rnnexp.models.tagger.RecurrentTagger that a state_dict's keys start with.
_WRAPPER_PARTS = ("encoder.", "head.", "recurrence.")


def migrate_weights(state_dict: dict[str, Any]) -> dict[str, Any]:
    """The weights in today's layout: a key outside encoder, head and recurrence was the recurrence's own.

    Models saved before model.recurrence held their recurrent module
    directly (cell.weight_ih, rnn.weight_ih_l0); it now sits under
    ``recurrence.`` with the same name. Today's checkpoints pass unchanged.
    """
    return {
        key if key.startswith(_WRAPPER_PARTS) else f"recurrence.{key}": value for key, value in state_dict.items()
    }


def _first_sentence(error: BaseException) -> str:
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
        raise UserError(f"{key}={run_dir}: {_why_no_checkpoint(run_dir, name, key)}")
    return path


def _why_no_checkpoint(run_dir: Path, name: str, key: str) -> str:
    """What the run's metrics.json says about a missing checkpoint, and what to do.

    A run writes its checkpoints from the end of its first epoch on (last.pt
    also when a signal stops it inside that epoch): one that failed, diverged
    or was stopped before has only its metrics.json.
    """
    if not (run_dir / METRICS_NAME).is_file():
        return f"holds no {name} (is it an rnnexp run directory?)"
    record = RunResult.read(run_dir / METRICS_NAME)
    nothing = "there is nothing to resume" if key == "resume" else f"it has no {name}"
    if record.status is Status.INTERRUPTED:
        return f"the run was interrupted ({record.signal}) before its first epoch finished, so {nothing}; {_start_again(run_dir)}"
    if record.status is Status.FAILED:
        return f"the run failed ({record.error}), so {nothing}"
    if record.status is Status.DIVERGED:
        return f"the run diverged in its first epoch, so {nothing}; try a lower lr or clip=1.0"
    return f"holds no {name} (metrics.json says the run ended {record.status} after {record.epochs} epochs)"


def _start_again(run_dir: Path) -> str:
    """The command that started the run, from the overrides Hydra saved beside it."""
    overrides = saved_overrides(run_dir)
    if overrides is None:  # a run trained by calling train() directly
        return "start it again"
    return f"start it again: {start_command(overrides)}"


def restore_model(state: dict[str, Any], path: str | os.PathLike = "(checkpoint)") -> tuple[RecurrentTagger, Vocabulary]:
    """Rebuild the trained model and its vocabulary from a loaded checkpoint."""
    vocab = Vocabulary(state["vocabulary"])
    model = build_model(state["config"], sizes_of(state))
    load_weights(model, state, path)
    return model, vocab


def sizes_of(state: dict[str, Any]) -> DataSizes:
    """The data sizes a checkpoint's model was built from (one written before they were kept: its vocabulary's)."""
    if "sizes" in state:
        return DataSizes(**state["sizes"])
    return DataSizes.of_vocabulary(len(state["vocabulary"]))


@dataclass
class Resume:
    """Where a resumed run picks up: a loaded last.pt and the directory it came from."""

    state: dict[str, Any]
    source_dir: Path


def load_resume(run_dir: str, epochs: Optional[int]) -> tuple[DictConfig, Resume]:
    """The config and state to continue ``run_dir`` from its last checkpoint.

    The run continues with the config it was started with; ``epochs``, when
    given, extends (or shortens) it to that many epochs in all. A cosine
    schedule that spanned the run then spans the new length: the epochs left
    take the lrs a run planned for that many epochs would (see
    rnnexp.training.optimizers.replan_cosine), rather than climbing back up the
    cosine from the lr of 0 the first run ended at.
    """
    path = find_checkpoint(run_dir, LAST, "resume")
    state = load_checkpoint(path)
    cfg = OmegaConf.create(state["config"])
    if epochs is not None:
        if cfg.scheduler._target_ == COSINE and cfg.scheduler.T_max == cfg.epochs:
            cfg.scheduler.T_max = epochs
        cfg.epochs = epochs
    if state["epoch"] >= cfg.epochs:
        raise UserError(
            f"resume={run_dir}: the run already finished its {state['epoch']} epochs; "
            f"add epochs=N (N > {state['epoch']}) to train it further"
        )
    return cfg, Resume(state, path.parent)
