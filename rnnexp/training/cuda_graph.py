"""Replay a recurrence's unrolled loop as CUDA graphs (``model.cuda_graph=true``).

A recurrence class says it can be replayed so with ``graphable = True``: of
the built-ins, model=cell's RNNCellLoop, which launches a handful of small
kernels per time step, forward and backward; on a GPU the launches, not the
arithmetic, set the pace.
:func:`torch.cuda.make_graphed_callables` records the loop's forward and
backward once per input shape and replays each as a single launch. Shapes
must be static: one graph per (batch, steps, width) seen in training (the
full batch and the last, smaller one), and the refusal of variable-length
tasks is in rnnexp.training.placement. Evaluation and sampling (eval mode or no
gradient) run the ordinary loop.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn

from rnnexp.models.tagger import RecurrentTagger


class _Unroll(nn.Module):
    """The recurrence from its start over a whole sequence, outputs only, as a module of its own (what gets graphed)."""

    def __init__(self, model: RecurrentTagger):
        super().__init__()
        # Only the recurrence: the graph's backward returns gradients for exactly
        # the parameters its forward uses (encoder and head stay outside, eager).
        self.recurrence = model.recurrence

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.recurrence(x)[0]  # (B, T, input) -> (B, T, H), from h_0 = zeros


def capture_recurrence(model: RecurrentTagger, make_graphed: Optional[Callable] = None) -> None:
    """Route ``model``'s training-mode recurrence through CUDA graphs, made on first use of each shape.

    ``make_graphed`` stands in for torch.cuda.make_graphed_callables (tests
    pass a stand-in to check the routing on a machine without CUDA).
    """
    assert getattr(model.recurrence, "graphable", False), "only a graphable recurrence (checked by rnnexp.models.recurrence)"
    make_graphed = make_graphed or torch.cuda.make_graphed_callables
    unroll = _Unroll(model)
    graphs: dict[tuple, Callable] = {}

    def recur(x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        if not (model.training and torch.is_grad_enabled()):
            return RecurrentTagger.recur(model, x, lengths)
        assert lengths is None, "variable lengths are refused before capture (rnnexp.training.placement)"
        key = (*x.shape, x.requires_grad)  # a graph replays one shape: (B, T, input)
        if key not in graphs:
            # A sample input of the same shape and grad requirement: the warm-up
            # and capture run on it, then the graph reads each real x in its place.
            sample = torch.zeros_like(x).requires_grad_(x.requires_grad)
            graphs[key] = make_graphed(unroll, (sample,))
        return graphs[key](x)

    model.recur = recur  # an instance attribute: the state_dict and the class are untouched
