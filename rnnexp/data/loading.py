"""A task's sequences made ready to train on: vocabulary, validation split, batches.

The class a task's ``_target_`` names (rnnexp.data.builtin_tasks,
rnnexp.data.custom for a user's callable, rnnexp.data.array_files for a
user's file of arrays) returns its data in one of four kinds
(rnnexp.data.task): (source, target) pairs of equal length, for a model that
emits one target character per source character; one text, for a language
model; or real-valued arrays with one class or one or more numbers per
sequence (rnnexp.data.arrays), with a split held out by the task itself
(MNIST-1D's test set, task.test_path) or cut by task.val_fraction. A text
is cut into windows, each window's target the window shifted by one
character (next-character prediction); with ``task.stateful`` (its
default) the windows follow each other in contiguous streams instead
(rnnexp.data.sequences.Streams), and the model carries its state from one
to the next.

Every task gets one vocabulary for input and output: the sorted characters of
all its strings, so hello -> ohlol has e, h, l, o as in the notebook.

The task's keys are checked by rnnexp.config.checks.validate before anything here
runs; here are the checks that need the data: whether a split leaves data to
train on, and whether a text is long enough for its window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import torch

from rnnexp.data.arrays import ArraySet, answer_kind, checked_arrays
from rnnexp.data.sequences import SequenceSet, Streams
from rnnexp.data.task import CLASSIFY, LANGUAGE_MODEL, REGRESS, TAGGING, Arrays, DataSizes, Pairs
from rnnexp.data.task_registry import build_task
from rnnexp.data.vocab import Vocabulary
from rnnexp.errors import UserError


@dataclass
class TaskData:
    vocab: Optional[Vocabulary]  # None for real values
    train: SequenceSet | Streams | ArraySet
    val: Optional[SequenceSet | Streams | ArraySet]  # None when the task has no validation split
    kind: str = TAGGING  # LANGUAGE_MODEL: a text, sampled and never "solved"; CLASSIFY, REGRESS: ArraySets
    # Streams read in order, the model's state carried from batch to batch
    # (task.stateful); otherwise independent sequences from zeros.
    stateful: bool = False
    val_streams: int = 0  # stateful only: the streams evaluation reads in parallel
    # What the run keeps of its data to rebuild it without calling code (task=custom's
    # sequences.json, see rnnexp.data.custom); None: its config rebuilds it.
    record: Optional[dict[str, Any]] = None

    @property
    def eval_set(self) -> SequenceSet | Streams | ArraySet:
        """Where predictions and final metrics come from: validation if there is one."""
        return self.val if self.val is not None else self.train

    @property
    def sizes(self) -> DataSizes:
        """What the model is sized from."""
        if self.vocab is not None:
            return DataSizes.of_vocabulary(len(self.vocab), self.kind)
        lengths = {part.length for part in (self.train, self.val) if part is not None}
        length = lengths.pop() if len(lengths) == 1 else None
        targets = [part.targets for part in (self.train, self.val) if part is not None]
        if self.kind == CLASSIFY:
            outputs = max(int(t.max()) for t in targets) + 1  # classes 0 .. the largest label
        else:
            outputs = targets[0].shape[1]
        return DataSizes(self.kind, self.train.features, outputs, length)


def load_task(task: Mapping[str, Any], saved_run: Optional[Path] = None) -> TaskData:
    """Build the data of ``task`` (a config validated by rnnexp.config.checks.validate); UserError on bad data.

    ``saved_run``: the directory of a run being resumed. A task that keeps
    its data there (task=custom) reads it instead of calling the user's code.
    """
    source = build_task(task, saved_run)
    sequences = source.sequences()
    if isinstance(sequences, str):
        data = _text_data(sequences, task, source.origin)
    elif isinstance(sequences, Arrays):
        # Checked before anything is kept: a run keeps what it trains on, as tensors.
        kind, sequences = checked_split(sequences, source.kind or task.get("kind"), source.origin, source.held_out_origin)
        data = _arrays_data(sequences, task, kind)
    else:
        data = _pairs_data(sequences, task)
    data.record = source.record(sequences)
    return data


# --------------------------------------------------------------------------- tagging
def _split(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Shuffle indices with ``seed`` and hold out ``fraction`` of them (at least one when > 0)."""
    if fraction == 0:
        return list(range(count)), []  # nothing held out: keep the task's order
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held_out = max(1, round(count * fraction))
    if held_out >= count:
        raise UserError(
            f"task.val_fraction={fraction}: leaves no training data out of {count} example(s); lower it or add data"
        )
    return order[held_out:], order[:held_out]


def _pairs_data(pairs: Pairs, task: Mapping[str, Any]) -> TaskData:
    vocab = Vocabulary("".join(s + t for s, t in pairs))
    train_idx, val_idx = _split(len(pairs), task["val_fraction"], task.get("seed", 0))

    def subset(indices: list[int]) -> SequenceSet:
        return SequenceSet([vocab.encode(pairs[i][0]) for i in indices], [vocab.encode(pairs[i][1]) for i in indices])

    return TaskData(vocab, subset(train_idx), subset(val_idx) if val_idx else None)


# --------------------------------------------------------------------------- real values
def checked_split(arrays: Arrays, kind: Optional[str], origin: str, held_out_origin: Optional[str] = None) -> tuple[str, Arrays]:
    """The kind of ``arrays`` (``kind``, or None: y's type decides) and the arrays checked, as tensors.

    UserError with one line naming ``origin``, or ``held_out_origin`` for a
    held-out split that comes from a source of its own (task.test_path: its
    arrays are x and y there).
    """
    kind = kind if kind in (CLASSIFY, REGRESS) else answer_kind(arrays.y, origin)
    train = checked_arrays(arrays.x, arrays.y, origin, kind)
    if (arrays.x_test is None) != (arrays.y_test is None):
        given, missing = ("x_test", "y_test") if arrays.y_test is None else ("y_test", "x_test")
        raise UserError(f"{origin}: gives {given} without {missing}; a held-out split needs both")
    if arrays.x_test is None:
        return kind, Arrays(train.x, train.y)
    test_origin = held_out_origin or origin
    test = checked_arrays(arrays.x_test, arrays.y_test, test_origin, kind, split="" if held_out_origin else "_test")
    # The held-out split must fit the model the training data sizes: its features a step and, for regress, its numbers.
    x_name, y_name = ("x", "y") if held_out_origin else ("x_test", "y_test")
    against = f"{origin}'s " if held_out_origin else ""
    features, test_features = _features(train.x), _features(test.x)
    if test_features != features:
        raise UserError(
            f"{test_origin}: {x_name} has {test_features} features a step, {against}x has {features}; they must match"
        )
    if kind == REGRESS and test.y.shape[1] != train.y.shape[1]:
        raise UserError(
            f"{test_origin}: {y_name} has {test.y.shape[1]} numbers per sequence, {against}y has {train.y.shape[1]}; "
            "they must match"
        )
    return kind, Arrays(train.x, train.y, test.x, test.y)


def _features(x: torch.Tensor | list[torch.Tensor]) -> int:
    return int(x.shape[2] if isinstance(x, torch.Tensor) else x[0].shape[1])


def _arrays_data(arrays: Arrays, task: Mapping[str, Any], kind: str) -> TaskData:
    """Checked arrays (:func:`checked_split`) as sets: the held-out split they give, or one cut by task.val_fraction."""
    whole = ArraySet(arrays.x, arrays.y)
    if arrays.x_test is not None:
        return TaskData(None, whole, ArraySet(arrays.x_test, arrays.y_test), kind=kind)
    train_idx, val_idx = _split(len(whole), task["val_fraction"], task.get("seed", 0))
    return TaskData(None, whole.subset(train_idx), whole.subset(val_idx) if val_idx else None, kind=kind)


# --------------------------------------------------------------------------- language model
def _text_data(text: str, task: Mapping[str, Any], origin: str) -> TaskData:
    vocab = Vocabulary(text)
    ids = vocab.encode(text)  # (N,)
    fraction, window = task["val_fraction"], task["window"]
    # The last val_fraction of the text is held out whole, so no validation
    # window overlaps a training one.
    split = int(len(ids) * (1 - fraction))
    # A checkpoint saved before task.stateful existed trained on independent windows.
    stateful = task.get("stateful", False)
    cut = Streams if stateful else SequenceSet.windows
    train = cut(ids[:split], window)
    val = cut(ids[split:], window) if fraction > 0 else None
    if len(train) == 0 or (val is not None and len(val) == 0):
        raise UserError(
            f"{origin}: {len(text)} characters are too few for task.window={window} "
            f"with task.val_fraction={fraction}; use a longer text or a shorter window"
        )
    val_streams = task["val_streams"] if stateful else 0
    return TaskData(vocab, train, val, kind=LANGUAGE_MODEL, stateful=stateful, val_streams=val_streams)


def unigram_entropy(data: SequenceSet | Streams, vocab_size: int) -> float:
    """Cross-entropy (nats per character) of always predicting the training targets' frequencies.

    The loss a model reaches by learning only how common each character is: a
    language model is learning context once it goes below this.
    """
    targets = data.all_targets()
    counts = torch.bincount(targets, minlength=vocab_size).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())
