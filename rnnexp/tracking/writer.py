"""TensorBoard records of one run, all inside the run's own directory.

Scalars and texts go through a SummaryWriter on the run directory. The hparams
session is written through the same writer's file (not
``SummaryWriter.add_hparams``, which opens a separate sub-folder run detached
from the curves), so the HParams dashboard links each session to its curves.
What the session holds, and why its names sort as they do, is in
rnnexp.tracking.summaries.
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from rnnexp.results import Status
from rnnexp.tracking.graph import traced_graph
from rnnexp.tracking.hparams import HParamValue
from rnnexp.tracking.summaries import session_end, session_start, tags_of, write_experiment_summary


class RunTracker:
    def __init__(self, run_dir: str, purge_step: Optional[int] = None, kind: Optional[str] = None):
        """``purge_step``: a resumed run's first epoch; TensorBoard drops what earlier files hold from it on.

        A run killed between writing an epoch's curves and its checkpoint
        trains that epoch again: without the purge its points would be drawn twice.
        ``kind``: the task's kind, which names its accuracies and final metrics
        (rnnexp.tracking.summaries.KindTags); None: a task of characters'.
        """
        self.kind = kind
        self.tags = tags_of(kind)
        self.writer = SummaryWriter(log_dir=run_dir, purge_step=purge_step)
        self.started = time.time()
        self.ended = False  # whether the hparams session has its end

    def log_config(self, config_yaml: str) -> None:
        # add_text renders Markdown; indenting by four spaces keeps the YAML a code block.
        block = "\n".join("    " + line for line in config_yaml.splitlines())
        self.writer.add_text("config", block, 0)

    def log_graph(self, model: nn.Module, example_ids: torch.Tensor) -> None:
        """Draw ``model`` in the Graphs tab, traced on ``example_ids`` ((1, T) ids, or (1, T, F) features)
        and written into this run's event file.

        The graph holds the model's structure and shapes, not its weights, so
        it is traced once per structure in a process and written again for
        every run of that structure: the jobs of a sweep over lr, seed or
        optimizer share one trace. A model the tracer cannot follow is
        skipped with one log line.
        """
        traced = traced_graph(model, example_ids)
        if traced is not None:
            self.writer.file_writer.add_graph(traced)

    def log_epoch(
        self, epoch: int, loss: float, char_accuracy: Optional[float], seq_accuracy: Optional[float], lr: float
    ) -> None:
        """The epoch's training curves; the accuracies are None when training counted none (train_accuracy=false).

        A kind with one answer per sequence logs its one accuracy, of sequences.
        """
        self.writer.add_scalar("loss/train", loss, epoch)
        self._log_accuracies(self.tags.train, char_accuracy, seq_accuracy, epoch)
        self.writer.add_scalar("lr", lr, epoch)

    def log_validation(self, epoch: int, loss: float, char_accuracy: float, seq_accuracy: float) -> None:
        # Beside the training loss: TensorBoard groups tags by their first part.
        self.writer.add_scalar("loss/val", loss, epoch)
        self._log_accuracies(self.tags.val, char_accuracy, seq_accuracy, epoch)

    def _log_accuracies(self, tags: tuple[Optional[str], str], char_accuracy: Optional[float],
                        seq_accuracy: Optional[float], epoch: int) -> None:
        for tag, value in zip(tags, (char_accuracy, seq_accuracy)):
            if tag is not None and value is not None:
                self.writer.add_scalar(tag, value, epoch)

    def log_predictions(self, epoch: int, rows: list[tuple[str, str, str]]) -> None:
        """A Markdown table of (source, prediction, target): plain newlines would collapse."""
        lines = ["| source | prediction | target | per character |", "|---|---|---|---|"]
        for source, prediction, target in rows:
            marks = "".join("✓" if p == t else "✗" for p, t in zip(prediction, target))
            lines.append(f"| `{source}` | `{prediction}` | `{target}` | {marks} |")
        self.writer.add_text("prediction", "\n".join(lines), epoch)

    def log_answers(self, epoch: int, rows: list[tuple[int, str, str]], split: str, right: Callable[[str, str], bool]) -> None:
        """A Markdown table of one answer per sequence: (its index in ``split``, the answer, the target)."""
        lines = [f"| {split} sequence | prediction | target | right |", "|---|---|---|---|"]
        for index, answer, target in rows:
            lines.append(f"| {index} | `{answer}` | `{target}` | {'✓' if right(answer, target) else '✗'} |")
        self.writer.add_text("prediction", "\n".join(lines), epoch)

    def log_sample(self, epoch: int, text: str) -> None:
        # Indented four spaces: a Markdown code block keeps the sample's line breaks.
        self.writer.add_text("sample", "\n".join("    " + line for line in text.splitlines()), epoch)

    def start_session(self, hparams: Mapping[str, HParamValue]) -> None:
        """Open this run's hparams session: until its end, the HParams page shows it as running.

        ``hparams`` must have the same keys, all set, in every run: a missing
        or None value makes the dashboard hide runs of a sweep. The experiment
        summary, in a file of its own beside the event file, marks the keys
        the user varied, so the table opens on them (see the module's
        docstring); the jobs of a sweep write the same one.
        """
        write_experiment_summary(self.writer.log_dir, hparams, self.kind)
        self.writer.file_writer.add_summary(session_start(hparams, self.started))

    def end_session(self, status: Status, final: Optional[Mapping[str, float]] = None, step: int = 0) -> None:
        """Close the session with the run's status; with ``final``, write the final metrics as scalars at ``step``.

        ``final`` holds exactly the kind's final metrics (rnnexp.tracking.summaries.final_metrics),
        all set, when the run trained to its end (ok, diverged, or pruned by a search). Only the first end counts.
        """
        if self.ended:
            return
        self.ended = True
        if final is not None:
            assert set(final) == set(self.tags.final), sorted(final)
            for tag, value in final.items():
                self.writer.add_scalar(tag, value, step)
        self.writer.file_writer.add_summary(session_end(status, time.time()))

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
