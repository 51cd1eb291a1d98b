"""The jobs of a sweep as their directories record them, their ranking, and their seed groups.

A job is what its directory records: ``metrics.json`` once it has ended (ok,
diverged, failed, pruned by a search, or interrupted, which can be resumed); a directory without
one is a job still running, or one killed before it could write it. A job
the sweep planned that has no directory at all never started (missing): the
plan is read from the sweep's ``multirun.yaml``, whose overrides expand into
the jobs as Hydra's basic sweeper expands them; for a search (Optuna) it is
the number of trials.

Ranking follows the task's kind (rnnexp.training.objectives), which each
job's metrics.json records. Tagging and text: solved jobs first (every
evaluation sequence right at the end), by solved epoch, then by final loss.
Classify: by accuracy, the share of sequences classified right, highest
first, then by final loss. Regress: by final loss, the MSE, lowest first.
Diverged and failed jobs come after them, and the jobs that have not ended
last. Numbers are compared as they print (four decimals), so two that print
the same rank by the next key, and in the end by job number. A search that
optimises an objective (Optuna) ranks the ended jobs by that instead (the
final loss, or the accuracy), so that its best trial is the summary's first
row. Either way a trial the search pruned comes after the jobs that trained
to their end with a finite loss, by the value it was pruned at: that is of
an earlier epoch, not a final one.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from omegaconf import OmegaConf

from rnnexp.data.task import REGRESS
from rnnexp.data.task_registry import task_kind
from rnnexp.files import write_atomically
from rnnexp.results import (
    ENDED,
    LAST,
    METRICS_NAME,
    MULTIRUN_NAME,
    OVERRIDES_FILE,
    RunResult,
    Status,
    reaches,
    saved_overrides,
)
from rnnexp.training.objectives import ACCURACY, DIRECTIONS, FINAL_LOSS, Objective, objective_of

# Ties in the ranking (equal losses, none at all) go to the job that got further.
_STATUS_ORDER = {Status.OK: 0, Status.PRUNED: 1, Status.DIVERGED: 2, Status.FAILED: 3, Status.INTERRUPTED: 4,
                 Status.RUNNING: 5, Status.MISSING: 6}
# How the summary's lines name a job that has not ended.
_STATE_WORDS = {Status.RUNNING: "running or killed", Status.MISSING: "missing"}
_JOB_NUM = re.compile(r"^(\d+)_")  # Hydra's sweep subdir: <job num>_<overrides>
CONFIG_FILE = OVERRIDES_FILE.parent / "config.yaml"  # the job's composed config, saved by Hydra
# Written into the sweep directory when the multirun starts: how its summary
# ranks the jobs (sweeps from before multirun.yaml was saved for every sweeper have only this).
RANKING_NAME = "ranking.yaml"
# Sweepers that optimise an objective: rnnexp's Optuna search (rnnexp.search),
# and Hydra's Optuna sweeper, which sweeps recorded before rnnexp had its own may name.
_SEARCHES = ("OptunaSweeper", "OptunaSearch")


@dataclass
class Job:
    """One job of a sweep: its number, its overrides and what its ``metrics.json`` says."""

    num: int  # -1 when the directory name does not start with one
    dir: Optional[Path]  # None for a job that never started (missing)
    overrides: list[str]
    status: Status
    kind: Optional[str] = None  # the task's kind, as metrics.json records it; None before it did, or without one
    final_loss: Optional[float] = None
    accuracy: Optional[float] = None
    solved_epoch: Optional[int] = None
    seconds: Optional[float] = None
    prediction: Optional[str] = None
    target: Optional[str] = None
    sequences_right: Optional[int] = None  # evaluation sequences right at the end; None in older records
    sequences: Optional[int] = None  # evaluation sequences
    solved_at: float = 1.0  # the share of them right that counts as solved (the job's solved_at)
    # Training loss of each epoch, from metrics.json; None without one. A failed
    # job's record holds none (the entry point writes it without the trainer's history).
    losses: Optional[list[float]] = None
    error: str = ""
    epochs: Optional[int] = None  # epochs finished: from metrics.json, or a running job's last.pt
    configured_epochs: Optional[int] = None  # the job's config's epochs (read for a job that has not ended)
    signal: Optional[str] = None  # what interrupted it
    overrides_known: bool = True  # False for a search's trial that never started: its values were never drawn

    @classmethod
    def read(cls, job_dir: Path) -> Job:
        """The job Hydra left in ``job_dir``; status ``running`` without a ``metrics.json``."""
        number = _JOB_NUM.match(job_dir.name)
        num = int(number.group(1)) if number else -1
        overrides = saved_overrides(job_dir) or []
        metrics = job_dir / METRICS_NAME
        if not metrics.is_file():
            return cls(num, job_dir, overrides, Status.RUNNING, epochs=checkpoint_epochs(job_dir),
                       configured_epochs=configured_epochs(job_dir))
        # A diverged run has final_loss null; older files may hold NaN, which json reads too.
        result = RunResult.read(metrics)
        return cls(
            num,
            job_dir,
            overrides,
            result.status,
            kind=result.kind,
            final_loss=result.final_loss,
            accuracy=result.accuracy,
            solved_epoch=result.solved_epoch,
            seconds=result.seconds,
            prediction=result.prediction,
            target=result.target,
            sequences_right=result.sequences_right,  # None when metrics.json predates the counts
            sequences=result.sequences,
            solved_at=result.solved_at,
            losses=result.losses,
            error=result.error or "",
            epochs=result.epochs,
            configured_epochs=configured_epochs(job_dir) if result.status not in ENDED else None,
            signal=result.signal,
        )

    @property
    def counted(self) -> bool:
        """The record says how many evaluation sequences were right (older ones hold only the first's prediction)."""
        return self.sequences is not None and self.sequences_right is not None

    @property
    def solved(self) -> bool:
        """Ended right: every evaluation sequence right after the last step (a run that lost it again is not),
        or the job's ``solved_at`` share of them.

        A record without the sequence counts shows only the first sequence's
        prediction; the solved epoch, which the trainer sets only when every
        sequence is right, tells a task of many sequences apart.
        """
        if self.status is not Status.OK or self.solved_epoch is None:
            return False
        if self.counted:
            return reaches(self.sequences_right, self.sequences, self.solved_at)
        return self.prediction is not None and self.prediction == self.target

    @property
    def failed(self) -> bool:
        """Raised: the multirun exits non-zero. A diverged job is a result, not a failure."""
        return self.status is Status.FAILED

    @property
    def ended(self) -> bool:
        """Its metrics.json says it ended (ok, diverged, failed or pruned); not interrupted, running or missing."""
        return self.status in ENDED

    @property
    def pruned(self) -> bool:
        """Stopped by its search's pruner: its loss is the one it was judged by, at its last epoch."""
        return self.status is Status.PRUNED

    @property
    def state(self) -> str:
        """How the summary's lines name its status: ``running or killed`` where the files cannot tell the two apart."""
        return _STATE_WORDS.get(self.status, str(self.status))

    def progress(self) -> str:
        """Where a job that has not ended stands: ``SIGTERM after 2 of 4 epochs``, ``never started``."""
        if self.status is Status.MISSING:
            return "never started"
        of = f" of {self.configured_epochs}" if self.configured_epochs is not None else ""
        if self.status is Status.RUNNING:
            held = f"its {LAST} holds {self.epochs}{of} epochs" if self.epochs is not None else f"no {LAST} yet"
            return f"no {METRICS_NAME} yet, {held}"
        if self.status is Status.INTERRUPTED:
            by = self.signal or "a signal"
            return f"{by} before its first epoch ended" if not self.epochs else f"{by} after {self.epochs}{of} epochs"
        return str(self.status)

    @property
    def loss(self) -> float:
        """The final loss for sorting and averaging (a pruned job's: where it stopped); inf when there is none or it is not finite."""
        if self.final_loss is None or not math.isfinite(self.final_loss):
            return math.inf
        return self.final_loss

    def value(self, metric: str) -> float:
        """The job's ``final_loss`` (as :attr:`loss`) or ``accuracy`` for ranking; nan where there is none."""
        if metric == FINAL_LOSS:
            return self.loss
        return self.accuracy if self.accuracy is not None and math.isfinite(self.accuracy) else math.nan

    @property
    def tier(self) -> int:
        """Within the ended jobs: 0 trained to its end with a finite loss, 1 pruned, 2 none (diverged, failed)."""
        if not math.isfinite(self.loss):
            return 2
        return 1 if self.pruned else 0


def checkpoint_epochs(job_dir: Path) -> Optional[int]:
    """The epochs the job's ``last.pt`` holds; None without one, or when it cannot be read.

    Imports torch, and maps the file rather than reading it: only the epoch is
    wanted, and this is asked only of a job that has not ended.
    """
    path = job_dir / LAST
    if not path.is_file():
        return None
    try:
        import torch

        return int(torch.load(path, map_location="cpu", weights_only=True, mmap=True)["epoch"])
    except Exception:  # cut off by a kill, or not rnnexp's: the summary does without the count
        return None


def configured_epochs(job_dir: Path) -> Optional[int]:
    """The ``epochs`` of the config Hydra saved for the job; None when it cannot tell."""
    try:
        return int(OmegaConf.load(job_dir / CONFIG_FILE).epochs)
    except Exception:  # no file (a job killed as it started), or a config that does not say
        return None


def read_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job of the sweep in ``sweep_dir``, in job order.

    Each job directory (one with ``.hydra/overrides.yaml``), and each job
    the sweep planned that has no directory, with status ``missing``.
    """
    sweep_dir = Path(sweep_dir)
    jobs = [Job.read(p) for p in sweep_dir.iterdir() if (p / OVERRIDES_FILE).is_file()]
    started = {job.num: job for job in jobs}
    plan = planned_jobs(sweep_dir)
    if any(num in started and overrides not in (None, started[num].overrides) for num, overrides in enumerate(plan)):
        plan = []  # the directories tell another story than multirun.yaml: list none rather than wrong ones
    jobs += [
        Job(num, None, overrides or [], Status.MISSING, overrides_known=overrides is not None)
        for num, overrides in enumerate(plan)
        if num not in started
    ]
    return sorted(jobs, key=lambda j: (j.num, j.dir.name if j.dir else ""))


def is_sweep_dir(path: Path) -> bool:
    """Whether ``path`` holds a sweep: its multirun.yaml or ranking.yaml, or a job directory (``<num>_...``)."""
    if (path / MULTIRUN_NAME).is_file() or (path / RANKING_NAME).is_file():
        return True
    return any(_JOB_NUM.match(p.name) and (p / OVERRIDES_FILE).is_file() for p in path.iterdir())


def planned_jobs(sweep_dir: str | Path) -> list[Optional[list[str]]]:
    """The jobs the sweep in ``sweep_dir`` set out to run, by job number: each one's overrides.

    From its ``multirun.yaml``: the command line's overrides (and any
    ``hydra.sweeper.params``) expanded as Hydra's basic sweeper expands them,
    job 0 first; a search's trials are ``hydra.sweeper.n_trials`` Nones, since
    the values of a trial are drawn only as it starts. [] when the file is
    absent or the sweeper is another one.
    """
    path = Path(sweep_dir) / MULTIRUN_NAME
    if not path.is_file():
        return []
    try:
        hydra = OmegaConf.to_container(OmegaConf.load(path), resolve=False).get("hydra") or {}
        sweeper = hydra.get("sweeper") or {}
        if sweeper.get("n_trials") is not None:
            return [None] * int(sweeper["n_trials"])
        if not str(sweeper.get("_target_", "")).endswith(".BasicSweeper"):
            return []
        params = [f"{key}={value}" for key, value in (sweeper.get("params") or {}).items()]
        return sweep_grid(params + list((hydra.get("overrides") or {}).get("task") or []))
    except Exception:  # a file this version cannot read, or overrides that need the config to expand (glob)
        return []


def sweep_grid(arguments: list[str]) -> list[list[str]]:
    """Each job's overrides, in job order, for a basic sweep of ``arguments`` (``model=cell,rnn``, ``seed=range(3)``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rnnexp.internals.hydra_private import basic_sweep_grid

    return basic_sweep_grid(OverridesParser.create().parse_overrides(arguments))


@dataclass(frozen=True)
class Ranking:
    """How the summary orders a sweep's jobs: by the search's objective when it has one, else by the task's kind.

    An optimising sweeper (Optuna) minimises the final loss or maximises the
    accuracy of each job (rnnexp.search.config.search_objective); ranking by
    anything else would put the search's best trial anywhere in the table.
    Other sweeps rank as their kind says (rnnexp.training.objectives):
    classify by accuracy, regress by final loss, tagging and text solved
    jobs first, by solved epoch, then by final loss.
    """

    direction: Optional[str] = None  # "minimize" or "maximize" the search's metric; None: no search
    metric: str = FINAL_LOSS  # what the search optimised: final_loss or accuracy (a field of metrics.json)
    kind: Optional[str] = None  # the task's kind, from the jobs' records (Summary.read fills it in)

    @classmethod
    def of_sweeper(cls, sweeper: Optional[Mapping[str, Any]], task: Optional[Mapping[str, Any]] = None) -> Ranking:
        """The ranking for the multirun's ``hydra.sweeper`` config; ``task``, its task node, for a direction left null."""
        if not sweeper or not str(sweeper.get("_target_", "")).endswith(_SEARCHES):
            return cls()
        from rnnexp.search.config import search_objective  # no optuna: the search's keys only

        objective = search_objective(sweeper.get("direction"), task)
        # None for a list: a multi-objective study, which a job's one result cannot run.
        return cls(objective.direction, objective.metric) if objective is not None else cls()

    @classmethod
    def read(cls, sweep_dir: str | Path) -> Ranking:
        """The ranking recorded in ``sweep_dir``; the default for a sweep that recorded none."""
        path = Path(sweep_dir) / RANKING_NAME
        if not path.is_file():
            return cls()
        recorded = OmegaConf.load(path)
        direction, metric = recorded.get("direction"), recorded.get("objective")
        if direction not in DIRECTIONS:
            return cls()
        # Recorded before a search could maximise the accuracy: "final loss".
        metric = str(metric).replace(" ", "_") if metric else FINAL_LOSS
        return cls(direction, metric if metric in (FINAL_LOSS, ACCURACY) else FINAL_LOSS)

    def write(self, sweep_dir: str | Path) -> None:
        """Record the ranking, so that a summary rebuilt later (rnnexp.summarize) ranks the jobs the same way."""
        header = "# How summary.md and summary.csv rank this sweep's jobs; python -m rnnexp.summarize reads it back.\n"
        search = self.search
        body = OmegaConf.to_yaml({"objective": search.words if search else None, "direction": self.direction})
        path = Path(sweep_dir) / RANKING_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda tmp: Path(tmp).write_text(header + body, encoding="utf-8"))

    @property
    def search(self) -> Optional[Objective]:
        """What the search optimised; None for a sweep that is no search."""
        return Objective(self.metric, self.direction) if self.direction is not None else None

    @property
    def objective(self) -> Optional[Objective]:
        """What the jobs are ranked by: the search's objective, or a classify or regress task's; None: solved first."""
        if self.search is not None:
            return self.search
        by_kind = objective_of(self.kind)
        return by_kind if by_kind.metric == ACCURACY or self.kind == REGRESS else None

    def describe(self) -> str:
        """What the ranking follows, for the summary's intro."""
        by = self.objective
        if by is None:
            return "Ranked: solved first by solved epoch, then by final loss"
        best = "highest" if by.maximize else "lowest"
        if self.search is not None:
            return f"Ranked by {by.words}, the search's objective ({by.direction}: {best} first)"
        if by.metric == ACCURACY:
            return f"Ranked by seq accuracy, {best} first, then by final loss"
        return f"Ranked by final MSE, {best} first"

    def key(self, job: Job) -> tuple:
        """Sort key of one job: the ended jobs first; ties by status (the job that got further), then job number."""
        ties = (_STATUS_ORDER.get(job.status, 9), job.num)
        loss = as_printed(job.loss)
        by = self.objective
        if by is None:
            return (not job.ended, not job.solved, job.solved_epoch if job.solved else 0, job.tier, loss, *ties)
        return (not job.ended, job.tier, *_better_first(by, job.value(by.metric)), loss, *ties)

    def group_key(self, group: Group) -> tuple:
        """Sort key of a seed group: by its mean of the objective, else by share solved."""
        mean_loss = as_printed(group.mean_loss) if group.mean_loss is not None else math.inf
        by = self.objective
        if by is None:
            mean_epoch = group.mean_solved_epoch if group.mean_solved_epoch is not None else math.inf
            return (-group.solved_share, mean_epoch, mean_loss)
        mean = group.mean(by.metric)
        return (*_better_first(by, mean if mean is not None else math.nan), mean_loss)


def _better_first(by: Objective, value: float) -> tuple[bool, float]:
    """Sort keys that put the better ``value`` of ``by`` first, as printed; none (nan, inf) last in either direction,
    as the sweeper's inf goes last when minimising."""
    if not math.isfinite(value):
        return (True, 0.0)
    shown = as_printed(value)
    return (False, -shown if by.maximize else shown)


def as_printed(loss: float) -> float:
    """``loss`` rounded as the tables print it: four decimals, or four significant digits below 0.001.

    Rankings compare this, so losses that print the same fall back to the
    next key (the job number) instead of their last bits, which differ from
    one CPU's kernels to another's: the same sweep ranks the same everywhere.
    """
    if not math.isfinite(loss) or loss == 0:
        return loss
    return round(loss, 4) if abs(loss) >= 0.001 else float(f"{loss:.3e}")


def rank(jobs: Iterable[Job], ranking: Ranking = Ranking()) -> list[Job]:
    """The jobs in the order of ``ranking`` (by default: solved first, by solved epoch, then by final loss)."""
    return sorted(jobs, key=ranking.key)


def override_key(override: str) -> str:
    """``+seed=3`` or ``seed=3`` -> ``seed``."""
    return override.split("=", 1)[0].lstrip("+~")


def varying_overrides(jobs: list[Job]) -> tuple[list[str], dict[int, list[str]]]:
    """Split the overrides into those every job shares and, per job number, the ones that tell it apart.

    A trial that never started has none to compare: it is left out of the shared ones.
    """
    known = [j for j in jobs if j.overrides_known]
    common = [o for o in known[0].overrides if all(o in j.overrides for j in known)] if known else []
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
        # A pruned job's loss is of an earlier epoch: no final loss to average.
        return [j.loss for j in self.jobs if math.isfinite(j.loss) and not j.pruned]

    @property
    def mean_loss(self) -> Optional[float]:
        return _mean(self.finite_losses)

    @property
    def std_loss(self) -> Optional[float]:
        return _std(self.finite_losses)

    @property
    def accuracies(self) -> list[float]:
        """The accuracies of the jobs that have a final loss: those that trained to their end."""
        return [j.accuracy for j in self.jobs if j.tier == 0 and j.accuracy is not None]

    @property
    def mean_accuracy(self) -> Optional[float]:
        return _mean(self.accuracies)

    @property
    def std_accuracy(self) -> Optional[float]:
        return _std(self.accuracies)

    def mean(self, metric: str) -> Optional[float]:
        """The mean ``final_loss`` or ``accuracy`` over the seeds that trained to their end."""
        return self.mean_accuracy if metric == ACCURACY else self.mean_loss

    @property
    def mean_solved_epoch(self) -> Optional[float]:
        epochs = [j.solved_epoch for j in self.jobs if j.solved]
        return statistics.fmean(epochs) if epochs else None


def sweep_kind(jobs: Sequence[Job], sweep_dir: Optional[str | Path] = None) -> Optional[str]:
    """The kind of task the sweep's jobs trained, as their records say; None when they name several, or none.

    A sweep whose records name no kind (every job failed or has not ended,
    or they were written before metrics.json recorded it) takes the kind its
    saved config tells (``multirun.yaml``'s task: None for task=custom, whose
    data decides).
    """
    kinds = {job.kind for job in jobs if job.kind is not None}
    if kinds:
        return kinds.pop() if len(kinds) == 1 else None
    path = Path(sweep_dir) / MULTIRUN_NAME if sweep_dir is not None else None
    if path is None or not path.is_file():
        return None
    try:
        task = OmegaConf.to_container(OmegaConf.load(path), resolve=False).get("task")
        return task_kind(task) if isinstance(task, dict) else None
    except Exception:  # a file this version cannot read: ranked as tagging
        return None


def _mean(values: list[float]) -> Optional[float]:
    return statistics.fmean(values) if values else None


def _std(values: list[float]) -> Optional[float]:
    """The sample standard deviation (n - 1): the seeds are a sample of all seeds."""
    return statistics.stdev(values) if len(values) >= 2 else None


def group_by_setting(jobs: list[Job], ranking: Ranking = Ranking()) -> list[Group]:
    """Groups of the ended jobs that differ only in ``seed``, best first by ``ranking``; [] when no setting repeats."""
    groups: dict[tuple[str, ...], Group] = {}
    for job in (j for j in jobs if j.ended):
        setting = tuple(o for o in job.overrides if override_key(o) != "seed")
        groups.setdefault(setting, Group(setting)).jobs.append(job)
    if all(len(g.jobs) == 1 for g in groups.values()):
        return []
    return sorted(groups.values(), key=ranking.group_key)
