"""Divergence, interruption, atomic files, safe loading, and a wheel that works anywhere.

Interruptions are deterministic: a global forward hook sends a real signal
to this process at a chosen forward pass of the model, so the signal lands
at a known training step instead of after a guessed delay.
"""

import importlib.util
import json
import logging
import math
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from conftest import compose_config, overlapped_result, signals_at_forward, train_steps
from rnnexp.config.command_words import typed_override
from rnnexp.data.loading import load_task
from rnnexp.errors import UserError
from rnnexp.files import write_atomically, write_json
from rnnexp.interrupt import Interrupted
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.training.checkpoint import LAST, load_checkpoint, load_resume
from rnnexp.training.trainer import train

REPO = Path(__file__).parent.parent


# --------------------------------------------------------------------------- divergence
# An lr near the largest a float32 step allows, on a wider model whose recurrent
# weights start ten times larger: the first SGD step leaves weights so large that the
# second epoch's forward pass overflows (for every seed from 0 to 99), so one
# finished epoch, then divergence.
DIVERGES_IN_EPOCH_2 = ("model=embedding", "optimizer=sgd", "lr=3e38", "model.init_scale=10", "model.hidden_size=32", "epochs=5")


def test_a_non_finite_loss_stops_the_run_as_diverged(make_cfg, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="rnnexp"):
        result = train(make_cfg(*DIVERGES_IN_EPOCH_2), tmp_path)
    assert result.status is Status.DIVERGED and result.epochs == 1 and result.final_loss is None
    assert len(result.losses) == 1 and math.isfinite(result.losses[0])
    summary = caplog.records[-1].getMessage()
    assert summary.startswith("Diverged at epoch 2: the loss became non-finite (try a lower lr or clip=1.0)."), summary
    metrics = json.loads((tmp_path / METRICS_NAME).read_text())  # valid JSON: no NaN in it
    assert metrics["status"] == "diverged" and metrics["epochs"] == 1 and metrics["losses"] == result.losses
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 1  # the last epoch with a finite loss is kept
    assert train_steps(tmp_path) == [1]  # flushed


# SGD at lr 1e8 sends the loss from about ln(4) at epoch 1 to about 1e7 at epoch 2 and 1e8
# after: far past 1e4 x ln(4), and far from float32's limit, so it stays finite on any CPU
# (at lr 1e30 whether epoch 2's loss reached inf depended on the CPU's kernels).
EXPLODES = ("model=embedding", "optimizer=sgd", "lr=1e8", "epochs=5")


def hparams_status(run_dir) -> str:
    """The status name the run's hparams session ended with, as TensorBoard reads it."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_end_info"]
    return api_pb2.Status.Name(plugin_data_pb2.HParamsPluginData.FromString(content).session_end_info.status)


def test_a_finite_loss_that_explodes_stops_the_run_as_diverged(make_cfg, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="rnnexp"):
        result = train(make_cfg(*EXPLODES), tmp_path)
    # Epoch 1's loss is the untrained model's (one step on hello); epoch 2's is past 1e4 x ln(4).
    assert result.status is Status.DIVERGED and result.epochs == 1 and result.final_loss is None
    assert result.losses[0] < 2 * math.log(4)
    summary = caplog.records[-1].getMessage()
    said = re.match(r"Diverged at epoch 2: the training loss (\S+) passed diverge_ratio=10000 x ln\(4 classes\)", summary)
    assert said and 1e4 * math.log(4) < float(said.group(1)) < 1e12, summary
    assert json.loads((tmp_path / METRICS_NAME).read_text())["status"] == "diverged"
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 1  # the epoch before the explosion is kept
    assert train_steps(tmp_path) == [1]
    assert hparams_status(tmp_path) == "STATUS_FAILURE"  # TensorBoard: a Failure


def test_diverge_ratio_null_lets_an_exploding_run_go_on(make_cfg, tmp_path):
    result = train(make_cfg(*EXPLODES, "diverge_ratio=null"), tmp_path)
    assert result.status is Status.OK and result.epochs == 5
    assert max(result.losses) > 1e6 and all(math.isfinite(loss) for loss in result.losses)
    assert hparams_status(tmp_path) == "STATUS_SUCCESS"


def test_a_spike_that_recovers_is_not_divergence(make_cfg, tmp_path):
    # The Optuna search's corner (rmsprop at lr 1.0, a head of 32): the loss leaps to 140x ln(4)
    # at epoch 4, then the run solves the task. The default ratio must leave it ok.
    cfg = make_cfg("model=rnn", "model.head=true", "model.hidden_size=32", "optimizer=rmsprop", "lr=1.0")
    result = train(cfg, tmp_path)
    assert max(result.losses) > 100 * math.log(4)
    assert result.status is Status.OK and result.solved_epoch is not None and result.prediction == "ohlol"


# --------------------------------------------------------------------------- files
def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"status": "ok"})

    def crash(tmp):
        Path(tmp).write_text('{"status": "half')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
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


# --------------------------------------------------------------------------- interruption, in-process
# Several steps per epoch, a validation split, and dropout in a two-layer GRU:
# resuming mid-epoch must restore the batch order and the dropout draws.
INTERRUPTED = ("task=copy", "task.size=96", "model=gru", "model.hidden_size=16", "model.num_layers=2", "model.dropout=0.1", "batch_size=16", "epochs=3")


@pytest.fixture(scope="module")
def layout():
    """(training steps, validation batches) of one INTERRUPTED epoch: the model's forward passes per epoch."""
    cfg = compose_config(*INTERRUPTED)
    data = load_task(cfg.task)
    steps, val_batches = math.ceil(len(data.train) / cfg.batch_size), math.ceil(len(data.val) / cfg.batch_size)
    assert steps >= 4 and val_batches >= 1, "the interruption cases below need several steps per epoch and a validation pass"
    return steps, val_batches


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return train(compose_config(*INTERRUPTED), tmp_path_factory.mktemp("uninterrupted"))


LAST_STEP, VALIDATION = "last step", "validation"


def forward_number(layout, epoch, step):
    """Which forward pass of the model is training ``step`` of ``epoch`` (or its LAST_STEP, or its first VALIDATION batch)."""
    steps, val_batches = layout
    within = {LAST_STEP: steps, VALIDATION: steps + 1}.get(step, step)
    return (epoch - 1) * (steps + val_batches) + within


@pytest.mark.parametrize(
    "signum, epoch, step",
    [
        pytest.param(signal.SIGINT, 2, 3, id="SIGINT mid-epoch"),
        pytest.param(signal.SIGTERM, 2, 3, id="SIGTERM mid-epoch"),
        pytest.param(signal.SIGINT, 1, LAST_STEP, id="in the first epoch's last step"),
        pytest.param(signal.SIGINT, 1, VALIDATION, id="in the first epoch's validation"),
    ],
)
def test_a_signal_stops_after_the_step_and_resume_reproduces_the_run(tmp_path, layout, uninterrupted, signum, epoch, step):
    with signals_at_forward((forward_number(layout, epoch, step), signum)) as sent:
        stopped = train(compose_config(*INTERRUPTED), tmp_path / "stopped")
    assert sent, "the signal was never sent: the run made fewer forward passes than planned"
    # A signal in a training step stops the run after that step, inside its
    # epoch; one in the validation pass lets the epoch finish first.
    finished = epoch if step == VALIDATION else epoch - 1
    assert stopped.status is Status.INTERRUPTED
    assert stopped.signal == signal.Signals(signum).name and stopped.exit_status == 128 + signum
    assert stopped.epochs == finished and stopped.final_loss is None
    assert RunResult.read(tmp_path / "stopped" / METRICS_NAME) == stopped

    last = load_checkpoint(tmp_path / "stopped" / LAST)
    assert last["epoch"] == finished
    if step == VALIDATION:
        assert "partial" not in last  # nothing of the next epoch ran
    else:
        steps, _ = layout
        assert (last["partial"]["epoch"], last["partial"]["steps"]) == (epoch, steps if step == LAST_STEP else step)
    assert train_steps(tmp_path / "stopped") == list(range(1, finished + 1))  # flushed up to the last whole epoch

    cfg, resume = load_resume(str(tmp_path / "stopped"), epochs=None)
    resumed = train(cfg, tmp_path / "resumed", resume=resume)
    assert resumed.status is Status.OK and resumed.epochs == 3
    # Bit for bit: the batch order, the dropout draws and the optimizer state all came back.
    assert resumed.losses == uninterrupted.losses and resumed.val_losses == uninterrupted.val_losses
    assert (resumed.final_loss, resumed.accuracy) == (uninterrupted.final_loss, uninterrupted.accuracy)


def test_a_second_signal_aborts_at_once(tmp_path, layout):
    before = signal.getsignal(signal.SIGINT)
    # Both within one step: after the first, the run would stop at the end of the step.
    at = forward_number(layout, 2, 2)
    with signals_at_forward((at, signal.SIGINT), (at, signal.SIGINT)) as sent:
        with pytest.raises(KeyboardInterrupt) as raised:  # what Ctrl-C raises in any script
            train(compose_config(*INTERRUPTED), tmp_path)
    assert sent == [at, at]
    assert isinstance(raised.value, Interrupted) and raised.value.aborted
    assert signal.getsignal(signal.SIGINT) is before  # the run's handlers are gone
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 1  # the finished epoch still reached the disk
    aborted = RunResult.read(tmp_path / METRICS_NAME)  # and the record says so
    assert (aborted.status, aborted.signal, aborted.epochs, aborted.final_loss) == (Status.INTERRUPTED, "SIGINT", 1, None)


def test_an_interrupted_command_exits_130_and_names_the_resume_command(run_main, tmp_path, layout):
    with signals_at_forward((forward_number(layout, 2, 3), signal.SIGINT)) as sent:
        done = run_main([*INTERRUPTED, "device=cpu", "hydra.run.dir=stopped"])
    assert sent and done.status == 130, done.stderr
    lines = done.stdout.splitlines()
    assert "Interrupted in epoch 2; saved stopped/last.pt. Continue with: python -m rnnexp resume=stopped" in lines
    assert lines[-1] == "Interrupted (SIGINT) after 1 complete epochs. Run directory: stopped"
    assert done.stderr == ""
    assert RunResult.read(tmp_path / "stopped" / METRICS_NAME).status is Status.INTERRUPTED


def test_the_printed_resume_commands_work_as_typed_with_the_default_run_directory(run_main, tmp_path, layout):
    # The default run directory is named after the overrides (..._batch_size=16,device=cpu,...):
    # the hint gives it as printed, = and , included, and rnnexp reads it back as one path.
    with signals_at_forward((forward_number(layout, 2, 3), signal.SIGINT)) as sent:
        done = run_main([*INTERRUPTED, "device=cpu"])
    assert sent and done.status == 130, done.stderr
    hint = next(line for line in done.stdout.splitlines() if "Continue with: " in line).partition("Continue with: ")[2]
    command = shlex.split(hint)
    assert command[:3] == ["python", "-m", "rnnexp"] and len(command) == 4
    key, _, stopped = command[3].partition("=")
    assert key == "resume" and hint.endswith(f" resume={stopped}")  # unquoted, as the directory was printed
    assert "=" in Path(stopped).name and "," in Path(stopped).name
    assert RunResult.read(tmp_path / stopped / METRICS_NAME).status is Status.INTERRUPTED

    # The same command from the refusal of a run directory that holds a run.
    refused = run_main([*INTERRUPTED, "device=cpu", *shlex.split(typed_override("hydra.run.dir", stopped))])
    assert refused.status == 2 and "already holds a run" in refused.stderr, refused.stderr
    assert shlex.split(refused.stderr.rpartition("continue that run with ")[2]) == command[3:]

    resumed = run_main(command[3:])
    assert resumed.status == 0, resumed.stderr
    finished = Path(resumed.stdout.splitlines()[-1].rpartition("Run directory: ")[2])
    assert RunResult.read(tmp_path / finished / METRICS_NAME).epochs == 3


def test_a_signal_in_the_last_epochs_validation_never_gives_ok_with_a_signal(tmp_path, layout):
    with signals_at_forward((forward_number(layout, 1, VALIDATION), signal.SIGINT)) as sent:
        result = train(compose_config(*INTERRUPTED, "epochs=1"), tmp_path)
    assert sent, "the signal was never sent: the run made fewer forward passes than planned"
    # Too late to stop the run (its one epoch had finished training), so it ends ok; either way
    # the record names a signal only when it says interrupted.
    assert (result.status, result.signal) in {(Status.OK, None), (Status.INTERRUPTED, "SIGINT")}
    assert RunResult.read(tmp_path / METRICS_NAME) == result


# --------------------------------------------------------------------------- interruption during start-up
def send_during(monkeypatch, target, *signums):
    """Send ``signums`` to this process when ``target`` (module.function) is called, then run it."""
    module_name, _, name = target.rpartition(".")
    module = sys.modules[module_name]
    original = getattr(module, name)

    def sending(*args, **kwargs):
        for signum in signums:
            os.kill(os.getpid(), signum)  # CPython runs the handler before os.kill returns
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, sending)


STARTING = ["model=embedding", "epochs=3", "device=cpu"]
START_AGAIN = "start it again: python -m rnnexp model=embedding epochs=3 device=cpu"


@pytest.mark.parametrize(
    "signum, target",
    [
        pytest.param(signal.SIGINT, "rnnexp.cli.command.register_configs", id="SIGINT before Hydra composes"),
        pytest.param(signal.SIGTERM, "rnnexp.cli.job.validate", id="SIGTERM while the config is checked"),
        pytest.param(signal.SIGINT, "rnnexp.training.trainer.build_optimizer", id="SIGINT while the optimizer is built"),
    ],
)
def test_a_signal_during_start_up_ends_the_job_as_interrupted(run_main, tmp_path, monkeypatch, signum, target):
    send_during(monkeypatch, target, signum)
    done = run_main([*STARTING, "hydra.run.dir=stopped"])
    name = signal.Signals(signum).name
    assert done.status == 128 + signum, done.stderr
    assert done.stdout == f"Interrupted ({name}) before training began: nothing to resume; {START_AGAIN}\n"
    assert done.stderr == ""
    record = RunResult.read(tmp_path / "stopped" / METRICS_NAME)
    assert (record.status, record.signal, record.epochs, record.losses) == (Status.INTERRUPTED, name, 0, [])
    assert not (tmp_path / "stopped" / LAST).exists()
    assert "Interrupted" in (tmp_path / "stopped" / "rnnexp.log").read_text()

    monkeypatch.undo()
    resumed = run_main(["resume=stopped", "hydra.run.dir=resumed"])
    assert resumed.status == 2
    assert resumed.stderr == (
        f"rnnexp: error: resume=stopped: the run was interrupted ({name}) before its first epoch finished, "
        f"so there is nothing to resume; {START_AGAIN}\n"
    )


def test_a_second_signal_during_start_up_aborts_with_a_record(run_main, tmp_path, monkeypatch):
    send_during(monkeypatch, "rnnexp.training.trainer.build_optimizer", signal.SIGINT, signal.SIGINT)
    done = run_main([*STARTING, "hydra.run.dir=stopped"])
    assert (done.status, done.stdout, done.stderr) == (130, "Aborted by a second SIGINT.\n", "")
    record = RunResult.read(tmp_path / "stopped" / METRICS_NAME)
    assert (record.status, record.signal, record.epochs) == (Status.INTERRUPTED, "SIGINT", 0)


def test_train_called_directly_listens_through_its_own_start_up(tmp_path, monkeypatch):
    before = signal.getsignal(signal.SIGTERM)
    send_during(monkeypatch, "rnnexp.training.trainer.build_optimizer", signal.SIGTERM)
    with pytest.raises(Interrupted) as raised:
        train(compose_config(*STARTING), tmp_path)
    assert raised.value.signal_name == "SIGTERM" and not raised.value.aborted
    assert signal.getsignal(signal.SIGTERM) is before
    assert RunResult.read(tmp_path / METRICS_NAME).status is Status.INTERRUPTED
    assert not (tmp_path / LAST).exists()


# --------------------------------------------------------------------------- the process itself
def wait_for(path, text, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended (status {process.returncode}) before {text!r} appeared in {path}")
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {path}")


@pytest.mark.e2e
def test_sigint_while_a_real_process_starts_gives_one_line_and_exit_130(tmp_path):
    # The log file appears when Hydra hands over to the job, which then imports
    # torch and builds the model: the signal lands in that start-up.
    args = ["task=text", "model=lstm", "epochs=50", "device=cpu", "hydra.run.dir=stopped"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(tmp_path / "stopped" / "rnnexp.log", "", process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stdout + stderr
    assert stderr == ""
    *before, last = stdout.splitlines()
    assert last == (
        "Interrupted (SIGINT) before training began: nothing to resume; "
        "start it again: python -m rnnexp task=text model=lstm epochs=50 device=cpu"
    ), stdout
    # Only a signal as late as the opening of the run's records lets the unigram baseline out before it.
    assert all(line.startswith("Unigram baseline: ") for line in before), stdout
    record = RunResult.read(tmp_path / "stopped" / METRICS_NAME)
    assert (record.status, record.signal, record.epochs) == (Status.INTERRUPTED, "SIGINT", 0)


@pytest.mark.e2e
@pytest.mark.slow
def test_sigterm_to_a_real_process_exits_143_and_resume_finishes(run_main, tmp_path):
    # More epochs than the run can reach before the signal: it is always stopped while training.
    args = ["model=embedding", "device=cpu", "epochs=100000"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", *args, "hydra.run.dir=stopped"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(tmp_path / "stopped" / "rnnexp.log", "Epoch [1/100000]", process)  # the handlers are installed
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, output
    assert "Traceback" not in output and "Continue with: python -m rnnexp resume=stopped" in output
    stopped = RunResult.read(tmp_path / "stopped" / METRICS_NAME)
    assert stopped.status is Status.INTERRUPTED and stopped.signal == "SIGTERM"
    assert output.splitlines()[-1] == f"Interrupted (SIGTERM) after {stopped.epochs} complete epochs. Run directory: stopped"
    assert stopped.epochs >= 1 and load_checkpoint(tmp_path / "stopped" / LAST)["epoch"] == stopped.epochs

    epochs = stopped.epochs + 2
    resumed = run_main(["resume=stopped", f"epochs={epochs}", "hydra.run.dir=resumed"])
    assert resumed.status == 0, resumed.stderr
    whole = run_main([*args[:-1], f"epochs={epochs}", "hydra.run.dir=whole"])
    assert whole.status == 0, whole.stderr
    finished, reference = RunResult.read(tmp_path / "resumed" / METRICS_NAME), RunResult.read(tmp_path / "whole" / METRICS_NAME)
    assert finished.status is Status.OK and finished.epochs == epochs
    assert finished.losses == reference.losses and finished.final_loss == reference.final_loss


# --------------------------------------------------------------------------- the wheel
def _copy_sources(destination):
    """What the wheel is built from, copied so that no stale build/ directory in the repository can leak into it."""
    destination.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, destination / name)
    for name in ("rnnexp", "conf", "hydra_plugins"):
        shutil.copytree(REPO / name, destination / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def check_the_wheel(tmp_path: Path) -> None:
    """The wheel built, installed into a fresh environment and run from an empty directory: its asserts fail the test."""
    checked = {"check": True, "capture_output": True, "text": True}
    _copy_sources(tmp_path / "src")
    # The PEP 517 hook that pip wheel --no-build-isolation calls, without pip's
    # start-up; where this environment's setuptools cannot build it, pip builds
    # in an isolated environment as usual.
    build = "import sys; from setuptools import build_meta; build_meta.build_wheel(sys.argv[1])"
    built = subprocess.run([sys.executable, "-c", build, str(tmp_path / "wheels")], cwd=tmp_path / "src", capture_output=True)
    if built.returncode != 0:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "wheels"), str(tmp_path / "src")], **checked)
    (wheel,) = (tmp_path / "wheels").glob("rnnexp-*.whl")
    # Every module, config file and corpus of the source tree is in the wheel (a
    # subpackage missing from pyproject.toml's list would be left out).
    sources = {f"rnnexp/{p.relative_to(REPO / 'rnnexp').as_posix()}" for p in (REPO / "rnnexp").rglob("*") if p.suffix in (".py", ".txt")}
    sources |= {f"rnnexp/conf/{p.relative_to(REPO / 'conf').as_posix()}" for p in (REPO / "conf").rglob("*.yaml")}
    with zipfile.ZipFile(wheel) as archive:
        assert sources - set(archive.namelist()) == set()

    # A fresh environment that sees this one's packages as plain directories:
    # torch and the other dependencies without reinstalling them, but not this
    # environment's editable rnnexp (its import hook is a .pth file, which a
    # plain directory on the path does not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], **checked)
    python, script = venv / "bin" / "python", venv / "bin" / "rnnexp"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], **checked).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    # --no-index: the wheel's declared requirements must be met by the versions already here.
    subprocess.run([str(python), "-m", "pip", "install", "--no-index", "-q", str(wheel)], **checked)

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PYTHONPATH")}
    # Neither the repository (not on the path) nor the editable install (its hook
    # does not run here) can provide rnnexp: these runs import the wheel's copy.
    commands = {
        "hello": [str(script), "model=embedding", "device=cpu"],  # the console script
        "text": [str(python), "-m", "rnnexp", "task=text", "epochs=1", "task.sample_every=0", "model=gru", "model.hidden_size=8", "device=cpu", "hydra.run.dir=text"],
        "sweep": [str(python), "-m", "rnnexp", "-m", "model=cell,rnn", "epochs=2", "device=cpu"],
    }
    # Side by side: the start-ups overlap.
    running = {k: subprocess.Popen(c, cwd=empty, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k, c in commands.items()}
    out = {}
    for key, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f"{key}: {stderr}"
        out[key] = stdout.splitlines()

    assert out["hello"][-1].startswith("Final prediction: ohlol (target ohlol), solved at epoch "), out["hello"][-1]
    assert len(list((empty / "outputs" / "runs").glob("*/*/metrics.json"))) == 1
    assert out["text"][-1].startswith("Final validation loss: "), out["text"][-1]  # the shipped corpus came along
    assert RunResult.read(empty / "text" / METRICS_NAME).status is Status.OK

    # The sweep's summary rebuilt by the installed package, as for a sweep cut short: one job without its record.
    (sweep_dir,) = (empty / "outputs" / "multirun").glob("*/*")
    (next(sweep_dir.glob("1_*")) / METRICS_NAME).unlink()
    plot = ["--plot"] if importlib.util.find_spec("matplotlib") else []
    summarized = subprocess.run([str(python), "-m", "rnnexp.summarize", "last", *plot], cwd=empty, env=env, capture_output=True, text=True, timeout=300)
    assert summarized.returncode == 0, summarized.stderr
    lines = summarized.stdout.splitlines()
    assert lines[0].startswith(f"Sweep {sweep_dir.relative_to(empty)} (2 jobs: ") and lines[0].endswith(", 1 running)")
    assert lines[-2] == f"To finish the sweep: python -m rnnexp continue={sweep_dir.relative_to(empty)}"
    assert lines[-1].endswith("summary.csv, summary.md" + (", loss_curves.png" if plot else ""))


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.overlapped(work=check_the_wheel)
def test_the_wheel_works_from_an_empty_directory_outside_the_repository():
    overlapped_result(check_the_wheel)
