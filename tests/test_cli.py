"""The command line, run as a user runs it: `python -m rnnexp ...` in a subprocess."""

import json
import re
import subprocess
import sys

import pytest
import torch

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


BAD_INPUTS = [
    (["model=lsmt"], "model=lsmt: no such option; choose one of cell, embedding, gru, lstm, rnn; did you mean lstm?"),
    (["optimizer=adm"], "optimizer=adm: no such option; choose one of adam, adamw, rmsprop, sgd; did you mean adam?"),
    (["lrr=0.1"], "lrr: no such config key; did you mean lr?"),
    (["lr=fast"], "lr=fast: expected a number"),
    (["lr=0"], "lr=0.0: must be a number > 0"),
    (["epochs=0"], "epochs=0: must be an integer >= 1"),
    (["model=embedding", "model.hidden_size=0"], "model.hidden_size=0: must be an integer >= 1"),
    (["model=rnn", "model.hidden_size=8"], "model.hidden_size=8: without a head h_t is read as the class scores"),
    (["task=inline", "task.source=abc", "task.target=ab"], "task.source='abc' has 3 characters but task.target='ab' has 2"),
    (["task=inline", "task.source=''", "task.target=''"], "task.source is empty"),
    (["device=quantum"], "device=quantum: allowed values are auto, cpu, cuda, cuda:N"),
]
if not torch.cuda.is_available():
    BAD_INPUTS.append((["device=cuda"], "device=cuda: CUDA is not available on this machine; use device=cpu or device=auto"))


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gives_one_line_and_exit_2(run_cli, args, message):
    done = run_cli(args)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()], "exactly one line"
    assert done.stderr.startswith(f"rnnexp: error: {message}")
    assert "Traceback" not in done.stdout + done.stderr


def test_hydra_full_error_shows_the_traceback(run_cli):
    done = run_cli(["lr=0"], env={"HYDRA_FULL_ERROR": "1"})
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "UserError: lr=0.0: must be a number > 0" in done.stderr


def test_a_bad_run_keeps_its_reason_in_the_log(run_cli, tmp_path):
    done = run_cli(["epochs=0"])
    assert done.returncode == 2
    (log,) = (tmp_path / "outputs" / "runs").glob("*/*/rnnexp.log")
    assert "epochs=0: must be an integer >= 1" in log.read_text()
