"""rnnexp's Hydra sweeper for an Optuna search (conf/hparams_search/optuna.yaml selects it), and its config options.

Hydra finds sweepers only under the hydra_plugins namespace, so the class
that Hydra instantiates lives here; the search itself (its keys, its space,
its loop, its study) is rnnexp.search. rnnexp imports nothing of this
package: its command line registers the class by the name its config gives
(rnnexp.search.config.SWEEPER_TARGET).

This module imports no optuna: Hydra imports every plugin module whenever it
looks for plugins, with or without the sweep extra. The search loads it once
it runs.
"""

from __future__ import annotations

import logging
from typing import Any, List, Optional

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from rnnexp.search.config import kind_unknown_note, register_search_configs, search_objective

register_search_configs()


class OptunaSearch(Sweeper):
    """An Optuna search over Hydra overrides: each trial one job of the sweep directory."""

    def __init__(
        self,
        sampler: DictConfig,
        direction: Any,
        storage: Optional[str],
        study_name: Optional[str],
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        params: Optional[DictConfig],
        pruner: str = "none",
        pruner_args: Optional[DictConfig] = None,
    ) -> None:
        self.settings = dict(
            sampler=sampler,
            direction=direction,  # resolved in setup, where the task's config tells its kind
            storage=storage,
            study_name=study_name,
            n_trials=n_trials,
            n_jobs=max(1, n_jobs),
            max_failure_rate=max_failure_rate,
            params=params,
            pruner=pruner,
            pruner_args=pruner_args,
        )
        self.launcher: Any = None
        self.config: Optional[DictConfig] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        note = kind_unknown_note(self.settings["direction"], config.get("task"))
        if note is not None:
            logging.getLogger("rnnexp").info(note)
        objective = search_objective(self.settings["direction"], config.get("task"))
        if objective is not None:  # a list of directions goes to Optuna as it is, which refuses it
            self.settings["direction"] = objective.direction
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: List[str]) -> None:
        from rnnexp.search.loop import SearchLoop  # optuna: only once a search runs

        SearchLoop(launcher=self.launcher, sweep_dir=self.config.hydra.sweep.dir, **self.settings).run(arguments)
