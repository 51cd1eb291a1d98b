"""The summary of a multirun: read each job's ``metrics.json``, rank the jobs, write the tables.

Built from files only. Hydra's ``on_multirun_end`` receives no job results,
and with out-of-process launchers (joblib, submitit) the jobs ran in other
processes, so every job leaves its record in its own directory
(``rnnexp.train`` writes ``metrics.json``; a job that raised gets one from
:func:`record_failure`) and the summary reads what it finds there. The same
sweep gives the same table whichever launcher ran it, and
``scripts/summarize.py`` rebuilds it later.

Ranking: solved jobs first (final prediction equal to the target), by solved
epoch, then by final loss; diverged and failed jobs last.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from rnnexp.errors import SweepFailed
from rnnexp.files import write_atomically, write_json

METRICS_NAME = "metrics.json"  # written by rnnexp.train, or by record_failure
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
FAILED = ("failed", "missing")  # statuses that make the multirun exit non-zero
_STATUS_ORDER = {"ok": 0, "diverged": 1, "failed": 2, "missing": 3}


def record_failure(run_dir: str | Path, error: str, seconds: float) -> None:
    """Write the ``metrics.json`` of a job that raised: status ``failed`` and the error's line."""
    write_json(
        Path(run_dir) / METRICS_NAME,
        {
            "prediction": None,
            "target": None,
            "final_loss": None,
            "accuracy": None,
            "solved_epoch": None,
            "epochs": None,
            "seconds": round(seconds, 4),
            "status": "failed",
            "run_dir": str(run_dir),
            "losses": [],
            "error": error,
        },
    )


# --------------------------------------------------------------------------- jobs
@dataclass
class Job:
    """One job of a sweep, as its directory records it."""

    num: int
    dir: Path
    overrides: list[str]
    status: str  # ok, diverged, failed, or missing (no metrics.json: the job never finished)
    final_loss: Optional[float] = None
    accuracy: Optional[float] = None
    solved_epoch: Optional[int] = None
    seconds: Optional[float] = None
    prediction: Optional[str] = None
    target: Optional[str] = None
    error: str = ""

    @property
    def solved(self) -> bool:
        """Ended right: the final prediction equals the target (a run that lost it again is not solved)."""
        return self.status == "ok" and self.prediction is not None and self.prediction == self.target

    @property
    def loss(self) -> float:
        """The final loss for sorting and averaging: inf when there is none or it is not finite."""
        if self.final_loss is None or not math.isfinite(self.final_loss):
            return math.inf
        return self.final_loss


_JOB_NUM = re.compile(r"^(\d+)_")


def read_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job directory of ``sweep_dir`` (those with ``.hydra/overrides.yaml``), in job order."""
    sweep_dir = Path(sweep_dir)
    jobs = []
    for job_dir in sorted(p for p in sweep_dir.iterdir() if (p / ".hydra" / "overrides.yaml").is_file()):
        number = _JOB_NUM.match(job_dir.name)
        overrides = [str(o) for o in OmegaConf.load(job_dir / ".hydra" / "overrides.yaml")]
        job = Job(num=int(number.group(1)) if number else -1, dir=job_dir, overrides=overrides, status="missing")
        metrics_path = job_dir / METRICS_NAME
        if metrics_path.is_file():
            # A diverged run has final_loss null; older files may hold NaN, which json reads too.
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            job.status = metrics["status"]
            for key in ("final_loss", "accuracy", "solved_epoch", "seconds", "prediction", "target"):
                setattr(job, key, metrics.get(key))
            job.error = metrics.get("error") or ""
        else:
            job.error = f"no {METRICS_NAME}: the job did not finish"
        jobs.append(job)
    jobs.sort(key=lambda j: (j.num, j.dir.name))
    return jobs


def rank(jobs: Iterable[Job]) -> list[Job]:
    """Solved first, by solved epoch; then by final loss; ties by status, then job number."""
    return sorted(
        jobs,
        key=lambda j: (not j.solved, j.solved_epoch if j.solved else 0, j.loss, _STATUS_ORDER.get(j.status, 9), j.num),
    )


def override_key(override: str) -> str:
    # "+seed=3" or "seed=3" -> "seed"
    return override.split("=", 1)[0].lstrip("+~")


def varying_overrides(jobs: list[Job]) -> tuple[list[str], dict[int, list[str]]]:
    """Split the overrides into those every job shares and, per job, the ones that tell it apart."""
    if not jobs:
        return [], {}
    common = [o for o in jobs[0].overrides if all(o in j.overrides for j in jobs)]
    return common, {j.num: [o for o in j.overrides if o not in common] for j in jobs}


# --------------------------------------------------------------------------- seed groups
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


# --------------------------------------------------------------------------- tables
JOB_COLUMNS = ["rank", "job", "overrides", "status", "final loss", "accuracy", "solved epoch", "seconds"]
GROUP_COLUMNS = ["setting", "seeds", "solved", "mean loss", "std loss", "mean solved epoch"]


def _number(value: Optional[float], digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if math.isfinite(value) else str(value)


def job_rows(ranked: list[Job]) -> list[list[str]]:
    """The ranked table's cells: the overrides shown are those that tell the jobs apart."""
    _, shown = varying_overrides(ranked)
    return [
        [
            str(place),
            str(job.num),
            " ".join(shown[job.num]) or "(defaults)",
            job.status,
            _number(job.final_loss, 4),
            _number(job.accuracy, 2),
            str(job.solved_epoch) if job.solved else "-",
            _number(job.seconds, 2),
        ]
        for place, job in enumerate(ranked, start=1)
    ]


def group_rows(groups: list[Group], common: list[str]) -> list[list[str]]:
    return [
        [
            " ".join(o for o in g.setting if o not in common) or "(defaults)",
            str(len(g.jobs)),
            f"{sum(j.solved for j in g.jobs)}/{len(g.jobs)}",
            _number(g.mean_loss, 4),
            _number(g.std_loss, 4),
            _number(g.mean_solved_epoch, 1),
        ]
        for g in groups
    ]


# Columns of numbers, right-aligned in the terminal.
_NUMERIC = {"rank", "job", "final loss", "accuracy", "solved epoch", "seconds", "seeds", "solved", "mean loss", "std loss", "mean solved epoch"}


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if name in _NUMERIC else c.ljust(w) for c, w, name in zip(cells, widths, header))
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


# --------------------------------------------------------------------------- summary
@dataclass
class Summary:
    sweep_dir: Path
    ranked: list[Job]
    groups: list[Group]
    common: list[str]

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.ranked if j.status in FAILED]

    def counts(self) -> str:
        solved = sum(j.solved for j in self.ranked)
        diverged = sum(j.status == "diverged" for j in self.ranked)
        return f"{len(self.ranked)} jobs: {solved} solved, {diverged} diverged, {len(self.failed)} failed"

    def text(self) -> str:
        parts = [f"Sweep {self.sweep_dir} ({self.counts()})"]
        if self.common:
            parts.append(f"Every job: {' '.join(self.common)}")
        parts += ["", text_table(JOB_COLUMNS, job_rows(self.ranked))]
        if self.groups:
            parts += ["", "By setting, over seeds:", text_table(GROUP_COLUMNS, group_rows(self.groups, self.common))]
        for job in self.failed:
            parts.append(f"Job {job.num} failed: {job.error}")
        return "\n".join(parts)

    def markdown(self) -> str:
        parts = [f"# Sweep `{self.sweep_dir.name}`", "", f"{self.counts()}. Ranked: solved first by solved epoch, then by final loss."]
        if self.common:
            parts += ["", f"Every job: `{' '.join(self.common)}`"]
        parts += ["", markdown_table(JOB_COLUMNS, job_rows(self.ranked))]
        if self.groups:
            parts += [
                "",
                "## By setting, over seeds",
                "",
                "Mean and standard deviation (n - 1) of the final loss, share of seeds solved, mean solved epoch of the solved seeds.",
                "",
                markdown_table(GROUP_COLUMNS, group_rows(self.groups, self.common)),
            ]
        if self.failed:
            parts += ["", "## Failed jobs", ""] + [f"- {j.num} `{j.dir.name}`: {j.error}" for j in self.failed]
        return "\n".join(parts) + "\n"

    def csv_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "rank": place,
                "job": job.num,
                "dir": job.dir.name,
                "overrides": " ".join(job.overrides),
                "status": job.status,
                "solved": job.solved,
                "final_loss": job.final_loss,
                "accuracy": job.accuracy,
                "solved_epoch": job.solved_epoch,
                "seconds": job.seconds,
                "prediction": job.prediction,
                "error": job.error,
            }
            for place, job in enumerate(self.ranked, start=1)
        ]


def summarize(sweep_dir: str | Path) -> Summary:
    """Read the jobs of ``sweep_dir`` and rank them (writes nothing)."""
    sweep_dir = Path(sweep_dir)
    jobs = read_jobs(sweep_dir)
    common, _ = varying_overrides(jobs)
    return Summary(sweep_dir=sweep_dir, ranked=rank(jobs), groups=group_by_setting(jobs), common=common)


def write_summary(summary: Summary) -> None:
    """``summary.csv`` and ``summary.md`` in the sweep directory, each written atomically."""
    rows = summary.csv_rows()

    def write_csv(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rank"])
            writer.writeheader()
            writer.writerows(rows)

    def write_md(tmp: str) -> None:
        Path(tmp).write_text(summary.markdown(), encoding="utf-8")

    write_atomically(summary.sweep_dir / SUMMARY_CSV, write_csv)
    write_atomically(summary.sweep_dir / SUMMARY_MD, write_md)


# --------------------------------------------------------------------------- callback
class SweepSummary(Callback):
    """Hydra callback (``hydra.callbacks`` in conf/config.yaml): the summary at the end of every multirun."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Resolve the sweep directory once, here in the launching process, and
        # keep it as a plain string. Hydra copies the resolver's cache into
        # each job's config, and the joblib and submitit launchers pickle it
        # along, but a worker that resolved ${rnnexp.unique_dir:...} again would
        # create a second directory (or fail, the resolver not being registered there).
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.sweep.dir = str(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summary = summarize(config.hydra.sweep.dir)
        write_summary(summary)
        print(summary.text(), flush=True)
        print(f"Summary: {summary.sweep_dir / SUMMARY_MD}, {summary.sweep_dir / SUMMARY_CSV}", flush=True)
        if summary.failed:
            first = summary.failed[0]
            raise SweepFailed(
                f"{len(summary.failed)} of {len(summary.ranked)} jobs failed (job {first.num}: {first.error}); "
                f"see {summary.sweep_dir / SUMMARY_MD}"
            )
