"""The command line: what a run prints and writes, sweeps, run directories, error reporting.

Most commands run in-process through rnnexp.cli.main (the ``run_main``
fixture); the tests marked e2e start ``python -m rnnexp`` itself, where the
process is what is under test.
"""

import logging
import os
import re
import subprocess
import sys
from datetime import datetime

import pytest
from hydra.core.global_hydra import GlobalHydra

import rnnexp.config
from conftest import cli
from rnnexp.cli import main
from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status

EPOCH_LINE = re.compile(r"^Predicted string: [ehlo]{5}, Epoch \[(\d+)/15\] loss = (\d+\.\d{3})$")
SUMMARY_LINE = re.compile(r"^Final prediction: (\w+) \(target ohlol\), solved at epoch (\d+)\. Run directory: (.+)$")
RUN_DIR = re.compile(r"^outputs/runs/\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}\.\d{3}(-\d+)?$")  # -N: started in the same millisecond


def check_hello_run(stdout, cwd):
    """A default 15-epoch hello run: one line per epoch, the summary, and the run directory's files."""
    lines = stdout.strip().splitlines()
    epochs = [EPOCH_LINE.match(line) for line in lines[:-1]]
    assert all(epochs), lines[:-1]
    assert [int(m.group(1)) for m in epochs] == list(range(1, 16))
    summary = SUMMARY_LINE.match(lines[-1])
    assert summary and summary.group(1) == "ohlol", lines[-1]
    assert RUN_DIR.match(summary.group(3)), summary.group(3)
    run_dir = cwd / summary.group(3)
    assert {".hydra", METRICS_NAME, "last.pt", "best.pt", "rnnexp.log"} <= {p.name for p in run_dir.iterdir()}
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert not (run_dir / "__main__.log").exists()  # the log is named after the app, not the module
    metrics = RunResult.read(run_dir / METRICS_NAME)
    assert (metrics.status, metrics.prediction, metrics.epochs) == (Status.OK, "ohlol", 15)
    assert metrics.solved_epoch == int(summary.group(2))
    assert [m.group(2) for m in epochs] == [f"{loss:.3f}" for loss in metrics.losses]  # the printed losses are the recorded ones
    log = (run_dir / "rnnexp.log").read_text()
    assert all(line in log for line in lines)  # the terminal's lines, stamped, in the log file


@pytest.mark.parametrize("model", ["cell", "rnn"])  # embedding: the end-to-end test below
def test_each_model_ends_with_ohlol(run_main, tmp_path, model):
    done = run_main([f"model={model}", "device=cpu"])
    assert done.status == 0, done.stderr
    assert done.stderr == ""
    check_hello_run(done.stdout, tmp_path)


def test_a_sweep_gives_each_job_its_own_directory(small_sweep):
    _, sweep_dir = small_sweep
    assert re.fullmatch(r"\d{2}-\d{2}-\d{2}\.\d{3}", sweep_dir.name)
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert jobs == [
        "0_device=cpu,epochs=4,model=cell,optimizer=adam",
        "1_device=cpu,epochs=4,model=cell,optimizer=sgd",
        "2_device=cpu,epochs=4,model=rnn,optimizer=adam",
        "3_device=cpu,epochs=4,model=rnn,optimizer=sgd",
    ]
    for job in jobs:
        metrics = RunResult.read(sweep_dir / job / METRICS_NAME)
        assert (metrics.status, metrics.epochs) == (Status.OK, 4)
    cwd = sweep_dir.parents[2]
    assert not (cwd / "outputs" / "runs").exists()  # a sweep writes no single-run directory


def test_runs_in_the_same_millisecond_get_their_own_directories(tmp_path, monkeypatch):
    frozen = datetime(2026, 11, 26, 14, 19, 35, 714000)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(rnnexp.config, "datetime", Clock)
    made = [rnnexp.config.unique_dir(str(tmp_path / "runs")) for _ in range(3)]
    assert [os.path.basename(d) for d in made] == ["14-19-35.714", "14-19-35.714-1", "14-19-35.714-2"]
    assert all(os.path.isdir(d) for d in made)


@pytest.mark.e2e
@pytest.mark.slow
def test_plain_runs_started_together_each_finish_in_a_directory_of_their_own(tmp_path):
    # Two processes at the same moment, as a user (or a script) starts them: each
    # run is complete, and neither writes into the other's directory.
    command = [sys.executable, "-m", "rnnexp", "model=embedding"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert stderr == ""  # no warnings either
        check_hello_run(stdout, tmp_path)
    run_dirs = {stdout.splitlines()[-1].rpartition("Run directory: ")[2] for stdout, _ in outputs}
    assert len(run_dirs) == 2 and len(list((tmp_path / "outputs" / "runs").glob("*/*"))) == 2


@pytest.fixture
def hydra_cleared():
    """main() as a fresh process would run it: Hydra not yet initialised; its logging set-up undone afterwards."""
    GlobalHydra.instance().clear()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    GlobalHydra.instance().clear()


def test_hydra_full_error_raises_the_error_itself(hydra_cleared, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # read by main() when called, as at a process's start
    with pytest.raises(UserError, match=r"^lr=0\.0: must be a number > 0"):
        main(["lr=0", "device=cpu"])
    assert "rnnexp: error" not in capsys.readouterr().err  # the traceback instead of the one line
    assert os.environ["HYDRA_FULL_ERROR"] == "1"  # main() leaves the caller's setting as it found it


def test_a_bad_run_keeps_its_reason_in_the_log_and_its_record(run_main, tmp_path):
    done = run_main(["epochs=0"])
    assert done.status == 2
    assert done.stderr.startswith("rnnexp: error: epochs=0: must be an integer >= 1") and len(done.stderr.splitlines()) == 1
    (log,) = (tmp_path / "outputs" / "runs").glob("*/*/rnnexp.log")
    text = log.read_text()
    assert "run failed" in text and "Traceback" in text and "epochs=0: must be an integer >= 1" in text
    failed = RunResult.read(log.parent / METRICS_NAME)  # the run directory says what happened, as a sweep job's does
    assert failed.status is Status.FAILED and failed.error == done.stderr.strip().removeprefix("rnnexp: error: ")
    assert (failed.epochs, failed.losses, failed.final_loss) == (0, [], None)


def test_an_unexpected_error_keeps_its_traceback_and_leaves_a_record(run_main, tmp_path):
    # torch refuses a negative momentum when it builds the optimizer: not a check of ours.
    with pytest.raises(ValueError, match="Invalid momentum value"):
        run_main(["optimizer=sgd", "optimizer.momentum=-1", "device=cpu", "hydra.run.dir=run"])
    failed = RunResult.read(tmp_path / "run" / METRICS_NAME)
    assert failed.status is Status.FAILED and failed.error == "Invalid momentum value: -1.0"


@pytest.fixture
def without_plugin_configs(monkeypatch):
    """Hydra's config store as an installation without the sweep extra has it: no joblib, submitit or optuna."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()  # the installed plugins register their configs when first discovered
    repo = ConfigStore.instance().repo["hydra"]
    for group, name in [("launcher", "joblib.yaml"), ("launcher", "submitit_local.yaml"), ("launcher", "submitit_slurm.yaml"), ("sweeper", "optuna.yaml")]:
        monkeypatch.delitem(repo[group], name, raising=False)


EXTRA = "pip install 'rnnexp[sweep]' (or pip install -e '.[sweep]' in a clone)"


@pytest.mark.parametrize(
    "args, message",
    [
        # conf/hydra/launcher/slurm.yaml extends the plugin's submitit_slurm.
        (["-m", "hydra/launcher=slurm"], f"hydra/launcher=slurm: needs Hydra's submitit plugin, which comes with the sweep extra: {EXTRA}"),
        (["-m", "hydra/launcher=joblib"], f"hydra/launcher=joblib: no such option; choose one of basic, slurm; the joblib, submitit and optuna plugins come with {EXTRA}"),
    ],
)
def test_a_launcher_without_the_sweep_extra_names_the_extra(run_main, without_plugin_configs, args, message):
    done = run_main([*args, "device=cpu"])
    assert (done.status, done.stdout, done.stderr) == (2, "", f"rnnexp: error: {message}\n")
