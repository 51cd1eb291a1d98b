"""Each task's (source, target) data, with its checks."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from rnnexp.errors import UserError
from rnnexp.vocab import Vocabulary


@dataclass
class SequencePair:
    """One source string mapped character by character onto a target string."""

    source: str
    target: str
    vocab: Vocabulary

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Source and target ids as a batch of one: (1, T) each."""
        return self.vocab.encode(self.source).unsqueeze(0), self.vocab.encode(self.target).unsqueeze(0)


def load_task(task_cfg: DictConfig) -> SequencePair:
    """Build the task's data from ``cfg.task``; raises UserError on bad strings.

    One vocabulary covers source and target, as in the notebook: the model reads
    and writes the same characters.
    """
    source, target = task_cfg.source, task_cfg.target
    if not source or not target:
        empty = "task.source" if not source else "task.target"
        raise UserError(f"{empty} is empty: give at least one character, for example task.source=hello task.target=ohlol")
    if len(source) != len(target):
        raise UserError(
            f"task.source={source!r} has {len(source)} characters but task.target={target!r} has "
            f"{len(target)}: they must have the same length (one target character per time step)"
        )
    return SequencePair(source=source, target=target, vocab=Vocabulary(source + target))
