"""TensorBoard records of one run, all inside the run's own directory.

Scalars and texts go through a SummaryWriter on the run directory. The hparams
summaries are written through the same writer's file (not
``SummaryWriter.add_hparams``, which opens a separate sub-folder run detached
from the curves), so the HParams dashboard links each session to its curves.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Mapping, Optional, Union

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summaries

if TYPE_CHECKING:
    from rnnexp.tasks import TaskData

log = logging.getLogger(__name__)

HParamValue = Union[int, float, str, bool]

# Scalars the HParams dashboard shows as metric columns; every run logs all of them.
FINAL_METRICS = ("final/loss", "final/accuracy_char", "final/accuracy_seq", "final/solved_epoch")


def short_name(target: str) -> str:
    """``torch.optim.AdamW`` -> ``adamw``: a class's name as its YAML option spells it."""
    return target.rsplit(".", 1)[-1].lower()


def hparams_of(resolved: dict) -> dict[str, HParamValue]:
    """The flat hyperparameters of a run (its resolved config), with the same keys in every run.

    Optimizer-specific keys (betas, momentum, ...) differ between optimizers,
    so only weight_decay, which all of them have, joins the table.
    """
    model, encoder, optimizer = resolved["model"], resolved["encoder"], resolved["optimizer"]
    scheduler = resolved["scheduler"]["_target_"]
    return {
        "model": model["name"],
        "encoder": encoder["name"],
        "optimizer": short_name(optimizer["_target_"]),
        "scheduler": short_name(scheduler) if scheduler else "none",
        "task": resolved["task"]["name"],
        "lr": float(resolved["lr"]),
        "epochs": int(resolved["epochs"]),
        "batch_size": int(resolved["batch_size"]),
        "seed": int(resolved["seed"]),
        "device": resolved["device"],
        "clip": float(resolved["clip"] or 0.0),
        "model.hidden_size": int(model["hidden_size"]),
        "model.num_layers": int(model["num_layers"]),
        "model.head": bool(model["head"]),
        "model.bidirectional": bool(model["bidirectional"]),
        "model.dropout": float(model["dropout"]),
        "model.init_scale": float(model["init_scale"]),
        "encoder.dim": int(encoder["dim"]),
        "optimizer.weight_decay": float(optimizer.get("weight_decay", 0.0)),
    }


def graph_example(data: TaskData, device: torch.device) -> torch.Tensor:
    """The first training sequence as a batch of one, on ``device``: (1, T) int64, the graph's example input."""
    return data.train.batch(torch.arange(1)).source.to(device)


class Logits(nn.Module):
    """The model with the logits as its one output: the tracer takes only tensors (forward returns (logits, None))."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids)[0]  # (1, T) -> (1, T, C)


# Traced graphs by (model structure, input shape, device): see RunTracker.log_graph.
_graphs: dict[tuple, Optional[tuple]] = {}


def _trace_graph(model: nn.Module, example_ids: torch.Tensor) -> Optional[tuple]:
    """TensorBoard's graph of ``model`` (a GraphDef and its run metadata), or None when it cannot be traced.

    Traced in eval mode, so dropout draws no random numbers and the run's
    random stream is untouched. torch.jit.trace's check is left out: it runs
    the traced graph once more, the costliest part of a trace (figures in
    docs/performance.md).
    """
    from torch.utils.tensorboard._pytorch_graph import graph  # what SummaryWriter.add_graph writes

    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            # These concern running the trace again, and it is only drawn:
            # TracerWarnings (Python values read from tensors) and the
            # notices that torch.jit.trace is deprecated and that tracing a
            # traced module does nothing.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message="The input to trace is already a ScriptModule")
            traced = torch.jit.trace(Logits(model), (example_ids,), check_trace=False)
            return graph(traced, (example_ids,))  # tracing a traced module returns it as it is
    except Exception as error:  # any failure of the tracer: the graph is a view, never worth a run
        reason = next(iter(str(error).splitlines()), "") or type(error).__name__
        log.info(f"No graph in TensorBoard's Graphs tab: the tracer cannot follow this model ({reason})")
        return None
    finally:
        model.train(was_training)


class RunTracker:
    def __init__(self, run_dir: str):
        self.writer = SummaryWriter(log_dir=run_dir)

    def log_config(self, config_yaml: str) -> None:
        # add_text renders Markdown; indenting by four spaces keeps the YAML a code block.
        block = "\n".join("    " + line for line in config_yaml.splitlines())
        self.writer.add_text("config", block, 0)

    def log_graph(self, model: nn.Module, example_ids: torch.Tensor) -> None:
        """Draw ``model`` in the Graphs tab, traced on ``example_ids`` (1, T) and written into this run's event file.

        The graph holds the model's structure and shapes, not its weights, so
        it is traced once per structure in a process and written again for
        every run of that structure: the jobs of a sweep over lr, seed or
        optimizer share one trace. A model the tracer cannot follow is
        skipped with one log line.
        """
        key = (repr(model), tuple(example_ids.shape), str(example_ids.device))
        if key not in _graphs:
            _graphs[key] = _trace_graph(model, example_ids)
        if _graphs[key] is not None:
            self.writer.file_writer.add_graph(_graphs[key])

    def log_epoch(self, epoch: int, loss: float, char_accuracy: float, seq_accuracy: float, lr: float) -> None:
        self.writer.add_scalar("loss/train", loss, epoch)
        self.writer.add_scalar("accuracy/char", char_accuracy, epoch)
        self.writer.add_scalar("accuracy/seq", seq_accuracy, epoch)
        self.writer.add_scalar("lr", lr, epoch)

    def log_validation(self, epoch: int, loss: float, char_accuracy: float, seq_accuracy: float) -> None:
        # Beside the training curves: TensorBoard groups tags by their first part.
        self.writer.add_scalar("loss/val", loss, epoch)
        self.writer.add_scalar("accuracy/char_val", char_accuracy, epoch)
        self.writer.add_scalar("accuracy/seq_val", seq_accuracy, epoch)

    def log_predictions(self, epoch: int, rows: list[tuple[str, str, str]]) -> None:
        """A Markdown table of (source, prediction, target): plain newlines would collapse."""
        lines = ["| source | prediction | target | per character |", "|---|---|---|---|"]
        for source, prediction, target in rows:
            marks = "".join("✓" if p == t else "✗" for p, t in zip(prediction, target))
            lines.append(f"| `{source}` | `{prediction}` | `{target}` | {marks} |")
        self.writer.add_text("prediction", "\n".join(lines), epoch)

    def log_sample(self, epoch: int, text: str) -> None:
        # Indented four spaces: a Markdown code block keeps the sample's line breaks.
        self.writer.add_text("sample", "\n".join("    " + line for line in text.splitlines()), epoch)

    def log_hparams(self, hparams: Mapping[str, HParamValue], final: Mapping[str, float], step: int) -> None:
        """Write the hparams session into this run and the final metrics as scalars.

        ``final`` must hold exactly FINAL_METRICS, all set, in every run: a
        missing or None value makes the dashboard hide runs of a sweep.
        """
        assert set(final) == set(FINAL_METRICS), sorted(final)
        # The experiment summary is left out on purpose: without one, TensorBoard
        # builds the experiment from all runs' sessions, marking which hparams
        # differ across a sweep and listing string values for filtering. With
        # one per run it would take the first run's, where nothing differs.
        _, session_start, session_end = hparams_summaries(dict(hparams), dict(final))
        file_writer = self.writer.file_writer  # the run's own event file
        for summary in (session_start, session_end):
            file_writer.add_summary(summary)
        for tag, value in final.items():
            self.writer.add_scalar(tag, value, step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
