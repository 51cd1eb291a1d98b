"""What rnnexp uses of submitit's private API: how its SLURM jobs poll their states; tested on submitit 1.5.4 (the floor is the newest).

submitit has no public way to choose the command that reads its SLURM jobs'
states. Every SLURM job of a process shares one watcher, the class attribute
``submitit.slurm.slurm.SlurmJob.watcher``, a ``SlurmInfoWatcher`` that calls
``sacct``. :class:`SqueueWatcher` subclasses that watcher: it overrides
``_make_command`` and ``read_info`` and reads the jobs it holds
(``_registered``, ``_finished``); :func:`watch_with_squeue` puts one in the
class attribute's place, with the delay (``_delay_s``) of the one it replaces.
When to do so is rnnexp.sweep.slurm_noise's choice.

tests/test_slurm_states.py checks each of these on the installed submitit,
without a cluster: a fake ``squeue`` answers submitit's own ``update``.
"""

from __future__ import annotations

import os
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


def watching_with_squeue() -> bool:
    return isinstance(slurm.SlurmJob.watcher, SqueueWatcher)


def watch_with_squeue() -> None:
    """Have every SLURM job of this process read its state from squeue from now on (before any is submitted)."""
    slurm.SlurmJob.watcher = SqueueWatcher(delay_s=slurm.SlurmJob.watcher._delay_s)
