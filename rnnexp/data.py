"""Batches: padding, masks, windows.

Sequences of one set may differ in length (pairs files, generated tasks with
min_length). A batch pads them to its longest; padded target positions hold
IGNORE, which the loss and the accuracies leave out, and ``lengths`` lets the
models pack the padding away (a backward direction must not read it).
"""

from __future__ import annotations

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


class SequenceSet:
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
        return cls(list(sources), list(targets))

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

    def batches(self, batch_size: int, generator: Optional[torch.Generator] = None) -> Iterator[Batch]:
        """Batches in a random order drawn from ``generator``, or in order without one."""
        order = torch.randperm(len(self), generator=generator) if generator is not None else torch.arange(len(self))
        for start in range(0, len(self), batch_size):
            yield self.batch(order[start : start + batch_size])
