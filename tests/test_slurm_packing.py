"""``hydra/launcher=slurm`` without a cluster: its keys, how a sweep is packed into tasks and cut into arrays, the line for a refused array, claims.

What SLURM itself does with the arrays is tests/test_slurm.py's, on the
one-node cluster.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hydra_plugins.rnnexp_launchers._slurm_tasks import claim, claim_holder
from hydra_plugins.rnnexp_launchers.slurm_limits import (
    Limits,
    Packing,
    Refused,
    arrays,
    arrays_at_once,
    parallelism,
    check_task_time,
    parse_max_submit,
    parse_slurm_minutes,
    parse_slots,
)
from rnnexp.errors import UserError

pytest.importorskip("hydra_plugins.hydra_submitit_launcher")


# --------------------------------------------------------------------------- the keys
# On the command line, one line each: tests/test_bad_inputs.py's SLURM_TABLE (docs/errors.md).
@pytest.mark.parametrize("value", [0, -3, 2.5, "two", True])
def test_jobs_per_task_is_a_whole_number_of_at_least_one_or_auto(value):
    with pytest.raises(UserError, match=f"^hydra.launcher.jobs_per_task={value}: must be an integer >= 1 "):
        Packing.of(value, 10)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "soon"])
def test_task_minutes_is_a_finite_number_above_0(value):
    with pytest.raises(UserError, match="^hydra.launcher.task_minutes=.*: must be a number of minutes above 0$"):
        Packing.of("auto", value)


# --------------------------------------------------------------------------- packing and arrays
def test_k_jobs_to_a_task_and_each_task_gets_the_time_of_its_jobs():
    packing = Packing.of(4, 10)
    assert packing.tasks(jobs=10, slots=64) == 3 and packing.task_time_min(timeout_min=20) == 80
    assert Packing.of(1, 10).tasks(jobs=10, slots=64) == 10


def test_auto_runs_one_task_per_slot_for_its_target_time_and_one_job_more():
    packing = Packing.of("auto", 2.5)
    assert packing.auto and packing.tasks(jobs=200, slots=64) == 64 and packing.tasks(jobs=3, slots=64) == 3
    assert packing.task_time_min(timeout_min=20) == 23


@given(tasks=st.integers(1, 5000), per_array=st.one_of(st.none(), st.integers(1, 1001)))
def test_arrays_hold_every_task_once_in_order_and_each_fits(tasks, per_array):
    cut = arrays(tasks, per_array)
    assert [i for chunk in cut for i in chunk] == list(range(tasks))
    assert all(len(chunk) <= (per_array or tasks) for chunk in cut)
    assert len(cut) == (1 if per_array is None else -(-tasks // per_array))  # no more arrays than needed
    assert max(map(len, cut)) - min(map(len, cut)) <= 1  # near-equal, so they run side by side


def test_the_issue_sweep_of_24_under_max_array_size_11_is_three_arrays():
    assert [len(chunk) for chunk in arrays(24, 11)] == [8, 8, 8]
    assert [len(chunk) for chunk in arrays(200, 101)] == [100, 100]


def test_array_parallelism_is_the_sweeps_and_shared_among_the_arrays_queued_together():
    assert parallelism(64, arrays_at_once=2, array_size=100) == 32
    assert parallelism(64, arrays_at_once=1, array_size=8) == 8  # never above the array's size
    assert parallelism(1, arrays_at_once=3, array_size=8) == 1  # at least one each


def test_arrays_queued_together_fit_under_max_submit_jobs():
    assert arrays_at_once([8, 8, 8], None) == 3
    assert arrays_at_once([8, 8, 8], 20) == 2
    assert arrays_at_once([8, 8, 8], 5) == 1  # one at a time (it is cut to fit: Limits.per_array)
    assert Limits(array_size=101, submit_jobs=50).per_array == 50
    assert Limits(array_size=None, submit_jobs=None).per_array is None


def test_auto_has_as_many_tasks_as_the_partitions_usable_cores_hold():
    assert parse_slots("0/2/0/2\n", cpus_per_task=1) == 2  # allocated/idle/other/total
    assert parse_slots("4/60/8/72\n10/22/0/32\n", cpus_per_task=2) == 48  # down cores (other) left out
    assert parse_slots("0/1/0/1", cpus_per_task=4) == 1
    assert parse_slots("", cpus_per_task=1) is None and parse_slots("n/a", cpus_per_task=1) is None


def test_max_submit_jobs_is_the_lowest_that_sacctmgr_lists():
    assert parse_max_submit("\n500\n\n80\n") == 80
    assert parse_max_submit("\n\n") is None  # associations without a limit


@pytest.mark.parametrize("text, minutes", [
    ("30", 30), ("30:30", 30.5), ("2:00:00", 120), ("1-00:00:00", 1440), ("2-12", 3600), ("1-02:30", 1590),
    ("infinite", None), ("UNLIMITED", None), ("n/a", None), ("", None),
])
def test_a_partitions_max_time_in_minutes(text, minutes):
    assert parse_slurm_minutes(text) == minutes


def test_tasks_longer_than_the_partition_allows_are_refused_with_a_packing_that_fits():
    """SLURM would queue them and leave them pending for ever (PartitionTimeLimit)."""
    with pytest.raises(UserError) as refused:
        check_task_time(task_minutes=1000, max_minutes=720, packing=Packing.of(50, 10), timeout_min=20, partition="cpu")
    assert str(refused.value) == (
        "hydra.launcher.jobs_per_task=50: a task asks for 1000 minutes (50 jobs x timeout_min 20), over partition cpu's "
        "MaxTime of 720; use hydra.launcher.jobs_per_task=36 or less"
    )
    with pytest.raises(UserError) as refused:
        check_task_time(task_minutes=720, max_minutes=710, packing=Packing.of("auto", 700), timeout_min=20, partition="")
    assert str(refused.value) == (
        "hydra.launcher.task_minutes=700: a task asks for 720 minutes (hydra.launcher.task_minutes + timeout_min 20), "
        "over the default partition's MaxTime of 710; use hydra.launcher.task_minutes=690 or less"
    )
    check_task_time(task_minutes=720, max_minutes=720, packing=Packing.of(36, 10), timeout_min=20, partition="cpu")
    check_task_time(task_minutes=10**6, max_minutes=None, packing=Packing.of(36, 10), timeout_min=20, partition="cpu")


# --------------------------------------------------------------------------- the line for a refused array
CONTINUE = "python -m rnnexp continue=outputs/multirun/2026-12-07/04-05-16.580"


def refused(reason: str, array_tasks: int = 22, queued: int = 0) -> Refused:
    return Refused(reason=reason, array_tasks=array_tasks, queued_tasks=queued, tasks=44, jobs=44, task_minutes=20)


def test_a_refused_array_names_the_clusters_limit_and_the_key_that_fits():
    error = "sbatch: error: Batch job submission failed: Invalid job array specification\n"
    assert refused(error).line(CONTINUE, cluster=21) == (
        "SLURM refused an array of 22 tasks (Invalid job array specification): this cluster's MaxArraySize is 21; "
        "nothing was submitted: run the command again with hydra.launcher.max_array_size=21"
    )


def test_after_arrays_were_queued_the_line_finishes_the_sweep_with_the_key_that_fits():
    error = "sbatch: error: Batch job submission failed: Invalid job array specification"
    assert refused(error, queued=22).line(CONTINUE, cluster=21) == (
        "SLURM refused an array of 22 tasks (Invalid job array specification): this cluster's MaxArraySize is 21; "
        f"22 of the sweep's 44 tasks are queued and run on; once they end, finish the sweep with {CONTINUE} "
        "hydra.launcher.max_array_size=21"
    )


def test_a_refusal_never_suggests_the_size_that_was_refused():
    """Where the cluster's limit is unknown, or not below the array, the key asks for less than was refused."""
    error = "sbatch: error: Batch job submission failed: Invalid job array specification"
    for cluster in (None, 22, 50):
        line = refused(error).line(CONTINUE, cluster=cluster)
        assert line.endswith("hydra.launcher.max_array_size=11"), line


def test_a_full_queue_names_max_submit_jobs_at_what_was_accepted():
    error = "sbatch: error: QOSMaxSubmitJobPerUserLimit\nsbatch: error: Batch job submission failed: Job violates " \
            "accounting/QOS policy (job submit limit, user's size and/or time limits)"
    line = refused(error, queued=30).line(CONTINUE, cluster=1001)
    assert "MaxSubmitJobs" in line and line.endswith(f"{CONTINUE} hydra.launcher.max_submit_jobs=30"), line


def test_a_refusal_of_another_kind_says_sbatchs_words():
    line = refused("sbatch: error: Batch job submission failed: Invalid account or account/partition combination "
                   "specified").line(CONTINUE, cluster=21)
    assert line == ("SLURM refused an array of 22 tasks (Invalid account or account/partition combination specified); "
                    "the sweep has 44 jobs in 44 tasks")


# --------------------------------------------------------------------------- claims (jobs_per_task=auto)
def test_each_job_is_claimed_by_one_task_however_many_race(tmp_path):
    won: dict[int, list[str]] = {number: [] for number in range(50)}

    def task(me: str) -> None:
        for number in won:
            if claim(str(tmp_path), number, me):
                won[number].append(me)

    threads = [threading.Thread(target=task, args=(f"77_{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(tasks) == 1 for tasks in won.values()), won
    assert all(claim_holder(str(tmp_path), number) == tasks[0] for number, tasks in won.items())
    assert claim_holder(str(tmp_path), 50) is None


def test_a_bad_key_value_raises_a_user_error_in_the_launcher_too():
    from hydra_plugins.rnnexp_launchers.slurm_launcher import SlurmLauncher

    with pytest.raises(UserError, match="hydra.launcher.jobs_per_task=0:"):
        SlurmLauncher(jobs_per_task=0)
