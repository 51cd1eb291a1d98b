"""The memory tasks of the papers: selective copying (Mamba) and associative recall (H3, Mamba).

Their layouts are in rnnexp.data.builtin_tasks (SelectiveCopy, AssociativeRecall)
and docs/configuration.md; here: what each pair holds, the data's own seed,
the combinations refused in one line, and a small GRU that learns each.
"""

import string

import pytest

from rnnexp.config.checks import validate
from rnnexp.data.task_registry import build_task
from rnnexp.errors import UserError
from rnnexp.training.trainer import train

SELECTIVE = ("task=selective_copy", "task.length=10", "task.tokens=3", "task.symbols=5", "task.size=200")
RECALL = ("task=associative_recall", "task.pairs=3", "task.symbols=5", "task.digits=4", "task.size=200")


def sequences(cfg):
    return build_task(cfg.task).sequences()


@pytest.mark.parametrize("lengths", [[], ["task.min_length=3"]])
def test_selective_copy_writes_the_scattered_tokens_in_order(make_cfg, lengths):
    pairs = sequences(make_cfg(*SELECTIVE, *lengths))
    noisy_lengths = set()
    for source, target in pairs:
        assert len(source) == len(target)
        steps = len(source) - 3  # the noisy part; then one query step per token
        noisy_lengths.add(steps)
        assert source[steps:] == "???" and target[:steps] == "." * steps
        tokens = [c for c in source[:steps] if c != "."]  # in reading order
        assert len(tokens) == 3 and set(tokens) <= set("abcde")
        assert target[steps:] == "".join(tokens)
    # Fixed length, or every length of [min_length, length]; the tokens' places vary too.
    assert noisy_lengths == ({10} if not lengths else set(range(3, 11)))
    assert len({source.index(next(c for c in source if c != ".")) for source, _ in pairs}) > 1


def test_associative_recall_answers_with_the_querys_value(make_cfg):
    for source, target in sequences(make_cfg(*RECALL)):
        assert len(source) == len(target) == 2 * 3 + 1
        keys, values, query = source[0:-1:2], source[1:-1:2], source[-1]
        assert len(set(keys)) == 3 and set(keys) <= set("abcde")  # distinct keys: one answer
        assert set(values) <= set(string.digits[:4])  # the values' alphabet is apart from the keys'
        assert target == "." * 6 + dict(zip(keys, values))[query]


@pytest.mark.parametrize("task", [SELECTIVE, RECALL], ids=["selective_copy", "associative_recall"])
def test_the_data_follows_its_own_seed(make_cfg, task):
    cfg = make_cfg(*task, "task.seed=1")
    first = sequences(cfg)
    assert first == sequences(cfg)
    cfg.task.seed = 2
    assert first != sequences(cfg)


# The combinations of keys validate() refuses; the range of each key on its own is
# its field's (rnnexp/config/schemas.py), and the command line's refusals are in
# tests/test_bad_inputs.py.
@pytest.mark.parametrize(
    "task, keys, message",
    [
        ("selective_copy", {"length": 6, "tokens": 7}, "task.tokens=7: more tokens than the 6 steps they are scattered over (task.length=6); allowed: 1 to 6, or a longer task.length"),
        ("selective_copy", {"min_length": 2, "tokens": 3}, "task.tokens=3: more tokens than the 2 steps they are scattered over (task.min_length=2); allowed: 1 to 2, or a longer task.min_length"),
        ("associative_recall", {"symbols": 4, "pairs": 5}, "task.pairs=5: more pairs than distinct keys (task.symbols=4 letters); allowed: 1 to 4, or more task.symbols (at most 26)"),
    ],
)
def test_an_impossible_combination_is_refused_in_one_line(make_unchecked_cfg, task, keys, message):
    cfg = make_unchecked_cfg(f"task={task}")
    cfg.task.update(keys)
    with pytest.raises(UserError) as refused:
        validate(cfg)
    assert str(refused.value) == message  # the whole line: nothing after it


# Small settings that seeds 0, 1 and 2 all solve (every validation sequence right):
# selective copy by epoch 11, 7 and 9 of 12, recall by epoch 11, 9 and 8 of 14. Each
# test trains the seed that solves earliest, for three epochs more than it needs (the
# lr is constant, so the first epochs are the same whatever `epochs` says). Recall
# learns in a jump after a plateau, and needs about 900 training sequences to answer
# for key-value combinations it has not seen. threads=1: auto would time the model's
# steps and may take two threads, several times slower while the cores are busy.
LEARNER = ("model=gru", "model.hidden_size=48", "lr=0.02", "batch_size=32", "threads=1")


@pytest.mark.parametrize(
    "task, seed",
    [
        (("task=selective_copy", "task.length=8", "task.tokens=2", "task.symbols=4", "task.size=512", "epochs=10"), 1),
        (("task=associative_recall", "task.pairs=2", "task.symbols=3", "task.digits=3", "task.size=1024", "epochs=11"), 2),
    ],
    ids=["selective_copy", "associative_recall"],
)
def test_a_small_gru_learns_the_task(make_cfg, tmp_path, task, seed):
    result = train(make_cfg(*task, *LEARNER, f"seed={seed}"), tmp_path)
    assert result.solved_epoch is not None and result.sequences_right == result.sequences
