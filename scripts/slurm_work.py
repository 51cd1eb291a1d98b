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
from typing import Callable, Optional

# The processes of SLURM and its authentication: everything below slurmstepd is a task's.
DAEMONS = frozenset({"slurmctld", "slurmscriptd", "slurmd", "slurmstepd", "munged"})
TICKS = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[str, int, int, float, str]]:
    """Every process now: pid -> (name, parent pid, start time in ticks, CPU seconds used, state: R runs or waits for a core)."""
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
        found[int(entry.name)] = (name, int(fields[1]), start, (utime + stime) / TICKS, fields[0])
    return found


class SlurmWork:
    """CPU seconds of SLURM's processes since :meth:`start`, read by a thread every ``period`` seconds.

    Each read also counts the processes that are running or waiting for a
    core (state R) and are neither SLURM's nor below ``harness``: the load
    of other processes, sampled while the benchmark's SLURM jobs run, where
    the load average would mix them with jobs the kernel does not tell apart.
    """

    def __init__(self, period: float = 0.2, harness: int = 0) -> None:
        self.period = period
        self.harness = harness or os.getpid()
        self.others = [0, 0]  # runnable processes of others counted, reads counted (since the last mark)
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
            others = 0
            for pid, (name, _, start, seconds, state) in now.items():
                if name in DAEMONS or self._below(pid, now, lambda p, n: n == "slurmstepd"):
                    self.used[(pid, start)] = seconds
                elif state == "R" and not self._below(pid, now, lambda p, n: p == self.harness):
                    others += 1
            self.others[0] += others
            self.others[1] += 1

    @staticmethod
    def _below(pid: int, now: dict[int, tuple[str, int, int, float, str]], found: Callable[[int, str], bool]) -> bool:
        """Whether ``pid`` or one of its ancestors is ``found`` (by its pid and name)."""
        seen = set()
        while pid in now and pid not in seen:
            seen.add(pid)
            name, parent, _, _, _ = now[pid]
            if found(pid, name):
                return True
            pid = parent
        return False

    def mark(self) -> None:
        """Count the load of other processes afresh from now."""
        with self.lock:
            self.others = [0, 0]

    def others_load(self) -> float:
        """The mean number of other processes running or waiting for a core since the last mark."""
        with self.lock:
            counted, reads = self.others
        return counted / reads if reads else 0.0

    def seconds(self) -> float:
        """CPU seconds SLURM's processes used since the start (read afresh)."""
        self.read()
        with self.lock:
            return sum(used - self.before.get(key, 0.0) for key, used in self.used.items())
