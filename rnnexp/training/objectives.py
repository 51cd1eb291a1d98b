"""What each kind of task is judged by: the number a sweep ranks its runs by, and the way a search goes by default.

    tagging, language model   the final loss, lowest first (a sweep of tagging runs puts the solved ones first)
    classify                  the accuracy: the share of evaluation sequences classified right, highest first
    regress                   the final loss, the MSE, lowest first

An Optuna search minimises the final loss or maximises the accuracy, each a
field of metrics.json: ``hydra.sweeper.direction`` names one, and null
takes the kind's own (rnnexp.search.config.search_objective).

Torch-free, as rnnexp.data.task is: the sweep summary reads a job's kind from
its metrics.json and ranks without loading torch, and a search picks its
direction from the config before any job runs. The trainer's kind objects
(rnnexp.training.task_kinds) judge a run while it trains; this is how runs
are compared once they have ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rnnexp.data.task import CLASSIFY

FINAL_LOSS = "final_loss"
ACCURACY = "accuracy"
MINIMIZE, MAXIMIZE = "minimize", "maximize"
DIRECTIONS = (MINIMIZE, MAXIMIZE)


@dataclass(frozen=True)
class Objective:
    """A field of metrics.json (``final_loss`` or ``accuracy``) and the way that is better."""

    metric: str
    direction: str

    @property
    def words(self) -> str:
        """How the summary and the logs name it: ``final loss``, ``accuracy``."""
        return self.metric.replace("_", " ")

    @property
    def maximize(self) -> bool:
        return self.direction == MAXIMIZE


BY_LOSS = Objective(FINAL_LOSS, MINIMIZE)
BY_ACCURACY = Objective(ACCURACY, MAXIMIZE)


def objective_of(kind: Optional[str]) -> Objective:
    """The objective of runs of ``kind``; the final loss where the kind is not known (None)."""
    return BY_ACCURACY if kind == CLASSIFY else BY_LOSS


def objective_of_direction(direction: str) -> Objective:
    """A search's objective from its direction: minimize the final loss, or maximize the accuracy."""
    return BY_ACCURACY if direction == MAXIMIZE else BY_LOSS
