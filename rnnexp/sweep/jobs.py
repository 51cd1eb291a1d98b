"""The jobs of a sweep as their directories record them, their ranking, and their seed groups.

Ranking: solved jobs first (final prediction equal to the target), by solved
epoch, then by final loss; diverged and failed jobs last.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from omegaconf import OmegaConf

from rnnexp.results import METRICS_NAME, RunResult, Status

# Statuses that fail the multirun: the job raised, or it never wrote its result.
FAILED = frozenset({Status.FAILED, Status.MISSING})
# Ties in the ranking (equal losses, none at all) go to the job that got further.
_STATUS_ORDER = {Status.OK: 0, Status.DIVERGED: 1, Status.FAILED: 2, Status.MISSING: 3}
_JOB_NUM = re.compile(r"^(\d+)_")  # Hydra's sweep subdir: <job num>_<overrides>


@dataclass
class Job:
    """One job of a sweep: its number, its overrides and what its ``metrics.json`` says."""

    num: int  # -1 when the directory name does not start with one
    dir: Path
    overrides: list[str]
    status: Status
    final_loss: Optional[float] = None
    accuracy: Optional[float] = None
    solved_epoch: Optional[int] = None
    seconds: Optional[float] = None
    prediction: Optional[str] = None
    target: Optional[str] = None
    error: str = ""

    @classmethod
    def read(cls, job_dir: Path) -> Job:
        """The job Hydra left in ``job_dir``; status ``missing`` without a ``metrics.json``."""
        number = _JOB_NUM.match(job_dir.name)
        num = int(number.group(1)) if number else -1
        overrides = [str(o) for o in OmegaConf.load(job_dir / ".hydra" / "overrides.yaml")]
        metrics = job_dir / METRICS_NAME
        if not metrics.is_file():
            return cls(num, job_dir, overrides, Status.MISSING, error=f"no {METRICS_NAME}: the job did not finish")
        # A diverged run has final_loss null; older files may hold NaN, which json reads too.
        result = RunResult.read(metrics)
        return cls(
            num,
            job_dir,
            overrides,
            result.status,
            final_loss=result.final_loss,
            accuracy=result.accuracy,
            solved_epoch=result.solved_epoch,
            seconds=result.seconds,
            prediction=result.prediction,
            target=result.target,
            error=result.error or "",
        )

    @property
    def solved(self) -> bool:
        """Ended right: the final prediction equals the target (a run that lost it again is not solved)."""
        return self.status is Status.OK and self.prediction is not None and self.prediction == self.target

    @property
    def failed(self) -> bool:
        """Raised or never finished: the multirun exits non-zero. A diverged job is a result, not a failure."""
        return self.status in FAILED

    @property
    def loss(self) -> float:
        """The final loss for sorting and averaging: inf when there is none or it is not finite."""
        if self.final_loss is None or not math.isfinite(self.final_loss):
            return math.inf
        return self.final_loss


def read_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job directory of ``sweep_dir`` (those with ``.hydra/overrides.yaml``), in job order."""
    job_dirs = (p for p in Path(sweep_dir).iterdir() if (p / ".hydra" / "overrides.yaml").is_file())
    return sorted((Job.read(d) for d in job_dirs), key=lambda j: (j.num, j.dir.name))


def rank(jobs: Iterable[Job]) -> list[Job]:
    """Solved first, by solved epoch; then by final loss; ties by status, then job number."""
    return sorted(
        jobs,
        key=lambda j: (not j.solved, j.solved_epoch if j.solved else 0, j.loss, _STATUS_ORDER.get(j.status, 9), j.num),
    )


def override_key(override: str) -> str:
    """``+seed=3`` or ``seed=3`` -> ``seed``."""
    return override.split("=", 1)[0].lstrip("+~")


def varying_overrides(jobs: list[Job]) -> tuple[list[str], dict[int, list[str]]]:
    """Split the overrides into those every job shares and, per job number, the ones that tell it apart."""
    if not jobs:
        return [], {}
    common = [o for o in jobs[0].overrides if all(o in j.overrides for j in jobs)]
    return common, {j.num: [o for o in j.overrides if o not in common] for j in jobs}


@dataclass
class Group:
    """The jobs of one setting (the overrides without ``seed``) over several seeds."""

    setting: tuple[str, ...]
    jobs: list[Job] = field(default_factory=list)

    @property
    def solved_share(self) -> float:
        return sum(j.solved for j in self.jobs) / len(self.jobs)

    @property
    def finite_losses(self) -> list[float]:
        return [j.loss for j in self.jobs if math.isfinite(j.loss)]

    @property
    def mean_loss(self) -> Optional[float]:
        losses = self.finite_losses
        return statistics.fmean(losses) if losses else None

    @property
    def std_loss(self) -> Optional[float]:
        # The sample standard deviation (n - 1): the seeds are a sample of all seeds.
        losses = self.finite_losses
        return statistics.stdev(losses) if len(losses) >= 2 else None

    @property
    def mean_solved_epoch(self) -> Optional[float]:
        epochs = [j.solved_epoch for j in self.jobs if j.solved]
        return statistics.fmean(epochs) if epochs else None


def group_by_setting(jobs: list[Job]) -> list[Group]:
    """Groups of jobs that differ only in ``seed``, best first; [] when no setting repeats."""
    groups: dict[tuple[str, ...], Group] = {}
    for job in jobs:
        setting = tuple(o for o in job.overrides if override_key(o) != "seed")
        groups.setdefault(setting, Group(setting)).jobs.append(job)
    if all(len(g.jobs) == 1 for g in groups.values()):
        return []
    return sorted(
        groups.values(),
        key=lambda g: (
            -g.solved_share,
            g.mean_solved_epoch if g.mean_solved_epoch is not None else math.inf,
            g.mean_loss if g.mean_loss is not None else math.inf,
        ),
    )
