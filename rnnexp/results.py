"""What a run reports: its status, its loss history, and ``metrics.json``.

One shape for every writer: a run that finished, diverged or was
interrupted (rnnexp.training.trainer), and a job that failed or was stopped before it
could train (rnnexp.cli.main), all write a :class:`RunResult`, so every run
directory says how its run ended; the sweep summary and scripts read it
back with :meth:`RunResult.read`.
"""

from __future__ import annotations

import functools
import json
import math
import signal
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from rnnexp.files import write_json

METRICS_NAME = "metrics.json"
# A run's checkpoints (rnnexp.training.checkpoint writes them). Named here, where torch is
# not imported, for the checks that look for a run before anything is built.
LAST = "last.pt"  # the state after the latest epoch: what resume= continues
BEST = "best.pt"  # the weights with the lowest monitored loss


class Status(str, Enum):
    """How a run ended. A ``str``, so ``metrics.json`` holds the plain word."""

    OK = "ok"  # trained every epoch, or stopped early on patience
    DIVERGED = "diverged"  # a non-finite loss stopped it, before that batch's step; or an exploding one (diverge_ratio)
    INTERRUPTED = "interrupted"  # SIGINT or SIGTERM; resume= continues it from its last checkpoint, if it saved one
    FAILED = "failed"  # raised before or while training (its record written all the same; a sweep goes on)
    # Stopped after an epoch by its caller's per-epoch hook: a search's pruner judged its loss
    # worse than the other trials' at that epoch. An end like ok: not resumed, not a failure.
    PRUNED = "pruned"
    # Sweep jobs that have not ended, as the sweep summary names them (rnnexp.sweep.jobs); never in a metrics.json.
    RUNNING = "running"  # its directory holds no metrics.json yet: still training, or killed before it could write one
    MISSING = "missing"  # planned by the sweep, but no directory: never started

    def __str__(self) -> str:
        return self.value


# The statuses of a run that has ended: its metrics.json says how, and it will not change
# (a sweep keeps such a job when it continues; an interrupted one resumes).
ENDED = frozenset({Status.OK, Status.DIVERGED, Status.FAILED, Status.PRUNED})


def reaches(right: int, sequences: int, solved_at: float) -> bool:
    """Whether ``right`` of ``sequences`` is at least the share ``solved_at``, as the trainer's accuracy compares it."""
    return right / sequences >= solved_at


@dataclass
class History:
    """The per-epoch record a checkpoint carries, so a resumed run goes on where it stopped."""

    losses: list[float] = field(default_factory=list)  # training loss of each finished epoch
    val_losses: list[float] = field(default_factory=list)  # validation loss of each (empty without a split)
    solved_epoch: Optional[int] = None  # first epoch whose evaluation sequences were right (solved_at of them)
    best_loss: float = math.inf  # lowest monitored loss so far (validation if any, else training)
    best_epoch: Optional[int] = None  # epoch of best.pt
    epochs_since_best: int = 0  # for early stopping

    @property
    def epochs(self) -> int:
        """Epochs finished: one training loss is recorded for each."""
        return len(self.losses)

    @property
    def monitored_loss(self) -> float:
        """The latest epoch's monitored loss: validation where the task has a split, else training."""
        return self.val_losses[-1] if self.val_losses else self.losses[-1]

    def note_solved(self, epoch: int, seq_accuracy: float, solved_at: float = 1.0) -> None:
        """The solved rule: the first epoch after which every evaluation sequence is right (``solved_at`` of them)."""
        if self.solved_epoch is None and seq_accuracy >= solved_at:
            self.solved_epoch = epoch

    def end_epoch(self, train_loss: float, val_loss: Optional[float]) -> bool:
        """Record a finished epoch; True when its monitored loss is the best so far."""
        self.losses.append(train_loss)
        if val_loss is not None:
            self.val_losses.append(val_loss)
        monitored = val_loss if val_loss is not None else train_loss
        if monitored < self.best_loss:
            self.best_loss, self.best_epoch, self.epochs_since_best = monitored, self.epochs, 0
            return True
        self.epochs_since_best += 1
        return False


@dataclass(kw_only=True)
class RunResult:
    """A run's ``metrics.json``."""

    # The task's kind (rnnexp.data.task.KINDS: tagging, language_model, classify, regress): what the
    # sweep summary ranks by and an Optuna search optimises; None when the run never read its data.
    kind: Optional[str] = None
    prediction: Optional[str] = None  # the trained model's output for the first evaluation sequence
    target: Optional[str] = None
    # On the evaluation set (validation if any); None unless ok. A pruned run's is the loss its
    # search's trial was told at the epoch it stopped (validation if any, else that epoch's training loss).
    final_loss: Optional[float] = None
    # Characters right / characters on the evaluation set; for one answer per sequence (classify,
    # regress) the share of sequences right: the class, or every number within task.tolerance.
    accuracy: Optional[float] = None
    sequences: Optional[int] = None  # evaluation sequences (None for task=text, which is never solved)
    sequences_right: Optional[int] = None  # of those, how many had every character right at the end
    solved_epoch: Optional[int] = None
    solved_at: float = 1.0  # the share of sequences right that counts as solved (the config's solved_at)
    epochs: int = 0  # epochs finished (fewer than configured after early stopping, divergence, pruning or a signal)
    seconds: float
    status: Status
    run_dir: str
    losses: list[float] = field(default_factory=list)  # training loss of each epoch
    val_losses: list[float] = field(default_factory=list)  # validation loss of each epoch (empty without a split)
    best_epoch: Optional[int] = None  # epoch of best.pt
    stopped_early: bool = False
    # Where it trained: the torch device ("cpu", "cuda:0", "mps"; None when it never trained), and the
    # CUDA_VISIBLE_DEVICES its process had (None when unset): with hydra/launcher=gpus, the GPU behind its cuda:0.
    device: Optional[str] = None
    cuda_visible_devices: Optional[str] = None
    signal: Optional[str] = None  # SIGINT or SIGTERM when interrupted
    error: Optional[str] = None  # the one-line reason when failed

    @classmethod
    def failed(cls, run_dir: str | Path, error: str, seconds: float) -> "RunResult":
        return cls(status=Status.FAILED, run_dir=str(run_dir), seconds=round(seconds, 4), error=error)

    @classmethod
    def interrupted(cls, run_dir: str | Path, signal_name: str, seconds: float) -> "RunResult":
        """A run stopped by a signal before training began: no epoch, no checkpoint."""
        return cls(status=Status.INTERRUPTED, run_dir=str(run_dir), seconds=round(seconds, 4), signal=signal_name)

    @property
    def exit_status(self) -> int:
        """The shell's convention for death by signal: 128 + its number (130 SIGINT, 143 SIGTERM); else 0."""
        return 128 + signal.Signals[self.signal] if self.status is Status.INTERRUPTED and self.signal else 0

    @property
    def solved(self) -> bool:
        """Solved at the end: solved_at of the evaluation sequences right (every one by default)."""
        return bool(self.sequences) and reaches(self.sequences_right or 0, self.sequences, self.solved_at)

    def write(self, run_dir: str | Path) -> None:
        write_json(Path(run_dir) / METRICS_NAME, asdict(self))

    @classmethod
    def read(cls, path: str | Path) -> "RunResult":
        """Load a ``metrics.json``; keys this version does not know are ignored."""
        record: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        result = cls(**{key: value for key, value in record.items() if key in known})
        result.status = Status(result.status)
        return result


# What Hydra and TensorBoard leave in a run directory, beside rnnexp's own files.
OVERRIDES_FILE = Path(".hydra") / "overrides.yaml"  # the job's command-line overrides, as typed
# The sweep's whole config, with its command-line overrides (hydra.overrides.task)
# and its sweeper: Hydra's basic sweeper saves it as the sweep starts, and
# rnnexp.sweep.callback saves it for every sweeper (the Optuna one writes none).
MULTIRUN_NAME = "multirun.yaml"
EVENT_FILES = "events.out.tfevents.*"  # TensorBoard's event files


def saved_overrides(run_dir: str | Path) -> Optional[list[str]]:
    """The overrides Hydra saved beside a run; None for a run trained by calling train() directly."""
    path = Path(run_dir) / OVERRIDES_FILE
    if not path.is_file():
        return None
    from omegaconf import OmegaConf  # imported here: the entry point imports this module before Hydra

    return [str(override) for override in OmegaConf.load(path)]


def sweep_task_overrides(sweep_dir: str | Path) -> Optional[list[str]]:
    """The overrides a sweep was started with (its ``multirun.yaml``'s hydra.overrides.task); None without one.

    Every job of a sweep reads them (for its line and its hparams), so the
    parse is kept while the file stays the same: one per sweep and process.
    """
    path = Path(sweep_dir) / MULTIRUN_NAME
    try:
        stamp = path.stat()
    except OSError:
        return None
    return list(_task_overrides_of(str(path.resolve()), stamp.st_mtime_ns, stamp.st_size))


@functools.lru_cache(maxsize=8)
def _task_overrides_of(path: str, mtime_ns: int, size: int) -> tuple[str, ...]:
    from omegaconf import OmegaConf  # imported here: the entry point imports this module before Hydra

    return tuple(str(o) for o in OmegaConf.select(OmegaConf.load(path), "hydra.overrides.task", default=None) or [])
