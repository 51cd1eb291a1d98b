"""An Optuna search's settings, checked before its sweep directory or any job exists (rnnexp.cli.start_checks).

Each refusal is one line naming the key: a sampler without its package, a
pruner or pruner argument that Optuna refuses, a search space the search
cannot draw from, a storage that cannot be written. optuna is imported only
for the space and the pruner, so that a multirun that is no search never loads it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from rnnexp.search.config import check_sampler
from rnnexp.search.pruners import make_pruner
from rnnexp.search.study_storage import check_storage


def check_search(sweeper: Mapping[str, Any], task_overrides: Sequence[str]) -> None:
    """Refuse a search's settings that no job could run with; the pruner is built once here, so Optuna judges its arguments."""
    from rnnexp.search.space import SearchSpace  # optuna: only for a search

    check_sampler(sweeper["sampler"])
    make_pruner(sweeper.get("pruner", "none"), sweeper.get("pruner_args"))
    SearchSpace.parse(sweeper.get("params"), list(task_overrides))
    check_storage(sweeper.get("storage"))
