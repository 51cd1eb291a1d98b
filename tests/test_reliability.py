"""Divergence, interruption, atomic files, safe loading, and a wheel that works anywhere."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnexp.checkpoint import LAST, load_checkpoint
from rnnexp.errors import UserError
from rnnexp.files import write_atomically, write_json
from rnnexp.train import train

REPO = Path(__file__).parent.parent


def test_a_non_finite_loss_stops_the_run_as_diverged(make_cfg, tmp_path):
    result = train(make_cfg("model=embedding", "optimizer=sgd", "lr=1e30"), tmp_path)
    assert result.status == "diverged" and result.epochs == 2 and result.final_loss is None
    metrics = json.loads((tmp_path / "metrics.json").read_text())  # valid JSON: no NaN in it
    assert metrics["status"] == "diverged" and metrics["losses"] == result.losses and len(metrics["losses"]) == 1
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 1  # the last good epoch is kept
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/train")] == [1]  # flushed


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"status": "ok"})

    def crash(tmp):
        Path(tmp).write_text('{"status": "half')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomically(path, crash)
    assert json.loads(path.read_text()) == {"status": "ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind


class _Payload:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_checkpoint_with_pickled_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "best.pt"
    torch.save({"state_dict": {}, "config": {}, "vocabulary": [], "extra": _Payload(str(marker))}, path)
    with open(path, "rb") as f:  # the payload is really in there
        assert b"touch" in f.read()
    with pytest.raises(UserError, match="refused, it holds pickled objects other than tensors"):
        load_checkpoint(path)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # the guarantee we rely on


def start(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.Popen([sys.executable, "-m", "rnnexp", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(path, text, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


# A run of a few seconds whose epochs have many steps, so the signal lands mid-epoch.
LONG_RUN = ["task=copy", "task.size=2048", "model=gru", "model.hidden_size=32", "model.dropout=0.1", "model.num_layers=2", "epochs=4", "device=cpu"]


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_cleanly_and_resume_finishes_the_same_run(tmp_path, signum, status):
    process = start([*LONG_RUN, "hydra.run.dir=stopped"], tmp_path)
    wait_for(tmp_path / "stopped" / "rnnexp.log", "Epoch [1/4]")
    time.sleep(0.2)  # into the second epoch's steps
    process.send_signal(signum)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == status, output
    assert "Traceback" not in output and "resume=stopped" in output
    metrics = json.loads((tmp_path / "stopped" / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["signal"] == signal.Signals(signum).name
    last = load_checkpoint(tmp_path / "stopped" / LAST)
    if "partial" in last:  # stopped inside an epoch (the usual case), after a whole step
        assert last["partial"]["epoch"] == last["epoch"] + 1 and last["partial"]["steps"] >= 1
    assert 1 <= last["epoch"] < 4 and metrics["epochs"] == last["epoch"]
    events = EventAccumulator(str(tmp_path / "stopped"))
    events.Reload()
    assert len(events.Scalars("loss/train")) == last["epoch"]  # flushed up to the last whole epoch

    if signum != signal.SIGINT:
        return  # one resume comparison is enough
    resumed = start(["resume=stopped", "hydra.run.dir=resumed"], tmp_path)
    whole = start([*LONG_RUN, "hydra.run.dir=whole"], tmp_path)
    assert resumed.wait(timeout=300) == 0 and whole.wait(timeout=300) == 0
    finished = json.loads((tmp_path / "resumed" / "metrics.json").read_text())
    reference = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    assert finished["status"] == "ok"
    assert finished["losses"] == reference["losses"] and finished["val_losses"] == reference["val_losses"]
    assert finished["final_loss"] == reference["final_loss"]


@pytest.mark.slow
def test_the_wheel_works_from_an_empty_directory_outside_the_repository(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)], check=True, capture_output=True)
    (wheel,) = wheels.glob("rnnexp-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    # The torch already installed here: the wheel must bring everything else itself.
    subprocess.run([*pip, f"torch=={torch.__version__.split('+')[0]}"], check=True, capture_output=True)
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    done = subprocess.run([str(venv / "bin" / "rnnexp"), "model=embedding", "device=cpu"], cwd=empty, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Final prediction: ohlol (target ohlol)" in done.stdout
    assert list((empty / "outputs" / "runs").glob("*/*/metrics.json"))
    text = subprocess.run([str(venv / "bin" / "python"), "-m", "rnnexp", "task=text", "epochs=1", "task.sample_every=0", "model=gru"], cwd=empty, capture_output=True, text=True, timeout=300)
    assert text.returncode == 0 and "Final validation loss" in text.stdout  # the shipped corpus came along
