"""rnnexp's Hydra sweeper for an Optuna search (conf/hparams_search/optuna.yaml selects it).

Its keys are those of Hydra's Optuna sweeper (hydra-optuna-sweeper 1.3),
with a pruner added; it runs on Optuna's own ask-and-tell interface, so on
current Optuna releases (_search_loop.py). The jobs report each epoch's loss
to their trials themselves (rnnexp.sweep.trial_report), through a storage
that every launcher's jobs reach; ``continue=<sweep dir>`` finishes a cut
search in its own directory (_earlier_trials.py).

This module imports no optuna: Hydra imports every plugin module whenever it
looks for plugins, and rnnexp's command line imports this one to register
it, with or without the sweep extra. The modules that import optuna are
named with a leading underscore, which Hydra's scan skips; the search loads
them once it runs.
"""

from __future__ import annotations

import importlib.util
from typing import Any, List, Mapping, Optional

from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hydra_plugins.rnnexp_sweepers.config import SAMPLER_PACKAGES, SAMPLERS, register_search_configs
from rnnexp.errors import UserError

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
            direction=str(getattr(direction, "name", direction)),  # the schema holds an enum
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
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def sweep(self, arguments: List[str]) -> None:
        from hydra_plugins.rnnexp_sweepers._search_loop import SearchLoop  # optuna: only once a search runs

        SearchLoop(launcher=self.launcher, sweep_dir=self.config.hydra.sweep.dir, **self.settings).run(arguments)


def check_sampler(sampler: Mapping[str, Any]) -> None:
    """Refuse a sampler whose package is missing (cmaes), in one line, before any job runs."""
    for name, node in SAMPLERS.items():
        package = SAMPLER_PACKAGES.get(name)
        if node._target_ == sampler.get("_target_") and package and importlib.util.find_spec(package) is None:
            raise UserError(f"hydra/sweeper/sampler={name}: {node._target_} needs the {package} package; pip install {package}")


def check_search_space(params: Optional[Mapping[str, Any]], arguments: List[str]) -> None:
    """Refuse a search space the search cannot draw from, in one line, before any job runs (rnnexp.cli.start_checks)."""
    from hydra_plugins.rnnexp_sweepers._search_space import SearchSpace  # optuna: only for a search

    SearchSpace.parse(params, arguments)
