"""Timing a few training steps of a model at each of several thread counts, for ``threads=auto``."""

from __future__ import annotations

import copy
import statistics
import time
from typing import Callable

import torch
from torch import nn

from rnnexp.data.sequences import Batch

# Seconds the timing may take in all, first steps included: small beside a run
# that is large enough to be timed, and enough for several steps at each count.
BUDGET_S = 0.6
ROUNDS = 3  # the counts take turns, so that a moment of other load falls on each of them alike
MOST_STEPS = 20  # per count and round, for the fastest models


def seconds_per_step(model: nn.Module, batch: Batch, counts: list[int]) -> dict[int, float]:
    """The median seconds of a training step (forward and backward) at each thread count in ``counts``.

    A copy of ``model`` takes the steps, and torch's random state (dropout's
    draws) is put back after them: the run itself starts as if nothing had
    been timed. torch's thread count is put back too.
    """
    trial = copy.deepcopy(model).train()
    step = _step(trial, batch)
    before = torch.get_num_threads()
    try:
        with torch.random.fork_rng(devices=[]):
            first = {}
            for count in counts:  # the first step at each count pays for allocations: timed only to size the rest
                torch.set_num_threads(count)
                first[count] = _timed(step, 1)
            one_round = sum(first.values())  # seconds of one step at every count
            # A model whose steps are slow gets one round of one step a count: still a
            # second or two beside a run of thousands of such steps.
            rounds = ROUNDS if one_round * ROUNDS <= BUDGET_S else 1
            steps = max(1, min(MOST_STEPS, int(BUDGET_S / (rounds * one_round)) if one_round > 0 else MOST_STEPS))
            times: dict[int, list[float]] = {count: [] for count in counts}
            for _ in range(rounds):
                for count in counts:
                    torch.set_num_threads(count)
                    times[count].append(_timed(step, steps))
    finally:
        torch.set_num_threads(before)
    return {count: statistics.median(t) for count, t in times.items()}


def _step(model: nn.Module, batch: Batch) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        _, loss = model(batch.source, batch.target, batch.lengths)  # (B, T, C) logits, scalar loss
        loss.backward()

    return step


def _timed(step: Callable[[], None], steps: int) -> float:
    """Seconds per step over ``steps`` steps."""
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - started) / steps
