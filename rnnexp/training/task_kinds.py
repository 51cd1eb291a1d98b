"""What a run does differently for each kind of task; the trainer asks the kind.

A tagging task (hello, copy, parity, ..., a user's pairs) maps each source
to a target of the same length: it is "solved" once every sequence comes out
right, its epoch line shows the first prediction (the notebook's line), and
TensorBoard gets a table of predictions. A language model (task=text, a
user's text) predicts each next character: it is never solved, is judged by
its validation loss, and now and then writes a sample of generated text.
A classify or regress task (mnist1d, adding, a user's arrays) gives one
answer per sequence: it is solved once solved_at of its sequences are right
(the class, or every number within task.tolerance), and its divergence is
measured against the loss of a model that knows nothing: ln(classes), or the
targets' variance.

:func:`task_kind` picks the object for a run's data; the trainer holds it as
``Trainer.kind`` and calls it where the two differ.
"""

from __future__ import annotations

import logging
import math
from typing import Optional

import torch
from omegaconf import DictConfig
from torch import nn

from rnnexp.data.loading import TaskData, unigram_entropy
from rnnexp.data.sequences import Batch
from rnnexp.data.task import CLASSIFY, LANGUAGE_MODEL, REGRESS
from rnnexp.errors import UserError
from rnnexp.models.sampling import sample_text
from rnnexp.results import History, RunResult
from rnnexp.tracking.writer import RunTracker
from rnnexp.training.stats import EpochStats, answer_text

log = logging.getLogger(__name__)


class TaskKind:
    """The questions the trainer asks of a task's kind; :class:`Tagging` and :class:`LanguageModel` answer them."""

    def __init__(self, cfg: DictConfig, data: TaskData):
        self.cfg, self.data = cfg, data

    def start(self) -> None:
        """What the kind says, or checks, once the data is read and the model built (a refused model prints none of it)."""

    def note_solved(self, history: History, epoch: int, stats: EpochStats) -> None:
        """Record whether the sequences of ``stats`` are all right after ``epoch``."""
        raise NotImplementedError

    def count(self, stats: EpochStats, batch: Batch, logits: torch.Tensor, loss: float, accuracy: bool = True) -> None:
        """Add one batch's loss and counts to ``stats``; ``accuracy=False``: the loss alone (train_accuracy=false)."""
        stats.add(batch, logits, loss, self.data.vocab, accuracy=accuracy)

    def chance_loss(self) -> tuple[float, str]:
        """The loss of a model that knows nothing, and how it is named: divergence is measured in multiples of it."""
        classes = len(self.data.vocab)
        return math.log(classes), f"ln({classes} classes)"

    def epoch_line(self, epoch: str, train: EpochStats, val: Optional[EpochStats], shown: EpochStats) -> str:
        """The epoch's line in the terminal: ``epoch`` ("Epoch [3/15]"), its passes, the evaluated set's ``shown``."""
        line = self.with_prediction(f"{epoch} loss = {train.loss:.3f}", shown)
        if val is not None:
            line += f", val loss = {val.loss:.3f}, val accuracy = {val.char_accuracy:.3f}"
        return line

    def with_prediction(self, line: str, shown: EpochStats) -> str:
        return line

    def target_text(self) -> str:
        """The first evaluation sequence's target, as metrics.json shows it."""
        return self.data.vocab.decode(self.data.eval_set.batch(torch.arange(1)).target[0])

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

    def with_prediction(self, line: str, shown: EpochStats) -> str:
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


class OneAnswer(TaskKind):
    """A task of real values with one answer per sequence: :class:`Classify` and :class:`Regress` share this."""

    SHOWN = 4  # held-out examples in TensorBoard's table of answers

    def note_solved(self, history: History, epoch: int, stats: EpochStats) -> None:
        history.note_solved(epoch, stats.seq_accuracy, self.cfg.solved_at)

    def count(self, stats: EpochStats, batch: Batch, logits: torch.Tensor, loss: float, accuracy: bool = True) -> None:
        stats.add_answers(batch, logits, loss, self.tolerance)

    @property
    def tolerance(self) -> Optional[float]:
        return None

    def target_text(self) -> str:
        return answer_text(self.data.eval_set.targets[0])

    def record_epoch(self, tracker: RunTracker, model: nn.Module, epoch: int, shown: EpochStats) -> None:
        """The first sequences of the evaluated set, their answers beside the targets: a table in the Text tab."""
        targets = self.data.eval_set.targets
        rows = [(index, answer, answer_text(targets[index])) for index, answer in sorted(shown.predictions.items())]
        tracker.log_answers(epoch, rows, self.split_name, self.right)

    def right(self, answer: str, target: str) -> bool:
        raise NotImplementedError

    @property
    def split_name(self) -> str:
        return "validation" if self.data.val is not None else "training"

    def counts_sequences(self) -> bool:
        return True


class Classify(OneAnswer):
    """One class per sequence: cross-entropy, judged by the share of sequences classified right."""

    def start(self) -> None:
        targets = self.data.eval_set.targets
        counts = torch.bincount(targets, minlength=self.data.sizes.outputs)
        common = int(counts.argmax())
        log.info(
            f"Classes: {self.data.sizes.outputs}; always answering the most common, {common}, is right for "
            f"{float(counts[common]) / len(targets):.1%} of the {self.split_name} sequences"
        )

    def chance_loss(self) -> tuple[float, str]:
        classes = self.data.sizes.outputs
        return math.log(classes), f"ln({classes} classes)"

    def epoch_line(self, epoch: str, train: EpochStats, val: Optional[EpochStats], shown: EpochStats) -> str:
        line = f"{epoch} loss = {train.loss:.4f}, accuracy = {train.seq_accuracy:.3f}"
        if val is not None:
            line += f", val loss = {val.loss:.4f}, val accuracy = {val.seq_accuracy:.3f}"
        return line

    def right(self, answer: str, target: str) -> bool:
        return answer == target

    def final_line(self, result: RunResult, where: str) -> str:
        split = self.split_name
        right = f"{result.sequences_right} of {result.sequences} {split} sequences"
        verdict = ""
        if result.solved_epoch is not None:
            verdict = f", solved at epoch {result.solved_epoch} (solved_at={result.solved_at:g})"
        return f"Final {split} accuracy: {result.accuracy:.1%} ({right}), loss {result.final_loss:.4f}{verdict}. {where}"


class Regress(OneAnswer):
    """One or more numbers per sequence: mean squared error; a sequence is right when each is within task.tolerance."""

    def start(self) -> None:
        """The baseline a model must beat: always answering the training targets' mean."""
        mean = self.data.train.targets.mean(dim=0)  # (K,)
        targets = self.data.eval_set.targets  # (N, K)
        baseline = float(((targets - mean) ** 2).mean())
        self.baseline = baseline
        log.info(
            f"Baseline: always answering the training mean, {answer_text(mean)}, gives an MSE of {baseline:.4g} "
            f"on the {self.split_name} sequences"
        )

    @property
    def tolerance(self) -> float:
        return self.cfg.task.tolerance

    def chance_loss(self) -> tuple[float, str]:
        """The MSE of answering the training targets' mean: their variance."""
        variance = float(self.data.train.targets.var(dim=0, unbiased=False).mean())
        return max(variance, 1e-12), f"the targets' variance ({variance:.4g})"

    def epoch_line(self, epoch: str, train: EpochStats, val: Optional[EpochStats], shown: EpochStats) -> str:
        tolerance = f"{self.tolerance:g}"
        line = f"{epoch} MSE = {train.loss:.4g}, within {tolerance} = {train.seq_accuracy:.3f}"
        if val is not None:
            line += f", val MSE = {val.loss:.4g}, val within {tolerance} = {val.seq_accuracy:.3f}"
        return line

    def right(self, answer: str, target: str) -> bool:
        return all(abs(float(a) - float(t)) < self.tolerance for a, t in zip(answer.split(), target.split()))

    def final_line(self, result: RunResult, where: str) -> str:
        split = self.split_name
        within = f"{result.sequences_right} of {result.sequences} within {self.tolerance:g} ({result.accuracy:.1%})"
        return f"Final {split} MSE: {result.final_loss:.4g} (baseline {self.baseline:.4g}); {within}. {where}"


def task_kind(cfg: DictConfig, data: TaskData) -> TaskKind:
    """The kind object for ``data``, which knows its kind (a user's callable decides it by what it returns)."""
    kinds = {LANGUAGE_MODEL: LanguageModel, CLASSIFY: Classify, REGRESS: Regress}
    return kinds.get(data.kind, Tagging)(cfg, data)
