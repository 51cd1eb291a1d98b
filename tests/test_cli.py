"""The command line, run as a user runs it: `python -m rnnexp ...` in a subprocess."""

import json
import re
import subprocess
import sys

import pytest

EPOCH_LINE = re.compile(r"^Predicted string: [ehlo]{5}, Epoch \[(\d+)/15\] loss = \d+\.\d{3}$")
RUN_DIR = re.compile(r"outputs/runs/\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}\.\d{3}$")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_each_model_ends_with_ohlol(run_cli, tmp_path, model):
    done = run_cli([f"model={model}", "device=cpu"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    epochs = [int(EPOCH_LINE.match(line).group(1)) for line in lines[:-1]]
    assert epochs == list(range(1, 16))
    summary = re.match(r"^Final prediction: (\w+) \(target ohlol\), solved at epoch (\d+)\. Run directory: (.+)$", lines[-1])
    assert summary and summary.group(1) == "ohlol", lines[-1]
    run_dir = tmp_path / summary.group(3)
    assert RUN_DIR.search(summary.group(3))
    assert {".hydra", "metrics.json", "last.pt", "best.pt", "rnnexp.log"} <= {p.name for p in run_dir.iterdir()}
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert not (run_dir / "__main__.log").exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["prediction"] == "ohlol" and metrics["solved_epoch"] == int(summary.group(2))
    assert "Predicted string" in (run_dir / "rnnexp.log").read_text()


@pytest.mark.slow
def test_two_job_sweep_gives_two_run_directories(run_cli, tmp_path):
    done = run_cli(["-m", "model=cell,rnn", "epochs=3", "device=cpu"])
    assert done.returncode == 0, done.stderr
    (sweep_dir,) = (tmp_path / "outputs" / "multirun").glob("*/*")
    assert re.fullmatch(r"\d{2}-\d{2}-\d{2}\.\d{3}", sweep_dir.name)
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert jobs == ["0_device=cpu,epochs=3,model=cell", "1_device=cpu,epochs=3,model=rnn"]
    for job in jobs:
        metrics = json.loads((sweep_dir / job / "metrics.json").read_text())
        assert metrics["epochs"] == 3 and metrics["status"] == "ok"
    assert not (tmp_path / "outputs" / "runs").exists()


@pytest.mark.slow
def test_runs_started_together_get_their_own_directories(tmp_path):
    command = [sys.executable, "-m", "rnnexp", "epochs=1", "device=cpu"]
    processes = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL) for _ in range(3)]
    assert [p.wait(timeout=180) for p in processes] == [0, 0, 0]
    run_dirs = list((tmp_path / "outputs" / "runs").glob("*/*"))
    assert len(run_dirs) == 3
    assert all((d / "metrics.json").exists() for d in run_dirs)


def test_hydra_full_error_shows_the_traceback(run_cli):
    done = run_cli(["lr=0"], env={"HYDRA_FULL_ERROR": "1"})
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "UserError: lr=0.0: must be a number > 0" in done.stderr


def test_a_bad_run_keeps_its_reason_in_the_log(run_cli, tmp_path):
    done = run_cli(["epochs=0"])
    assert done.returncode == 2
    (log,) = (tmp_path / "outputs" / "runs").glob("*/*/rnnexp.log")
    assert "epochs=0: must be an integer >= 1" in log.read_text()
