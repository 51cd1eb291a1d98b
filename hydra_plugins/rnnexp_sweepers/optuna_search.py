"""Hydra's Optuna sweeper, made to continue a search in its own sweep directory.

``python -m rnnexp continue=<sweep dir>`` runs an Optuna sweep again into
its directory. Hydra's sweeper would number its trials' jobs from 0 again and
run ``n_trials`` more: the new trials' jobs would land in the directories of
the first ones. This one resumes the trials that were cut short in their
own directories, counts every trial the directory holds toward ``n_trials``,
and numbers new jobs after the last; with a ``storage``, the study itself is
loaded too, so the sampler learns from the trials that ended. conf/hparams_search/optuna.yaml selects it.
"""

from __future__ import annotations

import logging
from typing import Any, List

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class OptunaSearch(Sweeper):
    def __init__(self, **settings: Any) -> None:
        # Imported here: Hydra imports this module whenever it looks for plugins,
        # with or without the sweep extra that brings Optuna.
        import optuna

        from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper

        # Optuna's own handler would announce the study ("A new study created in
        # memory"), which Hydra's sweeper names too; its warnings still show.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.search = OptunaSweeper(**settings)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: List[str]) -> None:
        from rnnexp.sweep.continuation import earlier_jobs, fail_stale_trials

        search = self.search.sweeper  # Hydra's OptunaSweeperImpl: its n_trials and job_idx drive its loop
        earlier = earlier_jobs(search.config.hydra.sweep.dir)
        if earlier.next_job:
            if search.storage is not None:
                fail_stale_trials(search.storage, search.study_name)
            log.info(
                f"Continuing the search: {earlier.ended} trials ended, {len(earlier.unfinished)} to resume, "
                f"new ones from job {earlier.next_job}"
            )
            # A trial cut short resumes in its own directory; its loss reaches the
            # summary, but not the sampler, which has marked it failed.
            for number, overrides in earlier.unfinished:
                search.launcher.launch([overrides], initial_job_idx=number)
            search.n_trials -= earlier.ended + len(earlier.unfinished)
            search.job_idx = earlier.next_job
            if search.n_trials <= 0:
                return None
        return self.search.sweep(arguments)
