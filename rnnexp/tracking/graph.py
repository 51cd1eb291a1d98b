"""The model's graph for TensorBoard's Graphs tab, traced once per model structure in a process."""

from __future__ import annotations

import logging
import warnings
from typing import Optional

import torch
from torch import nn

from rnnexp.data.loading import TaskData
from rnnexp.internals.torch_private import tensorboard_graph
from rnnexp.models.sampling import eval_mode

log = logging.getLogger(__name__)


def graph_example(data: TaskData, device: torch.device) -> torch.Tensor:
    """The first training sequence as a batch of one, on ``device``, the graph's example input: (1, T) int64
    character ids, or (1, T, F) float features for a task of real values (unpadded: a batch of one)."""
    return data.train.batch(torch.arange(1)).source.to(device)


class _Logits(nn.Module):
    """The model with the logits as its one output: the tracer takes only tensors (forward returns (logits, None))."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids)[0]  # (1, T) -> (1, T, C)


class _AnswerLogits(_Logits):
    """The same for real values; the graph's input node is named after forward's argument: input/features."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.model(features)[0]  # (1, T, F) -> (1, C) class scores, or (1, K) numbers


def _logits_only(model: nn.Module, example: torch.Tensor) -> nn.Module:
    return _AnswerLogits(model) if example.is_floating_point() else _Logits(model)


# Traced graphs by (model structure, input shape, device): see traced_graph.
_traced: dict[tuple, Optional[tuple]] = {}


def traced_graph(model: nn.Module, example_ids: torch.Tensor) -> Optional[tuple]:
    """:func:`trace_graph`, once per model structure, input shape and device in a process.

    The graph holds the structure and shapes, not the weights: the jobs of a
    sweep over lr, seed or optimizer share one trace.
    """
    key = (repr(model), tuple(example_ids.shape), str(example_ids.device))
    if key not in _traced:
        _traced[key] = trace_graph(model, example_ids)
    return _traced[key]


def trace_graph(model: nn.Module, example_ids: torch.Tensor) -> Optional[tuple]:
    """TensorBoard's graph of ``model`` (a GraphDef and its run metadata), or None when it cannot be traced.

    Traced in eval mode, so dropout draws no random numbers and the run's
    random stream is untouched. torch.jit.trace's check is left out: it runs
    the traced graph once more, the costliest part of a trace (figures in
    docs/performance.md).
    """
    try:
        with eval_mode(model), warnings.catch_warnings():
            # These concern running the trace again, and it is only drawn:
            # TracerWarnings (Python values read from tensors) and the
            # notices that torch.jit.trace is deprecated and that tracing a
            # traced module does nothing.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            # (a DeprecationWarning up to torch 2.13, a FutureWarning, shown to users, from 2.14)
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace")
            warnings.filterwarnings("ignore", message="The input to trace is already a ScriptModule")
            traced = torch.jit.trace(_logits_only(model, example_ids), (example_ids,), check_trace=False)
            return tensorboard_graph(traced, (example_ids,))  # tracing a traced module returns it as it is
    except Exception as error:  # any failure of the tracer: the graph is a view, never worth a run
        reason = next(iter(str(error).splitlines()), "") or type(error).__name__
        log.info(f"No graph in TensorBoard's Graphs tab: the tracer cannot follow this model ({reason})")
        return None
