"""A user's own real-valued sequences, one answer each: from a callable (task=custom) or a file (task=arrays).

Every shape a callable may return trains, classify and regress, with its own
held-out split or task.val_fraction's; .npz and .csv files too; sequences of
unequal lengths train with model.readout=last and mean; bad data, a readout
or an encoder that does not fit are one line naming the callable or the file
(and the sequence, row or line), and leave no run directory behind; resume=
of a callable's arrays trains on what the first run kept, to the bit,
without calling anything.
"""

import re
import sys
import tempfile
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as numpy_arrays

from conftest import compose_config as compose
from conftest import run_in_process, user_module
from rnnexp.data.array_files import read_arrays, write_arrays
from rnnexp.data.arrays import ArraySet, checked_arrays
from rnnexp.data.custom import ARRAYS_NAME, SEQUENCES_NAME
from rnnexp.data.loading import load_task
from rnnexp.data.task import CLASSIFY, REGRESS, Arrays
from rnnexp.data.task_registry import task_kind
from rnnexp.errors import UserError
from rnnexp.training.checkpoint import LAST, load_checkpoint, load_resume
from rnnexp.training.trainer import train

MY_ARRAYS = '''
import numpy as np
import torch

from rnnexp.data.task import Arrays

CALLS = []  # each call, so a test can tell that a resumed run made none


def _blobs(n, steps=5, features=2, seed=0):
    """n sequences (n, steps, features) around their class, 0, 1 or 2."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    return torch.randn(n, steps, features, generator=g) * 0.3 + y.view(-1, 1, 1).float(), y


def classes(form="tuple", n=24):
    CALLS.append(form)
    x, y = _blobs(n)
    cut = n * 3 // 4
    return {
        "tuple": (x, y),
        "numpy": (x.numpy(), y.numpy()),
        "dict": {"x": x, "y": y},
        "arrays": Arrays(x, y),
        "one_feature": (x[:, :, 0], y),
        "split": (x[:cut], y[:cut], x[cut:], y[cut:]),
        "dict_split": {"x": x[:cut], "y": y[:cut], "x_test": x[cut:], "y_test": y[cut:]},
        "float_classes": (x.double(), y.double()),
    }[form]


def numbers(values=1, n=24, split=False):
    """Regress: the mean of each sequence's steps, and its square for values=2."""
    x = torch.rand(n, 6, 1, generator=torch.Generator().manual_seed(1))
    mean = x.mean(dim=(1, 2))
    y = mean if values == 1 else torch.stack([mean, mean ** 2], dim=1)
    return (x[:18], y[:18], x[18:], y[18:]) if split else (x, y)


def unequal(n=24, split=False):
    """Sequences of 3 to 6 steps, two features; a list, as a callable of unequal lengths returns them."""
    CALLS.append(n)
    g = torch.Generator().manual_seed(2)
    y = [i % 2 for i in range(n)]
    x = [torch.randn(3 + i % 4, 2, generator=g) + label for i, label in enumerate(y)]
    if split:
        return x[:18], torch.tensor(y[:18]), x[18:], torch.tensor(y[18:])
    return x, np.array(y)


def object_array():
    x, y = unequal(6)
    held = np.empty(len(x), dtype=object)
    held[:] = [s.numpy() for s in x]
    return held, y


def ragged():
    return [np.zeros((3, 2)), [[0.0, 1.0], [2.0]]], [0, 1]


def features_differ():
    return [np.zeros((3, 2)), np.zeros((4, 3))], [0, 1]


def with_nan():
    x, y = _blobs(8)
    x[2, 3, 1] = float("nan")
    return x, y


def with_inf():
    x, y = numbers()
    y[5] = float("inf")
    return x, y


def too_large():
    x, y = _blobs(8)
    x = x.double()
    x[1, 0, 0] = 1e39
    return x, y


def half_classes():
    x, y = _blobs(8)
    y = y.double()
    y[1] = 2.5
    return x, y


def infinite_class():
    x, y = _blobs(8)
    y = y.double()
    y[3] = float("-inf")
    return x, y


def negative():
    x, y = _blobs(8)
    y[4] = -1
    return x, y


def too_few_answers():
    x, y = _blobs(8)
    return x, y[:7]


def test_without_answers():
    x, y = _blobs(8)
    return {"x": x, "y": y, "x_test": x}


def test_features_differ():
    x, y = _blobs(8)
    return x, y, x[:, :, :1], y


def test_values_differ():
    x, y = numbers()
    return x, y, x, torch.stack([y, y], dim=1)


def words_as_answers():
    x, _ = _blobs(2)
    return x, np.array(["cat", "dog"])


def complex_answers():
    x, _ = _blobs(2)
    return x, torch.tensor([1 + 1j, 2 + 0j])


def empty_x():
    return np.zeros((0, 4, 2)), np.zeros(0, dtype=int)


def dict_with_others():
    x, y = _blobs(8)
    return {"x": x, "y": y, "x_val": x}


def list_of_arrays():
    return list(_blobs(8))


def words():
    return [("ab", "ba")] * 8
'''

ORIGIN = "task.data._target_=my_arrays"
# A callable's arrays train with encoder=linear: the model option brings the encoder of characters.
REAL = ["task=custom", "encoder=linear", "model=gru", "model.hidden_size=8", "device=cpu"]


@pytest.fixture
def my_arrays(tmp_path):
    """my_arrays.py in ``tmp_path`` (the commands' working directory), imported afresh by each test."""
    with user_module(tmp_path, "my_arrays", MY_ARRAYS):
        yield tmp_path


def custom(target: str, *overrides: str):
    return load_task(compose(*REAL, f"task.data._target_=my_arrays.{target}", *overrides).task)


def refusal(load) -> str:
    """The one line of the UserError ``load()`` raises."""
    with pytest.raises(UserError) as refused:
        load()
    line = str(refused.value)
    assert "\n" not in line, line
    return line


# --------------------------------------------------------------------------- what a callable may return
@pytest.mark.parametrize("form", ["tuple", "numpy", "dict", "arrays", "one_feature"])
def test_each_form_of_x_and_y_classifies_with_val_fraction(my_arrays, form):
    cfg = compose(*REAL, "task.data._target_=my_arrays.classes", f"task.data.form={form}")
    assert task_kind(cfg.task) is None  # only the data can tell
    data = load_task(cfg.task)
    features = 1 if form == "one_feature" else 2
    assert data.kind == CLASSIFY and len(data.train) == 22 and len(data.val) == 2  # the data tasks' 0.1 held out
    assert data.sizes.inputs == features and data.sizes.outputs == 3 and data.sizes.length == 5
    assert data.train.inputs.dtype == torch.float32 and data.train.targets.dtype == torch.int64


@pytest.mark.parametrize("form", ["split", "dict_split"])
def test_a_given_held_out_split_replaces_val_fraction(my_arrays, form):
    data = custom("classes", f"task.data.form={form}")
    assert len(data.train) == 18 and len(data.val) == 6
    assert data.val.targets.tolist() == [i % 3 for i in range(18, 24)]  # the callable's own, in its order


def test_whole_floats_are_classes_when_task_kind_says_so(my_arrays):
    assert custom("classes", "task.data.form=float_classes").kind == REGRESS  # a float y regresses by default
    data = custom("classes", "task.data.form=float_classes", "task.kind=classify")
    assert data.kind == CLASSIFY and data.train.targets.dtype == torch.int64


@pytest.mark.parametrize("values", [1, 2])
def test_float_answers_regress_one_or_more_numbers_each(my_arrays, values):
    data = custom("numbers", f"task.data.values={values}", "task.data.split=true")
    assert data.kind == REGRESS and data.sizes.outputs == values and data.train.targets.shape == (18, values)


def test_unequal_lengths_are_padded_and_their_lengths_handed_on(my_arrays):
    data = custom("unequal")
    assert data.sizes.length is None and not data.train.equal_lengths
    batch = data.train.batch(torch.arange(4))
    assert batch.source.shape[0] == 4 and batch.source.shape[2] == 2
    assert batch.lengths.tolist() == [len(data.train.inputs[i]) for i in range(4)]
    # numpy's array of unequal sequences (dtype=object) is read as the list it holds.
    assert custom("object_array", "task.val_fraction=0").train.lengths.tolist() == [3, 4, 5, 6, 3, 4]


# --------------------------------------------------------------------------- training
def test_a_callables_classes_train_on_its_own_split(my_arrays):
    done = run_in_process([*REAL, "task.data._target_=my_arrays.classes", "task.data.form=split", "epochs=2",
                           "hydra.run.dir=run"], my_arrays)
    assert done.status == 0, done.stderr
    assert "Classes: 3; always answering the most common" in done.stdout
    assert re.search(r"^Final validation accuracy: [\d.]+% \(\d+ of 6 validation sequences\)", done.stdout.splitlines()[-1])
    state = load_checkpoint(my_arrays / "run" / LAST)
    assert state["config"]["task"]["kind"] == CLASSIFY and state["sizes"]["inputs"] == 2
    assert (my_arrays / "run" / ARRAYS_NAME).is_file()


def test_a_callables_numbers_regress_with_val_fraction(my_arrays):
    done = run_in_process([*REAL, "task.data._target_=my_arrays.numbers", "task.data.values=2", "epochs=2",
                           "task.tolerance=0.1", "hydra.run.dir=run"], my_arrays)
    assert done.status == 0, done.stderr
    assert "Baseline: always answering the training mean" in done.stdout
    assert re.search(r"^Final validation MSE: .*; \d+ of 2 within 0.1 ", done.stdout.splitlines()[-1])


@pytest.mark.parametrize("readout", ["last", "mean"])
def test_unequal_lengths_train_with_readout_last_and_mean(my_arrays, readout):
    result = train(compose(*REAL, "task.data._target_=my_arrays.unequal", f"model.readout={readout}", "epochs=1"),
                   my_arrays / readout)
    assert len(result.losses) == 1 and np.isfinite(result.losses[0])


def test_readout_all_on_unequal_lengths_is_one_line_and_leaves_nothing(my_arrays):
    done = run_in_process([*REAL, "task.data._target_=my_arrays.unequal", "model.readout=all"], my_arrays)
    assert done.status == 2 and done.stdout == ""
    assert done.stderr == (
        "rnnexp: error: model.readout=all: the sequences differ in length, and all flattens a fixed number of "
        "steps into the head; use model.readout=last or model.readout=mean\n"
    )
    assert not list(my_arrays.glob("outputs/runs/*/*"))


def test_readout_all_trains_on_sequences_of_one_length(my_arrays):
    result = train(compose(*REAL, "task.data._target_=my_arrays.classes", "model.readout=all", "epochs=1"), my_arrays / "all")
    assert len(result.losses) == 1


# --------------------------------------------------------------------------- bad data from a callable
BAD_CALLABLES = [
    ("ragged", f"{ORIGIN}.ragged: x sequence 1 (from 0) is ragged or not numbers; each sequence is (steps, features) "
     "real values, every step with the same features"),
    ("features_differ", f"{ORIGIN}.features_differ: x sequence 1 (from 0) has 3 features a step, sequence 0 has 2; "
     "every sequence needs the same features"),
    ("with_nan", f"{ORIGIN}.with_nan: x sequence 2 (from 0) holds NaN or inf at step 3 (from 0); give finite values"),
    ("with_inf", f"{ORIGIN}.with_inf: y holds NaN or inf at row 5 (from 0); give finite values"),
    ("too_large", f"{ORIGIN}.too_large: x sequence 1 (from 0) holds a value beyond float32's range (about 3.4e38) at "
     "step 0 (from 0); scale the data"),
    ("half_classes -- task.kind=classify", f"{ORIGIN}.half_classes: y row 1 (from 0) is 2.5: a class must be an integer "
     "(for numbers to predict, task.kind=regress)"),
    ("negative", f"{ORIGIN}.negative: y row 4 (from 0) is -1: classes are integers from 0"),
    ("infinite_class -- task.kind=classify", f"{ORIGIN}.infinite_class: y row 3 (from 0) is -inf: a class must be an "
     "integer (for numbers to predict, task.kind=regress)"),
    ("too_few_answers", f"{ORIGIN}.too_few_answers: x holds 8 sequences but y holds 7 answers; give one answer per sequence"),
    ("test_without_answers", f"{ORIGIN}.test_without_answers: gives x_test without y_test; a held-out split needs both"),
    ("test_features_differ", f"{ORIGIN}.test_features_differ: x_test has 1 features a step, x has 2; they must match"),
    ("test_values_differ", f"{ORIGIN}.test_values_differ: y_test has 2 numbers per sequence, y has 1; they must match"),
    ("complex_answers", f"{ORIGIN}.complex_answers: y holds torch.complex64, not real values"),
    ("empty_x", f"{ORIGIN}.empty_x: x has shape (0, 4, 2); expected (sequences, steps, features), or (sequences, steps) "
     "for one feature, with at least one of each"),
    ("dict_with_others", f"{ORIGIN}.dict_with_others: returned a dict with x_val; real-valued data is x and y, and "
     "optionally x_test and y_test"),
    ("list_of_arrays", f"{ORIGIN}.list_of_arrays: returned a list of arrays; return real-valued data as a tuple (x, y) "
     "or (x, y, x_test, y_test), or a dict with those names"),
]


@pytest.mark.parametrize("target, message", BAD_CALLABLES, ids=[row[0] for row in BAD_CALLABLES])
def test_bad_arrays_are_one_line_naming_the_callable_and_the_sequence(my_arrays, target, message):
    target, _, kind = target.partition(" -- ")
    assert refusal(lambda: custom(target, *([kind] if kind else []))) == message


def test_answers_that_are_not_numbers_are_one_line(my_arrays):
    line = refusal(lambda: custom("words_as_answers"))
    assert line.startswith(f"{ORIGIN}.words_as_answers: y is not an array of numbers (") and line.endswith(
        "); expected one answer per sequence"
    )


# --------------------------------------------------------------------------- the encoder
def test_a_callables_arrays_with_the_models_encoder_say_to_add_encoder_linear(my_arrays):
    done = run_in_process(["task=custom", "task.data._target_=my_arrays.classes", "model=gru", "device=cpu"], my_arrays)
    assert done.status == 2 and done.stdout == ""
    assert done.stderr == (
        "rnnexp: error: encoder=embedding: task=custom gives real-valued features, not characters, and "
        "encoder=embedding reads characters; use encoder=linear\n"
    )
    assert not list(my_arrays.glob("outputs/runs/*/*"))


def test_a_callables_strings_with_encoder_linear_are_refused(my_arrays):
    cfg = compose("task=custom", "task.data._target_=my_arrays.words", "encoder=linear", "device=cpu")
    assert refusal(lambda: train(cfg, my_arrays / "run")) == (
        "encoder=linear: task=custom gives characters, and encoder=linear reads real-valued features; "
        "use encoder=one_hot or encoder=embedding"
    )


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize("data", [["task.data._target_=my_arrays.unequal"],
                                  ["task.data._target_=my_arrays.numbers", "task.data.split=true"]],
                         ids=["unequal lengths, val_fraction", "regress, own split"])
def test_resume_trains_on_the_kept_arrays_to_the_bit_and_calls_nothing(my_arrays, data):
    job = [*REAL, *data, "model.dropout=0.1", "batch_size=8"]
    whole = train(compose(*job, "epochs=3"), my_arrays / "whole")
    train(compose(*job, "epochs=1"), my_arrays / "half")
    # The saved config names something else now: a directory received from someone else could.
    state = torch.load(my_arrays / "half" / LAST, weights_only=True)
    state["config"]["task"]["data"]["_target_"] = "os.system"
    torch.save(state, my_arrays / "half" / LAST)
    (my_arrays / "my_arrays.py").unlink()
    sys.modules.pop("my_arrays", None)
    resumed_cfg, resume = load_resume(str(my_arrays / "half"), epochs=3)
    resumed = train(resumed_cfg, my_arrays / "resumed", resume=resume)
    assert "my_arrays" not in sys.modules
    assert resumed.losses == whole.losses and resumed.val_losses == whole.val_losses
    assert (my_arrays / "resumed" / ARRAYS_NAME).read_bytes() == (my_arrays / "half" / ARRAYS_NAME).read_bytes()
    assert '"kind": "arrays"' in (my_arrays / "half" / SEQUENCES_NAME).read_text()


# --------------------------------------------------------------------------- files: task=arrays
@pytest.fixture
def files(tmp_path, monkeypatch):
    """Files of arrays in ``tmp_path``, the working directory."""
    monkeypatch.chdir(tmp_path)
    g = np.random.default_rng(0)
    y = np.arange(30) % 3
    x = g.normal(size=(30, 5, 2)) * 0.3 + y[:, None, None]
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    np.savez(tmp_path / "blobs_split.npz", x=x[:24], y=y[:24], x_test=x[24:], y_test=y[24:])
    np.savez(tmp_path / "held_out.npz", x=x[24:], y=y[24:])
    np.savez(tmp_path / "three_features.npz", x=np.zeros((4, 5, 3)), y=np.zeros(4, dtype=int))
    padded = np.zeros((4, 6, 1))
    np.savez(tmp_path / "padded.npz", x=padded, y=np.array([0, 1, 0, 1]), x_lengths=np.array([2, 6, 3, 4]))
    np.savez(tmp_path / "bad_lengths.npz", x=padded, y=np.array([0, 1, 0, 1]), x_lengths=np.array([2, 7, 3, 4]))
    nan = x.copy()
    nan[2, 3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=nan, y=y)
    np.savez(tmp_path / "no_y.npz", x=x)
    np.savez(tmp_path / "labels.npz", x=x, y=y, labels=y)
    np.save(tmp_path / "one.npy", x)
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    (tmp_path / "not_npz.npz").write_text("x,y\n1,2\n")
    ragged = np.empty(2, dtype=object)
    ragged[:] = [np.zeros(3), np.zeros(4)]
    np.savez(tmp_path / "objects.npz", x=ragged, y=np.array([0, 1]))
    # The UCR archive's layout: the class, then one value a step; rows of unequal lengths.
    (tmp_path / "train.csv").write_text("label,t1,t2,t3,t4\n" + "".join(
        f"{i % 2},{','.join(f'{v:.3f}' for v in g.normal(size=3 + i % 2) + i % 2)}\n" for i in range(20)
    ))
    (tmp_path / "test.csv").write_text("0,0.1,-0.2,0.3\n1,1.1,0.9,1.2,0.8\n")
    (tmp_path / "train.tsv").write_text("\n0\t0.1\t0.2\n\n1\t0.9\t1.1\n0\t0.0\t0.1\n1\t1.2\t1.0\n")
    (tmp_path / "numbers.csv").write_text("0.5,0.4,0.6\n1.5,1.4,1.6\n1.0,1.1,0.9\n2.0,2.0,2.0\n")
    (tmp_path / "bad_cell.csv").write_text("0,0.1,0.2\n1,0.3,abc\n")
    (tmp_path / "empty_cell.csv").write_text("label,a,b\n0,0.1,0.2\n1,,0.3\n")
    (tmp_path / "nan_cell.csv").write_text("0,0.1,nan\n")
    (tmp_path / "only_answer.csv").write_text("0,0.1\n1\n")
    (tmp_path / "negative.csv").write_text("1,0.1\n-1,0.2\n")
    (tmp_path / "half.csv").write_text("1,0.1\n2.5,0.2\n")
    (tmp_path / "bad_answer.csv").write_text("0,0.1\nyes,0.2\n")
    (tmp_path / "header_only.csv").write_text("label,t1\n")
    (tmp_path / "data.xlsx").write_text("0,1\n")
    return tmp_path


def arrays_task(*overrides: str):
    return load_task(compose("task=arrays", "device=cpu", *overrides).task)


def test_an_npz_classifies_with_val_fraction_and_its_own_split(files):
    data = arrays_task("task.path=blobs.npz")
    assert data.kind == CLASSIFY and (len(data.train), len(data.val)) == (27, 3) and data.sizes.inputs == 2
    data = arrays_task("task.path=blobs_split.npz")
    assert (len(data.train), len(data.val)) == (24, 6)
    data = arrays_task("task.path=blobs_split.npz", "task.val_fraction=0")  # the file's split is the file's, whatever val_fraction says
    assert (len(data.train), len(data.val)) == (24, 6)


def test_a_held_out_file_replaces_val_fraction(files):
    data = arrays_task("task.path=blobs.npz", "task.test_path=held_out.npz")
    assert (len(data.train), len(data.val)) == (30, 6)
    data = arrays_task("task.path=train.csv", "task.test_path=test.csv")
    assert (len(data.train), len(data.val)) == (20, 2) and data.val.lengths.tolist() == [3, 4]


def test_an_npz_of_padded_sequences_gives_their_lengths(files):
    data = arrays_task("task.path=padded.npz", "task.val_fraction=0")
    assert data.train.lengths.tolist() == [2, 6, 3, 4] and data.sizes.length is None


def test_a_table_in_the_ucr_layout(files):
    data = arrays_task("task.path=train.csv", "task.val_fraction=0")  # header skipped, rows of 3 and 4 steps
    assert data.kind == CLASSIFY and len(data.train) == 20 and data.sizes.inputs == 1 and data.sizes.outputs == 2
    assert sorted(set(data.train.lengths.tolist())) == [3, 4]
    data = arrays_task("task.path=train.tsv", "task.val_fraction=0")  # blank lines skipped
    assert data.train.targets.tolist() == [0, 1, 0, 1] and data.sizes.length == 2
    data = arrays_task("task.path=numbers.csv", "task.val_fraction=0")
    assert data.kind == REGRESS and data.train.targets[:, 0].tolist() == [0.5, 1.5, 1.0, 2.0]
    assert arrays_task("task.path=train.csv", "task.kind=regress").kind == REGRESS


def test_a_file_of_arrays_brings_encoder_linear_and_trains(files):
    cfg = compose("task=arrays", "task.path=train.csv", "task.test_path=test.csv", "model=gru", "device=cpu")
    assert cfg.encoder.name == "linear"  # over the embedding model=gru brings
    done = run_in_process(["task=arrays", "task.path=train.csv", "task.test_path=test.csv", "model=gru",
                           "model.hidden_size=8", "epochs=2", "device=cpu", "hydra.run.dir=run"], files)
    assert done.status == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("Final validation accuracy: ")
    assert load_checkpoint(files / "run" / LAST)["config"]["task"]["kind"] == CLASSIFY


BAD_FILES = [
    (["task.path=not_npz.npz"], "task.path=not_npz.npz: not an .npz file (the zip of named arrays numpy.savez writes)"),
    (["task.path=one.npz"], "task.path=one.npz: one array (.npy), not an .npz of named arrays; write it with "
     "numpy.savez(path, x=x, y=y)"),
    (["task.path=no_y.npz"], "task.path=no_y.npz: holds no array named y (x); it needs x and y, and optionally x_test and y_test"),
    (["task.path=labels.npz"], "task.path=labels.npz: holds labels, which task=arrays does not read; it reads x and y, and "
     "optionally x_test and y_test (x_lengths, x_test_lengths: the steps of padded sequences)"),
    (["task.path=objects.npz"], "task.path=objects.npz: x holds Python objects, which are not read (that would unpickle "
     "them); store sequences of unequal lengths padded with their steps in x_lengths, or a list of them from task=custom"),
    (["task.path=bad_lengths.npz"], "task.path=bad_lengths.npz: x_lengths row 1 (from 0) is 7; each sequence has from 1 "
     "to 6 steps (the padded x's)"),
    (["task.path=nan.npz"], "task.path=nan.npz: x sequence 2 (from 0) holds NaN or inf at step 3 (from 0); give finite values"),
    (["task.path=blobs.npz", "task.test_path=three_features.npz"], "task.test_path=three_features.npz: x has 3 features a "
     "step, task.path=blobs.npz's x has 2; they must match"),
    (["task.path=blobs_split.npz", "task.test_path=held_out.npz"], "task.path=blobs_split.npz: holds a held-out split "
     "(x_test, y_test), and task.test_path gives another; drop one of them"),
    (["task.path=train.csv", "task.test_path=half.csv"], "task.test_path=half.csv line 2: the answer 2.5 is not a class; "
     "classes are integers from 0 (for numbers to predict, task.kind=regress)"),
    (["task.path=bad_cell.csv"], "task.path=bad_cell.csv line 2, column 3: 'abc' is not a number; every cell holds a "
     "number, the answer and then one value per step"),
    (["task.path=empty_cell.csv"], "task.path=empty_cell.csv line 3, column 2: empty; every cell holds a number, the "
     "answer and then one value per step"),
    (["task.path=nan_cell.csv"], "task.path=nan_cell.csv line 1, column 3: nan is not a finite number; give finite values"),
    (["task.path=only_answer.csv"], "task.path=only_answer.csv line 2: no values after the answer; a row is its answer, "
     "then one value per step"),
    (["task.path=negative.csv"], "task.path=negative.csv line 2: the answer -1 is not a class; classes are integers from 0"),
    (["task.path=bad_answer.csv"], "task.path=bad_answer.csv line 2, column 1: 'yes' is not a number; every cell holds a "
     "number, the answer and then one value per step"),
    (["task.path=header_only.csv"], "task.path=header_only.csv: no sequences; a row is its answer, then one value per step"),
    (["task.path=data.xlsx"], "task.path=data.xlsx: unknown extension .xlsx; allowed: .npz, .csv, .tsv (arrays x and y, "
     "or one sequence a row after its answer)"),
    (["task.path=nowhere.npz"], "task.path=nowhere.npz: no such file (relative paths start from "),
    (["task.path=blobs.npz", "task.test_path=nowhere.csv"], "task.test_path=nowhere.csv: no such file (relative paths "
     "start from "),
]


@pytest.mark.parametrize("overrides, message", BAD_FILES, ids=[row[0][-1] for row in BAD_FILES])
def test_a_bad_file_is_one_line_naming_it_and_the_line(files, overrides, message):
    line = refusal(lambda: arrays_task(*overrides))
    assert line.startswith(message) if message.endswith("start from ") else line == message


def test_refused_commands_leave_no_run_directory(files):
    for args, line in [
        (["task=arrays", "task.path=bad_cell.csv"], "task.path=bad_cell.csv line 2, column 3: 'abc' is not a number"),
        (["task=arrays", "task.path=blobs.npz", "encoder=one_hot"],
         "encoder=one_hot: task=arrays gives real-valued features, not characters, and encoder=one_hot reads characters"),
        # With task.kind set the kind is known before the file is read: refused before it is.
        (["task=arrays", "task.path=nowhere.npz", "task.kind=classify", "encoder=embedding"],
         "encoder=embedding: task=arrays gives real-valued features"),
        (["task=arrays", "task.path=blobs.npz", "task.kind=tagging"],
         "task.kind=tagging: task=arrays reads real values with one answer per sequence; allowed values are classify, "
         "regress, or null"),
        (["task=arrays", "task.path=train.csv", "model.readout=all"], "model.readout=all: the sequences differ in length"),
    ]:
        done = run_in_process([*args, "device=cpu"], files)
        assert done.status == 2 and done.stdout == "", (args, done.stdout)
        assert done.stderr.startswith(f"rnnexp: error: {line}") and len(done.stderr.splitlines()) == 1, done.stderr
        assert not list(files.glob("outputs/runs/*/*")), args


# --------------------------------------------------------------------------- properties
finite_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, width=32)


@settings(max_examples=40, deadline=None)
@given(numpy_arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 3)), elements=finite_floats))
def test_any_finite_array_of_sequences_is_accepted_as_it_is(x):
    checked = checked_arrays(x, np.zeros(len(x), dtype=np.int64), "test", CLASSIFY)
    assert checked.x.dtype == torch.float32 and torch.equal(checked.x, torch.from_numpy(x))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=6), st.integers(1, 3), st.data())
def test_batches_pad_with_zeros_and_hand_on_each_length(lengths, features, data):
    g = torch.Generator().manual_seed(len(lengths) * 10 + features)
    x = [torch.randn(length, features, generator=g) for length in lengths]
    y = torch.zeros(len(x), dtype=torch.int64)
    checked = checked_arrays(x, y, "test", CLASSIFY)
    sets = ArraySet(checked.x, checked.y)
    index = torch.tensor(data.draw(st.lists(st.integers(0, len(x) - 1), min_size=1, max_size=len(x))))
    batch = sets.batch(index)
    if batch.lengths is None:  # every sequence of the set has one length
        assert len(set(lengths)) == 1 and torch.equal(batch.source, torch.stack([x[i] for i in index.tolist()]))
        return
    assert batch.source.shape == (len(index), int(batch.lengths.max()), features)
    for row, i in enumerate(index.tolist()):
        assert batch.lengths[row] == lengths[i]
        assert torch.equal(batch.source[row, : lengths[i]], x[i]) and not batch.source[row, lengths[i] :].any()



@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=6), st.integers(1, 3))
def test_kept_arrays_read_back_as_they_were(lengths, features):
    """A run's sequences.npz: sequences of any lengths, written and read back without pickle, to the bit."""
    g = torch.Generator().manual_seed(len(lengths) * 10 + features)
    checked = checked_arrays([torch.randn(length, features, generator=g) for length in lengths],
                             torch.rand(len(lengths), generator=g), "test", REGRESS)
    with tempfile.TemporaryDirectory() as folder:
        write_arrays(Path(folder) / ARRAYS_NAME, Arrays(checked.x, checked.y))
        again = checked_arrays(*astuple(read_arrays(Path(folder) / ARRAYS_NAME))[:2], "test", REGRESS)
    assert all(torch.equal(a, b) for a, b in zip(again.x, checked.x)) and torch.equal(again.y, checked.y)


# --------------------------------------------------------------------------- docs/extending.md's example
PAGE = Path(__file__).parent.parent / "docs" / "extending.md"


def documented(name: str) -> str:
    """The code block after ``<!-- example: name -->`` on docs/extending.md."""
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", PAGE.read_text(), re.DOTALL)
    assert found, name
    return found.group(1)


def test_the_documented_example_runs_as_the_page_says(tmp_path, monkeypatch):
    (tmp_path / "my_series.py").write_text(documented("my_series.py"))
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("my_series", None)
    try:
        commands = re.findall(r"^python -m rnnexp (task=custom task\.data\._target_=my_series\..*)$", PAGE.read_text(), re.MULTILINE)
        assert len(commands) == 2
        for number, command in enumerate(commands):
            done = run_in_process([*command.split(), "task.data.n=60", "epochs=1", "model.hidden_size=8", "device=cpu",
                                   f"hydra.run.dir=run{number}"], tmp_path)
            assert done.status == 0, done.stderr
            assert done.stdout.splitlines()[-1].startswith(("Final validation accuracy: ", "Final validation MSE: "))
    finally:
        sys.modules.pop("my_series", None)


def test_resume_without_the_kept_arrays_says_so(my_arrays):
    train(compose(*REAL, "task.data._target_=my_arrays.classes", "epochs=1"), my_arrays / "run")
    (my_arrays / "run" / ARRAYS_NAME).unlink()
    cfg, resume = load_resume(str(my_arrays / "run"), epochs=2)
    line = refusal(lambda: train(cfg, my_arrays / "resumed", resume=resume))
    assert line == f"{my_arrays / 'run' / ARRAYS_NAME}: missing; a task=custom run resumes from the sequences its callable returned, kept in this file"
