"""What a run does differently for a tagging task and for a language model; the trainer asks the kind.

A tagging task (hello, copy, parity, ..., a user's pairs) maps each source
to a target of the same length: it is "solved" once every sequence comes out
right, its epoch line shows the first prediction (the notebook's line), and
TensorBoard gets a table of predictions. A language model (task=text, a
user's text) predicts each next character: it is never solved, is judged by
its validation loss, and now and then writes a sample of generated text.

:func:`task_kind` picks the object for a run's data; the trainer holds it as
``Trainer.kind`` and calls it where the two differ.
"""

from __future__ import annotations

import logging
from typing import Optional

import torch
from omegaconf import DictConfig
from torch import nn

from rnnexp.data.loading import TaskData, unigram_entropy
from rnnexp.data.task import LANGUAGE_MODEL
from rnnexp.errors import UserError
from rnnexp.models.sampling import sample_text
from rnnexp.results import History, RunResult
from rnnexp.tracking.writer import RunTracker
from rnnexp.training.stats import EpochStats

log = logging.getLogger(__name__)


class TaskKind:
    """The questions the trainer asks of a task's kind; :class:`Tagging` and :class:`LanguageModel` answer them."""

    def __init__(self, cfg: DictConfig, data: TaskData):
        self.cfg, self.data = cfg, data

    def start(self) -> None:
        """What the kind says, or checks, once the data is read and before the model is built."""

    def note_solved(self, history: History, epoch: int, stats: EpochStats) -> None:
        """Record whether the sequences of ``stats`` are all right after ``epoch``."""
        raise NotImplementedError

    def epoch_line(self, line: str, shown: EpochStats) -> str:
        """The epoch's line in the terminal, from its losses ``line`` and the evaluated set's ``shown`` pass."""
        raise NotImplementedError

    def record_epoch(self, tracker: RunTracker, model: nn.Module, epoch: int, shown: EpochStats) -> None:
        """What TensorBoard gets beside the epoch's curves."""
        raise NotImplementedError

    def counts_sequences(self) -> bool:
        """Whether metrics.json counts the sequences that came out right."""
        raise NotImplementedError

    def final_line(self, result: RunResult, where: str) -> str:
        """The last line of a run that ended ok; ``where``: its directory, as the line ends."""
        raise NotImplementedError


class Tagging(TaskKind):
    """A task of (source, target) pairs: solved when every sequence is right."""

    def note_solved(self, history: History, epoch: int, stats: EpochStats) -> None:
        history.note_solved(epoch, stats.seq_accuracy, self.cfg.solved_at)

    def epoch_line(self, line: str, shown: EpochStats) -> str:
        return f"Predicted string: {shown.first_prediction}, {line}"  # the notebook's line

    def record_epoch(self, tracker: RunTracker, model: nn.Module, epoch: int, shown: EpochStats) -> None:
        """The first sequences of the evaluated set beside their predictions: a table in TensorBoard's Text tab."""
        sequences, vocab = self.data.eval_set, self.data.vocab
        rows = [
            (vocab.decode(sequences.sources[i]), prediction, vocab.decode(sequences.targets[i]))
            for i, prediction in sorted(shown.predictions.items())
        ]
        tracker.log_predictions(epoch, rows)

    def counts_sequences(self) -> bool:
        return True

    def final_line(self, result: RunResult, where: str) -> str:
        solved, first = result.solved_epoch, f"{result.prediction} (target {result.target})"
        if not result.sequences or result.sequences == 1:  # hello, inline: the notebook's one sequence
            if solved is None:
                verdict = "not solved"
            elif result.prediction == result.target:
                verdict = f"solved at epoch {solved}"
            else:
                verdict = f"solved at epoch {solved} but lost again by the end"
            return f"Final prediction: {first}, {verdict}. {where}"
        # Many sequences: say how many were right, since one wrong character makes a run "not solved".
        split = "validation" if self.data.val is not None else "training"
        right = f"{result.sequences_right} of {result.sequences} {split} sequences right"
        if result.sequences_right == result.sequences:
            return f"Solved at epoch {solved}: all {result.sequences} {split} sequences right (first: {result.prediction}). {where}"
        if result.solved:  # solved_at below 1
            return f"Solved at epoch {solved} (solved_at={result.solved_at:g}): {right}; first: {first}. {where}"
        if solved is not None:
            return f"Solved at epoch {solved} but lost again by the end: {right}; first: {first}. {where}"
        return f"Not solved: {right}, {result.accuracy:.1%} of characters; first: {first}. {where}"


class LanguageModel(TaskKind):
    """A text read to predict each next character: never solved, sampled every task.sample_every epochs."""

    def __init__(self, cfg: DictConfig, data: TaskData):
        super().__init__(cfg, data)
        self.prime: Optional[str] = None

    def start(self) -> None:
        baseline = unigram_entropy(self.data.train, len(self.data.vocab))
        log.info(f"Unigram baseline: {baseline:.3f} nats per character (the loss of knowing only character frequencies)")
        self.prime = self._checked_prime()

    def _checked_prime(self) -> str:
        """The sample's prime; its characters must occur in the text (a check that needs the data)."""
        prime = self.cfg.task.prime
        if prime is None:  # the text's first character
            return self.data.vocab.decode(self.data.train.batch(torch.arange(1)).source[0][:1])
        missing = self.data.vocab.missing(prime)
        if missing:
            raise UserError(
                f"task.prime={prime!r}: characters not in the text's vocabulary: {''.join(missing)!r}; "
                "choose a prime made of characters that occur in the text"
            )
        return prime

    def note_solved(self, history: History, epoch: int, stats: EpochStats) -> None:
        pass  # a language model is judged by its loss, never "solved"

    def epoch_line(self, line: str, shown: EpochStats) -> str:
        return line

    def record_epoch(self, tracker: RunTracker, model: nn.Module, epoch: int, shown: EpochStats) -> None:
        """Every task.sample_every epochs, a sample of generated text."""
        task = self.cfg.task
        if not task.sample_every or epoch % task.sample_every != 0:
            return
        # Seeded per epoch, apart from the training's random state.
        generator = torch.Generator().manual_seed(self.cfg.seed * 100_003 + epoch)
        text = sample_text(
            model, self.data.vocab, self.prime, task.sample_length, task.temperature, task.window, generator,
            carry_state=self.data.stateful,
        )
        tracker.log_sample(epoch, text)
        log.info(f"Sample after epoch {epoch} (temperature {task.temperature}):\n{text}")

    def counts_sequences(self) -> bool:
        return False  # a text run is never "solved"

    def final_line(self, result: RunResult, where: str) -> str:
        return f"Final validation loss: {result.final_loss:.3f}, character accuracy {result.accuracy:.3f}. {where}"


def task_kind(cfg: DictConfig, data: TaskData) -> TaskKind:
    """The kind object for ``data``, which knows its kind (a user's callable decides it by what it returns)."""
    return LanguageModel(cfg, data) if data.kind == LANGUAGE_MODEL else Tagging(cfg, data)
