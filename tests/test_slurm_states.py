"""How rnnexp reads SLURM job states where sacct keeps no accounting (rnnexp/sweep/slurm_noise.py), from squeue's own output format."""

import pytest


def test_squeue_lines_give_each_job_its_state_and_a_job_gone_from_the_queue_has_ended():
    pytest.importorskip("submitit")  # the sweep extra
    from rnnexp.sweep.slurm_noise import GONE, SqueueWatcher

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
