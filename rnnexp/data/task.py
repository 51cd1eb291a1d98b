"""What a task is: the class a task's ``_target_`` names, built from its config node, that returns its sequences.

A task's sequences are plain strings, one of two kinds:

    tagging          a list of (source, target) pairs, each of equal length: the model emits one
                     target character per source character (hello -> ohlol, copy, parity, ...)
    language model   one text: each window of characters is a source, and the window one
                     character on is its target (next-character prediction)

rnnexp.data.loading turns either into the vocabulary, the validation split and
the batches, the same way for every task. Nothing here imports torch, so the
command line can ask a config which kind it trains before torch loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional, Union

TAGGING = "tagging"
LANGUAGE_MODEL = "language_model"
KINDS = (TAGGING, LANGUAGE_MODEL)

Pairs = list[tuple[str, str]]
Sequences = Union[Pairs, str]  # a tagging task's pairs, or a language model's text


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

    def record(self, sequences: Sequences) -> Optional[dict[str, Any]]:
        """What a run keeps of its data to be rebuilt without calling code again; None: the config rebuilds it."""
        return None
