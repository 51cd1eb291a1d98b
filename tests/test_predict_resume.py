"""Predict and sample from a finished run (run=last: the newest); resume a stopped run to the same result;
single runs named by their overrides."""

import os
import subprocess
import sys
from datetime import datetime

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rnnexp.run_dirs
import rnnexp.tools.predict
from conftest import compose_config
from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.tools.predict import predict
from rnnexp.training.checkpoint import LAST, load_checkpoint, load_resume
from rnnexp.training.trainer import train


@pytest.fixture(scope="module")
def hello_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("hello")
    assert train(compose_config("model=embedding"), run_dir).prediction == "ohlol"
    return run_dir


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("text")
    # Sampling is tested, not what the model learnt: a small model trains its epoch of the play in a moment.
    train(compose_config("task=text", "model=gru", "model.hidden_size=8", "epochs=1", "task.sample_every=0"), run_dir)
    return run_dir


def test_predict_decodes_the_input(hello_run):
    assert predict([f"run={hello_run}", "input=hello"]) == "ohlol"
    # One output per input character; a left-to-right model maps the first five as it did alone.
    longer = predict([f"run={hello_run}", "input=hellohello", "checkpoint=last"])
    assert len(longer) == 10 and longer[:5] == "ohlol"


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


@pytest.mark.e2e
def test_a_bad_predict_argument_is_answered_before_torch_is_imported(tmp_path):
    program = "import sys; from rnnexp.tools.predict import main; status = main(['run=.']); print(status, 'torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "False"]
    assert done.stderr.startswith("rnnexp.predict: error: give either input=")


def test_sampling_continues_the_prime_reproducibly(text_run):
    args = [f"run={text_run}", "sample=60", "prime=MENENIUS:", "temperature=0.7", "seed=3"]
    text = predict(args)
    assert text.startswith("MENENIUS:") and len(text) == len("MENENIUS:") + 60
    assert text == predict(args) != predict(args[:-1] + ["seed=4"])


def test_predict_command_line(hello_run, capsys):
    assert rnnexp.tools.predict.main([f"run={hello_run}", "input=hello"]) == 0
    assert capsys.readouterr() == ("ohlol\n", "")  # the answer alone on stdout, to pipe
    assert rnnexp.tools.predict.main([f"run={hello_run}", "input=xyz"]) == 2
    assert capsys.readouterr() == (
        "",
        "rnnexp.predict: error: input='xyz': characters not in the run's vocabulary: 'x', 'y', 'z' (the vocabulary: 'ehlo')\n",
    )


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["run=x", "--help"]])
def test_predict_help_prints_the_usage(capsys, args):
    assert rnnexp.tools.predict.main(args) == 0
    assert capsys.readouterr() == (rnnexp.tools.predict.__doc__.strip() + "\n", "")


@pytest.mark.parametrize(
    "record, message",
    [
        (RunResult.failed("r", "epochs=0: must be an integer >= 1", 0.1),
         "the run failed (epochs=0: must be an integer >= 1), so there is nothing to resume"),
        (RunResult(status=Status.DIVERGED, run_dir="r", seconds=0.1),
         "the run diverged in its first epoch, so there is nothing to resume; try a lower lr or clip=1.0"),
        # Trained by calling train() directly: no .hydra/overrides.yaml to rebuild the command from.
        (RunResult.interrupted("r", "SIGTERM", 0.1),
         "the run was interrupted (SIGTERM) before its first epoch finished, so there is nothing to resume; start it again"),
    ],
    ids=["failed", "diverged", "interrupted"],
)
def test_resume_of_a_run_without_a_checkpoint_says_why(tmp_path, record, message):
    record.write(tmp_path)
    with pytest.raises(UserError) as refused:
        load_resume(str(tmp_path), epochs=None)
    assert str(refused.value) == f"resume={tmp_path}: {message}"


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


def test_a_cosine_run_trained_further_takes_the_lrs_of_a_run_planned_that_long(make_cfg, tmp_path):
    def lrs(run: str) -> list[float]:
        events = EventAccumulator(str(tmp_path / run))
        events.Reload()
        return [e.value for e in sorted(events.Scalars("lr"), key=lambda e: e.step)]  # the copied file may load second

    train(make_cfg("model=embedding", "scheduler=cosine", "epochs=8"), tmp_path / "planned")
    train(make_cfg("model=embedding", "scheduler=cosine", "epochs=4"), tmp_path / "short")
    cfg, resume = load_resume(str(tmp_path / "short"), epochs=8)
    assert cfg.scheduler.T_max == 8
    train(cfg, tmp_path / "extended", resume=resume)
    # The short run ended its half cosine at lr 0; the extension does not climb back up it.
    assert lrs("extended")[:4] == lrs("short")
    assert lrs("extended")[4:] == pytest.approx(lrs("planned")[4:], rel=1e-6)
    assert load_checkpoint(tmp_path / "extended" / LAST)["config"]["scheduler"]["T_max"] == 8


def test_resume_refuses_a_finished_run(make_cfg, tmp_path):
    train(make_cfg("epochs=2"), tmp_path)
    with pytest.raises(UserError, match=r"already finished its 2 epochs; add epochs=N \(N > 2\)"):
        load_resume(str(tmp_path), epochs=None)
    with pytest.raises(UserError, match="holds no last.pt"):
        load_resume(str(tmp_path / ".."), epochs=None)


def test_resume_from_the_command_line(run_main, tmp_path):
    first = run_main(["model=rnn", "epochs=4", "device=cpu", "hydra.run.dir=first"])
    assert first.status == 0, first.stderr
    # The run's own config comes back from its checkpoint: model=rnn is not repeated.
    resumed = run_main(["resume=first", "epochs=7", "hydra.run.dir=resumed"])
    assert resumed.status == 0, resumed.stderr
    epochs = [line.split("Epoch [")[1].split("]")[0] for line in resumed.stdout.splitlines() if "Epoch [" in line]
    assert epochs == ["5/7", "6/7", "7/7"]
    whole = run_main(["model=rnn", "epochs=7", "device=cpu", "hydra.run.dir=whole"])
    assert whole.status == 0, whole.stderr
    assert whole.stdout.splitlines()[-2] == resumed.stdout.splitlines()[-2]  # the same epoch-7 line
    finished, reference = RunResult.read(tmp_path / "resumed" / METRICS_NAME), RunResult.read(tmp_path / "whole" / METRICS_NAME)
    assert finished.status is Status.OK and finished.epochs == 7
    assert finished.losses == reference.losses and finished.prediction == reference.prediction


def test_a_single_run_is_named_by_its_overrides_and_run_last_finds_it(run_main, tmp_path, monkeypatch):
    pairs = tmp_path / "data" / "pairs.tsv"
    pairs.parent.mkdir()
    pairs.write_text("hello\tohlol\n")
    done = run_main(["task=pairs", "task.path=data/pairs.tsv", "task.val_fraction=0", "model=embedding", "device=cpu"])
    assert done.status == 0, done.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*")
    # Hydra's override_dirname after the time, with the path's "/" made safe: one directory, not nested ones.
    stamp, _, label = run_dir.name.partition("_")
    assert label == "device=cpu,model=embedding,task.path=data_pairs.tsv,task.val_fraction=0,task=pairs"
    assert done.stdout.splitlines()[-1].endswith(f"Run directory: outputs/runs/{run_dir.parent.name}/{run_dir.name}")
    monkeypatch.chdir(tmp_path)
    assert predict(["run=last", "input=hello"]) == predict(["run=latest", "input=hello"]) == "ohlol"


def test_run_last_names_the_newest_run_by_the_time_in_its_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=r"^run=last: no run under outputs/runs here; give its directory, run=outputs/runs/"):
        predict(["run=last", "input=hello"])
    runs = ["2026-11-25/23-59-59.999_model=cell", "2026-11-26/09-00-00.000_b", "2026-11-26/09-00-00.000-1_a", "2026-11-26/10-00-00.000"]
    for name in runs:
        (tmp_path / "outputs" / "runs" / name).mkdir(parents=True)
    (tmp_path / "outputs" / "runs" / "2026-11-26" / "notes").mkdir()  # not a run's name
    newest = tmp_path / "outputs" / "runs" / "2026-11-26"
    assert rnnexp.run_dirs.newest_run() == os.path.join("outputs", "runs", "2026-11-26", "10-00-00.000")
    # A run resuming the newest has already made its own directory: left out, the one before is found.
    assert rnnexp.run_dirs.newest_run(exclude=str(newest / "10-00-00.000")).endswith("09-00-00.000-1_a")
    with pytest.raises(UserError, match=r"^run=outputs/runs/2026-11-26/10-00-00.000: holds no best.pt"):
        predict(["run=last", "input=hello"])


def test_a_run_directory_label_stays_one_short_safe_name(tmp_path, monkeypatch):
    long = "task.path=/a/b.txt,task.source='x y',device=cuda:0," + "é" * 300
    label = rnnexp.run_dirs.dir_label(long)
    assert label.startswith("task.path=_a_b.txt,task.source=_x_y_,device=cuda:0,é")
    assert "/" not in label and len(label.encode()) <= 120
    # Two long labels alike in their first 120 bytes stay apart: the name ends with a hash of the whole.
    other = rnnexp.run_dirs.dir_label(long + "x")
    assert other != label and other[:-10] == label[:-10]
    assert rnnexp.run_dirs.dir_label("model=cell,lr=0.1") == "model=cell,lr=0.1"  # a short one is left as it is

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 26, 14, 19, 35, 714000)

    monkeypatch.setattr(rnnexp.run_dirs, "datetime", Clock)
    made = [rnnexp.run_dirs.unique_dir(str(tmp_path), "model=cell,lr=0.1") for _ in range(2)]
    assert [os.path.basename(d) for d in made] == ["14-19-35.714_model=cell,lr=0.1", "14-19-35.714-1_model=cell,lr=0.1"]
    assert os.path.basename(rnnexp.run_dirs.unique_dir(str(tmp_path), "")) == "14-19-35.714"
