"""A sweep job that finds its directory used, and ``continue=<sweep dir>``: what a cluster's requeue and a lost shell need.

These run the basic launcher in-process; tests/test_slurm.py does the same
against a real SLURM cluster.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import compose_config, signals_at_forward, sweep_dir_of, train_steps
from rnnexp.results import LAST, METRICS_NAME, RunResult, Status
from rnnexp.sweep.job_dir import DirectoryTaken, earlier_attempt, held
from rnnexp.training.trainer import train

# Several steps per epoch, a validation split and dropout: a job resumed
# mid-epoch must get back the batch order and the dropout draws.
JOB = ("task=copy", "task.size=96", "model=gru", "model.hidden_size=16", "model.dropout=0.1", "batch_size=16", "epochs=3", "device=cpu")
STEPS_PER_EPOCH = 5  # 77 training pairs in batches of 16, then 1 validation batch: 6 forward passes an epoch


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if p.is_dir())


def records(directory: Path) -> dict[str, tuple[int, bytes]]:
    """A run's own files (metrics.json, checkpoints, event files) with their modification times.

    Hydra writes .hydra/ anew and the log gains a line whenever a job starts,
    whatever the job then does.
    """
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in directory.iterdir() if p.is_file() and p.suffix != ".log"}


def test_a_job_stopped_mid_epoch_resumes_in_its_own_directory_when_the_sweep_continues(run_main, tmp_path):
    # A SIGTERM in job 0's second epoch (what SLURM sends before a preemption) ends the
    # sweep there; job 1 never starts.
    with signals_at_forward((6 + 3, signal.SIGTERM)) as sent:
        stopped = run_main(["-m", *JOB, "seed=0,1"])
    assert sent and stopped.status == 143, stopped.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    (job0,) = job_dirs(sweep_dir)
    assert RunResult.read(job0 / METRICS_NAME).status is Status.INTERRUPTED
    # The terminal names the command that finishes the whole sweep, not resume= of the one job
    # (which would train that job alone, into a run directory of its own).
    *_, job_line, finish = stopped.stdout.splitlines()
    assert job_line.startswith("Job 0 (seed=0): interrupted, SIGTERM after 1 of 3 epochs, ")
    assert "resume=" not in stopped.stdout and finish.startswith("To finish the sweep ")
    command = shlex.split(finish.split(": ", 1)[1])
    assert command == ["python", "-m", "rnnexp", f"continue={sweep_dir.relative_to(tmp_path)}"]

    continued = run_main(command[3:])
    assert continued.status == 0, continued.stderr
    assert f"Resuming {job0} after epoch 1" in (job0 / "rnnexp.log").read_text()
    job0_again, job1 = job_dirs(sweep_dir)
    assert job0_again == job0 and job1.name.startswith("1_")
    # The losses of a run that never stopped, bit for bit, and one curve without repeated steps.
    uninterrupted = train(compose_config(*JOB, "seed=0"), tmp_path / "uninterrupted")
    resumed = RunResult.read(job0 / METRICS_NAME)
    assert (resumed.status, resumed.epochs) == (Status.OK, 3)
    assert resumed.losses == uninterrupted.losses and resumed.val_losses == uninterrupted.val_losses
    assert train_steps(job0) == [1, 2, 3]
    assert "2 jobs: 0 solved, 0 diverged, 0 failed" in continued.stdout  # the summary lists each job once


def test_a_signal_before_a_sweep_job_trains_names_the_command_that_finishes_the_sweep(run_main, tmp_path, monkeypatch):
    import rnnexp.cli.job

    checked = rnnexp.cli.job.validate

    def interrupted(cfg):  # Ctrl-C as job 0 checks its config: before anything was trained
        os.kill(os.getpid(), signal.SIGINT)  # CPython runs the handler before os.kill returns
        return checked(cfg)

    monkeypatch.setattr(rnnexp.cli.job, "validate", interrupted)
    stopped = run_main(["-m", "model=cell,rnn", "epochs=2", "device=cpu"])
    assert stopped.status == 130, stopped.stderr
    sweep_dir = sweep_dir_of(tmp_path).relative_to(tmp_path)
    *_, job_line, finish = stopped.stdout.splitlines()
    assert job_line.startswith("Job 0 (model=cell): interrupted, SIGINT before its first epoch ended, ")
    assert finish.endswith(f": python -m rnnexp continue={sweep_dir}") and "start it again" not in stopped.stdout

    monkeypatch.undo()
    continued = run_main([f"continue={sweep_dir}"])
    assert continued.status == 0, continued.stderr
    assert "2 jobs: " in continued.stdout and "interrupted" not in continued.stdout


@pytest.mark.parametrize("launcher", ["basic", pytest.param("joblib", marks=pytest.mark.slow)])
def test_a_continued_sweep_keeps_its_finished_jobs_resumes_the_killed_and_runs_the_missing(run_main, tmp_path, launcher, request):
    if launcher != "basic":
        pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
        request.getfixturevalue("joblib_workers")
    assert run_main(["-m", f"hydra/launcher={launcher}", "model=cell,rnn,embedding", "epochs=4", "device=cpu"]).status == 0
    sweep_dir = sweep_dir_of(tmp_path)
    finished, killed, never_started = job_dirs(sweep_dir)
    (killed / METRICS_NAME).unlink()  # killed hard after its last checkpoint: no record of its end
    shutil.rmtree(never_started)
    before = records(finished)

    continued = run_main([f"continue={sweep_dir}"])
    assert continued.status == 0, continued.stderr
    assert records(finished) == before
    assert [d.name for d in job_dirs(sweep_dir)] == [finished.name, killed.name, never_started.name]
    assert all(RunResult.read(d / METRICS_NAME).status is Status.OK for d in job_dirs(sweep_dir))
    assert "3 jobs: " in continued.stdout
    # Each job's log tells what the new attempt did; the terminal has one line per job.
    assert "Already ended (ok, 4 epochs): kept as it is" in (finished / "rnnexp.log").read_text()
    assert f"Resuming {killed} after epoch 4" in (killed / "rnnexp.log").read_text()
    if launcher == "basic":  # the joblib workers' lines do not reach this process's output
        assert "Job 0 (model=cell): ok (ended before, kept), final loss " in continued.stdout
        assert "Job 1 (model=rnn): ok, final loss " in continued.stdout


def test_a_continued_sweep_prints_its_lines_as_its_command_asks_and_keeps_its_jobs_directories(run_main, tmp_path):
    assert run_main(["-m", "model=cell,rnn", "epochs=2", "device=cpu"]).status == 0
    sweep_dir = sweep_dir_of(tmp_path)
    names = [d.name for d in job_dirs(sweep_dir)]
    shutil.rmtree(job_dirs(sweep_dir)[1])
    saved = (sweep_dir / "multirun.yaml").read_text()

    epochs = run_main([f"continue={sweep_dir}", "sweep_lines=epochs"])
    assert epochs.status == 0, epochs.stderr
    assert "Predicted string: " in epochs.stdout and ", Epoch [2/2] loss = " in epochs.stdout  # job 1's epoch lines
    assert "Job 1 (model=rnn): ok, final loss " in epochs.stdout
    # The same sweep: its jobs' directories and its overrides, which sweep_lines does not join.
    assert [d.name for d in job_dirs(sweep_dir)] == names
    assert OmegaConf.load(sweep_dir / "multirun.yaml").hydra.overrides.task == OmegaConf.create(saved).hydra.overrides.task

    shutil.rmtree(job_dirs(sweep_dir)[1])
    quiet = run_main([f"continue={sweep_dir}"])  # the next attempt prints as the sweep was started: one line per job
    assert quiet.status == 0 and "Epoch [" not in quiet.stdout and "Job 1 (model=rnn): ok, final loss " in quiet.stdout
    refused = run_main([f"continue={sweep_dir}", "sweep_lines=all"])
    assert (refused.status, refused.stderr) == (
        2, "rnnexp: error: sweep_lines=all: allowed values are jobs (one line per job of a sweep) or epochs (every epoch line)\n")


def test_a_failed_job_runs_again_when_the_sweep_continues(run_main, tmp_path):
    sweep = ["-m", "task=text", "task.path=corpus.txt", "model=lstm", "model.hidden_size=8", "epochs=1", "task.window=8", "device=cpu"]
    failed = run_main(sweep)
    assert failed.status == 1 and "task.path=corpus.txt" in failed.stderr
    (tmp_path / "corpus.txt").write_text("The quick brown fox jumps over the lazy dog.\n" * 20)
    continued = run_main(["continue=last"])
    assert continued.status == 0, continued.stderr
    (job,) = job_dirs(sweep_dir_of(tmp_path))
    assert RunResult.read(job / METRICS_NAME).status is Status.OK
    assert len(list(job.glob("events.out.tfevents.*"))) == 1  # the failed attempt's record is replaced, not drawn beside


def test_a_job_directory_with_another_configs_run_is_refused_and_left_alone(tmp_path):
    train(compose_config("model=cell", "epochs=2", "lr=0.1"), tmp_path)
    before = records(tmp_path)
    with pytest.raises(DirectoryTaken, match=r"holds a run of another config \(lr: 0.1 there, 0.5 now\)"):
        earlier_attempt(tmp_path, compose_config("model=cell", "epochs=2", "lr=0.5"))
    assert records(tmp_path) == before
    # The same config, on another machine (threads, device): that run, ended.
    same = earlier_attempt(tmp_path, compose_config("model=cell", "epochs=2", "lr=0.1", "threads=1", "device=cpu"))
    assert same.finished is not None and same.finished.epochs == 2


def test_a_directory_a_job_still_runs_in_is_refused(tmp_path):
    with held(tmp_path):
        with pytest.raises(DirectoryTaken, match="another job is still running there"):
            with held(tmp_path):
                pass
    with held(tmp_path):  # released when its holder ends
        pass


def test_an_attempt_that_left_no_checkpoint_starts_again_from_its_first_epoch(tmp_path):
    train(compose_config("model=cell", "epochs=2"), tmp_path)
    (tmp_path / LAST).unlink()
    (tmp_path / METRICS_NAME).unlink()
    assert earlier_attempt(tmp_path, compose_config("model=cell", "epochs=2")).nothing
    assert not list(tmp_path.glob("events.out.tfevents.*"))


def test_a_continued_sweep_keeps_its_settings_and_another_sweep_keeps_out_of_its_directory(run_main, tmp_path):
    assert run_main(["-m", "model=cell,rnn", "epochs=2", "device=cpu"]).status == 0
    sweep_dir = sweep_dir_of(tmp_path)
    changed = run_main(["continue=last", "lr=0.5"])
    assert (changed.status, changed.stderr) == (
        2,
        "rnnexp: error: lr=0.5: a continued sweep keeps its own settings, so only Hydra's may be added "
        "(hydra.launcher.partition=..., hydra/launcher=...); start a new sweep to change lr\n",
    )
    other = run_main(["-m", "model=cell,rnn", "epochs=3", f"hydra.sweep.dir={sweep_dir}"])
    assert other.status == 2
    assert other.stderr.startswith(f"rnnexp: error: hydra.sweep.dir={sweep_dir}: already holds another sweep (0_")
    assert other.stderr.endswith(f"or continue that sweep: python -m rnnexp continue={sweep_dir}\n")


def test_a_continued_optuna_search_finishes_its_trials_and_numbers_new_jobs_after_them(run_main, tmp_path):
    pytest.importorskip("optuna")
    search = ["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=4", "epochs=3", "device=cpu", "hydra.sweeper.storage=sqlite:///optuna.db"]
    # A hello job makes 4 forward passes (3 epochs and the final evaluation): the signal
    # lands in the second epoch of job 2, the first of the second batch of two trials.
    with signals_at_forward((4 * 2 + 2, signal.SIGTERM)) as sent:
        stopped = run_main(search)
    assert sent and stopped.status == 143, stopped.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    assert [d.name.partition("_")[0] for d in job_dirs(sweep_dir)] == ["0", "1", "2"]

    continued = run_main(["continue=last"])
    assert continued.status == 0, continued.stderr
    # Job 3's trial was asked with job 2's, and its values drawn: it runs as job 3, with them.
    assert "Continuing the search: 2 trials ended, 1 to resume, 1 drawn but never started, none new" in continued.stdout
    jobs = job_dirs(sweep_dir)
    assert [d.name.partition("_")[0] for d in jobs] == ["0", "1", "2", "3"]  # 4 trials in all, none renumbered
    assert f"Resuming {jobs[2]} after epoch 1" in (jobs[2] / "rnnexp.log").read_text()
    assert all(RunResult.read(d / METRICS_NAME).status is Status.OK for d in jobs)
    assert "4 jobs:" in continued.stdout
    import optuna

    study = optuna.load_study(study_name="rnnexp", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    # Every trial ended once, the cut one reporting to the trial it started with.
    assert [trial.state.name for trial in study.trials] == ["COMPLETE"] * 4
    assert [sorted(trial.intermediate_values) for trial in study.trials] == [[1, 2, 3]] * 4
    assert [trial.user_attrs["rnnexp_job"] for trial in study.trials] == [0, 1, 2, 3]
    assert f"lr={study.trials[3].params['lr']}" in jobs[3].name  # the values its trial drew before the cut


def test_a_launchers_time_limit_warning_reaches_it_after_the_checkpoint_landed(run_main, tmp_path):
    # submitit listens for SIGUSR2, which SLURM sends hydra.launcher.signal_delay_s before the
    # time limit, and requeues the job from its handler. Here the handler notes what the job
    # directory held when it ran, then refuses to requeue, as submitit does with no requeue left.
    seen = []

    def launcher_handler(signum, frame):
        (job,) = job_dirs(sweep_dir_of(tmp_path))
        seen.append((job / LAST).is_file())
        raise RuntimeError("timed-out too many times")

    before = signal.signal(signal.SIGUSR2, launcher_handler)
    try:
        with signals_at_forward((6 + 3, signal.SIGUSR2)) as sent:
            done = run_main(["-m", *JOB, "seed=0"])
    finally:
        signal.signal(signal.SIGUSR2, before)
    assert sent and seen == [True]  # the run had saved before the launcher was told
    assert "Not requeued (timed-out too many times): continue the sweep to finish this job" in done.stdout
    (job,) = job_dirs(sweep_dir_of(tmp_path))
    record = RunResult.read(job / METRICS_NAME)
    assert (record.status, record.signal, record.epochs) == (Status.INTERRUPTED, "SIGUSR2", 1)
    # The sweep went on to its summary; continuing it finishes the job with the uninterrupted losses.
    assert "(1 jobs: 0 solved, 0 diverged, 0 failed, 1 interrupted)" in done.stdout
    assert run_main(["continue=last"]).status == 0
    uninterrupted = train(compose_config(*JOB, "seed=0"), tmp_path / "uninterrupted")
    assert RunResult.read(job / METRICS_NAME).losses == uninterrupted.losses
