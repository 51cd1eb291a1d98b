"""How a sweep's SLURM tasks fit the cluster: its limits, the tasks it is packed into, the arrays they are split across.

SLURM refuses a job array with more tasks than ``MaxArraySize`` allows
(1001 by default, often less), and an account may have at most
``MaxSubmitJobs`` jobs queued at once, each array task counting as one.
Hydra's submitit launcher submits a whole sweep as one array, so a sweep
above either limit never starts. Here a sweep becomes tasks (several jobs
each under ``jobs_per_task``), and the tasks become arrays that each fit.

Torch-free and submitit-free: the launcher's keys are checked here before
the sweep has a directory.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from rnnexp.errors import UserError

JOBS_PER_TASK_KEY = "hydra.launcher.jobs_per_task"
TASK_MINUTES_KEY = "hydra.launcher.task_minutes"
MAX_ARRAY_KEY = "hydra.launcher.max_array_size"
MAX_SUBMIT_KEY = "hydra.launcher.max_submit_jobs"
AUTO = "auto"


@dataclass(frozen=True)
class Packing:
    """How many jobs a task runs: ``per_task`` of them, or (``per_task`` None) as many as ``task_minutes`` allow."""

    per_task: Optional[int]
    task_minutes: float

    @classmethod
    def of(cls, jobs_per_task: Any, task_minutes: Any) -> "Packing":
        """The launcher's two keys, checked; a UserError naming the key for a bad value."""
        minutes = _number(task_minutes)
        if minutes is None or not math.isfinite(minutes) or minutes <= 0:
            raise UserError(f"{TASK_MINUTES_KEY}={task_minutes}: must be a number of minutes above 0")
        if str(jobs_per_task) == AUTO:
            return cls(None, minutes)
        if isinstance(jobs_per_task, bool) or not _is_integer(jobs_per_task) or int(jobs_per_task) < 1:
            raise UserError(
                f"{JOBS_PER_TASK_KEY}={jobs_per_task}: must be an integer >= 1 (the jobs one SLURM task runs one "
                f"after another) or {AUTO} (as many as {TASK_MINUTES_KEY} allow)"
            )
        return cls(int(jobs_per_task), minutes)

    @property
    def auto(self) -> bool:
        return self.per_task is None

    def tasks(self, jobs: int, slots: int) -> int:
        """The tasks ``jobs`` jobs make: K to a task; under auto one per slot SLURM may run at once (they share the jobs out).

        More tasks than slots would only start processes that find every job claimed.
        """
        if self.auto:
            return min(jobs, slots)
        return math.ceil(jobs / self.per_task)

    def task_time_min(self, timeout_min: int) -> int:
        """A task's time limit, from each job's: K jobs get K times it; under auto, the target plus one job started just before it."""
        if self.auto:
            return math.ceil(self.task_minutes) + timeout_min
        return self.per_task * timeout_min


@dataclass(frozen=True)
class Limits:
    """At most ``array_size`` tasks to an array and ``submit_jobs`` queued at once (None: no limit), and where each came from."""

    array_size: Optional[int]
    submit_jobs: Optional[int]
    array_size_from: str = ""  # "the key" or "this cluster's MaxArraySize", for the line that reports a refusal
    submit_jobs_from: str = ""

    @property
    def per_array(self) -> Optional[int]:
        """The most tasks one array may hold: it must fit under both limits."""
        known = [limit for limit in (self.array_size, self.submit_jobs) if limit is not None]
        return min(known) if known else None


def check_limit(key: str, value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not _is_integer(value) or int(value) < 1:
        raise UserError(f"{key}={value}: must be an integer >= 1, or null for the cluster's own limit")
    return int(value)


def limits(max_array_size: Any, max_submit_jobs: Any) -> Limits:
    """The keys where given, else what the cluster says (asked only for a limit the keys leave open)."""
    array_size = check_limit(MAX_ARRAY_KEY, max_array_size)
    submit_jobs = check_limit(MAX_SUBMIT_KEY, max_submit_jobs)
    array_from = submit_from = "the key"
    if array_size is None:
        array_size, array_from = cluster_max_array_size(), "this cluster's MaxArraySize"
    if submit_jobs is None:
        submit_jobs, submit_from = cluster_max_submit_jobs(), "your account's MaxSubmitJobs"
    return Limits(array_size, submit_jobs, array_from, submit_from)


def cluster_max_array_size() -> Optional[int]:
    """``MaxArraySize`` from ``scontrol show config``: the highest array index is one less, so an array holds this many."""
    found = re.search(r"^MaxArraySize\s*=\s*(\d+)", _answer(["scontrol", "show", "config"]), re.MULTILINE)
    return int(found.group(1)) if found else None


def cluster_max_submit_jobs() -> Optional[int]:
    """The lowest ``MaxSubmitJobs`` of this user's associations, where sacctmgr answers (clusters with accounting)."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    text = _answer(["sacctmgr", "--noheader", "--parsable2", "show", "associations", f"user={user}", "format=MaxSubmit"])
    return parse_max_submit(text)


def cluster_slots(partition: Optional[str], cpus_per_task: Optional[int]) -> Optional[int]:
    """How many tasks of ``cpus_per_task`` cores the partition's usable cores hold at once (sinfo's allocated + idle); None where sinfo does not say."""
    command = ["sinfo", "--noheader", "--format=%C"] + ([f"--partition={partition}"] if partition else [])
    return parse_slots(_answer(command), cpus_per_task or 1)


def parse_slots(text: str, cpus_per_task: int) -> Optional[int]:
    """sinfo's ``%C`` lines, allocated/idle/other/total cores: the tasks the usable ones hold."""
    usable = 0
    for line in text.split():
        counts = line.split("/")
        if len(counts) != 4 or not all(c.isdigit() for c in counts):
            return None
        usable += int(counts[0]) + int(counts[1])
    return max(1, usable // max(1, cpus_per_task)) if usable else None


def partition_max_minutes(partition: Optional[str]) -> Optional[float]:
    """The partition's MaxTime in minutes (the default partition's where none is named); None where unlimited or unknown."""
    command = ["sinfo", "--noheader", "--format=%P %l"]
    for line in _answer(command).splitlines():
        name, _, limit = line.strip().partition(" ")
        if (partition is None and name.endswith("*")) or name.rstrip("*") == partition:
            return parse_slurm_minutes(limit.strip())
    return None


def parse_slurm_minutes(text: str) -> Optional[float]:
    """SLURM's time formats in minutes: ``minutes``, ``minutes:seconds``, ``hours:minutes:seconds``, and
    ``days-hours[:minutes[:seconds]]``; None for ``infinite`` and what is no time."""
    days, clock = "0", text
    if "-" in text:
        days, _, clock = text.partition("-")
        units = [3600, 60, 1]  # after the days: hours first
    else:
        units = {1: [60], 2: [60, 1], 3: [3600, 60, 1]}.get(len(clock.split(":")), [])
    parts = clock.split(":")
    if not days.isdigit() or not units or len(parts) > 3 or not all(part.isdigit() for part in parts):
        return None
    return (int(days) * 86400 + sum(int(part) * unit for part, unit in zip(parts, units))) / 60


def check_task_time(task_minutes: int, max_minutes: Optional[float], packing: "Packing", timeout_min: int, partition: str) -> None:
    """Refuse tasks that would ask for more time than the partition allows: SLURM would leave them pending for ever."""
    if max_minutes is None or task_minutes <= max_minutes:
        return
    where = f"partition {partition}'s" if partition else "the default partition's"
    if packing.auto:
        raise UserError(
            f"{TASK_MINUTES_KEY}={packing.task_minutes:g}: a task asks for {task_minutes} minutes ({TASK_MINUTES_KEY} + "
            f"timeout_min {timeout_min}), over {where} MaxTime of {max_minutes:g}; "
            f"use {TASK_MINUTES_KEY}={max(1, math.floor(max_minutes - timeout_min)):g} or less"
        )
    fit = math.floor(max_minutes / timeout_min)
    if fit > 1:
        advice = f"use {JOBS_PER_TASK_KEY}={fit} or less"
    elif fit == 1:
        advice = f"use {JOBS_PER_TASK_KEY}=1"
    else:
        advice = f"lower hydra.launcher.timeout_min to {math.floor(max_minutes)}"
    raise UserError(
        f"{JOBS_PER_TASK_KEY}={packing.per_task}: a task asks for {task_minutes} minutes ({packing.per_task} jobs x "
        f"timeout_min {timeout_min}), over {where} MaxTime of {max_minutes:g}; {advice}"
    )


def parse_max_submit(text: str) -> Optional[int]:
    numbers = [int(line.strip()) for line in text.splitlines() if line.strip().isdigit()]
    return min(numbers) if numbers else None


def _answer(command: list[str]) -> str:
    """What a SLURM command prints; nothing where it is absent, fails or hangs (the limit is then unknown)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def arrays(tasks: int, per_array: Optional[int]) -> list[range]:
    """The tasks 0..tasks-1 cut into as few arrays as fit ``per_array``, their sizes within one of each other.

    Near-equal arrays run side by side under the sweep's parallelism,
    shared out among them: ``arrays(24, 11)`` is three arrays of 8, not 11, 11 and 2.
    """
    if per_array is None or tasks <= per_array:
        return [range(tasks)]
    count = math.ceil(tasks / per_array)
    base, larger = divmod(tasks, count)  # the first ``larger`` arrays hold one task more
    cut, start = [], 0
    for index in range(count):
        size = base + (index < larger)
        cut.append(range(start, start + size))
        start += size
    return cut


def parallelism(total: int, arrays_at_once: int, array_size: int) -> int:
    """One array's share of ``array_parallelism``: SLURM limits each array alone (``--array=0-N%P``), the key means the sweep."""
    return max(1, min(array_size, total // max(1, arrays_at_once)))


def arrays_at_once(sizes: Sequence[int], submit_jobs: Optional[int]) -> int:
    """How many of these arrays can be queued together under ``submit_jobs`` (all of them when there is no limit)."""
    if submit_jobs is None:
        return len(sizes)
    queued = count = 0
    for size in sizes:
        if queued + size > submit_jobs:
            break
        queued += size
        count += 1
    return max(1, count)


def _is_integer(value: Any) -> bool:
    number = _number(value)
    return number is not None and math.isfinite(number) and number == int(number)


def _number(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Refused:
    """An array SLURM refused: its size, what was queued before it, and the sweep's size, for the line that says what fits."""

    reason: str  # sbatch's own words, "Batch job submission failed: Invalid job array specification"
    array_tasks: int
    queued_tasks: int
    tasks: int
    jobs: int
    task_minutes: int  # the time limit each task asked for

    def line(self, continue_command: str, cluster: Optional[int]) -> str:
        """One line: what SLURM refused, the limit, and the key (with a value) that fits under it.

        ``cluster``: the cluster's MaxArraySize, asked afresh (the sweep may
        have given its own, larger, with the key), or None where unknown.
        """
        what = f"SLURM refused an array of {self.array_tasks} tasks ({self.said})"
        said = self.said.lower()
        if "array" in said:
            fit = cluster if cluster is not None and cluster < self.array_tasks else max(1, self.array_tasks // 2)
            limit = f"this cluster's MaxArraySize is {cluster}" if cluster is not None else "this cluster takes smaller arrays"
            key = f"{MAX_ARRAY_KEY}={fit}"
        elif "submit" in said:  # QOSMaxSubmitJobPerUserLimit, AssocMaxSubmitJobLimit, "job submit limit"
            fit = self.queued_tasks or max(1, self.array_tasks // 2)
            limit = f"your account may queue fewer jobs at once (MaxSubmitJobs), {self.queued_tasks} of this sweep's were queued"
            key = f"{MAX_SUBMIT_KEY}={fit}"
        elif "time limit" in said:
            limit = f"each task asked for {self.task_minutes} minutes, timeout_min for each of its jobs"
            key = "a lower hydra.launcher.timeout_min or " + JOBS_PER_TASK_KEY
        else:
            return f"{what}; the sweep has {self.jobs} jobs in {self.tasks} tasks"
        if self.queued_tasks:
            return (f"{what}: {limit}; {self.queued_tasks} of the sweep's {self.tasks} tasks are queued and run on; "
                    f"once they end, finish the sweep with {continue_command} {key}")
        return f"{what}: {limit}; nothing was submitted: run the command again with {key}"

    @property
    def said(self) -> str:
        """sbatch's reason, without its prefixes: "Invalid job array specification"."""
        lines = [line.strip() for line in self.reason.strip().splitlines() if line.strip()]
        if not lines:
            return "no reason given"
        return lines[-1].removeprefix("sbatch: error: ").removeprefix("Batch job submission failed: ").strip()
