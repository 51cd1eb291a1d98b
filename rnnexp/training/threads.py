"""The ``threads`` key -> torch's intra-op thread count for one run, and why.

Small recurrent models run many tiny kernels: below a step of about 100 k
multiply-adds no kernel is large enough for torch to split, and ``auto``
gives one thread. Above it, whether more threads pay depends on the CPU
(its cores, caches and kernels; docs/performance.md, "Threads"), so ``auto``
times a few training steps of the run's own model at each count and takes
the fastest.
The choice is kept per CPU model and model shape (rnnexp.training.thread_memory):
the same command then trains on the same thread count, and so gives the
same losses, every time on that machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Union

import torch
from torch import nn

from rnnexp.data.sequences import Batch
from rnnexp.errors import UserError
from rnnexp.training import thread_memory
from rnnexp.training.thread_timing import seconds_per_step

# What torch would use on its own (OMP_NUM_THREADS, else the cores): the most
# ``auto`` gives. Read once at import, before any run lowers it.
AVAILABLE = torch.get_num_threads()

# Multiply-adds per time step (parameters x sequences per batch) below which
# ``auto`` gives one thread without timing: each of such a step's tensors holds
# fewer elements than torch splits over threads (its grain size, 32768).
SPLIT_FLOOR = 100_000

# More threads must beat fewer by this share of a step to be chosen: one thread
# is the safer choice when the cores get busy later, where extra threads wait on
# each other (3x to 13x slower steps, docs/performance.md).
MARGIN = 0.10

@dataclass(frozen=True)
class ThreadChoice:
    count: int
    why: str  # for the run's log


def machine_cores() -> int:
    """The cores this process may run on (its affinity: a cluster's allocation, taskset), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def step_work(model: nn.Module, rows: int) -> int:
    """Rough multiply-adds of one time step: each weight is used once per sequence in the batch."""
    return rows * sum(p.numel() for p in model.parameters())


def choose_threads(setting: Union[str, int], model: nn.Module, batch: Batch, device: torch.device) -> ThreadChoice:
    """The intra-op thread count for ``setting``, ``auto`` or a count; the caller applies it with torch.set_num_threads.

    ``batch``: a training batch of the run's shape, (B, T), which ``auto`` times
    steps on (a copy of the model takes them: the run's weights and random
    state are left as they were).
    """
    if setting != "auto":
        count, cores = int(setting), machine_cores()
        if count > cores:
            raise UserError(
                f"threads={count}: more than the {cores} core(s) this machine gives the run; "
                f"allowed values are auto or an integer from 1 to {cores}"
            )
        return ThreadChoice(count, f"threads={count}")
    if AVAILABLE == 1:
        return ThreadChoice(1, "threads=auto: torch has one thread on this machine")
    if device.type != "cpu":
        return ThreadChoice(1, f"threads=auto: the model runs on {device}, the CPU only launches its kernels")
    rows = batch.source.shape[0]
    work = step_work(model, rows)
    if work < SPLIT_FLOOR:
        return ThreadChoice(1, f"threads=auto: {work:,} multiply-adds a step, too few to split over threads")
    return _measured(model, batch, work)


def _measured(model: nn.Module, batch: Batch, work: int) -> ThreadChoice:
    """The fastest count for this model on this CPU: as kept from an earlier run, else timed now and kept."""
    machine = thread_memory.machine_key(AVAILABLE)
    shape = thread_memory.shape_key(model, tuple(batch.source.shape))
    kept = thread_memory.recall(machine, shape)
    if kept is not None:
        return ThreadChoice(kept.count, f"threads=auto: {kept.describe()}, as timed on {kept.when} ({thread_memory.path()})")
    timed = seconds_per_step(model, batch, candidate_counts(AVAILABLE))
    count = fastest(timed)
    entry = thread_memory.Entry(count, {c: round(s * 1e3, 3) for c, s in timed.items()}, thread_memory.today())
    where = thread_memory.remember(machine, shape, entry)
    return ThreadChoice(count, f"threads=auto: {entry.describe()}, timed now on {thread_memory.cpu_model()}; {where}")


def candidate_counts(available: int) -> list[int]:
    """1, 2, 4, ... up to ``available``, which is always tried: the counts ``auto`` times."""
    counts, count = [], 1
    while count < available:
        counts.append(count)
        count *= 2
    return counts + [available]


def fastest(timed: dict[int, float]) -> int:
    """The count with the shortest step, taking more threads only when they beat fewer by MARGIN."""
    best = min(timed)
    for count in sorted(timed)[1:]:
        if timed[count] < (1 - MARGIN) * timed[best]:
            best = count
    return best
