"""What a sweep job does with a directory that an earlier attempt of it left behind.

A job finds its directory already used when SLURM requeues it (preemption,
``scontrol requeue``, submitit's time-limit handling: the same command runs
again) and when ``python -m rnnexp continue=<sweep dir>`` runs a sweep again
into its own directory. The rule, the same for every launcher:

- an earlier attempt of the same config that stopped before its end (a signal,
  a killed node, a failure after its first checkpoint) is resumed from its
  ``last.pt``, in place, with the losses of a run that never stopped;
- one that ended (ok, diverged, or pruned by its search) is kept as it is and not trained again;
- one that left no checkpoint is started again from its first epoch;
- a run of another config is refused, and nothing of it is touched.

While a job trains it holds a lock on its directory, so that a second attempt
started while the first still runs (a sweep continued while its old jobs
still run on the cluster) is refused instead of writing beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

from omegaconf import DictConfig, OmegaConf

from rnnexp.errors import UserError
from rnnexp.results import EVENT_FILES, LAST, METRICS_NAME, RunResult, Status

log = logging.getLogger("rnnexp")

# Keys that say how a run is carried out, not what it computes: a requeued job
# may land on another node, with another core count or device.
_HOW_IT_RUNS = {"resume", "threads", "progress", "device", "sweep_lines"}


class DirectoryTaken(UserError):
    """The job's directory holds another config's run, or a job still running: the job leaves it untouched."""


@dataclass
class EarlierAttempt:
    """What a job's directory holds from an earlier attempt of the same job."""

    finished: Optional[RunResult] = None  # it ended: kept, not trained again
    checkpoint: Optional[dict[str, Any]] = None  # it stopped part-way: resume from this last.pt

    @property
    def nothing(self) -> bool:
        return self.finished is None and self.checkpoint is None


def earlier_attempt(run_dir: str | Path, cfg: DictConfig) -> EarlierAttempt:
    """Read what ``run_dir`` holds of an earlier attempt of ``cfg``'s job; refuse another config's run.

    Files of an attempt that left no checkpoint (its metrics.json says failed
    or interrupted before the first epoch ended, or it was killed before
    saving) are cleared, since the new attempt repeats all of it.
    """
    run_dir = Path(run_dir)
    record = _record(run_dir)
    last = run_dir / LAST
    if last.is_file():
        from rnnexp.training.checkpoint import load_checkpoint  # torch: only for a directory that holds a checkpoint

        state = load_checkpoint(last)
        _refuse_another_config(run_dir, cfg, state["config"])
        if record is not None and record.status in (Status.OK, Status.DIVERGED, Status.PRUNED):
            return EarlierAttempt(finished=record)  # a pruned trial stays pruned: its search judged it
        return EarlierAttempt(checkpoint=state)
    if record is not None and record.status is Status.DIVERGED:
        return EarlierAttempt(finished=record)  # diverged in its first epoch: an end like any other
    for events in run_dir.glob(EVENT_FILES):
        events.unlink()  # an attempt with no checkpoint: the new one writes all of its records again
    return EarlierAttempt()


def _record(run_dir: Path) -> Optional[RunResult]:
    path = run_dir / METRICS_NAME
    try:
        return RunResult.read(path) if path.is_file() else None
    except (ValueError, TypeError):  # cut off mid-write by a kill: as if absent
        return None


def _refuse_another_config(run_dir: Path, cfg: DictConfig, saved: dict[str, Any]) -> None:
    differences = config_differences(OmegaConf.to_container(cfg, resolve=True), saved)
    if differences:
        raise DirectoryTaken(
            f"{run_dir}: holds a run of another config ({'; '.join(differences[:3])}); "
            "it is left as it is: sweep into a new directory (leave hydra.sweep.dir unset)"
        )


def config_differences(current: dict[str, Any], saved: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: saved -> current`` for every setting where the two configs differ.

    A value the job leaves to be derived from the data (None, such as a
    hidden size taken from the vocabulary) matches whatever the saved run
    derived, and the keys in _HOW_IT_RUNS are not compared.
    """
    differences = []
    for key, value in current.items():
        dotted = f"{prefix}{key}"
        if dotted in _HOW_IT_RUNS or value is None:
            continue
        before = saved.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            differences += config_differences(value, before, f"{dotted}.")
        elif value != before:
            differences.append(f"{dotted}: {before!r} there, {value!r} now")
    return differences


@contextlib.contextmanager
def held(run_dir: str | Path) -> Iterator[None]:
    """Hold a lock on ``run_dir`` for the block; DirectoryTaken when another process holds it.

    An advisory lock (flock) on the directory itself, so it leaves no file
    behind, and the system releases it when its holder dies, however it dies:
    a killed job never leaves its directory locked.
    """
    descriptor = os.open(run_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DirectoryTaken(
                f"{run_dir}: another job is still running there; "
                "wait for it to end, or cancel it (scancel) and continue the sweep again"
            ) from None
        yield
    finally:
        os.close(descriptor)  # releases the lock
