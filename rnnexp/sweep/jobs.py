"""The jobs of a sweep as their directories record them, their ranking, and their seed groups.

Ranking: solved jobs first (every evaluation sequence right at the end), by
solved epoch, then by final loss; diverged and failed jobs last. A search
that optimises an objective (Optuna) ranks by that instead, the final loss,
so that its best trial is the summary's first row.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from omegaconf import OmegaConf

from rnnexp.files import write_atomically
from rnnexp.results import METRICS_NAME, OVERRIDES_FILE, RunResult, Status, saved_overrides

# Statuses that fail the multirun: the job raised, or it never wrote its result.
FAILED = frozenset({Status.FAILED, Status.MISSING})
# Ties in the ranking (equal losses, none at all) go to the job that got further.
_STATUS_ORDER = {Status.OK: 0, Status.DIVERGED: 1, Status.FAILED: 2, Status.MISSING: 3}
_JOB_NUM = re.compile(r"^(\d+)_")  # Hydra's sweep subdir: <job num>_<overrides>
# Written into the sweep directory when the multirun starts. Hydra's own
# multirun.yaml cannot serve: the Optuna sweeper does not write one.
RANKING_NAME = "ranking.yaml"
_DIRECTIONS = ("minimize", "maximize")


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
    sequences_right: Optional[int] = None  # evaluation sequences right at the end; None in older records
    sequences: Optional[int] = None  # evaluation sequences
    # Training loss of each epoch, from metrics.json; None without one. A failed
    # job's record holds none (the entry point writes it without the trainer's history).
    losses: Optional[list[float]] = None
    error: str = ""

    @classmethod
    def read(cls, job_dir: Path) -> Job:
        """The job Hydra left in ``job_dir``; status ``missing`` without a ``metrics.json``."""
        number = _JOB_NUM.match(job_dir.name)
        num = int(number.group(1)) if number else -1
        overrides = saved_overrides(job_dir) or []
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
            sequences_right=result.sequences_right,  # None when metrics.json predates the counts
            sequences=result.sequences,
            losses=result.losses,
            error=result.error or "",
        )

    @property
    def counted(self) -> bool:
        """The record says how many evaluation sequences were right (older ones hold only the first's prediction)."""
        return self.sequences is not None and self.sequences_right is not None

    @property
    def solved(self) -> bool:
        """Ended right: every evaluation sequence right after the last step (a run that lost it again is not).

        A record without the sequence counts shows only the first sequence's
        prediction; the solved epoch, which the trainer sets only when every
        sequence is right, tells a task of many sequences apart.
        """
        if self.status is not Status.OK or self.solved_epoch is None:
            return False
        if self.counted:
            return self.sequences_right == self.sequences
        return self.prediction is not None and self.prediction == self.target

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
    job_dirs = (p for p in Path(sweep_dir).iterdir() if (p / OVERRIDES_FILE).is_file())
    return sorted((Job.read(d) for d in job_dirs), key=lambda j: (j.num, j.dir.name))


@dataclass(frozen=True)
class Ranking:
    """How the summary orders a sweep's jobs: by the search's objective when it has one.

    An optimising sweeper (Optuna) minimises or maximises what each job
    returns, its final loss (rnnexp.cli.run_job); ranking by anything else
    would put the search's best trial anywhere in the table. Other sweeps
    rank solved jobs first, by solved epoch, then by final loss.
    """

    direction: Optional[str] = None  # "minimize" or "maximize" the final loss; None: no objective

    @classmethod
    def of_sweeper(cls, sweeper: Optional[Mapping[str, Any]]) -> Ranking:
        """The ranking for the multirun's ``hydra.sweeper`` config."""
        if not sweeper or not str(sweeper.get("_target_", "")).endswith("OptunaSweeper"):
            return cls()
        direction = sweeper.get("direction", "minimize")  # Optuna's default
        direction = getattr(direction, "name", direction)  # the plugin's schema holds an enum
        # A list is a multi-objective study; a job returns one number, so it cannot run here.
        return cls(str(direction)) if str(direction) in _DIRECTIONS else cls()

    @classmethod
    def read(cls, sweep_dir: str | Path) -> Ranking:
        """The ranking recorded in ``sweep_dir``; the default for a sweep that recorded none."""
        path = Path(sweep_dir) / RANKING_NAME
        if not path.is_file():
            return cls()
        direction = OmegaConf.load(path).get("direction")
        return cls(direction) if direction in _DIRECTIONS else cls()

    def write(self, sweep_dir: str | Path) -> None:
        """Record the ranking, so that scripts/summarize.py ranks a finished sweep the same way."""
        header = "# How summary.md and summary.csv rank this sweep's jobs; scripts/summarize.py reads it back.\n"
        body = OmegaConf.to_yaml({"objective": "final loss" if self.direction else None, "direction": self.direction})
        path = Path(sweep_dir) / RANKING_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda tmp: Path(tmp).write_text(header + body, encoding="utf-8"))

    def describe(self) -> str:
        """What the ranking follows, for the summary's intro."""
        if self.direction is None:
            return "Ranked: solved first by solved epoch, then by final loss"
        best = "lowest" if self.direction == "minimize" else "highest"
        return f"Ranked by final loss, the search's objective ({self.direction}: {best} first)"

    def key(self, job: Job) -> tuple:
        """Sort key of one job; ties by status (the job that got further), then job number."""
        ties = (_STATUS_ORDER.get(job.status, 9), job.num)
        if self.direction is None:
            return (not job.solved, job.solved_epoch if job.solved else 0, job.loss, *ties)
        return (*self._by_objective(job.loss), *ties)

    def group_key(self, group: Group) -> tuple:
        """Sort key of a seed group: by mean final loss under an objective, else by share solved."""
        mean_loss = group.mean_loss if group.mean_loss is not None else math.inf
        if self.direction is None:
            mean_epoch = group.mean_solved_epoch if group.mean_solved_epoch is not None else math.inf
            return (-group.solved_share, mean_epoch, mean_loss)
        return self._by_objective(mean_loss)

    def _by_objective(self, loss: float) -> tuple[bool, float]:
        # No finite loss (diverged, failed) goes last in either direction, as the sweeper's inf does when minimising.
        return (not math.isfinite(loss), -loss if self.direction == "maximize" else loss)


def rank(jobs: Iterable[Job], ranking: Ranking = Ranking()) -> list[Job]:
    """The jobs in the order of ``ranking`` (by default: solved first, by solved epoch, then by final loss)."""
    return sorted(jobs, key=ranking.key)


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


def group_by_setting(jobs: list[Job], ranking: Ranking = Ranking()) -> list[Group]:
    """Groups of jobs that differ only in ``seed``, best first by ``ranking``; [] when no setting repeats."""
    groups: dict[tuple[str, ...], Group] = {}
    for job in jobs:
        setting = tuple(o for o in job.overrides if override_key(o) != "seed")
        groups.setdefault(setting, Group(setting)).jobs.append(job)
    if all(len(g.jobs) == 1 for g in groups.values()):
        return []
    return sorted(groups.values(), key=ranking.group_key)
