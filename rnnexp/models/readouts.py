"""What the head reads of the recurrence's outputs: every step (tagging, text), or one answer per sequence.

The recurrence gives h of shape (B, T, H). A task of characters reads every
step, one prediction each. A classify or regress task reads one vector per
sequence, chosen by ``model.readout``:

    last   the state after each sequence's last real step, (B, H); for two
           directions, the forward direction's last step beside the backward
           direction's first (each direction's last state)
    mean   the mean over each sequence's real steps, (B, H)
    all    every step's output, flattened, (B, T * H): the MNIST-1D paper's GRU,
           for sequences that all have T steps
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from rnnexp.errors import UserError

PER_STEP = "per_step"  # what null means for a task of characters
READOUTS = ("last", "mean", "all")


class PerStep(nn.Module):
    """Every step's output, as it is: (B, T, H) -> (B, T, H)."""

    def width(self, output_size: int) -> int:
        return output_size

    def forward(self, h: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        return h


class LastStep(nn.Module):
    """Each sequence's last state: (B, T, H) -> (B, H); for two directions, each direction's last state."""

    def __init__(self, bidirectional: bool):
        super().__init__()
        self.bidirectional = bidirectional

    def width(self, output_size: int) -> int:
        return output_size

    def forward(self, h: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        if lengths is None:
            last = h[:, -1]  # (B, H)
        else:
            steps = (lengths.to(h.device) - 1).view(-1, 1, 1).expand(-1, 1, h.shape[2])  # (B, 1, H)
            last = h.gather(1, steps).squeeze(1)  # (B, H)
        if not self.bidirectional:
            return last
        # The backward direction (the second half of H) ends at step 0.
        half = h.shape[2] // 2
        return torch.cat([last[:, :half], h[:, 0, half:]], dim=1)  # (B, H)


class MeanOfSteps(nn.Module):
    """The mean of each sequence's outputs over its real steps: (B, T, H) -> (B, H)."""

    def width(self, output_size: int) -> int:
        return output_size

    def forward(self, h: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        if lengths is None:
            return h.mean(dim=1)
        lengths = lengths.to(h.device)
        mask = torch.arange(h.shape[1], device=h.device) < lengths.unsqueeze(1)  # (B, T): real steps
        return (h * mask.unsqueeze(2)).sum(dim=1) / lengths.unsqueeze(1).to(h.dtype)


class AllSteps(nn.Module):
    """Every step's output, side by side: (B, T, H) -> (B, T * H), for sequences of ``length`` steps."""

    def __init__(self, length: int):
        super().__init__()
        self.length = length

    def width(self, output_size: int) -> int:
        return self.length * output_size

    def forward(self, h: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        return h.reshape(h.shape[0], -1)


def build_readout(name: str, bidirectional: bool, length: Optional[int], lengths_seen: str = "") -> nn.Module:
    """The readout ``name`` (PER_STEP or one of READOUTS); ``length``: the steps of every sequence (all needs it).

    ``lengths_seen``: how the lengths differ ("from 12 to 40 steps"), for the
    refusal of ``all`` when they do.
    """
    if name == PER_STEP:
        return PerStep()
    if name == "last":
        return LastStep(bidirectional)
    if name == "mean":
        return MeanOfSteps()
    if name == "all":
        if length is None:
            seen = f" ({lengths_seen})" if lengths_seen else ""
            raise UserError(
                f"model.readout=all: the sequences differ in length{seen}, and all flattens a fixed number of "
                "steps into the head; use model.readout=last or model.readout=mean"
            )
        return AllSteps(length)
    raise ValueError(f"unknown readout {name!r}")
