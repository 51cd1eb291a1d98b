"""Sweeps as a user runs them (`python -m rnnexp -m ...`, here through main(argv) in this process):
the summary at the end, failed and diverged jobs, the parallel and cluster launchers (which start
worker processes of their own), the Optuna search, and python -m rnnexp.summarize."""

import csv
import logging
import math
import re
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import SMALL_SWEEP, sweep_dir_of
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.sweep import SUMMARY_CSV, SUMMARY_MD
from rnnexp.sweep.summarize import main as summarize


def summary_rows(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / SUMMARY_CSV, newline="") as f:
        return list(csv.DictReader(f))


def job_dirs(sweep_dir: Path) -> list[str]:
    return sorted(p.name for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


def ranked_results(sweep_dir: Path) -> list[tuple]:
    """The summary without the timings: what must not depend on the launcher."""
    return [(r["rank"], r["job"], r["overrides"], r["status"], r["final_loss"], r["solved_epoch"])
            for r in summary_rows(sweep_dir)]


def test_a_multirun_ends_with_a_ranked_summary(small_sweep):
    done, sweep_dir = small_sweep
    rows = summary_rows(sweep_dir)
    assert len(rows) == 4 and {r["dir"] for r in rows} == set(job_dirs(sweep_dir))
    solved = [r for r in rows if r["solved"] == "True"]
    assert rows[: len(solved)] == solved  # solved first
    unsolved_losses = [float(r["final_loss"]) for r in rows[len(solved):]]
    assert unsolved_losses == sorted(unsolved_losses)
    for row in rows:  # the table holds what each job wrote
        result = RunResult.read(sweep_dir / row["dir"] / METRICS_NAME)
        assert float(row["final_loss"]) == result.final_loss and row["status"] == result.status == Status.OK
        assert result.epochs == 4

    out = done.stdout.splitlines()
    table = out[out.index(next(line for line in out if line.startswith("rank"))):]
    assert table[0].split() == ["rank", "job", "overrides", "status", "final", "loss", "accuracy", "solved",
                                "epoch", "seconds"]
    assert [line.split()[1] for line in table[2:6]] == [r["job"] for r in rows]
    assert "Every job: epochs=4 device=cpu" in done.stdout
    assert (sweep_dir / SUMMARY_MD).read_text().count("\n| ") == 1 + 4  # header + one row per job


JOB_LINE = re.compile(r"^Job (\d) \((model=\w+ optimizer=\w+)\): ok, final loss \d\.\d{4}(, solved at epoch \d+)?, \d+\.\d\d s$")


def test_a_sweep_prints_one_line_per_job_and_keeps_the_epochs_in_each_jobs_log(small_sweep):
    done, sweep_dir = small_sweep
    out = done.stdout.splitlines()
    before_summary = out[: out.index(next(line for line in out if line.startswith("Sweep ")))]
    assert [JOB_LINE.match(line).group(1, 2) for line in before_summary] == [
        ("0", "model=cell optimizer=adam"), ("1", "model=cell optimizer=sgd"),
        ("2", "model=rnn optimizer=adam"), ("3", "model=rnn optimizer=sgd"),
    ]
    assert "Epoch [" not in done.stdout + done.stderr
    for job in job_dirs(sweep_dir):  # only the terminal is quiet
        log = (sweep_dir / job / "rnnexp.log").read_text()
        assert [f"Epoch [{n}/4]" in log for n in range(1, 5)] == [True] * 4 and "Final prediction: " in log


def test_sweep_lines_epochs_brings_back_every_epoch_line(run_main):
    done = run_main(["-m", "model=cell,rnn", "epochs=2", "device=cpu", "sweep_lines=epochs"])
    assert done.status == 0, done.stderr
    assert done.stdout.count("Epoch [2/2] loss = ") == 2
    assert "[HYDRA] \t#1 : model=rnn" in done.stdout  # Hydra's launcher names each job as it starts


def test_sweep_lines_takes_jobs_or_epochs(run_main):
    done = run_main(["sweep_lines=all", "device=cpu"])
    assert (done.status, done.stderr) == (2, (
        "rnnexp: error: sweep_lines=all: allowed values are jobs (one line per job of a sweep) "
        "or epochs (every epoch line)\n"))


def test_failed_and_diverged_jobs_do_not_sink_the_sweep(run_main, tmp_path):
    # lr=-1 fails its check; lr=3e38 on recurrent weights started ten times larger makes SGD's first step
    # leave weights so large that epoch 2's forward pass overflows, so its loss is not finite.
    done = run_main(["-m", "model=embedding", "optimizer=sgd", "model.init_scale=10", "model.hidden_size=32",
                     "lr=-1,3e38,0.1", "epochs=5", "device=cpu"])
    assert done.status == 1
    sweep_dir = sweep_dir_of(tmp_path)
    assert done.stderr.strip().splitlines()[-1] == (
        f"rnnexp: error: 1 of 3 jobs failed (job 0: lr=-1.0: must be a number > 0, for example lr=0.1); "
        f"see {sweep_dir.relative_to(tmp_path) / SUMMARY_MD}"
    )
    rows = {r["job"]: r for r in summary_rows(sweep_dir)}
    assert {job: r["status"] for job, r in rows.items()} == {"0": "failed", "1": "diverged", "2": "ok"}
    assert [r["job"] for r in summary_rows(sweep_dir)] == ["2", "1", "0"]  # finished, diverged, failed

    failed_dir, diverged_dir, _ = (sweep_dir / rows[job]["dir"] for job in "012")
    failed = RunResult.read(failed_dir / METRICS_NAME)
    assert failed.status is Status.FAILED and failed.error.startswith("lr=-1.0: must be a number > 0")
    assert (failed.epochs, failed.losses, failed.final_loss) == (0, [], None)
    log = (failed_dir / "rnnexp.log").read_text()
    assert "Traceback (most recent call last)" in log and "UserError: lr=-1.0" in log
    assert "Traceback" not in done.stdout + done.stderr  # tracebacks stay in the job's log
    assert "Job 0 (lr=-1): failed: lr=-1.0: must be a number > 0, for example lr=0.1 (traceback in its rnnexp.log), " in done.stdout
    assert "Job 1 (lr=3e+38): diverged in epoch 2, " in done.stdout

    diverged = RunResult.read(diverged_dir / METRICS_NAME)
    assert diverged.status is Status.DIVERGED and diverged.final_loss is None
    assert diverged.epochs == 1 and len(diverged.losses) == 1 and math.isfinite(diverged.losses[0])
    assert "Epoch [2/5]: the loss is not finite; stopping (status diverged)" in (diverged_dir / "rnnexp.log").read_text()


def test_an_exploding_job_ranks_after_the_jobs_that_did_not_diverge(run_main, tmp_path):
    # lr=1e30 trains to finite losses of 1e29: diverged by diverge_ratio, not by inf or nan.
    done = run_main(["-m", "model=embedding", "optimizer=sgd", "lr=1e30,0.01,0.1", "epochs=3", "device=cpu"])
    assert done.status == 0, done.stderr  # a diverged job is a result, not a failure
    rows = summary_rows(sweep_dir_of(tmp_path))
    assert [(r["job"], r["status"]) for r in rows] == [("2", "ok"), ("1", "ok"), ("0", "diverged")]
    assert rows[-1]["final_loss"] in ("", "nan")


@pytest.mark.slow
def test_joblib_launcher_gives_the_same_complete_summary(small_sweep, run_main, tmp_path, joblib_workers):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    _, basic_dir = small_sweep
    done = run_main([*SMALL_SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)  # one sweep directory: the workers did not make their own
    assert job_dirs(sweep_dir) == job_dirs(basic_dir)
    assert ranked_results(sweep_dir) == ranked_results(basic_dir)
    # Each job printed its line from a worker process, not this one (whose output is captured here).
    assert "Job 0 (" in small_sweep[0].stdout and "Job 0 (" not in done.stdout
    assert "[HYDRA]" not in done.stdout  # nor the launcher's own lines ("Joblib.Parallel(n_jobs=2 ...")
    assert all("Job " in (sweep_dir / name / "rnnexp.log").read_text() for name in job_dirs(sweep_dir))


# A recurrence that sends Ctrl-C to its own process in its first forward pass: in a joblib worker, to that worker alone.
INTERRUPTED_IN_WORKERS = """
import os
import signal

from torch import nn


class CtrlC(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.rnn = nn.RNN(input_size, hidden_size, batch_first=True)
        self.sent = False

    def forward(self, x, state=None):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return self.rnn(x, state)
"""


@pytest.mark.slow
def test_a_joblib_sweep_cut_in_every_worker_names_the_command_that_finishes_it_once(run_main, tmp_path, joblib_workers, capfd):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # workers started under this test's capture: their lines are read below
    (tmp_path / "ctrl_c.py").write_text(INTERRUPTED_IN_WORKERS)
    done = run_main(["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "model=custom", "model.recurrence._target_=ctrl_c.CtrlC",
                     "model.head=true", "model.hidden_size=8", "seed=0,1", "epochs=3", "device=cpu"])
    workers = capfd.readouterr().out  # the workers' own terminal lines, beside this process's (captured in done)
    assert done.status == 130, done.stderr
    assert ": interrupted, SIGINT " in workers  # each job's line comes from its worker
    finish = f"To finish the sweep (jobs that ended are kept, the others resume or start): python -m rnnexp continue={sweep_dir_of(tmp_path).relative_to(tmp_path)}"
    assert done.stdout.splitlines()[-1:] == [finish]  # printed by the process that launched the sweep
    assert (done.stdout + workers).count("To finish the sweep") == 1


@pytest.mark.slow
def test_submitit_local_launcher_runs_the_jobs_and_summarizes(run_main, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    done = run_main(["-m", "model=cell,rnn", "epochs=3", "device=cpu", "hydra/launcher=submitit_local"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    rows = summary_rows(sweep_dir)
    assert sorted(r["overrides"] for r in rows) == ["model=cell epochs=3 device=cpu", "model=rnn epochs=3 device=cpu"]
    assert all(r["status"] == "ok" for r in rows)
    assert (sweep_dir / ".submitit").is_dir()  # the jobs ran through submitit


def test_optuna_search_runs_trials_and_minimises_the_final_loss(run_main, tmp_path):
    pytest.importorskip("optuna")
    # Four random trials, then one of TPE's. With the sampler's seed, the best trial solves at epoch 6 and
    # another at epoch 2: ranked solved first, the search's best would not be first.
    done = run_main(["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=5",
                     "hydra.sweeper.sampler.n_startup_trials=4", "epochs=8", "device=cpu"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    rows = summary_rows(sweep_dir)
    assert len(rows) == 5
    for row in rows:  # each trial drew the three searched keys
        keys = {o.split("=")[0] for o in row["overrides"].split()}
        assert {"lr", "model.hidden_size", "optimizer"} <= keys
        config = OmegaConf.load(sweep_dir / row["dir"] / ".hydra" / "config.yaml")
        assert config.model.head is True and 0.001 <= config.lr <= 1.0
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert best.best_value == pytest.approx(min(float(r["final_loss"]) for r in rows))
    # The summary ranks by the search's objective: Optuna's best trial is its first row.
    assert float(rows[0]["final_loss"]) == best.best_value
    assert int(rows[0]["solved_epoch"]) > min(int(r["solved_epoch"]) for r in rows if r["solved"] == "True")
    assert set(rows[0]["overrides"].split()) >= {f"{key}={value}" for key, value in best.best_params.items()}
    assert [float(r["final_loss"]) for r in rows] == sorted(float(r["final_loss"]) for r in rows)
    assert "Ranked by final loss, the search's objective (minimize: lowest first)" in done.stdout
    # One line per trial, then the summary: none of the sweeper's ("Study name", "Best value")
    # or the launcher's lines; alembic, which Optuna imports, is kept from logging its plugins.
    assert [line.startswith("Job ") for line in done.stdout.splitlines()[:6]] == [True] * 5 + [False]
    assert "[HYDRA]" not in done.stdout and "setup plugin" not in done.stdout
    assert logging.getLogger("alembic.runtime.plugins").getEffectiveLevel() == logging.WARNING
    assert OmegaConf.load(sweep_dir / "ranking.yaml").direction == "minimize"
    table = done.stdout.splitlines()
    first = table[table.index(next(line for line in table if line.startswith("rank"))) + 2].split()
    lr = next(o for o in rows[0]["overrides"].split() if o.startswith("lr="))  # the CSV's, whole
    assert first[1] == rows[0]["job"] and f"lr={float(lr[3:]):.4g}" in first  # four significant digits

    assert summarize([str(sweep_dir)]) == 0  # rebuilt from files: the same ranking
    assert summary_rows(sweep_dir) == rows

    # No pruner (hparams_search=optuna's default): every trial trains every epoch, and reports each to the
    # study, which lives in the sweep directory (hello has no validation split: the training loss).
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(sweep_dir / "optuna.journal")))
    trials = optuna.load_study(study_name="rnnexp", storage=storage).trials
    results = {row["job"]: RunResult.read(sweep_dir / row["dir"] / METRICS_NAME) for row in rows}
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 5
    for trial in trials:
        result = results[str(trial.user_attrs["rnnexp_job"])]
        assert result.epochs == 8 and trial.intermediate_values == dict(enumerate(result.losses, start=1))
        assert trial.value == result.final_loss


def test_summarize_rebuilds_the_summary_and_draws_the_curves(small_sweep, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    _, sweep_dir = small_sweep
    before = summary_rows(sweep_dir)
    (sweep_dir / SUMMARY_CSV).unlink()
    assert summarize([str(sweep_dir), "--plot"]) == 0
    out = capsys.readouterr().out
    assert summary_rows(sweep_dir) == before
    png = sweep_dir / "loss_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert "loss_curves.png" in out and "rank" in out

    assert summarize([str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"rnnexp.summarize: error: {tmp_path}: not a sweep directory (no multirun.yaml, no job directories with "
        ".hydra/overrides.yaml); type python -m rnnexp.summarize outputs/multirun/<date>/<time> (a sweep's directory), "
        "or last for the newest"
    )


def test_the_memory_experiment_is_a_sweep_that_ends_with_its_ladder(run_main, tmp_path):
    """experiment=memory runs without -m; shrunk here, as a user would, by values on the command line, which
    win over the experiment's: one family, two rungs, two seeds, in-process."""
    shrunk = ["model=mingru", "task.length=3,6", "seed=0,1", "hydra/launcher=basic", "task.size=48", "task.tokens=2",
              "epochs=2", "device=cpu"]
    done = run_main(["experiment=memory", *shrunk])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    assert len([p for p in sweep_dir.iterdir() if (p / METRICS_NAME).is_file()]) == 4
    ladder = done.stdout[done.stdout.index("Seeds solved (at least 99% of the evaluation sequences right) at each task.length"):]
    assert re.search(r"\(defaults\)\s+[012]/2\s+[012]/2\s+(none|3|6)\s+(none|3|6)", ladder)
    assert "## Ladder of difficulty: `task.length`" in (sweep_dir / SUMMARY_MD).read_text()
