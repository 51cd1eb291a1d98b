"""What the study is told of a trial whose job has returned: read from the job's metrics.json.

The record says how the job ended, whichever launcher ran it and in whatever
process: a pruned job's trial is told it was pruned (the sampler learns from
its values up to there), a finished one the search's objective (its final
loss when the study minimises, its accuracy when it maximises:
rnnexp.training.objectives), one that diverged or failed the worst value of
the search's direction, so that the study goes on past it. An interrupted job's trial is left running: ``continue=`` resumes
the job, which reports to it again, and tells it then.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import optuna
from optuna.trial import TrialState

from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.training.objectives import objective_of_direction


def job_record(job_return: Any) -> Optional[RunResult]:
    """The metrics.json of the job behind a launcher's JobReturn; None where it wrote none."""
    path = Path(job_return.hydra_cfg.hydra.runtime.output_dir) / METRICS_NAME
    try:
        return RunResult.read(path) if path.is_file() else None
    except (ValueError, TypeError):  # cut off mid-write by a kill: as if absent
        return None


def worst(direction: str) -> float:
    """The value that no trial can do worse than: inf when minimising, -inf when maximising."""
    return math.inf if direction == "minimize" else -math.inf


def tell(study: optuna.Study, number: int, record: Optional[RunResult], returned: Optional[float]) -> Optional[TrialState]:
    """Tell trial ``number`` how its job ended; the state told, or None for a job that has not ended (left running).

    ``returned``: what the job returned, for a job that left no record (its
    directory held another run's files).
    """
    status = record.status if record is not None else None
    if status is Status.INTERRUPTED:
        return None
    if status is Status.PRUNED:
        study.tell(number, state=TrialState.PRUNED)  # Optuna takes its last reported value as its value
        return TrialState.PRUNED
    direction = study.direction.name.lower()
    value = getattr(record, objective_of_direction(direction).metric) if record is not None else returned
    finite = value is not None and math.isfinite(value) and status in (Status.OK, None)
    study.tell(number, value if finite else worst(direction))
    return TrialState.COMPLETE
