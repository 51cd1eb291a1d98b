"""A user's own data, task=custom: the callable named by task.data._target_, from a my_data.py in the working directory.

Training, TensorBoard, sweeps, predict and resume= with it; its keyword
arguments checked against its signature; bad data refused in one line; and
a resumed run that never imports or calls what its saved config names.
"""

import json
import re
import signal
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import compose_config as compose
from conftest import run_in_process, signals_at_forward, sweep_dir_of, user_module
from rnnexp.data.custom import SEQUENCES_NAME
from rnnexp.data.loading import load_task
from rnnexp.data.task import LANGUAGE_MODEL, TAGGING
from rnnexp.data.task_registry import is_language_model, task_kind
from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.tools.predict import predict
from rnnexp.training.checkpoint import LAST, load_checkpoint, load_resume
from rnnexp.training.trainer import train

MY_DATA = '''
import random

CALLS = []  # each call, so a test can tell that a resumed run made none


def reversed_words(n=40, seed=0):
    """(word, its reverse) pairs: a tagging task."""
    CALLS.append(n)
    rng = random.Random(seed)
    words = ["cat", "house", "river", "stone", "tree", "apple"]
    return [(w, w[::-1]) for w in (rng.choice(words) for _ in range(n))]


def anything(**keywords):
    return [("ab", "ba")] * keywords.get("count", 4)


def needs_size(size):
    return [("ab", "ba")] * size


def a_text(repeat=60):
    """One string: a language model."""
    return "the cat sat on the mat. " * repeat


def unequal():
    return [("abc", "cba"), ("abcd", "dc")]


def nothing():
    return []


def a_dict():
    return {"ab": "ba"}


def empty_text():
    return ""


def not_a_pair():
    return [("ab", "ba"), ("ab", 3)]


NOT_CALLABLE = 3
'''


@pytest.fixture
def my_data(tmp_path):
    """my_data.py in ``tmp_path`` (the commands' working directory), imported afresh by each test."""
    with user_module(tmp_path, "my_data", MY_DATA):
        yield tmp_path


def calls() -> list:
    return sys.modules["my_data"].CALLS if "my_data" in sys.modules else []


CUSTOM = ["task=custom", "task.data._target_=my_data.reversed_words", "device=cpu"]


# --------------------------------------------------------------------------- the data
def test_the_callables_pairs_become_the_task(my_data):
    cfg = compose(*CUSTOM, "task.data.n=30", "task.data.seed=2")
    assert task_kind(cfg.task) is None  # only the data can tell
    data = load_task(cfg.task)
    assert data.kind == TAGGING and len(data.train) == 27 and len(data.val) == 3  # the data tasks' 0.1 held out
    decoded = [(data.vocab.decode(s), data.vocab.decode(t)) for s, t in zip(data.train.sources, data.train.targets)]
    assert all(t == s[::-1] for s, t in decoded)
    assert len(data.record["sequences"]) == 30 and data.record["keywords"] == {"n": 30, "seed": 2}
    assert calls() == [30]


def test_one_string_makes_a_language_model(my_data):
    data = load_task(compose("task=custom", "task.data._target_=my_data.a_text", "task.window=8").task)
    assert data.kind == LANGUAGE_MODEL and data.stateful and data.val_streams == 10


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task.data._target_=my_data.reversed_words", "task.data.m=3"],
         "task.data.m: my_data.reversed_words takes no argument m; it takes n, seed"),
        (["task.data._target_=my_data.needs_size"], "task.data: my_data.needs_size needs size; give task.data.size=..."),
        (["task.data._target_=my_data.unequal"],
         "task.data._target_=my_data.unequal: pair 1 (from 0), 'abcd' -> 'dc', has a source of 4 characters and a target of 2"),
        (["task.data._target_=my_data.nothing"], "task.data._target_=my_data.nothing: returned no pairs (an empty list)"),
        (["task.data._target_=my_data.a_dict"],
         "task.data._target_=my_data.a_dict: returned a dict; expected a list of (source, target) string pairs"),
        (["task.data._target_=my_data.empty_text"], "task.data._target_=my_data.empty_text: returned an empty string"),
        (["task.data._target_=my_data.not_a_pair"],
         "task.data._target_=my_data.not_a_pair: pair 1 (from 0) is ('ab', 3); expected a (source, target) pair of strings"),
        (["task.data._target_=my_data.NOT_CALLABLE"], "task.data._target_=my_data.NOT_CALLABLE: not callable (a int)"),
        (["task.data._target_=my_data.missing"], "task.data._target_=my_data.missing: module my_data has no missing"),
        (["task.data._target_=no_such_module.f"], "task.data._target_=no_such_module.f: cannot be imported (No module named"),
        (["task.data._target_=my_data.a_text", "task.kind=tagging"],
         "task.kind=tagging: task.data._target_=my_data.a_text returned one string (a language model); set task.kind=language_model"),
    ],
)
def test_bad_data_is_one_line_naming_the_callable(my_data, overrides, message):
    with pytest.raises(UserError) as refused:
        load_task(compose("task=custom", *overrides).task)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_keyword_arguments_are_taken_without_plus_and_kwargs_takes_any(my_data):
    data = load_task(compose("task=custom", "task.data._target_=my_data.anything", "task.data.count=10", "task.data.other=x").task)
    assert len(data.train) + len(data.val) == 10


# --------------------------------------------------------------------------- runs
def test_a_custom_run_trains_records_and_predicts(my_data):
    done = run_in_process([*CUSTOM, "epochs=3", "task.data.n=20", "hydra.run.dir=run"], my_data)
    assert done.status == 0, done.stderr
    run = my_data / "run"
    assert "Predicted string: " in done.stdout and "validation sequences right" in done.stdout
    record = json.loads((run / SEQUENCES_NAME).read_text())
    assert record["_target_"] == "my_data.reversed_words" and record["keywords"] == {"n": 20} and len(record["sequences"]) == 20
    state = load_checkpoint(run / LAST)
    assert state["config"]["task"]["kind"] == TAGGING and not is_language_model(state["config"]["task"])
    events = EventAccumulator(str(run))
    events.Reload()
    table = events.Tensors("prediction/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert "| source | prediction | target |" in table
    # predict needs only the checkpoint: its vocabulary came from the callable's pairs.
    assert len(predict(["run=run", "input=tac"])) == 3


def test_a_custom_language_model_samples_and_predict_samples(my_data):
    args = ["task=custom", "task.data._target_=my_data.a_text", "task.window=8", "model=gru", "model.hidden_size=8",
            "task.sample_every=1", "task.sample_length=12", "epochs=1", "device=cpu", "hydra.run.dir=text"]
    done = run_in_process(args, my_data)
    assert done.status == 0, done.stderr
    assert "Unigram baseline" in done.stdout and "Sample after epoch 1" in done.stdout
    assert done.stdout.strip().splitlines()[-1].startswith("Final validation loss: ")
    assert is_language_model(load_checkpoint(my_data / "text" / LAST)["config"]["task"])
    assert predict(["run=text", "sample=5", "prime=the"]).startswith("the")
    with pytest.raises(UserError, match=r"this run is a language model \(task=custom\)"):
        predict(["run=text", "input=the"])


def test_a_sweep_over_the_callables_arguments(my_data):
    done = run_in_process(["-m", *CUSTOM, "task.data.n=12,16", "seed=0,1", "epochs=1"], my_data)
    assert done.status == 0, done.stderr
    jobs = sorted(sweep_dir_of(my_data).glob("*/" + METRICS_NAME))
    assert len(jobs) == 4 and all(RunResult.read(job).status is Status.OK for job in jobs)
    assert sorted(json.loads((job.parent / SEQUENCES_NAME).read_text())["keywords"]["n"] for job in jobs) == [12, 12, 16, 16]


# --------------------------------------------------------------------------- resume
def test_resume_reads_the_kept_sequences_and_calls_nothing(my_data):
    """resume= trains on the sequences the first run kept, to the bit, without importing my_data or calling anything."""
    cfg = compose(*CUSTOM, "task.data.n=24", "epochs=4", "model=gru", "model.dropout=0.1")
    whole = train(cfg, my_data / "whole")
    train(compose(*CUSTOM, "task.data.n=24", "epochs=2", "model=gru", "model.dropout=0.1"), my_data / "half")
    # The saved config names something else now: a directory received from someone else could.
    state = torch.load(my_data / "half" / LAST, weights_only=True)
    state["config"]["task"]["data"]["_target_"] = "os.system"
    torch.save(state, my_data / "half" / LAST)
    (my_data / "my_data.py").unlink()
    sys.modules.pop("my_data", None)
    resumed_cfg, resume = load_resume(str(my_data / "half"), epochs=4)
    resumed = train(resumed_cfg, my_data / "resumed", resume=resume)
    assert "my_data" not in sys.modules
    assert resumed.losses == whole.losses and resumed.val_losses == whole.val_losses
    # The resumed run keeps them too, so it can be resumed in its turn.
    assert json.loads((my_data / "resumed" / SEQUENCES_NAME).read_text())["sequences"] == \
        json.loads((my_data / "half" / SEQUENCES_NAME).read_text())["sequences"]


def test_resume_refuses_a_task_class_that_is_not_rnnexps(my_data):
    train(compose(*CUSTOM, "task.data.n=12", "epochs=1"), my_data / "run")
    state = torch.load(my_data / "run" / LAST, weights_only=True)
    state["config"]["task"]["_target_"] = "my_data.Evil"
    torch.save(state, my_data / "run" / LAST)
    sys.modules.pop("my_data", None)
    done = run_in_process(["resume=run", "epochs=2"], my_data)
    assert done.status == 2
    assert done.stderr.startswith("rnnexp: error: task._target_=my_data.Evil: not one of rnnexp's task classes (")
    assert "my_data" not in sys.modules  # refused by its name, before any import


def test_resume_without_the_kept_sequences_says_so(my_data):
    train(compose(*CUSTOM, "task.data.n=12", "epochs=1"), my_data / "run")
    (my_data / "run" / SEQUENCES_NAME).unlink()
    cfg, resume = load_resume(str(my_data / "run"), epochs=2)
    with pytest.raises(UserError, match=f"^{my_data / 'run' / SEQUENCES_NAME}: missing; a task=custom run resumes"):
        train(cfg, my_data / "resumed", resume=resume)


def test_the_installed_command_imports_from_the_working_directory(my_data, monkeypatch):
    """The rnnexp console script does not put the working directory on sys.path; locate() does, for the import alone."""
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(my_data), str(Path.cwd()))])
    data = load_task(compose(*CUSTOM, "task.data.n=10").task)
    assert len(data.train) == 9 and str(my_data) not in sys.path


# --------------------------------------------------------------------------- docs/extending.md's example
PAGE = Path(__file__).parent.parent / "docs" / "extending.md"


def documented(name: str) -> str:
    """The code block after ``<!-- example: name -->`` on docs/extending.md."""
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert found, name
    return found.group(1)


@pytest.fixture
def documented_data(my_data):
    (my_data / "my_data.py").write_text(documented("my_data.py"))
    return my_data


def test_the_documented_example_runs_as_the_page_says(documented_data):
    quick = ["epochs=2", "device=cpu", "task.sample_every=0"]
    tagging = ["task=custom", "task.data._target_=my_data.reversed_words", "task.data.n=100", "model=gru",
               "model.bidirectional=true", "model.head=true", "model.hidden_size=32"]
    done = run_in_process([*tagging, *quick[:2], "hydra.run.dir=tagging"], documented_data)
    assert done.status == 0, done.stderr
    assert "validation sequences right" in done.stdout.strip().splitlines()[-1]
    text = ["task=custom", "task.data._target_=my_data.word_stream", "model=lstm", "task.window=32", "task.data.n=300"]
    done = run_in_process([*text, *quick, "hydra.run.dir=text"], documented_data)
    assert done.status == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("Final validation loss: ")
    # A task option of the user's own, from the page's YAML.
    option = documented_data / "my_conf" / "task" / "reversed.yaml"
    option.parent.mkdir(parents=True)
    option.write_text("defaults: [custom]\ndata: {_target_: my_data.reversed_words, n: 500}\n")
    done = run_in_process(["--config-dir", "my_conf", "task=reversed", "task.data.n=40", *quick[:2], "hydra.run.dir=own"], documented_data)
    assert done.status == 0, done.stderr
    assert len(json.loads((documented_data / "own" / SEQUENCES_NAME).read_text())["sequences"]) == 40


def test_the_documented_refusals(documented_data):
    with pytest.raises(UserError, match=r"^task.data._target_=my_data.WORDS: not callable \(a list\)$"):
        load_task(compose("task=custom", "task.data._target_=my_data.WORDS").task)
    with pytest.raises(UserError, match=r"^task.data.m: my_data.reversed_words takes no argument m; it takes n, seed$"):
        load_task(compose("task=custom", "task.data._target_=my_data.reversed_words", "task.data.m=3").task)


def test_a_stopped_sweep_job_continues_on_its_kept_sequences(my_data):
    """continue= resumes a task=custom job stopped mid-epoch from its own sequences.json, to the bit."""
    job = [*CUSTOM, "task.data.n=24", "batch_size=4", "epochs=3"]  # 6 training batches and 1 validation batch an epoch
    with signals_at_forward((7 + 3, signal.SIGTERM)) as sent:
        stopped = run_in_process(["-m", *job, "seed=0,1"], my_data)
    assert sent and stopped.status == 143, stopped.stderr
    (job0,) = (p for p in sweep_dir_of(my_data).iterdir() if p.name.startswith("0_"))
    continued = run_in_process(["continue=last"], my_data)
    assert continued.status == 0, continued.stderr
    assert f"Resuming {job0} after epoch 1" in (job0 / "rnnexp.log").read_text()
    uninterrupted = train(compose(*job, "seed=0"), my_data / "uninterrupted")
    assert RunResult.read(job0 / METRICS_NAME).losses == uninterrupted.losses


def test_a_module_that_fails_to_import_is_one_line(my_data):
    (my_data / "broken_data.py").write_text("def words(:\n")
    try:
        with pytest.raises(UserError, match=r"^task.data._target_=broken_data.words: importing broken_data failed \(SyntaxError: "):
            load_task(compose("task=custom", "task.data._target_=broken_data.words").task)
    finally:
        sys.modules.pop("broken_data", None)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task.data._target_=my_data.a_text", "model=gru", "model.bidirectional=true", "model.head=true"],
         "model.bidirectional=true: task.stateful carries the state forward through the text"),
        (["task.data._target_=my_data.reversed_words", "train_accuracy=false"],
         "train_accuracy=false: task=custom decides when it is solved from the accuracy"),
    ],
)
def test_the_checks_of_a_kind_run_once_the_callable_has_told_it(my_data, overrides, message):
    cfg = compose("task=custom", *overrides)  # validate() passes: the kind is not known before the data
    with pytest.raises(UserError, match="^" + re.escape(message)):
        train(cfg, my_data / "run")
    # The other kind takes the same setting: a bidirectional tagger, a language model without the accuracy.
    swapped = "my_data.reversed_words" if "a_text" in overrides[0] else "my_data.a_text"
    ok = train(compose("task=custom", f"task.data._target_={swapped}", *overrides[1:], "epochs=1", "task.window=8"), my_data / "ok")
    assert ok.status is Status.OK
