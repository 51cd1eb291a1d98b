"""How rnnexp reads SLURM job states where sacct keeps no accounting (rnnexp/sweep/slurm_noise.py), from squeue's own output format.

The watcher subclasses a private one of submitit's (rnnexp/internals/submitit_private.py):
these tests check each part of submitit it relies on, with a fake squeue and no cluster.
"""

import os
import stat

import pytest

pytest.importorskip("submitit")  # the sweep extra

from submitit.slurm import slurm  # noqa: E402

from rnnexp.internals.submitit_private import GONE, SqueueWatcher, watch_with_squeue, watching_with_squeue  # noqa: E402


def test_squeue_lines_give_each_job_its_state_and_a_job_gone_from_the_queue_has_ended():
    watcher = SqueueWatcher(delay_s=1)
    for job_id in ("7_0", "7_1", "7_2", "8"):
        watcher.register_job(job_id)
    # squeue --noheader --array --format=%i|%T|%N: a running task and a pending one;
    # 7_2 and 8 have left the controller (ended, cancelled: MinJobAge after their end).
    info = watcher.read_info(b"7_0|RUNNING|node1\n7_1|PENDING|\n")
    assert {job: info[job]["State"] for job in ("7_0", "7_1", "7_2", "8")} == {
        "7_0": "RUNNING", "7_1": "PENDING", "7_2": GONE, "8": GONE,
    }
    watcher._info_dict.update(info)
    # submitit counts a state it does not know as finished: a job that ended between two
    # polls is not waited for forever.
    assert not watcher.is_done("7_0", mode="cache") and not watcher.is_done("7_1", mode="cache")
    assert watcher.is_done("7_2", mode="cache") and watcher.is_done("8", mode="cache")


def test_submitit_polls_squeue_through_the_watcher_and_stops_once_every_job_has_ended(tmp_path, monkeypatch):
    # A fake squeue on PATH: it records each call and lists job 7_0 as running while 7_1 is gone.
    calls = tmp_path / "calls"
    squeue = tmp_path / "squeue"
    squeue.write_text(f'#!/bin/sh\necho "$@" >> {calls}\ncat {tmp_path / "queue"}\n')
    squeue.chmod(squeue.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "queue").write_text("7_0|RUNNING|node1\n")
    watcher = SqueueWatcher(delay_s=1)
    watcher.register_job("7_0")
    watcher.register_job("7_1")

    watcher.update()  # submitit's own poll: _make_command, the call, read_info, its finished set
    assert watcher.get_state("7_0", mode="cache") == "RUNNING"
    assert watcher.is_done("7_1", mode="cache") and not watcher.is_done("7_0", mode="cache")
    assert calls.read_text().split() == ["--noheader", "--array", f"--user={os.getuid()}", "--format=%i|%T|%N"]

    (tmp_path / "queue").write_text("")  # 7_0 has ended and left the queue
    watcher.update()
    assert watcher.is_done("7_0", mode="cache")
    watcher.update()  # every job has ended: nothing left to ask squeue
    assert len(calls.read_text().splitlines()) == 2


def test_every_slurm_job_of_the_process_takes_the_squeue_watcher_with_submitits_delay(monkeypatch):
    monkeypatch.setattr(slurm.SlurmJob, "watcher", slurm.SlurmInfoWatcher(delay_s=7))
    assert not watching_with_squeue()
    watch_with_squeue()
    assert watching_with_squeue() and isinstance(slurm.SlurmJob.watcher, SqueueWatcher)
    assert slurm.SlurmJob.watcher._delay_s == 7
