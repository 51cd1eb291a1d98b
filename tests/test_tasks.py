"""Each task's data and its errors; pairs files by extension; the task classes; batches with padding."""

import sys
from importlib import resources

import pytest
import torch
from omegaconf import OmegaConf

from rnnexp.config.checks import validate
from rnnexp.data.loading import load_task, unigram_entropy
from rnnexp.data.sequences import IGNORE, SequenceSet
from rnnexp.data.task import LANGUAGE_MODEL
from rnnexp.data.task_registry import TASK_CLASSES, task_kind
from rnnexp.errors import UserError


def pairs_of(data, which="train"):
    sequences = getattr(data, which)
    decode = data.vocab.decode
    return [(decode(s), decode(t)) for s, t in zip(sequences.sources, sequences.targets)]


def test_hello_is_the_notebooks_pair(make_cfg):
    data = load_task(make_cfg().task)
    assert data.vocab.characters == ["e", "h", "l", "o"]
    assert pairs_of(data) == [("hello", "ohlol")] and data.val is None


def write(tmp_path, name, content, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_pairs_file_with_variable_lengths(make_cfg, tmp_path):
    lines = [f"{'ab' * n}\t{'ba' * n}" for n in range(1, 11)]
    path = write(tmp_path, "p.tsv", "\n".join(lines) + "\n\n")  # a blank line is skipped
    data = load_task(make_cfg("task=pairs", f"task.path={path}").task)
    assert len(data.train) == 9 and len(data.val) == 1  # val_fraction 0.1 of 10 lines
    assert sorted(pairs_of(data) + pairs_of(data, "val")) == sorted(tuple(l.split("\t")) for l in lines)
    assert not data.train.equal_lengths


@pytest.mark.parametrize(
    "content, message",
    [
        ("ab\tba\nabc ab\n", r"line 2: expected source<TAB>target, found 0 tabs"),
        ("ab\tba\na\tb\tc\n", r"line 2: expected source<TAB>target, found 2 tabs"),
        ("ab\tba\n\nabc\tab\n", r"line 3: source 'abc' and target 'ab' must be non-empty and of the same length"),
        ("\n\n", r"the file is empty"),
    ],
)
def test_malformed_pairs_are_reported_with_their_line(make_cfg, tmp_path, content, message):
    path = write(tmp_path, "p.tsv", content)
    with pytest.raises(UserError, match=message):
        load_task(make_cfg("task=pairs", f"task.path={path}").task)


@pytest.mark.parametrize("task", ["pairs", "text"])
def test_bad_files_are_refused(make_cfg, tmp_path, task):
    cases = {
        str(tmp_path / "missing.txt"): "no such file",
        str(tmp_path): "is a directory",
        write(tmp_path, "empty.txt", ""): "the file is empty",
        write(tmp_path, "latin1.txt", "caf\xe9\tcafe\n".encode("latin-1"), mode="wb"): r"not UTF-8 text \(byte 3",
    }
    for path, message in cases.items():
        with pytest.raises(UserError, match=f"^task.path={path}: {message}"):
            load_task(make_cfg(f"task={task}", f"task.path={path}").task)


def test_copy_writes_each_character_delay_steps_later(make_cfg):
    data = load_task(make_cfg("task=copy", "task.delay=3", "task.size=20").task)
    for source, target in pairs_of(data) + pairs_of(data, "val"):
        assert target == "..." + source[:-3]
        assert len(source) == 12 and set(source) <= set("abcdefgh")


def test_parity_is_the_running_parity(make_cfg):
    for source, target in pairs_of(load_task(make_cfg("task=parity", "task.size=30").task)):
        assert [int(b) for b in target] == [source[: t + 1].count("1") % 2 for t in range(len(source))]


def test_caesar_shifts_letters(make_cfg):
    for source, target in pairs_of(load_task(make_cfg("task=caesar", "task.shift=25", "task.size=10").task)):
        assert all((ord(t) - ord(s)) % 26 == 25 for s, t in zip(source, target))


def test_reverse_with_varying_lengths(make_cfg):
    data = load_task(make_cfg("task=reverse", "task.min_length=2", "task.length=6", "task.size=50").task)
    pairs = pairs_of(data)
    assert all(t == s[::-1] for s, t in pairs)
    assert {len(s) for s, _ in pairs} == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("task", ["copy", "parity", "caesar", "reverse"])
def test_generated_tasks_load_at_their_defaults(make_cfg, task):
    cfg = make_cfg(f"task={task}")
    data = load_task(cfg.task)
    assert len(data.train) + len(data.val) == cfg.task.size
    assert len(data.val) == round(cfg.task.size * cfg.task.val_fraction)
    assert {len(source) for source, _ in pairs_of(data)} == {cfg.task.length}


def test_generated_data_follows_its_seed(make_cfg):
    first = pairs_of(load_task(make_cfg("task=parity", "task.seed=1").task))
    assert first == pairs_of(load_task(make_cfg("task=parity", "task.seed=1").task))
    assert first != pairs_of(load_task(make_cfg("task=parity", "task.seed=2").task))


# The checks of task keys that need no data are rnnexp.config.checks.validate's
# (tests/test_config.py); these need the data.
@pytest.mark.parametrize(
    "overrides, message",
    [
        (["task=inline", "task.source=a", "task.target=b", "task.val_fraction=0.5"], "task.val_fraction=0.5: leaves no training data out of 1"),
        (["task=parity", "task.size=3", "task.val_fraction=0.9"], "task.val_fraction=0.9: leaves no training data out of 3"),
    ],
)
def test_a_split_must_leave_training_data(make_cfg, overrides, message):
    cfg = make_cfg(*overrides)
    validate(cfg)  # each value is in range on its own
    with pytest.raises(UserError, match="^" + message):
        load_task(cfg.task)


def test_text_windows_predict_the_next_character(make_cfg, tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 20
    path = write(tmp_path, 't.txt', text)
    data = load_task(make_cfg("task=text", f"task.path={path}", "task.window=10", "task.stateful=false").task)
    assert data.kind == LANGUAGE_MODEL and data.train.equal_lengths
    for source, target in pairs_of(data) + pairs_of(data, "val"):
        assert len(source) == 10 and source[1:] == target[:-1]
    # Validation is the held-out end of the text, in order.
    split = int(len(text) * 0.9)
    assert pairs_of(data, "val")[0][0] == text[split : split + 10]


def test_text_too_short_for_its_window(make_cfg, tmp_path):
    with pytest.raises(UserError, match="too few for task.window=64"):
        load_task(make_cfg("task=text", f"task.path={write(tmp_path, 't.txt', 'short text')}").task)


def test_the_shipped_corpus_loads(make_cfg):
    data = load_task(make_cfg("task=text").task)
    assert len(data.train) > 1000 and len(data.val) > 100
    assert "Citizen" in data.vocab.decode(data.train.batch(torch.arange(5)).source.flatten())
    assert 2.5 < unigram_entropy(data.train, len(data.vocab)) < 3.5  # English letters: about 3 nats


def test_batches_pad_and_mark_padding():
    sequences = SequenceSet([torch.tensor([1, 2, 3]), torch.tensor([4])], [torch.tensor([3, 2, 1]), torch.tensor([0])])
    (batch,) = sequences.batches(8)
    assert batch.source.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch.target.tolist() == [[3, 2, 1], [0, IGNORE, IGNORE]]
    assert batch.lengths.tolist() == [3, 1]


def test_shuffled_batches_follow_the_generator():
    sequences = SequenceSet([torch.tensor([i]) for i in range(10)], [torch.tensor([i]) for i in range(10)])
    order = [b.index.tolist() for b in sequences.batches(3, torch.Generator().manual_seed(0))]
    again = [b.index.tolist() for b in sequences.batches(3, torch.Generator().manual_seed(0))]
    assert order == again and sorted(sum(order, [])) == list(range(10)) and [len(b) for b in order] == [3, 3, 3, 1]


# --------------------------------------------------------------------------- pairs files by extension
PAIRS = [("ab", "ba"), ("a,b", "b,a"), ("abc", "cba"), ("x", "y")]


@pytest.mark.parametrize(
    "name, content",
    [
        ("p.tsv", "ab\tba\na,b\tb,a\nabc\tcba\nx\ty\n"),
        ("p.txt", "ab\tba\na,b\tb,a\nabc\tcba\nx\ty\n"),
        ("p.csv", 'source,target\nab,ba\n"a,b","b,a"\n\nabc,cba\nx,y\n'),  # the header row is skipped
        ("p.jsonl", '{"source": "ab", "target": "ba"}\n["a,b", "b,a"]\n\n{"target": "cba", "source": "abc"}\n["x", "y"]\n'),
    ],
)
def test_pairs_files_in_each_format(make_cfg, tmp_path, name, content):
    path = write(tmp_path, name, content)
    data = load_task(make_cfg("task=pairs", f"task.path={path}", "task.val_fraction=0").task)
    assert pairs_of(data) == PAIRS


def test_a_csv_without_a_header_starts_with_data(make_cfg, tmp_path):
    path = write(tmp_path, "p.csv", "in,ni\nab,ba\n")  # not the header source,target: a pair
    data = load_task(make_cfg("task=pairs", f"task.path={path}", "task.val_fraction=0").task)
    assert pairs_of(data) == [("in", "ni"), ("ab", "ba")]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("p.csv", "ab,ba\nabc,cb,a\n", r" line 2: expected two columns, source,target, found 3 in 'abc,cb,a' \(quote a field"),
        ("p.csv", "ab,ba\n\nabc,ab\n", r" line 3: source 'abc' and target 'ab' must be non-empty and of the same length"),
        ("p.csv", "source,target\n", r": the file has no pairs"),
        ("p.jsonl", '["ab", "ba"]\n{"source": "ab"\n', r" line 2: not JSON \(Expecting ',' delimiter at column 16\)"),
        ("p.jsonl", '["ab", "ba"]\n{"src": "ab", "tgt": "ba"}\n', r' line 2: expected \{"source": "...", "target": "..."\} or \["...", "..."\]'),
        ("p.jsonl", '["ab", 1]\n', r" line 1: expected .* \(two strings\), found \[\"ab\", 1\]"),
        ("p.jsonl", '["ab", "b"]\n', r" line 1: source 'ab' and target 'b' must be non-empty and of the same length"),
        ("p.xlsx", "ab\tba\n", r": unknown extension .xlsx; allowed: .tsv, .txt, .csv, .jsonl"),
        ("pairs", "ab\tba\n", r": unknown extension \(none\); allowed: .tsv"),
    ],
)
def test_bad_pairs_files_name_the_line(make_cfg, tmp_path, name, content, message):
    path = write(tmp_path, name, content)
    with pytest.raises(UserError, match=f"^task.path={path}{message}"):
        load_task(make_cfg("task=pairs", f"task.path={path}").task)


# --------------------------------------------------------------------------- the task classes
def test_each_task_option_names_one_of_rnnexps_task_classes(make_unchecked_cfg):
    options = sorted(p.name.removesuffix(".yaml") for p in (resources.files("rnnexp.conf") / "task").iterdir() if p.name.endswith(".yaml"))
    assert options == [
        "adding", "arrays", "associative_recall", "caesar", "copy", "custom", "hello", "inline", "mnist1d", "pairs", "parity",
        "reverse", "selective_copy", "text",
    ]
    named = {option: make_unchecked_cfg(f"task={option}").task._target_ for option in options}
    assert set(named.values()) == set(TASK_CLASSES)  # every class has its option, every option its class


def test_a_task_target_that_is_not_rnnexps_is_refused_before_it_is_imported(make_unchecked_cfg):
    cfg = make_unchecked_cfg("task._target_=some_module_of_mine.Task")
    with pytest.raises(UserError, match=r"^task._target_=some_module_of_mine.Task: not one of rnnexp's task classes \(.*\); "
                                        r"for your own data use task=custom task.data._target_=module.function$"):
        validate(cfg)
    assert "some_module_of_mine" not in sys.modules


@pytest.mark.parametrize("overrides", [["task=hello"], ["task=copy", "task.size=20"], ["task=text"]])
def test_a_checkpoint_from_before_task_targets_loads_by_its_name(make_cfg, overrides):
    task = OmegaConf.to_container(make_cfg(*overrides).task)
    del task["_target_"]  # what a checkpoint's config held before tasks were named by their class
    old = load_task(OmegaConf.create(task))
    new = load_task(make_cfg(*overrides).task)
    assert old.vocab.characters == new.vocab.characters and len(old.train) == len(new.train)
    assert task_kind(task) == new.kind
