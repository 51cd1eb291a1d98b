"""What one pass over a set of sequences measured: loss, accuracies, a few predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from rnnexp.data.sequences import IGNORE, Batch
from rnnexp.data.vocab import Vocabulary


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

    def add_answers(self, batch: Batch, outputs: torch.Tensor, loss: float, tolerance: Optional[float] = None) -> None:
        """Count one batch of a task with one answer a sequence: ``outputs`` (B, C) class scores, or (B, K) numbers.

        Each sequence is one unit of ``chars``, so the loss is the mean over
        sequences and the accuracy the share right: for classify, the class
        with the highest score; for regress (``tolerance`` given), every
        number within ``tolerance`` of its target.
        """
        if tolerance is None:
            predicted = outputs.max(dim=-1).indices  # (B,)
            right = predicted == batch.target  # (B,)
        else:
            predicted = outputs  # (B, K)
            right = ((outputs - batch.target).abs() < tolerance).all(dim=1)  # (B,)
        count, correct = len(batch.index), int(right.sum())
        self.loss_sum += loss * count
        self.chars += count
        self.correct_chars += correct
        self.sequences += count
        self.correct_sequences += correct
        if len(self.predictions) == self.SHOWN:
            return
        for row in (batch.index < self.SHOWN).nonzero().flatten().tolist():
            self.predictions[int(batch.index[row])] = answer_text(predicted[row])

    def add(self, batch: Batch, logits: torch.Tensor, loss: float, vocab: Vocabulary, accuracy: bool = True) -> None:
        """Count one batch: ``logits`` (B, T, C), ``loss`` its mean over the unpadded characters.

        ``accuracy=False`` counts the loss and the characters only (a language
        model's training, train_accuracy=false): no argmax over the classes and,
        without padding, no read from the device.
        """
        if not accuracy:
            chars = batch.target.numel() if batch.lengths is None else int((batch.target != IGNORE).sum())
            self.loss_sum += loss * chars
            self.chars += chars
            self.sequences += len(batch.index)
            return
        # max's indices are argmax's (the first of tied maxima), at about half
        # argmax's cost on the CPU over a short last dimension.
        predicted = logits.max(dim=-1).indices  # (B, T)
        right = predicted == batch.target  # (B, T)
        # One read from the device for the batch's counts.
        if batch.lengths is None:  # no padding: every position is a character
            mask, chars = None, batch.target.numel()
            correct_chars, correct_sequences = torch.stack([right.sum(), right.all(dim=1).sum()]).tolist()
        else:
            mask = batch.target != IGNORE  # (B, T): real characters, not padding
            right &= mask
            chars, correct_chars, correct_sequences = torch.stack(
                [mask.sum(), right.sum(), (right | ~mask).all(dim=1).sum()]
            ).tolist()
        self.loss_sum += loss * chars
        self.chars += chars
        self.correct_chars += correct_chars
        self.sequences += len(batch.index)
        self.correct_sequences += correct_sequences
        if len(self.predictions) == self.SHOWN:
            return  # each sequence comes once a pass: once the first SHOWN are in, no batch holds one
        for row in (batch.index < self.SHOWN).nonzero().flatten().tolist():
            shown = predicted[row] if mask is None else predicted[row][mask[row]]
            self.predictions[int(batch.index[row])] = vocab.decode(shown)


def answer_text(answer: torch.Tensor) -> str:
    """One sequence's answer as shown: a class (a 0-d integer), or numbers (K,) to four significant digits."""
    if answer.dim() == 0:
        return str(int(answer))
    return " ".join(f"{value:.4g}" for value in answer.tolist())
