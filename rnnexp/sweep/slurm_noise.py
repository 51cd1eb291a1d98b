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
ended). Where sacct works, nothing changes. The watcher that reads squeue
subclasses a private one of submitit's: rnnexp.internals.submitit_private.
"""

from __future__ import annotations

import subprocess

from rnnexp.internals.submitit_private import watch_with_squeue, watching_with_squeue


def quiet_sacct() -> None:
    """Have submitit read job states from squeue if this cluster's sacct cannot answer.

    For the process that launches a sweep with submitit's SLURM launcher,
    before its jobs are submitted (a multirun callback's on_multirun_start).
    """
    if not watching_with_squeue() and not sacct_answers():
        watch_with_squeue()


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
