"""The loss of each kind of task, from the head's output and the targets.

    tagging, text   cross-entropy over every (unpadded) step: scores (B, T, C), targets (B, T)
    classify        cross-entropy, one class per sequence: scores (B, C), targets (B,)
    regress         mean squared error over every number: values (B, K), targets (B, K)
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from rnnexp.data.sequences import IGNORE
from rnnexp.data.task import CLASSIFY, REGRESS

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def per_step_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Mean over every step of every sequence, padding left out. (The notebook's
    # RNNCell example wrote `loss = + criterion(...)`, which keeps only the last
    # step's loss and so learns "lllll".)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, targets)  # (B, C) against (B,)


def mean_squared_error(values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(values, targets)  # (B, K) against (B, K)


def loss_of(kind: str) -> Loss:
    if kind == CLASSIFY:
        return sequence_cross_entropy
    if kind == REGRESS:
        return mean_squared_error
    return per_step_cross_entropy
