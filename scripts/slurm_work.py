"""The CPU time this machine's SLURM spends: its daemons, and every process of the tasks they run.

The benchmark counts its own work out of the load average, to tell whether
other processes kept the cores busy (scripts/bench.py, ``HarnessShare``).
A SLURM task is no child of the benchmark: slurmd starts it through a
slurmstepd that leaves slurmd's process tree, so the kernel's accounting of
children never reaches the benchmark. :class:`SlurmWork` reads /proc
instead, a few times a second, and adds up the CPU time of the daemons and
of every process below a slurmstepd. A process that ends between two reads
loses its last fraction of a second: the sum is a little low, which leaves
more of the load to other processes and only makes the benchmark warn more.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

# The processes of SLURM and its authentication: everything below slurmstepd is a task's.
DAEMONS = frozenset({"slurmctld", "slurmscriptd", "slurmd", "slurmstepd", "munged"})
TICKS = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[str, int, int, float]]:
    """Every process now: pid -> (name, parent pid, start time in ticks, CPU seconds used)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # it ended while being read
            continue
        # "pid (name) state ppid ...": the name may hold spaces and parentheses, so split at the last ")".
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        utime, stime, start = int(fields[11]), int(fields[12]), int(fields[19])
        found[int(entry.name)] = (name, int(fields[1]), start, (utime + stime) / TICKS)
    return found


class SlurmWork:
    """CPU seconds of SLURM's processes since :meth:`start`, read by a thread every ``period`` seconds."""

    def __init__(self, period: float = 0.2) -> None:
        self.period = period
        self.used: dict[tuple[int, int], float] = {}  # (pid, start time) -> CPU seconds, at the last read
        self.before: dict[tuple[int, int], float] = {}  # what the processes already running had used at the start
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def start(self) -> "SlurmWork":
        self.read()
        self.before = dict(self.used)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            self.read()

    def read(self) -> None:
        now = processes()
        with self.lock:
            for pid, (name, _, start, seconds) in now.items():
                if name in DAEMONS or self._below_slurmstepd(pid, now):
                    self.used[(pid, start)] = seconds

    @staticmethod
    def _below_slurmstepd(pid: int, now: dict[int, tuple[str, int, int, float]]) -> bool:
        seen = set()
        while pid in now and pid not in seen:
            seen.add(pid)
            name, parent, _, _ = now[pid]
            if name == "slurmstepd":
                return True
            pid = parent
        return False

    def seconds(self) -> float:
        """CPU seconds SLURM's processes used since the start (read afresh)."""
        self.read()
        with self.lock:
            return sum(used - self.before.get(key, 0.0) for key, used in self.used.items())
