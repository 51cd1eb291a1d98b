"""Batches: padding, masks, windows, streams.

Sequences of one set may differ in length (pairs files, generated tasks with
min_length). A batch pads them to its longest; padded target positions hold
IGNORE, which the loss and the accuracies leave out, and ``lengths`` lets the
models pack the padding away (a backward direction must not read it).

A text is batched one of two ways: as independent windows in a shuffled order
(:meth:`SequenceSet.windows`), or as contiguous streams read window by window
(:class:`Streams`), for a model that carries its state from one batch to the
next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import torch
from torch.nn.utils.rnn import pad_sequence

IGNORE = -100  # target id at padded positions: F.cross_entropy's ignore_index


@dataclass
class Batch:
    source: torch.Tensor  # (B, T) int64, padded with 0
    target: torch.Tensor  # (B, T) int64, padded with IGNORE
    lengths: Optional[torch.Tensor]  # (B,) int64 on the CPU; None when every sequence has length T
    index: torch.Tensor  # (B,) position of each sequence in its SequenceSet

    def to(self, device: torch.device) -> "Batch":
        # lengths stay on the CPU: pack_padded_sequence wants them there.
        return Batch(self.source.to(device), self.target.to(device), self.lengths, self.index)


class Batched:
    """Batches of a set that gives one by its positions (``batch``) and knows its size (``__len__``)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def batch(self, index: torch.Tensor) -> Batch:
        raise NotImplementedError

    def count_batches(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)

    def batches(self, batch_size: int, generator: Optional[torch.Generator] = None) -> Iterator[Batch]:
        """Batches in a random order drawn from ``generator``, or in order without one."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            yield self.batch(order[start : start + batch_size])


class SequenceSet(Batched):
    """(source, target) id sequences of equal length pairwise, batched with padding."""

    def __init__(self, sources: list[torch.Tensor], targets: list[torch.Tensor]):
        assert len(sources) == len(targets)
        self.lengths = torch.tensor([len(s) for s in sources], dtype=torch.long)
        self.equal_lengths = len(sources) > 0 and bool((self.lengths == self.lengths[0]).all())
        if self.equal_lengths:
            # One (N, T) tensor each: a batch is then a single index operation.
            self.sources = torch.stack(sources) if sources else torch.empty(0, 0, dtype=torch.long)
            self.targets = torch.stack(targets) if targets else torch.empty(0, 0, dtype=torch.long)
        else:
            self.sources, self.targets = sources, targets

    @classmethod
    def windows(cls, ids: torch.Tensor, window: int) -> "SequenceSet":
        """Non-overlapping windows for next-character prediction.

        ids (N,) -> sources ids[i : i+window], targets ids[i+1 : i+window+1].
        """
        count = (len(ids) - 1) // window
        sources = ids[: count * window].view(count, window)  # (count, window)
        targets = ids[1 : count * window + 1].view(count, window)
        windows = cls([], [])
        # Already one (count, window) tensor each: what __init__ would stack them into.
        windows.lengths = torch.full((count,), window, dtype=torch.long)
        windows.equal_lengths = count > 0
        windows.sources, windows.targets = sources.clone(), targets.clone()
        return windows

    def __len__(self) -> int:
        return len(self.lengths)

    def all_targets(self) -> torch.Tensor:
        """Every target id, concatenated: (sum of lengths,)."""
        if self.equal_lengths:
            return self.targets.reshape(-1)
        return torch.cat(self.targets)

    def batch(self, index: torch.Tensor) -> Batch:
        if self.equal_lengths:
            return Batch(self.sources[index], self.targets[index], None, index)
        chosen = index.tolist()
        source = pad_sequence([self.sources[i] for i in chosen], batch_first=True, padding_value=0)
        target = pad_sequence([self.targets[i] for i in chosen], batch_first=True, padding_value=IGNORE)
        return Batch(source, target, self.lengths[index], index)


class Streams:
    """A text cut into contiguous streams and read window by window: the batches of stateful training.

    ``batches(rows)`` lays the text out as ``rows`` streams, row b the b-th
    stretch of L = (N - 1) // rows characters, its targets the same stretch
    one character on, and yields every row's k-th window of ``window``
    characters as batch k (the last one shorter when L is not a multiple of
    the window). Row b of batch k + 1 continues row b of batch k, so a model
    that carries its state from batch to batch reads each row as one long
    sequence: truncated backpropagation through time, as pytorch/examples'
    word_language_model does with its ``batchify`` and ``get_batch``::

        text  a b c d e f g h i j k l m    rows 2, window 3:
        row 0 a b c | d e f              batch 0: [a b c], [g h i]
        row 1 g h i | j k l              batch 1: [d e f], [j k l]

    Outside training, its sequences are the text's consecutive full windows,
    as :meth:`SequenceSet.windows` cuts them (``batch``, ``len``).
    """

    equal_lengths = False  # a stream's last window may be shorter than the rest

    def __init__(self, ids: torch.Tensor, window: int):
        self.ids = ids  # (N,)
        self.window = window

    def __len__(self) -> int:
        return (len(self.ids) - 1) // self.window  # full windows

    def layout(self, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Sources and targets as ``rows`` streams: (rows, L) each."""
        length = (len(self.ids) - 1) // rows
        return self.ids[: rows * length].view(rows, length), self.ids[1 : rows * length + 1].view(rows, length)

    def count_batches(self, rows: int) -> int:
        return math.ceil(((len(self.ids) - 1) // rows) / self.window)

    def batches(self, rows: int, generator: Optional[torch.Generator] = None) -> Iterator[Batch]:
        """Batch k: the k-th window of each of ``rows`` streams, in order; shuffling would break the streams."""
        assert generator is None, "streams are read in order"
        sources, targets = self.layout(rows)  # (rows, L) each
        for k, start in enumerate(range(0, sources.shape[1], self.window)):
            index = torch.arange(k * rows, (k + 1) * rows)  # reading order
            yield Batch(sources[:, start : start + self.window], targets[:, start : start + self.window], None, index)

    def batch(self, index: torch.Tensor) -> Batch:
        """The text's full windows number ``index``, as SequenceSet.windows numbers them."""
        starts = index.unsqueeze(1) * self.window  # (B, 1)
        steps = starts + torch.arange(self.window)  # (B, window)
        return Batch(self.ids[steps], self.ids[steps + 1], None, index)

    def all_targets(self) -> torch.Tensor:
        """Every character but the first: the targets of a model that reads the whole text, (N - 1,)."""
        return self.ids[1:]
