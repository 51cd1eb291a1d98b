"""submitit's job states from ``squeue`` on a SLURM cluster that keeps no accounting.

submitit's SLURM launcher waits for each job's result file and, every few
seconds, asks ``sacct`` for the jobs' states. A cluster without accounting
storage (a small cluster, a test cluster) answers every such call with
"Slurm accounting storage is disabled" on stderr, and submitit adds a warning
of its own each time (logger ``submitit``: "Call #N - Bypassing sacct error
..., status may be inaccurate."): a dozen lines in the user's terminal for a
short sweep, none of them something to act on. There, :func:`quiet_sacct`
has submitit read the states from ``squeue`` instead, which the controller
answers for every job it still holds (until SLURM's MinJobAge after the job
ended). Where sacct works, nothing changes.
"""

from __future__ import annotations

import os
import subprocess
from typing import Optional

from submitit.slurm import slurm

GONE = "ENDED"  # the state of a job squeue no longer lists (any state submitit counts as finished)


class SqueueWatcher(slurm.SlurmInfoWatcher):
    """submitit's SLURM watcher, reading the states of this user's jobs from squeue (one line per array task)."""

    def _make_command(self) -> Optional[list[str]]:
        if not self._registered - self._finished:
            return None
        # All of the user's jobs: squeue --jobs fails as a whole once one id has left the controller.
        return ["squeue", "--noheader", "--array", f"--user={os.getuid()}", "--format=%i|%T|%N"]

    def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
        text = string.decode() if isinstance(string, bytes) else string
        info = super().read_info("JobID|State|NodeList\n" + text)  # the header sacct prints and squeue leaves out
        # A job leaves squeue once it has ended (MinJobAge later), and a job that
        # ended between two polls would wait as "still running" forever: one that
        # is gone has ended. If it left no result (cancelled, killed), submitit says so.
        for job_id in self._registered - self._finished:
            info.setdefault(job_id, {"JobID": job_id, "State": GONE, "NodeList": ""})
        return info


def quiet_sacct() -> None:
    """Have submitit read job states from squeue if this cluster's sacct cannot answer.

    For the process that launches a sweep with submitit's SLURM launcher,
    before its jobs are submitted (a multirun callback's on_multirun_start).
    """
    if isinstance(slurm.SlurmJob.watcher, SqueueWatcher) or sacct_answers():
        return
    # One watcher serves every SLURM job of this process: a class attribute.
    slurm.SlurmJob.watcher = SqueueWatcher(delay_s=slurm.SlurmJob.watcher._delay_s)


def sacct_answers() -> bool:
    """Whether sacct reads this cluster's accounting (asked for the jobs that start now: none)."""
    try:
        done = subprocess.run(
            ["sacct", "--noheader", "--allocations", "--starttime=now", "--endtime=now"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
