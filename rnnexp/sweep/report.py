"""The sweep summary as tables: the terminal's text, ``summary.md`` and ``summary.csv``.

Two tables: every job in rank order, with the overrides that tell the jobs
apart; and, when a setting was run over several seeds, one row per setting.
Jobs that failed are listed last with their one-line reason.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from rnnexp.files import write_atomically
from rnnexp.results import Status
from rnnexp.sweep.jobs import Group, Job, group_by_setting, rank, read_jobs, varying_overrides

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"

JOB_COLUMNS = ["rank", "job", "overrides", "status", "final loss", "accuracy", "solved epoch", "seconds"]
GROUP_COLUMNS = ["setting", "seeds", "solved", "mean loss", "std loss", "mean solved epoch"]
# Columns of numbers, right-aligned in the terminal.
_NUMERIC = {"rank", "job", "final loss", "accuracy", "solved epoch", "seconds", "seeds", "solved", "mean loss", "std loss", "mean solved epoch"}


@dataclass
class Summary:
    """A sweep's jobs, ranked, with their seed groups; renders itself and writes its files."""

    sweep_dir: Path
    ranked: list[Job]
    groups: list[Group]  # [] when no setting ran over several seeds
    common: list[str]  # the overrides every job shares, shown once above the tables

    @classmethod
    def read(cls, sweep_dir: str | Path) -> Summary:
        """Read the jobs of ``sweep_dir`` and rank them (writes nothing)."""
        jobs = read_jobs(sweep_dir)
        common, _ = varying_overrides(jobs)
        return cls(sweep_dir=Path(sweep_dir), ranked=rank(jobs), groups=group_by_setting(jobs), common=common)

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.ranked if j.failed]

    def counts(self) -> str:
        solved = sum(j.solved for j in self.ranked)
        diverged = sum(j.status is Status.DIVERGED for j in self.ranked)
        return f"{len(self.ranked)} jobs: {solved} solved, {diverged} diverged, {len(self.failed)} failed"

    def text(self) -> str:
        """What the terminal shows at the end of a multirun."""
        parts = [f"Sweep {self.sweep_dir} ({self.counts()})"]
        if self.common:
            parts.append(f"Every job: {' '.join(self.common)}")
        parts += ["", text_table(JOB_COLUMNS, job_rows(self.ranked))]
        if self.groups:
            parts += ["", "By setting, over seeds:", text_table(GROUP_COLUMNS, group_rows(self.groups, self.common))]
        parts += [f"Job {job.num} failed: {job.error}" for job in self.failed]
        return "\n".join(parts)

    def markdown(self) -> str:
        """The content of ``summary.md``."""
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
        """The rows of ``summary.csv``: every override and the unrounded numbers, for other tools to read."""
        return [
            {
                "rank": place,
                "job": job.num,
                "dir": job.dir.name,
                "overrides": " ".join(job.overrides),
                "status": str(job.status),
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

    def write(self) -> None:
        """``summary.csv`` and ``summary.md`` in the sweep directory, each written atomically."""
        rows = self.csv_rows()

        def write_csv(tmp: str) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["rank"])
                writer.writeheader()
                writer.writerows(rows)

        def write_md(tmp: str) -> None:
            Path(tmp).write_text(self.markdown(), encoding="utf-8")

        write_atomically(self.sweep_dir / SUMMARY_CSV, write_csv)
        write_atomically(self.sweep_dir / SUMMARY_MD, write_md)


def job_rows(ranked: list[Job]) -> list[list[str]]:
    """The ranked table's cells: the overrides shown are those that tell the jobs apart."""
    _, varying = varying_overrides(ranked)
    return [
        [
            str(place),
            str(job.num),
            " ".join(varying[job.num]) or "(defaults)",
            str(job.status),
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


def _number(value: Optional[float], digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"  # nan and inf format as themselves


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if name in _NUMERIC else c.ljust(w) for c, w, name in zip(cells, widths, header))
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A pipe table; a ``|`` inside a cell (an error message, an override) is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])
