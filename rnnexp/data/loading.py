"""A task's sequences made ready to train on: vocabulary, validation split, batches.

The class a task's ``_target_`` names (rnnexp.data.builtin_tasks, or
rnnexp.data.custom for a user's callable) returns plain strings of one of
two kinds (rnnexp.data.task): (source, target) pairs of equal length, for a
model that emits one target character per source character; or one text,
for a language model. A text is cut into windows, each window's target the
window shifted by one character (next-character prediction); with
``task.stateful`` (its default) the windows follow each other in contiguous
streams instead (rnnexp.data.sequences.Streams), and the model carries its
state from one to the next.

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

from rnnexp.data.sequences import SequenceSet, Streams
from rnnexp.data.task import LANGUAGE_MODEL, TAGGING, Pairs
from rnnexp.data.task_registry import build_task
from rnnexp.data.vocab import Vocabulary
from rnnexp.errors import UserError


@dataclass
class TaskData:
    vocab: Vocabulary
    train: SequenceSet | Streams
    val: Optional[SequenceSet | Streams]  # None when the task has no validation split
    kind: str = TAGGING  # LANGUAGE_MODEL: a text, sampled and never "solved"
    # Streams read in order, the model's state carried from batch to batch
    # (task.stateful); otherwise independent sequences from zeros.
    stateful: bool = False
    val_streams: int = 0  # stateful only: the streams evaluation reads in parallel
    # What the run keeps of its data to rebuild it without calling code (task=custom's
    # sequences.json, see rnnexp.data.custom); None: its config rebuilds it.
    record: Optional[dict[str, Any]] = None

    @property
    def eval_set(self) -> SequenceSet | Streams:
        """Where predictions and final metrics come from: validation if there is one."""
        return self.val if self.val is not None else self.train


def load_task(task: Mapping[str, Any], saved_run: Optional[Path] = None) -> TaskData:
    """Build the data of ``task`` (a config validated by rnnexp.config.checks.validate); UserError on bad data.

    ``saved_run``: the directory of a run being resumed. A task that keeps
    its data there (task=custom) reads it instead of calling the user's code.
    """
    source = build_task(task, saved_run)
    sequences = source.sequences()
    if isinstance(sequences, str):
        data = _text_data(sequences, task, source.origin)
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
