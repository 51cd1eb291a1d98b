"""What a task is: the class a task's ``_target_`` names, built from its config node, that returns its sequences.

A task's sequences are one of four kinds:

    tagging          a list of (source, target) string pairs, each of equal length: the model emits
                     one target character per source character (hello -> ohlol, copy, parity, ...)
    language model   one string: each window of characters is a source, and the window one
                     character on is its target (next-character prediction)
    classify         :class:`Arrays`: real-valued sequences (N, T, F), one class each (N,)
    regress          :class:`Arrays`: real-valued sequences (N, T, F), one or more numbers each (N, K)

rnnexp.data.loading turns any of them into the validation split and the
batches, the same way for every task (a vocabulary for the strings). Nothing
here imports torch, so the command line can ask a config which kind it
trains before torch loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional, Union

from rnnexp.errors import UserError

TAGGING = "tagging"
LANGUAGE_MODEL = "language_model"
CLASSIFY = "classify"
REGRESS = "regress"
KINDS = (TAGGING, LANGUAGE_MODEL, CLASSIFY, REGRESS)
ANSWER_KINDS = (CLASSIFY, REGRESS)  # one answer per sequence, read from the model's readout
CHARACTER_KINDS = (TAGGING, LANGUAGE_MODEL)  # strings over a vocabulary

Pairs = list[tuple[str, str]]


@dataclass
class Arrays:
    """Real-valued sequences with one answer each: the data of a classify or regress task.

    ``x``: float features, an array or tensor (N, T, F), or a list of N (T_i, F)
    arrays when the lengths differ. ``y``: integer classes (N,) for classify,
    or floats (N,) or (N, K) for regress (rnnexp.data.arrays checks both and
    tells the kind from ``y``'s type). ``x_test`` and ``y_test``: the split
    the task holds out itself (MNIST-1D's test set); None: task.val_fraction
    cuts one, as for the other tasks.
    """

    x: Any
    y: Any
    x_test: Any = None
    y_test: Any = None


@dataclass(frozen=True)
class DataSizes:
    """What a model is sized from: the data's sizes, never config keys (a checkpoint keeps them).

    ``inputs``: the vocabulary (characters) or the features of a step (real
    values, F). ``outputs``: the classes (the vocabulary, for characters) or
    the numbers a regress task predicts (K). ``length``: the steps of every
    sequence of a task of real values, which model.readout=all reads; None
    when they differ (and for characters).
    """

    kind: str
    inputs: int
    outputs: int
    length: Optional[int] = None

    @property
    def characters(self) -> bool:
        return self.kind in CHARACTER_KINDS

    @classmethod
    def of_vocabulary(cls, size: int, kind: str = TAGGING) -> "DataSizes":
        """A task of characters: one vocabulary in and out."""
        return cls(kind, size, size)


Sequences = Union[Pairs, str, Arrays]  # a tagging task's pairs, a language model's text, or real-valued arrays


class Task:
    """A task: its config node (``task``) in, its sequences out.

    A subclass sets ``kind`` and implements :meth:`sequences`. The keys it
    reads are those of its schema in rnnexp/config/schemas.py, checked before
    it is built; what needs the data (files, lines, the user's callable) it
    checks itself, raising UserError with one line.
    """

    kind: ClassVar[Optional[str]] = TAGGING  # None: the data decides (a user's callable)

    def __init__(self, keys: Mapping[str, Any], saved_run: Optional[Path] = None):
        self.keys = keys
        # A run being resumed: where it kept what it cannot rebuild without running code (see rnnexp.data.custom).
        self.saved_run = saved_run

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """Keys that depend on each other, checked before anything is built or read; UserError with one line.

        Each key's own range sits on its schema field (rnnexp/config/schemas.py)
        and is checked before this; what needs the data is checked where it is read.
        """

    def sequences(self) -> Sequences:
        raise NotImplementedError

    @property
    def origin(self) -> str:
        """What an error about the data names: the key it came from."""
        return f"task={self.keys['name']}"

    @property
    def held_out_origin(self) -> Optional[str]:
        """What an error about the held-out split names when it comes from a source of its own (task.test_path).

        None: it comes with the data, as x_test and y_test beside x and y.
        """
        return None

    def record(self, sequences: Sequences) -> Optional[dict[str, Any]]:
        """What a run keeps of its data to be rebuilt without calling code again; None: the config rebuilds it."""
        return None


def check_numpy_seed(keys: Mapping[str, Any]) -> None:
    """task.seed for a task whose data numpy's generators draw (mnist1d, adding): 0 to 2**32 - 1, the seeds numpy takes.

    Checked by those tasks' classes: the field task.seed is shared with the
    generated tasks, whose Python generator takes any integer.
    """
    seed = keys["seed"]
    if not 0 <= seed < 2**32:
        raise UserError(f"task.seed={seed}: must be an integer between 0 and 2**32 - 1 for task={keys['name']} (numpy's seeds)")
