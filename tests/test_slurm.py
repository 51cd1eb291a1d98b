"""``hydra/launcher=slurm`` against a real SLURM cluster: sweeps, a failed job, a requeue, a time limit, a sweep continued.

The cluster is the one-node cluster of ``scripts/slurm_cluster.sh start``
(docs/development.md, "Cluster tests"), found through ``SLURM_CONF`` as
sbatch finds it. Without sbatch or a cluster that answers, these tests skip;
under ``CI=true`` they fail instead, since CI starts the cluster itself.

Each test runs ``python -m rnnexp -m hydra/launcher=slurm ...`` as a process
of its own, as a user does on a login node, and reads what its jobs left in
the sweep directory. The checks that need SLURM's own commands (requeue,
cancel) address only the jobs of the test's own sweep, by the SLURM ids that
submitit names its folders after.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

import pytest

from conftest import compose_config, sweep_dir_of, train_steps
from rnnexp.results import EVENT_FILES, LAST, METRICS_NAME, RunResult, Status
from rnnexp.sweep import SUMMARY_CSV
from rnnexp.training.trainer import train

pytestmark = [pytest.mark.slurm, pytest.mark.e2e]

CORPUS = Path(__file__).resolve().parent.parent / "rnnexp" / "data" / "corpora" / "coriolanus.txt"
# A job's time limit. SLURM warns a job signal_delay_s (60 s) plus up to 30 s
# before it: long after these jobs end, all but the time-limit test's.
TIMEOUT_MIN = 5
# A text job that can be caught training: an LSTM over 30,000 characters takes
# about a tenth of a second an epoch on one core (more on a busy machine).
TEXT_JOB = ("task=text", "model=lstm", "threads=1", "device=cpu")
T = TypeVar("T")


@pytest.fixture(scope="session")
def partition() -> str:
    """The default partition of the cluster that SLURM_CONF names; skips (fails under CI=true) without one."""
    ci = os.environ.get("CI") == "true"

    def unavailable(reason: str) -> None:
        hint = "; start one with scripts/slurm_cluster.sh start and export SLURM_CONF (docs/development.md)"
        (pytest.fail if ci else pytest.skip)(reason + hint)

    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    if shutil.which("sbatch") is None:
        unavailable("no sbatch on PATH")
    conf = os.environ.get("SLURM_CONF")
    if not conf or not Path(conf).is_file():
        unavailable(f"SLURM_CONF names no slurm.conf ({conf!r})")
    try:
        sinfo = subprocess.run(["sinfo", "--noheader", "--format=%P %T"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        unavailable(f"the controller of the cluster in {conf} does not answer")
    lines = [line.split() for line in sinfo.stdout.splitlines() if line.strip()]
    up = [name for name, state in lines if state.rstrip("*~#") in ("idle", "mixed", "allocated", "completing")]
    if sinfo.returncode != 0 or not up:
        unavailable(f"no node of the cluster in {conf} is up ({(sinfo.stderr or sinfo.stdout).strip()})")
    default = [name for name in up if name.endswith("*")]
    return (default or up)[0].rstrip("*")


def slurm_command(partition: str, *overrides: str, timeout_min: int = TIMEOUT_MIN) -> list[str]:
    return [sys.executable, "-m", "rnnexp", "-m", "hydra/launcher=slurm", f"hydra.launcher.partition={partition}",
            f"hydra.launcher.timeout_min={timeout_min}", *overrides]


def environment() -> dict[str, str]:
    # A HYDRA_FULL_ERROR in the caller's environment would change the output under test.
    return {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}


def run(command: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run ``command`` to its end; its output as the user's terminal shows it (stderr within stdout)."""
    return subprocess.run(command, cwd=cwd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, preexec_fn=in_the_background)


def start(command: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=in_the_background)


def in_the_background() -> None:
    """A sweep's submitting process yields the cores to the tests that run meanwhile (its jobs do: slurm_cluster.sh)."""
    os.nice(10)


def finish(process: subprocess.Popen, timeout: float) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the sweep did not end within {timeout} s:\n{output}")
    return output


def wait_for(find: Callable[[], Optional[T]], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"waited {timeout} s for {what}")


def summary_rows(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / SUMMARY_CSV, newline="") as f:
        return list(csv.DictReader(f))


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name != ".submitit")


def slurm_ids(sweep_dir: Path) -> list[str]:
    """The SLURM ids of the sweep's jobs (``<array>_<index>``, or one job's own): submitit's pickle of each."""
    return sorted(p.name.removesuffix("_submitted.pkl") for p in (sweep_dir / ".submitit").glob("*_submitted.pkl"))


def corpus(path: Path, characters: int) -> Path:
    """The first ``characters`` of the shipped text, at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CORPUS.read_text()[:characters])
    return path


def no_sacct_noise(output: str) -> None:
    assert "sacct" not in output and "accounting storage is disabled" not in output, output


# --------------------------------------------------------------------------- sweeps
# Every sweep of this module starts with its first test (the cluster's own
# check, which the other tests of the session then follow) and is checked
# last: each is a process of its own, mostly waiting for SLURM, so its
# waits overlap the rest of the suite (conftest.py orders the tests).
def nested_corpus(cwd: Path) -> Path:
    return corpus(cwd.joinpath(*(f"level_{i}_of_a_long_nested_path" for i in range(8)), "corpus.txt"), 2000)


# An Optuna search pruned by the median of its finished trials, two trials to a SLURM array: the
# jobs on the node report each epoch's loss to the study, in the sweep directory's journal.
PRUNED_SEARCH = ("hparams_search=optuna", "task=copy", "task.size=64", "model.hidden_size=choice(8, 16)", "epochs=5",
                 "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2", "hydra.sweeper.pruner=median",
                 "hydra.sweeper.pruner_args.n_startup_trials=1")
# Six jobs, two to a task, at most two tasks to an array: three tasks in two arrays, queued together.
PACKED_IN_ARRAYS = ("model=cell,rnn,embedding", "seed=0,1", "hydra.launcher.jobs_per_task=2",
                    "hydra.launcher.max_array_size=2")
# Tasks that share three jobs out by time: two at once, each stopping after its first job (a target of
# a twentieth of a second), so a second round takes the job left.
SHARED_BY_TIME = ("model=cell,rnn,embedding", "hydra.launcher.jobs_per_task=auto", "hydra.launcher.task_minutes=0.001",
                  "hydra.launcher.array_parallelism=2")
SWEEPS = {
    "two_jobs": lambda cwd: ("model=cell,rnn",),
    "packed_in_arrays": lambda cwd: PACKED_IN_ARRAYS,
    "shared_by_time": lambda cwd: SHARED_BY_TIME,
    # One task more than the cluster's MaxArraySize, in one array the key asks for: SLURM refuses it.
    "refused": lambda cwd: ("model=cell", f"seed=range({max_array_size() + 1})",
                            f"hydra.launcher.max_array_size={max_array_size() + 1}"),
    # Job 0 fails (no such file); job 1 reads a file eight folders deep.
    "one_fails": lambda cwd: ("task=text", f"task.path={cwd / 'missing.txt'},{nested_corpus(cwd)}", "epochs=2"),
    "pruned_search": lambda cwd: PRUNED_SEARCH,
}


@pytest.fixture(scope="session")
def started_sweeps(partition, tmp_path_factory) -> Iterator[dict[str, tuple[subprocess.Popen, Path]]]:
    """The sweeps of SWEEPS, each in a directory of its own, started together."""
    sweeps = {}
    for name, overrides in SWEEPS.items():
        cwd = tmp_path_factory.mktemp(name)
        sweeps[name] = start(slurm_command(partition, *overrides(cwd)), cwd), cwd
    yield sweeps
    for sweep, cwd in sweeps.values():
        stop_sweep(sweep, cwd)


def stop_sweep(sweep: subprocess.Popen, cwd: Path) -> None:
    """A sweep still running when the session ends (a test failed with -x): it goes, and its jobs with it."""
    if sweep.poll() is None:
        sweep.kill()
        sweep.communicate()
        for sweep_dir in (cwd / "outputs" / "multirun").glob("*/*"):
            subprocess.run(["scancel", *slurm_ids(sweep_dir)], timeout=60)


def ended(started_sweeps, name: str) -> tuple[subprocess.Popen, str, Path]:
    """The sweep ``name`` once it has ended, its output (kept for the next test of the same sweep), its directory."""
    sweep, cwd = started_sweeps[name]
    if sweep.returncode is None:
        sweep.output = finish(sweep, timeout=240)
    return sweep, sweep.output, cwd


def ended_ok(started_sweeps, name: str) -> tuple[str, Path, list[dict]]:
    """The sweep ``name``, which must have ended with status 0: its output, its directory, its summary's rows."""
    sweep, output, cwd = ended(started_sweeps, name)
    assert sweep.returncode == 0, output
    sweep_dir = sweep_dir_of(cwd)
    return output, sweep_dir, summary_rows(sweep_dir)


def test_the_cluster_answers_and_starts_the_sweeps(partition, started_sweeps):
    """The first cluster test: the partition is up (the fixture asked sinfo) and every sweep was submitted."""
    assert partition
    assert all(sweep.returncode in (None, 0, 1, 2) for sweep, _ in started_sweeps.values())


@pytest.mark.overlapped
def test_a_sweep_runs_its_jobs_on_the_cluster_and_summarizes(started_sweeps):
    output, sweep_dir, rows = ended_ok(started_sweeps, "two_jobs")
    assert sorted(r["overrides"] for r in rows) == ["model=cell", "model=rnn"]
    assert all(r["status"] == "ok" for r in rows)
    assert len(slurm_ids(sweep_dir)) == 2 and len({i.split("_")[0] for i in slurm_ids(sweep_dir)}) == 1  # one array
    assert f"Summary: {Path('outputs') / sweep_dir.relative_to(sweep_dir.parents[2])}" in output
    no_sacct_noise(output)


def task_logs(sweep_dir: Path) -> dict[str, str]:
    """Each SLURM task's output (submitit's ``<id>_0_log.out``), by its SLURM id."""
    return {p.name.removesuffix("_0_log.out"): p.read_text() for p in (sweep_dir / ".submitit").glob("*_0_log.out")}


def jobs_in(log: str) -> list[int]:
    """The jobs a task ran, in order: the line each job's end prints in the task's output."""
    return [int(line.split()[1]) for line in log.splitlines() if line.startswith("Job ") and "): " in line]


@pytest.mark.overlapped
def test_a_sweep_packed_two_jobs_to_a_task_is_split_into_arrays_that_fit(started_sweeps):
    output, sweep_dir, rows = ended_ok(started_sweeps, "packed_in_arrays")
    assert sorted(int(r["job"]) for r in rows) == list(range(6)) and all(r["status"] == "ok" for r in rows)
    assert len(job_dirs(sweep_dir)) == 6 and len(list(sweep_dir.glob(f"*/{METRICS_NAME}"))) == 6
    ids = slurm_ids(sweep_dir)
    arrays = sorted({i.split("_")[0] for i in ids})
    assert len(ids) == 3 and len(arrays) == 2, ids  # three tasks, in two arrays of at most two
    assert all(sum(i.startswith(f"{array}_") for i in ids) <= 2 for array in arrays)
    # Each task ran its two jobs one after the other, in its one process, in the sweep's order.
    assert sorted(map(jobs_in, task_logs(sweep_dir).values())) == [[0, 1], [2, 3], [4, 5]]
    for job_dir in job_dirs(sweep_dir):  # each job its own log and TensorBoard run, as one to a task
        assert (job_dir / "rnnexp.log").read_text().count("Epoch [1/") == 1
        assert len(list(job_dir.glob(EVENT_FILES))) == 1
    no_sacct_noise(output)


@pytest.mark.overlapped
def test_tasks_that_share_jobs_out_by_time_run_each_job_once(started_sweeps):
    output, sweep_dir, rows = ended_ok(started_sweeps, "shared_by_time")
    assert sorted(int(r["job"]) for r in rows) == [0, 1, 2] and all(r["status"] == "ok" for r in rows)
    ran = [jobs_in(log) for log in task_logs(sweep_dir).values()]
    assert sorted(job for jobs in ran for job in jobs) == [0, 1, 2]  # each job once, by some task
    assert all(len(jobs) == 1 for jobs in ran)  # each task stopped at its target, after one job
    assert len({i.split("_")[0] for i in slurm_ids(sweep_dir)}) == 2  # two tasks at once, then a round for the third
    no_sacct_noise(output)


def test_the_clusters_own_max_array_size_is_read():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    from hydra_plugins.rnnexp_launchers.slurm_limits import limits

    conf = Path(os.environ["SLURM_CONF"]).read_text()
    written = [int(line.partition("=")[2]) for line in conf.splitlines() if line.startswith("MaxArraySize=")]
    found = limits(None, None)
    assert found.array_size == (written[0] if written else 1001)  # SLURM's default where slurm.conf says none
    assert found.array_size_from == "this cluster's MaxArraySize"
    assert limits(5, None).array_size == 5  # the key wins


def max_array_size() -> int:
    from hydra_plugins.rnnexp_launchers.slurm_limits import cluster_max_array_size

    return cluster_max_array_size()


@pytest.mark.overlapped
def test_an_array_slurm_refuses_is_one_line_with_the_key_that_fits(started_sweeps):
    sweep, output, cwd = ended(started_sweeps, "refused")
    limit = max_array_size()
    assert sweep.returncode == 2, output
    assert output.splitlines()[-1] == (
        f"rnnexp: error: SLURM refused an array of {limit + 1} tasks (Invalid job array specification): this cluster's "
        f"MaxArraySize is {limit}; nothing was submitted: run the command again with hydra.launcher.max_array_size={limit}"
    )
    assert "sbatch" not in output and "Traceback" not in output
    assert slurm_ids(sweep_dir_of(cwd)) == []  # nothing queued


def test_tasks_longer_than_the_partition_allows_are_refused_before_the_sweep_has_a_directory(partition, tmp_path):
    from hydra_plugins.rnnexp_launchers.slurm_limits import partition_max_minutes

    limit = partition_max_minutes(partition)
    if limit is None:
        pytest.skip(f"partition {partition} has no time limit")  # scripts/slurm_cluster.sh gives its partition a day
    timeout = math.floor(limit / 2) + 1  # two such jobs to a task ask for more than the partition allows
    done = run(slurm_command(partition, "model=cell,rnn", "hydra.launcher.jobs_per_task=2", timeout_min=timeout), tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stdout == (
        f"rnnexp: error: hydra.launcher.jobs_per_task=2: a task asks for {2 * timeout} minutes (2 jobs x timeout_min "
        f"{timeout}), over partition {partition}'s MaxTime of {limit:g}; use hydra.launcher.jobs_per_task=1\n"
    )
    assert not (tmp_path / "outputs").exists()


@pytest.mark.overlapped
def test_a_job_that_fails_is_in_the_summary_and_the_sweep_exits_1(started_sweeps):
    sweep, output, cwd = ended(started_sweeps, "one_fails")
    assert sweep.returncode == 1, output
    rows = {r["job"]: r for r in summary_rows(sweep_dir_of(cwd))}
    assert rows["0"]["status"] == "failed" and str(cwd / "missing.txt") in rows["0"]["error"]
    assert rows["1"]["status"] == "ok"
    # The table first, then the one line that says why the status is 1.
    assert output.index("Summary: ") < output.index("rnnexp: error: 1 of 2 jobs failed (job 0: ")
    no_sacct_noise(output)


@pytest.mark.overlapped
def test_a_path_in_an_override_leaves_each_job_one_level_below_the_sweep(started_sweeps):
    sweep, output, cwd = ended(started_sweeps, "one_fails")
    sweep_dir = sweep_dir_of(cwd)
    runs = [p.parent for p in sweep_dir.rglob(METRICS_NAME)]
    assert len(runs) == 2 and all(p.parent == sweep_dir for p in runs), runs
    assert [d for d in job_dirs(sweep_dir) if d not in runs] == []
    rows = {r["job"]: r for r in summary_rows(sweep_dir)}
    assert f"task.path={nested_corpus(cwd)}" in rows["1"]["overrides"].split() and rows["1"]["status"] == "ok"


@pytest.mark.overlapped
def test_a_search_on_the_cluster_reports_each_epoch_to_its_study_and_prunes(started_sweeps):
    optuna = pytest.importorskip("optuna")
    sweep, output, cwd = ended(started_sweeps, "pruned_search")
    assert sweep.returncode == 0, output  # a pruned trial is an end, not a failure
    sweep_dir = sweep_dir_of(cwd)
    results = {int(p.parent.name.partition("_")[0]): RunResult.read(p) for p in sweep_dir.glob(f"*_*/{METRICS_NAME}")}
    journal = optuna.storages.journal.JournalFileBackend(str(sweep_dir / "optuna.journal"))
    study = optuna.load_study(study_name="rnnexp", storage=optuna.storages.JournalStorage(journal))
    assert len(study.trials) == len(results) == 4
    for trial in study.trials:  # each job, on the node, reported every epoch it trained to its trial
        result = results[trial.user_attrs["rnnexp_job"]]
        assert trial.intermediate_values == dict(enumerate(result.val_losses, start=1))
        assert trial.state.name.lower() == {Status.OK: "complete", Status.PRUNED: "pruned"}[result.status]
    assert any(r.status is Status.PRUNED and r.epochs < 5 for r in results.values())
    assert {r["status"] for r in summary_rows(sweep_dir)} == {"ok", "pruned"}
    no_sacct_noise(output)


# --------------------------------------------------------------------------- SLURM stops a job
REQUEUED_EPOCHS = 120


@pytest.fixture(scope="session")
def requeued_sweep(partition, tmp_path_factory) -> Iterator[tuple[subprocess.Popen, Path, tuple[str, ...], dict]]:
    """A task of two jobs that SLURM requeues while its second trains, started with the first cluster test of the session.

    Most of its time is SLURM's: the task waits about ten seconds in the
    queue before it starts again, while the other tests run. A thread waits
    for the second job's first last.pt and requeues the task; ``requeued``
    says what it did, and what the first job had left by then.
    """
    cwd = tmp_path_factory.mktemp("requeue")
    # About 4 s of training on one core for the second job: the requeue lands within
    # it (the first last.pt is written after a second), and the uninterrupted reference is short.
    job = (*TEXT_JOB, f"task.path={corpus(cwd / 'corpus.txt', 10_000)}")
    sweep = start(slurm_command(partition, *job, f"epochs=2,{REQUEUED_EPOCHS}", "hydra.launcher.jobs_per_task=2"), cwd)
    requeued: dict = {}

    def requeue() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and sweep.poll() is None:
            last = next((cwd / "outputs").glob(f"multirun/*/*/1_*/{LAST}"), None)
            if last is not None:
                (slurm_id,) = slurm_ids(last.parent.parent)
                (first,) = last.parent.parent.glob(f"0_*/{METRICS_NAME}")
                requeued.update(first=first, first_left=(first.stat().st_mtime_ns, first.read_bytes()))
                # What a preemption does: SIGTERM to the task, then the task back in the queue.
                done = subprocess.run(["scontrol", "requeue", slurm_id], capture_output=True, text=True, timeout=60)
                requeued.update(job_dir=last.parent, status=done.returncode, output=done.stdout + done.stderr)
                return
            time.sleep(0.2)

    thread = threading.Thread(target=requeue, daemon=True)
    thread.start()
    requeued["thread"] = thread  # the test joins it: its other keys are set by then
    yield sweep, cwd, (*job, f"epochs={REQUEUED_EPOCHS}"), requeued
    if sweep.poll() is None:  # the session ended first (a test failed with -x): its jobs go too
        sweep.kill()
        sweep.communicate()
        for sweep_dir in (cwd / "outputs" / "multirun").glob("*/*"):
            subprocess.run(["scancel", *slurm_ids(sweep_dir)], timeout=60)


@pytest.mark.overlapped
def test_a_requeued_task_keeps_its_ended_job_and_resumes_the_cut_one_from_its_last_checkpoint(requeued_sweep):
    sweep, cwd, job, requeued = requeued_sweep
    requeued["thread"].join(timeout=180)
    output = finish(sweep, timeout=300)
    assert requeued.get("status") == 0, (requeued, output)  # the job was caught training, and requeued
    assert sweep.returncode == 0, output
    # The same config, never interrupted.
    reference = train(compose_config(*job), cwd / "reference")

    job_dir = requeued["job_dir"]
    epochs = REQUEUED_EPOCHS
    assert job_dirs(job_dir.parent) == [requeued["first"].parent, job_dir]
    result = RunResult.read(job_dir / METRICS_NAME)
    assert result.status is Status.OK and result.epochs == epochs
    assert result.losses == reference.losses  # bit for bit
    log = (job_dir / "rnnexp.log").read_text()
    assert "SIGTERM" in log, log  # it was stopped...
    assert log.count(f"Epoch [1/{epochs}]") == 1 and log.count(f"Epoch [{epochs}/{epochs}]") == 1  # ...and went on
    assert {p.parent for p in job_dir.parent.rglob(EVENT_FILES)} == {requeued["first"].parent, job_dir}
    assert train_steps(job_dir) == list(range(1, epochs + 1))  # one loss/train curve, each epoch once
    # The first job, which had ended before the requeue, was kept as it was, not trained again.
    first = requeued["first"]
    assert (first.stat().st_mtime_ns, first.read_bytes()) == requeued["first_left"]
    assert (first.parent / "rnnexp.log").read_text().count("Epoch [1/2]") == 1
    no_sacct_noise(output)


# SLURM's shortest limit, 1 minute, for a job of a minute and a half or more: 800
# epochs of hello, each waiting a tenth of a second in its recurrence.
TIME_LIMITED_EPOCHS = 800
# A user's recurrence (docs/extending.md) that waits in each forward pass: the job
# outlives its time limit while the cores stay free for the tests that run meanwhile.
SLEEPY_RNNS = """
import time

from torch import nn


class Sleepy(nn.Module):
    def __init__(self, input_size, hidden_size, seconds=0.1):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.seconds = seconds

    def forward(self, x, state=None):
        time.sleep(self.seconds)
        return self.rnn(x, state)
"""


@pytest.fixture(scope="session")
def time_limited_sweep(partition, tmp_path_factory) -> Iterator[tuple[subprocess.Popen, Path]]:
    """A sweep of one job that outlives its time limit, started with the first cluster test of the session.

    Its minute and a half is SLURM's clock and the recurrence's waits, not
    work: tests run while it waits (conftest.py runs the cluster tests first
    and its test last). Its model is a user's own class, as model=custom runs one.
    """
    cwd = tmp_path_factory.mktemp("time_limit")
    (cwd / "sleepy_rnns.py").write_text(SLEEPY_RNNS)  # the job imports it from its working directory, this one
    job = ("model=custom", "model.recurrence._target_=sleepy_rnns.Sleepy", "model.head=true", "model.hidden_size=4",
           "threads=1", "device=cpu", f"epochs={TIME_LIMITED_EPOCHS}")
    # SLURM sends SIGUSR2 10 s (plus up to 30) before the limit: the job saves its
    # last.pt, submitit requeues it, and its next start continues from there.
    command = slurm_command(partition, *job, "hydra.launcher.signal_delay_s=10", "hydra.launcher.max_num_timeout=8",
                            timeout_min=1)
    sweep = start(command, cwd)
    yield sweep, cwd
    if sweep.poll() is None:  # the session ended first (a test failed with -x): its jobs go too
        sweep.kill()
        sweep.communicate()
        for sweep_dir in (cwd / "outputs" / "multirun").glob("*/*"):
            subprocess.run(["scancel", *slurm_ids(sweep_dir)], timeout=60)


# Each overlapped test, and the fixture that starts its work.
OVERLAPPED = {
    "test_a_sweep_runs_its_jobs_on_the_cluster_and_summarizes": "started_sweeps",
    "test_a_job_that_fails_is_in_the_summary_and_the_sweep_exits_1": "started_sweeps",
    "test_a_path_in_an_override_leaves_each_job_one_level_below_the_sweep": "started_sweeps",
    "test_a_search_on_the_cluster_reports_each_epoch_to_its_study_and_prunes": "started_sweeps",
    "test_a_job_at_its_time_limit_is_requeued_until_it_ends": "time_limited_sweep",
    "test_a_requeued_task_keeps_its_ended_job_and_resumes_the_cut_one_from_its_last_checkpoint": "requeued_sweep",
    "test_a_sweep_packed_two_jobs_to_a_task_is_split_into_arrays_that_fit": "started_sweeps",
    "test_tasks_that_share_jobs_out_by_time_run_each_job_once": "started_sweeps",
    "test_an_array_slurm_refuses_is_one_line_with_the_key_that_fits": "started_sweeps",
    "test_a_sweep_cut_short_on_the_cluster_continues_in_its_directory": "cut_sweep",
}


@pytest.fixture(autouse=True)
def _overlapped_sweeps_started(request):
    """Start each overlapped test's work with the first cluster test, so that SLURM's waits overlap the other tests."""
    overlapped = {item.name for item in request.session.items if item.get_closest_marker("overlapped")}
    # The time-limited job first: its minute and a half is the longest wait.
    for fixture in dict.fromkeys(["time_limited_sweep", *OVERLAPPED.values()]):
        if any(OVERLAPPED.get(name) == fixture for name in overlapped):
            request.getfixturevalue(fixture)


@pytest.mark.slow
@pytest.mark.overlapped
def test_a_job_at_its_time_limit_is_requeued_until_it_ends(time_limited_sweep):
    sweep, cwd = time_limited_sweep
    output = finish(sweep, timeout=480)
    assert sweep.returncode == 0, output
    (job_dir,) = job_dirs(sweep_dir_of(cwd))
    result = RunResult.read(job_dir / METRICS_NAME)
    epochs = TIME_LIMITED_EPOCHS
    assert result.status is Status.OK and result.epochs == epochs
    log = (job_dir / "rnnexp.log").read_text()
    assert log.count(f"Epoch [1/{epochs}]") == 1 and log.count(f"Epoch [{epochs}/{epochs}]") == 1
    assert train_steps(job_dir) == list(range(1, epochs + 1))
    assert "timed-out" in "".join(p.read_text() for p in (job_dir.parent / ".submitit").rglob("*_log.out"))
    no_sacct_noise(output)


# --------------------------------------------------------------------------- the submitting process is gone
@pytest.fixture(scope="session")
def cut_sweep(partition, tmp_path_factory) -> Iterator[dict]:
    """A sweep whose submitting process is killed after its first job, then continued: in a thread of its own.

    The thread records what the test checks at the end (``seen``), or the
    error that stopped it.
    """
    cwd = tmp_path_factory.mktemp("cut")
    seen: dict = {"cwd": cwd}

    def steps() -> None:
        try:
            # One task at a time, two jobs to a task, so that the sweep can be cut after its
            # first job, while the first task runs its second.
            overrides = ("model=cell,rnn,embedding", "epochs=30", "hydra.launcher.array_parallelism=1",
                         "hydra.launcher.jobs_per_task=2")
            sweep = start(slurm_command(partition, *overrides), cwd)
            seen["sweep"] = sweep
            first = wait_for(lambda: next((cwd / "outputs").glob(f"multirun/*/*/0_*/{METRICS_NAME}"), None), 180,
                             "the first job's end")
            sweep.send_signal(signal.SIGKILL)  # the login shell is gone
            sweep.communicate()
            sweep_dir = first.parent.parent
            array = slurm_ids(sweep_dir)[0].split("_")[0]
            subprocess.run(["scancel", array], check=True, timeout=60)  # and the jobs with it
            wait_for(lambda: not subprocess.run(["squeue", "--noheader", f"--jobs={array}"], capture_output=True,
                                                text=True).stdout.strip(), 60, "the cancelled jobs to leave the queue")
            seen.update(first=first, sweep_dir=sweep_dir, kept=(first.stat().st_mtime_ns, first.read_bytes()),
                        ended_before=len(list(sweep_dir.glob(f"*/{METRICS_NAME}"))), submitted=slurm_ids(sweep_dir))
            seen["done"] = run([sys.executable, "-m", "rnnexp", f"continue={sweep_dir}"], cwd)
        except BaseException as error:  # pytest.fail included: the test reports it
            seen["error"] = error

    thread = threading.Thread(target=steps, daemon=True)
    thread.start()
    seen["thread"] = thread
    yield seen
    if "sweep" in seen:
        stop_sweep(seen["sweep"], cwd)


@pytest.mark.overlapped
def test_a_sweep_cut_short_on_the_cluster_continues_in_its_directory(cut_sweep):
    cut_sweep["thread"].join(timeout=400)
    if "error" in cut_sweep:
        raise cut_sweep["error"]
    first, sweep_dir, done = cut_sweep["first"], cut_sweep["sweep_dir"], cut_sweep["done"]
    assert cut_sweep["ended_before"] < 3  # cut short
    assert done.returncode == 0, done.stdout
    rows = summary_rows(sweep_dir)
    assert sorted(r["job"] for r in rows) == ["0", "1", "2"] and all(r["status"] == "ok" for r in rows)
    assert len(job_dirs(sweep_dir)) == 3
    assert len(slurm_ids(sweep_dir)) > len(cut_sweep["submitted"])  # continued on the cluster, with the sweep's own launcher
    assert (first.stat().st_mtime_ns, first.read_bytes()) == cut_sweep["kept"]  # the finished job untouched
    for job_dir in job_dirs(sweep_dir):  # every job finished once: one curve, each epoch once
        assert train_steps(job_dir) == list(range(1, 31)), job_dir
    no_sacct_noise(done.stdout)
