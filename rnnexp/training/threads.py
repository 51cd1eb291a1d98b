"""The ``threads`` key -> torch's intra-op thread count for one run.

Small recurrent models run many tiny kernels; splitting each over several
threads costs more in hand-offs than it saves, and when the cores are busy
with other work (a parallel sweep, another job) the extra threads wait on
each other and a step gets several times slower. ``auto`` therefore gives a
model one thread unless one time step's work is large. The measurements
behind the threshold are in docs/performance.md.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import nn

# What torch would use on its own (OMP_NUM_THREADS, else the cores): the most
# ``auto`` gives. Read once at import, before any run lowers it.
AVAILABLE = torch.get_num_threads()

# Multiply-adds per time step, estimated as parameters x sequences per batch,
# from which more than one thread pays off: below it a second thread gains
# nothing even with a core free and loses several times over when the cores
# are busy; above it a single matmul is large enough to split
# (docs/performance.md, "Threads").
LARGE_WORK = 10_000_000


def step_work(model: nn.Module, rows: int) -> int:
    """Rough multiply-adds of one time step: each weight is used once per sequence in the batch."""
    return rows * sum(p.numel() for p in model.parameters())


def choose_threads(setting: Union[str, int], model: nn.Module, rows: int) -> int:
    """The intra-op thread count for ``setting``, ``auto`` or a count (checked by rnnexp.config.checks.validate).

    ``rows``: sequences per step. The caller applies it with torch.set_num_threads.
    """
    if setting != "auto":
        return int(setting)
    return 1 if step_work(model, rows) < LARGE_WORK else AVAILABLE
