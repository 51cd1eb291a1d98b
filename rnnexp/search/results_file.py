"""What a search leaves beside its study: ``optimization_results.yaml``, and the name of its objective in the study.

The file is the one Hydra's Optuna sweeper wrote (hydra-optuna-sweeper's
_impl.py), so scripts written against it read rnnexp's: ``name: optuna``,
then for one objective ``best_params`` (each searched key and its drawn
value) and ``best_value``; for several objectives ``solutions``, the
trials of the Pareto front, each with its ``params`` and ``values``. A
search without a completed trial (every one pruned or failed) writes null
for the best.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf

from rnnexp.files import write_atomically
from rnnexp.training.objectives import objective_of_direction

RESULTS_NAME = "optimization_results.yaml"
def name_objective(study: optuna.Study) -> None:
    """Name the study's objective, which optuna-dashboard and Optuna's plots show instead of "Objective 0".

    The field of metrics.json the study is told (rnnexp.search.outcomes):
    ``final_loss`` when it minimises, ``accuracy`` when it maximises.
    """
    # Study.set_metric_names (Optuna 3.2 on) is marked experimental and warns on every call;
    # the warning says nothing a search's user can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # The search has one direction (hydra.sweeper.direction).
        study.set_metric_names([objective_of_direction(study.direction.name.lower()).metric])


def optimization_results(study: optuna.Study) -> dict[str, Any]:
    """The content of ``optimization_results.yaml`` for ``study``, as Hydra's Optuna sweeper made it."""
    if len(study.directions) > 1:
        return {"name": "optuna", "solutions": [{"params": t.params, "values": t.values} for t in study.best_trials]}
    try:
        best = study.best_trial
    except ValueError:  # no trial completed
        return {"name": "optuna", "best_params": None, "best_value": None}
    return {"name": "optuna", "best_params": best.params, "best_value": best.value}


def write_results(study: optuna.Study, sweep_dir: str | Path) -> Path:
    """Write ``optimization_results.yaml`` into ``sweep_dir``; its path."""
    path = Path(sweep_dir) / RESULTS_NAME
    results = OmegaConf.create(optimization_results(study))
    write_atomically(path, lambda tmp: OmegaConf.save(results, tmp))
    return path
