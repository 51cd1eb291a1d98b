"""Predict and sample from a finished run; resume a stopped run to the same result."""

import subprocess
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnexp.checkpoint import LAST, load_checkpoint, load_resume
from rnnexp.errors import UserError
from rnnexp.predict import predict
from rnnexp.train import train


@pytest.fixture(scope="module")
def hello_run(tmp_path_factory):
    from hydra import compose, initialize_config_module

    run_dir = tmp_path_factory.mktemp("hello")
    with initialize_config_module("rnnexp.conf", version_base="1.3"):
        train(compose("config", overrides=["device=cpu", "model=embedding"]), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    from hydra import compose, initialize_config_module

    run_dir = tmp_path_factory.mktemp("text")
    with initialize_config_module("rnnexp.conf", version_base="1.3"):
        train(compose("config", overrides=["device=cpu", "task=text", "model=gru", "epochs=1", "task.sample_every=0"]), run_dir)
    return run_dir


def test_predict_decodes_the_input(hello_run):
    assert predict([f"run={hello_run}", "input=hello"]) == "ohlol"
    assert len(predict([f"run={hello_run}", "input=hellohello", "checkpoint=last"])) == 10


def test_predict_refuses_characters_outside_the_vocabulary(hello_run):
    with pytest.raises(UserError, match=r"^input='help!': characters not in the run's vocabulary: '!', 'p'"):
        predict([f"run={hello_run}", "input=help!"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["input=hello"], "run: missing"),
        (["run=/no/such/run", "input=hello"], "run=/no/such/run: no such run directory"),
        (["RUN", "input=x"], "'RUN': arguments are key=value"),
        (["run=.", "inptu=hello"], "inptu: no such argument; allowed: run, input"),
        (["run=."], "give either input="),
    ],
)
def test_predict_argument_errors(args, message):
    with pytest.raises(UserError, match="^" + message):
        predict(args)


def test_sampling_continues_the_prime_reproducibly(text_run):
    args = [f"run={text_run}", "sample=60", "prime=MENENIUS:", "temperature=0.7", "seed=3"]
    text = predict(args)
    assert text.startswith("MENENIUS:") and len(text) == len("MENENIUS:") + 60
    assert text == predict(args) != predict(args[:-1] + ["seed=4"])


def test_predict_command_line(hello_run):
    done = subprocess.run([sys.executable, "-m", "rnnexp.predict", f"run={hello_run}", "input=hello"], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "ohlol\n")
    done = subprocess.run([sys.executable, "-m", "rnnexp.predict", f"run={hello_run}", "input=xyz"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("rnnexp.predict: error: input='xyz'")


@pytest.mark.parametrize("overrides", [["task=copy", "task.size=64", "model=gru", "model.dropout=0.2"], ["model=cell", "scheduler=step", "scheduler.step_size=2"]])
def test_resume_ends_with_the_losses_of_an_uninterrupted_run(make_cfg, tmp_path, overrides):
    whole = train(make_cfg(*overrides, "epochs=6"), tmp_path / "whole")
    train(make_cfg(*overrides, "epochs=3"), tmp_path / "first_half")
    cfg, resume = load_resume(str(tmp_path / "first_half"), epochs=6)
    resumed = train(cfg, tmp_path / "resumed", resume=resume)
    assert resumed.losses == whole.losses  # bit for bit, through dropout and batch shuffling
    assert resumed.val_losses == whole.val_losses and resumed.epochs == 6
    assert load_checkpoint(tmp_path / "resumed" / LAST)["epoch"] == 6
    events = EventAccumulator(str(tmp_path / "resumed"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/train")] == [1, 2, 3, 4, 5, 6]  # the first half's curve came along


def test_resume_refuses_a_finished_run(make_cfg, tmp_path):
    train(make_cfg("epochs=2"), tmp_path)
    with pytest.raises(UserError, match=r"already finished its 2 epochs; add epochs=N \(N > 2\)"):
        load_resume(str(tmp_path), epochs=None)
    with pytest.raises(UserError, match="holds no last.pt"):
        load_resume(str(tmp_path / ".."), epochs=None)


@pytest.mark.slow
def test_resume_from_the_command_line(run_cli, tmp_path):
    first = run_cli(["model=rnn", "epochs=4", "device=cpu"])
    assert first.returncode == 0, first.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*")
    resumed = run_cli([f"resume={run_dir}", "epochs=7"])
    assert resumed.returncode == 0, resumed.stderr
    assert "Epoch [5/7]" in resumed.stdout and "Epoch [4/7]" not in resumed.stdout
    assert "model=rnn" not in resumed.stdout  # the run's own config came back: check its effect instead
    whole = run_cli(["model=rnn", "epochs=7", "device=cpu"])
    assert whole.stdout.splitlines()[-2] == resumed.stdout.splitlines()[-2]  # the same epoch-7 line
