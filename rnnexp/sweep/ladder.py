"""A ladder of difficulty in a sweep's summary: how far up it each setting got, over its seeds.

``ladder=task.delay`` names the swept key whose values climb in difficulty.
The jobs then fall into rows (their other overrides without ``seed``: the
model, say) and rungs (the ladder key's values, easiest first), and the
summary states, for each row, the hardest rung that every seed solved and
the hardest that any seed solved:

    setting       task.delay=5  10   20   40   every seed  any seed
    model=gru             3/3  3/3  1/3  0/3           10        20

A rung counts its jobs as solved (rnnexp.sweep.jobs.Job.solved) out of all
the jobs planned there, so a seed that failed or never ran counts against
"every seed". Rungs are ordered by value where every value is a number, and
otherwise as the sweep's job numbers first meet them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from omegaconf import OmegaConf

from rnnexp.results import MULTIRUN_NAME
from rnnexp.sweep.jobs import Job, override_key

LADDER_KEY = "ladder"  # the config key (rnnexp.config.schemas.Config) that names the ladder
EVERY, ANY = "every seed", "any seed"


@dataclass
class Row:
    """One setting of the other swept keys, and its jobs on each rung."""

    setting: tuple[str, ...]
    jobs: dict[str, list[Job]] = field(default_factory=dict)  # rung value -> its jobs, one per seed

    def solved(self, rung: str) -> tuple[int, int]:
        """Jobs solved on ``rung``, and jobs there."""
        jobs = self.jobs.get(rung, [])
        return sum(job.solved for job in jobs), len(jobs)


@dataclass
class Ladder:
    """The sweep's rows against the rungs of its ladder key."""

    key: str
    rungs: list[str]  # the key's values, easiest first
    rows: list[Row]

    def hardest(self, row: Row, every: bool) -> Optional[str]:
        """The hardest rung that every seed (``every``) or any seed of ``row`` solved; None for none."""
        reached = None
        for rung in self.rungs:
            solved, jobs = row.solved(rung)
            if jobs and (solved == jobs if every else solved > 0):
                reached = rung
        return reached

    def header(self) -> list[str]:
        first, *rest = self.rungs
        return ["setting", f"{self.key}={first}", *rest, EVERY, ANY]

    def table_rows(self, common: Sequence[str] = (), show: Callable[[str], str] = str) -> list[list[str]]:
        """Cells: the setting (without what every job shares, each override as ``show`` writes it),
        ``solved/seeds`` per rung, the two hardest rungs."""
        cells = []
        for row in self.rows:
            counts = [self.rung_cell(row, rung) for rung in self.rungs]
            hardest = [self.hardest(row, every) or "none" for every in (True, False)]
            setting = " ".join(show(o) for o in row.setting if o not in common) or "(defaults)"
            cells.append([setting, *counts, *hardest])
        return cells

    @staticmethod
    def rung_cell(row: Row, rung: str) -> str:
        solved, jobs = row.solved(rung)
        return f"{solved}/{jobs}" if jobs else "-"


def ladder_of(jobs: Sequence[Job], key: str) -> Optional[Ladder]:
    """The ladder of ``key`` over ``jobs``; None when no job's overrides set it."""
    rows: dict[tuple[str, ...], Row] = {}
    rungs: list[str] = []
    for job in jobs:
        values = [o.split("=", 1)[1] for o in job.overrides if override_key(o) == key]
        if not values:
            continue
        rung = values[0]
        if rung not in rungs:
            rungs.append(rung)
        setting = tuple(o for o in job.overrides if override_key(o) not in (key, "seed"))
        rows.setdefault(setting, Row(setting)).jobs.setdefault(rung, []).append(job)
    if not rungs:
        return None
    return Ladder(key, sorted(rungs, key=float) if all(_is_number(r) for r in rungs) else rungs, list(rows.values()))


def recorded_key(sweep_dir: str | Path) -> Optional[str]:
    """The ``ladder`` key of the sweep's config, as the multirun recorded it in multirun.yaml; None without one."""
    path = Path(sweep_dir) / MULTIRUN_NAME
    try:
        key = OmegaConf.load(path).get(LADDER_KEY) if path.is_file() else None
    except Exception:  # a file this version cannot read: the summary does without its ladder
        return None
    return str(key) if key else None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
