"""The sweep summary as tables: the terminal's text, ``summary.md`` and ``summary.csv``.

Two tables: every job in rank order, with the overrides that tell the jobs
apart; and, when a setting was run over several seeds, one row per setting.
The columns say what their numbers are for the sweep's kind of task: a
classify sweep's accuracy is the share of sequences classified right (and
its seed groups show the mean accuracy), a regress sweep's final loss is the
MSE and its accuracy the share of sequences within task.tolerance.
A trial that a search pruned shows the epoch it stopped at beside its status,
and the loss it was judged by there.
Jobs that failed are listed last with their one-line reason, and then the
jobs that have not ended (interrupted, running or killed, never started),
each with how far it got, and the command that finishes the sweep. The tables
round numbers to what a reader compares (``lr=0.01414``), in one notation per
column; summary.csv keeps them whole, for other tools to read.

While a sweep runs, each job prints one line as it ends (:func:`job_line`).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Sequence

from rnnexp.data.task import CLASSIFY, REGRESS
from rnnexp.files import write_atomically
from rnnexp.results import Status
from rnnexp.sweep.continuation import finish_command
from rnnexp.sweep.jobs import Group, Job, Ranking, group_by_setting, rank, read_jobs, sweep_kind, varying_overrides
from rnnexp.sweep.ladder import Ladder, ladder_of, recorded_key

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"

JOB_COLUMNS = ["rank", "job", "overrides", "status", "final loss", "accuracy", "solved epoch", "seconds"]
# Shown after "accuracy" (of characters) when a task has many evaluation sequences:
# "402/410" says how near a job came where "solved" says only all or not.
SEQUENCES_COLUMN = "sequences right"


@dataclass(frozen=True)
class Columns:
    """What the tables call a kind's numbers, and the digits of its accuracy."""

    loss: str = "final loss"
    accuracy: str = "accuracy"  # characters right, for a task of characters
    accuracy_digits: int = 2
    mean_loss: str = "mean loss"
    std_loss: str = "std loss"
    mean_accuracy: str = ""  # a seed group's mean accuracy, where the kind ranks by it ("": no such column)
    std_accuracy: str = ""


CHARACTERS = Columns()
# One answer per sequence: the accuracy is the share of sequences right, to the four decimals it ranks by.
KIND_COLUMNS = {
    CLASSIFY: Columns(accuracy="seq accuracy", accuracy_digits=4, mean_accuracy="mean accuracy", std_accuracy="std accuracy"),
    REGRESS: Columns(loss="final MSE", accuracy="within tolerance", accuracy_digits=4, mean_loss="mean MSE", std_loss="std MSE"),
}
# Columns of numbers, right-aligned in the terminal.
_NUMERIC = {"rank", "job", SEQUENCES_COLUMN, "solved epoch", "seconds", "seeds", "solved", "mean solved epoch"} | {
    name for columns in (CHARACTERS, *KIND_COLUMNS.values())
    for name in (columns.loss, columns.accuracy, columns.mean_loss, columns.std_loss, columns.mean_accuracy, columns.std_accuracy)
    if name
}
SIGNIFICANT = 4  # digits of an override's float value in the tables: lr=0.01414
NOT_DRAWN = "(not drawn yet)"  # the overrides cell of a search's trial that never started


@dataclass
class Summary:
    """A sweep's jobs, ranked, with their seed groups; renders itself and writes its files."""

    sweep_dir: Path
    ranked: list[Job]
    groups: list[Group]  # [] when no setting ran over several seeds
    common: list[str]  # the overrides every job shares, shown once above the tables
    ranking: Ranking = Ranking()
    ladder: Optional[Ladder] = None  # with ladder=KEY: how far up KEY's values each setting got

    @classmethod
    def read(cls, sweep_dir: str | Path, ranking: Optional[Ranking] = None, ladder: Optional[str] = None) -> Summary:
        """Read the jobs of ``sweep_dir`` and rank them (writes nothing).

        ``ranking`` defaults to the one the multirun recorded in the sweep
        directory, so a summary rebuilt later ranks as the multirun did;
        ``ladder``, the key of a ladder of difficulty, to the sweep's ``ladder``
        as multirun.yaml records it.
        """
        ranking = ranking if ranking is not None else Ranking.read(sweep_dir)
        ladder = ladder or recorded_key(sweep_dir)
        jobs = read_jobs(sweep_dir)
        ranking = replace(ranking, kind=sweep_kind(jobs, sweep_dir))
        common, _ = varying_overrides(jobs)
        return cls(Path(sweep_dir), rank(jobs, ranking), group_by_setting(jobs, ranking), common, ranking,
                   ladder_of(jobs, ladder) if ladder else None)

    @property
    def failed(self) -> list[Job]:
        return [j for j in self.ranked if j.failed]

    @property
    def unfinished(self) -> list[Job]:
        """The jobs that have not ended (interrupted, running or killed, missing), in rank order."""
        return [j for j in self.ranked if not j.ended]

    def counts(self) -> str:
        """``4 jobs: 1 solved, 0 diverged, 1 failed``, and the count of each state of the jobs that have not ended."""
        solved = sum(j.solved for j in self.ranked)
        diverged = sum(j.status is Status.DIVERGED for j in self.ranked)
        counts = f"{len(self.ranked)} jobs: {solved} solved, {diverged} diverged, {len(self.failed)} failed"
        pruned = sum(j.pruned for j in self.ranked)
        counts += f", {pruned} pruned" if pruned else ""
        for status in (Status.INTERRUPTED, Status.RUNNING, Status.MISSING):
            count = sum(j.status is status for j in self.unfinished)
            counts += f", {count} {status}" if count else ""
        return counts

    def continue_command(self) -> str:
        """The command that runs what is left of the sweep, into its own directory."""
        return finish_command(self.sweep_dir)

    def unfinished_lines(self) -> list[str]:
        """A line for each job that has not ended (one for those never started), then the command that finishes the sweep."""
        if not self.unfinished:
            return []
        lines = [f"Job {j.num} {j.state}: {j.progress()}" for j in self.unfinished if j.status is not Status.MISSING]
        missing = [str(j.num) for j in self.unfinished if j.status is Status.MISSING]
        if missing:
            lines.append(f"Job{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing: never started")
        return lines + [f"To finish the sweep: {self.continue_command()}"]

    def problem(self) -> Optional[str]:
        """Why the multirun fails at its end, in one line: jobs that failed, jobs that never ended; None if neither."""
        failed, unfinished, total = self.failed, self.unfinished, len(self.ranked)
        parts = []
        if failed:
            parts.append(f"{len(failed)} of {total} jobs failed (job {failed[0].num}: {failed[0].error})")
        if unfinished:
            first, of = unfinished[0], "" if failed else f" of {total} jobs"
            parts.append(f"{len(unfinished)}{of} did not finish (job {first.num} {first.state}: {first.progress()})")
        return " and ".join(parts) or None

    @property
    def counts_sequences(self) -> bool:
        """Whether the jobs' records count many evaluation sequences: then the table shows how many were right."""
        return any(j.counted and j.sequences > 1 for j in self.ranked)

    @property
    def columns(self) -> Columns:
        """What the tables call the numbers of the sweep's kind of task."""
        return KIND_COLUMNS.get(self.ranking.kind, CHARACTERS)

    def job_table(self) -> tuple[list[str], list[list[str]]]:
        """The ranked table's header and cells."""
        columns = self.columns
        header = [columns.loss if c == "final loss" else columns.accuracy if c == "accuracy" else c for c in JOB_COLUMNS]
        if not self.counts_sequences:
            return header, job_rows(self.ranked, columns=columns)
        after = JOB_COLUMNS.index("accuracy") + 1
        return header[:after] + [SEQUENCES_COLUMN] + header[after:], job_rows(self.ranked, sequences=True, columns=columns)

    def group_table(self) -> tuple[list[str], list[list[str]]]:
        """The seed groups' header and cells."""
        columns = self.columns
        header = ["setting", "seeds", "solved", columns.mean_loss, columns.std_loss, "mean solved epoch"]
        if columns.mean_accuracy:
            header[3:3] = [columns.mean_accuracy, columns.std_accuracy]
        return header, group_rows(self.groups, self.common, columns)

    def group_intro(self) -> str:
        """What the seed groups' columns hold, for summary.md."""
        columns = self.columns
        loss = "the final loss" if columns.loss == CHARACTERS.loss else "the final MSE"
        intro = f"Mean and standard deviation (n - 1) of {loss}"
        if columns.mean_accuracy:
            intro = f"Mean and standard deviation (n - 1) of the accuracy (the share of sequences right), and of {loss}"
        return intro + ", share of seeds solved, mean solved epoch of the solved seeds."

    def kind_line(self) -> Optional[str]:
        """What a one-answer kind's numbers are, in a sentence; None for a task of characters."""
        if self.ranking.kind == CLASSIFY:
            return "Seq accuracy: the share of evaluation sequences classified right; final loss: the cross-entropy"
        if self.ranking.kind == REGRESS:
            return ("Final MSE: the mean squared error; within tolerance: the share of evaluation sequences "
                    "with every number within task.tolerance")
        return None

    def text(self) -> str:
        """What the terminal shows at the end of a multirun."""
        parts = [f"Sweep {self.sweep_dir} ({self.counts()})", self.ranking.describe()]
        if self.kind_line():
            parts.append(self.kind_line())
        if self.common:
            parts.append(f"Every job: {' '.join(shorten(o) for o in self.common)}")
        parts += ["", text_table(*self.job_table())]
        if self.groups:
            parts += ["", "By setting, over seeds:", text_table(*self.group_table())]
        if self.ladder:
            header, rows = self.ladder_table()
            parts += ["", f"{self.ladder_intro()}:", text_table(header, rows, numeric=set(header[1:]))]
        parts += [f"Job {job.num} failed: {job.error}" for job in self.failed]
        return "\n".join(parts + self.unfinished_lines())

    def markdown(self) -> str:
        """The content of ``summary.md``."""
        intro = f"{self.counts()}. {self.ranking.describe()}."
        if self.kind_line():
            intro += f" {self.kind_line()}."
        if self.counts_sequences:
            intro += f" Solved: {self.solved_rule()} at the end (\"{SEQUENCES_COLUMN}\" counts them)."
        parts = [f"# Sweep `{self.sweep_dir.name}`", "", intro]
        if self.common:
            parts += ["", f"Every job: `{' '.join(shorten(o) for o in self.common)}`"]
        parts += ["", markdown_table(*self.job_table())]
        if self.groups:
            parts += [
                "",
                "## By setting, over seeds",
                "",
                self.group_intro(),
                "",
                markdown_table(*self.group_table()),
            ]
        if self.ladder:
            parts += ["", f"## Ladder of difficulty: `{self.ladder.key}`", "", f"{self.ladder_intro()}.", "",
                      markdown_table(*self.ladder_table())]
        if self.failed:
            parts += ["", "## Failed jobs", ""] + [f"- {j.num} `{j.dir.name}`: {j.error}" for j in self.failed]
        if self.unfinished:
            parts += ["", "## Jobs that have not ended", ""]
            parts += [f"- {j.num} {f'`{j.dir.name}`' if j.dir else '(no directory)'}: {j.state}, {j.progress()}"
                      for j in self.unfinished]
            parts += ["", f"To finish the sweep: `{self.continue_command()}`"]
        return "\n".join(parts) + "\n"

    def solved_rule(self) -> str:
        """What counts as solved in words: every evaluation sequence right, or the jobs' solved_at share of them."""
        shares = sorted({j.solved_at for j in self.ranked if j.counted})
        if not shares or shares == [1.0]:
            return "every evaluation sequence right"
        return f"at least {' or '.join(f'{share * 100:g}%' for share in shares)} of the evaluation sequences right"

    def ladder_intro(self) -> str:
        return (f"Seeds solved ({self.solved_rule()}) at each {self.ladder.key}, and the hardest {self.ladder.key} that every seed "
                "and that any seed solved")

    def ladder_table(self) -> tuple[list[str], list[list[str]]]:
        """The ladder's header and cells, the settings' overrides shortened as in the other tables."""
        return self.ladder.header(), self.ladder.table_rows(self.common, show=shorten)

    def csv_rows(self) -> list[dict[str, Any]]:
        """The rows of ``summary.csv``: every override and the unrounded numbers, for other tools to read."""
        return [
            {
                "rank": place,
                "job": job.num,
                "dir": job.dir.name if job.dir else "",
                "overrides": " ".join(job.overrides),
                "status": str(job.status),
                "epochs": job.epochs,  # trained: fewer than configured for a pruned or early-stopped job
                "solved": job.solved,
                "final_loss": job.final_loss,
                "accuracy": job.accuracy,
                "sequences_right": job.sequences_right,
                "sequences": job.sequences,
                "solved_epoch": job.solved_epoch,
                "seconds": job.seconds,
                "prediction": job.prediction,
                "error": job.error,
                "kind": job.kind,  # the task's kind: what final_loss and accuracy measure
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


def job_rows(ranked: list[Job], sequences: bool = False, columns: Columns = CHARACTERS) -> list[list[str]]:
    """The ranked table's cells: the overrides shown are those that tell the jobs apart.

    ``sequences`` adds the count of evaluation sequences right, after the accuracy.
    """
    _, varying = varying_overrides(ranked)
    losses = loss_column([job.final_loss for job in ranked])
    rows = []
    for place, job in enumerate(ranked, start=1):
        shown = " ".join(shorten(o) for o in varying[job.num]) or "(defaults)"
        row = [
            str(place),
            str(job.num),
            shown if job.overrides_known else NOT_DRAWN,
            status_cell(job),
            losses[place - 1],
            _number(job.accuracy, columns.accuracy_digits),
        ]
        if sequences:
            row.append(f"{job.sequences_right}/{job.sequences}" if job.counted else "-")
        rows.append(row + [str(job.solved_epoch) if job.solved else "-", _number(job.seconds, 2)])
    return rows


def status_cell(job: Job) -> str:
    """How the tables name a job's status: a pruned trial with the epoch it stopped at (``pruned at 3``)."""
    return f"pruned at {job.epochs}" if job.pruned else str(job.status)


def group_rows(groups: list[Group], common: list[str], columns: Columns = CHARACTERS) -> list[list[str]]:
    """The seed groups' cells; with ``columns.mean_accuracy``, the mean and std of the accuracy before the loss's."""
    means = loss_column([g.mean_loss for g in groups])
    stds = loss_column([g.std_loss for g in groups])
    rows = []
    for g, mean, std in zip(groups, means, stds):
        setting = " ".join(shorten(o) for o in g.setting if o not in common) or "(defaults)"
        accuracy = [_number(g.mean_accuracy, columns.accuracy_digits), _number(g.std_accuracy, columns.accuracy_digits)]
        rows.append([
            setting,
            str(len(g.jobs)),
            f"{sum(j.solved for j in g.jobs)}/{len(g.jobs)}",
            *(accuracy if columns.mean_accuracy else []),
            mean,
            std,
            _number(g.mean_solved_epoch, 1),
        ])
    return rows


def shorten(override: str, digits: int = SIGNIFICANT) -> str:
    """``lr=0.014135935551752304`` -> ``lr=0.01414``: a decimal value to ``digits`` significant digits.

    Only where that is shorter, so ``lr=1e30`` stays as typed; integers
    (``model.hidden_size=32``, ``epochs=100000``) and words stay whole.
    """
    key, sep, value = override.partition("=")
    if not sep or not any(c in value for c in ".eE"):
        return override
    try:
        number = float(value)
    except ValueError:
        return override  # a path or a word: hello.txt, model=gru
    short = f"{number:.{digits}g}"
    return f"{key}={short}" if len(short) < len(value) else override


def loss_column(values: Sequence[Optional[float]]) -> list[str]:
    """A column of losses in one notation: four decimals (``0.4856``), or, when a loss of the
    column lies below 0.001, where four decimals would leave one digit or none, all of them with
    four significant digits in scientific notation (``1.707e-05`` above ``4.856e-01``).

    A search drives losses towards 0: 1.287e-06 and 0.0 must not both read
    0.0000, and one notation per column keeps the losses comparable at a glance.
    """
    small = any(v is not None and math.isfinite(v) and v != 0 and abs(v) < 0.001 for v in values)
    if not small:
        return [_number(v, 4) for v in values]
    return ["-" if v is None else f"{v:.{SIGNIFICANT - 1}e}" for v in values]  # nan and inf format as themselves


def _number(value: Optional[float], digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"  # nan and inf format as themselves


def text_table(header: list[str], rows: list[list[str]], numeric: Optional[set[str]] = None) -> str:
    """Columns padded to their widest cell; the ``numeric`` columns (by header) right-aligned."""
    numeric = _NUMERIC if numeric is None else numeric
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        padded = (c.rjust(w) if name in numeric else c.ljust(w) for c, w, name in zip(cells, widths, header))
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A pipe table; a ``|`` inside a cell (an error message, an override) is escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])


def job_line(job: Job, sweep_overrides: Sequence[str] = (), detail: str = "", kept: bool = False) -> str:
    """What a sweep prints as one of its jobs ends.

    ``Job 3 (model=rnn lr=0.1): ok, final loss 0.4856, solved at epoch 10, 0.04 s``:
    the overrides shown are the job's own, without those it shares with every
    job as the sweep's command line gives them (``sweep_overrides``). A
    classify job names its accuracy first (``ok, accuracy 0.9750 (39/40),
    final loss 0.0935``), a regress job its MSE and the share within tolerance.
    ``detail`` follows the outcome (where a failed job's traceback is);
    ``kept``: the job had ended in an earlier attempt of the sweep, and was not run again.
    """
    shown = " ".join(shorten(o) for o in job.overrides if o not in sweep_overrides) or "defaults"
    was = " (ended before, kept)" if kept else ""
    if job.status is Status.FAILED:
        outcome = f"failed: {job.error}"
    elif job.status is Status.INTERRUPTED:
        outcome = f"interrupted, {job.progress()}"
    elif job.status is Status.DIVERGED:
        outcome = f"diverged{was} in epoch {(job.epochs or 0) + 1}"
    elif job.pruned:
        outcome = f"pruned{was} after epoch {job.epochs}, {_scores(job)}"
    else:
        outcome = f"{job.status}{was}, {_scores(job, final=True)}"
        outcome += f", solved at epoch {job.solved_epoch}" if job.solved else ""
    seconds = f", {job.seconds:.2f} s" if job.seconds is not None else ""
    return f"Job {job.num} ({shown}): {outcome}{detail}{seconds}"


def _scores(job: Job, final: bool = False) -> str:
    """A job's numbers in its line, as its kind names them.

    ``final loss 0.4856``; classify ``accuracy 0.9750 (39/40), final loss 0.0935``;
    regress ``final MSE 0.0012, within tolerance 0.9500 (38/40)``.
    """
    loss = loss_column([job.final_loss])[0]
    of = f" ({job.sequences_right}/{job.sequences})" if job.counted else ""
    if job.kind == CLASSIFY:
        return f"accuracy {_number(job.accuracy, 4)}{of}, {'final ' if final else ''}loss {loss}"
    if job.kind == REGRESS:
        within = f", within tolerance {_number(job.accuracy, 4)}{of}"
        return f"{'final ' if final else ''}MSE {loss}{within}"
    return f"{'final ' if final else ''}loss {loss}"
