"""What one pass over a set of sequences measured: loss, accuracies, a few predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from rnnexp.data import IGNORE, Batch
from rnnexp.vocab import Vocabulary


@dataclass
class EpochStats:
    """Loss and accuracies summed over one pass, plus the first sequences' predictions.

    A dataclass of plain numbers, so a pass a signal cut short is saved in
    last.pt and continued on resume.
    """

    loss_sum: float = 0.0  # sum over batches of their mean per-character loss x characters
    chars: int = 0
    correct_chars: int = 0
    sequences: int = 0
    correct_sequences: int = 0
    steps: int = 0  # optimizer steps taken in this pass
    # Predictions for the set's first SHOWN sequences, by position in the set.
    predictions: dict = field(default_factory=dict)
    finite: bool = True

    SHOWN = 4

    @property
    def first_prediction(self) -> Optional[str]:
        return self.predictions.get(0)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.chars, 1)

    @property
    def char_accuracy(self) -> float:
        return self.correct_chars / max(self.chars, 1)

    @property
    def seq_accuracy(self) -> float:
        return self.correct_sequences / max(self.sequences, 1)

    def add(self, batch: Batch, logits: torch.Tensor, loss: float, vocab: Vocabulary) -> None:
        """Count one batch: ``logits`` (B, T, C), ``loss`` its mean over the unpadded characters."""
        mask = batch.target != IGNORE  # (B, T): real characters, not padding
        predicted = logits.argmax(dim=-1)  # (B, T)
        right = (predicted == batch.target) & mask
        chars = int(mask.sum())
        self.loss_sum += loss * chars
        self.chars += chars
        self.correct_chars += int(right.sum())
        self.sequences += len(batch.index)
        self.correct_sequences += int((right | ~mask).all(dim=1).sum())
        for row in (batch.index < self.SHOWN).nonzero().flatten().tolist():
            self.predictions[int(batch.index[row])] = vocab.decode(predicted[row][mask[row]])
