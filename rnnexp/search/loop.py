"""The search itself: ask the study for a batch of trials, launch their jobs, tell it how each ended; until n_trials.

Each trial is asked with the whole search space (Optuna's define-and-run
``ask``), so its values are drawn at once; it is marked with the number of
the job that will run it and the sweep directory, and only then launched:
the job finds it by those marks and reports to it after every epoch
(rnnexp.search.trial_report), stopping where the pruner says so. When the
batch returns, each trial is told from its job's metrics.json (rnnexp.search.outcomes).

A batch is ``n_jobs`` trials: what a parallel launcher runs at once. TPE
draws each batch from the results of every batch before it. A batch whose
jobs failed outside rnnexp's own handling (a worker that died) ends the
study when more than ``max_failure_rate`` of it did.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from rnnexp.search.earlier_trials import PendingJob, earlier_trials
from rnnexp.search.outcomes import job_record, tell
from rnnexp.search.pruners import make_pruner
from rnnexp.search.results_file import name_objective, write_results
from rnnexp.search.space import SearchSpace
from rnnexp.search.study_storage import open_storage, resolved_study_name
from rnnexp.search.trial_report import JOB_ATTR, SWEEP_ATTR, sweep_mark

log = logging.getLogger(__name__)

class SearchLoop:
    """One run of the search into its sweep directory, with the sweeper's settings."""

    def __init__(
        self, launcher: Any, sweep_dir: str, sampler: DictConfig, direction: str, storage: Optional[str],
        study_name: Optional[str], n_trials: int, n_jobs: int, max_failure_rate: float,
        params: Optional[Mapping[str, Any]], pruner: str, pruner_args: Optional[Mapping[str, Any]],
    ) -> None:
        self.launcher, self.sweep_dir = launcher, Path(sweep_dir)
        self.sampler, self.direction = sampler, direction
        self.storage_setting, self.study_name = storage, study_name
        self.n_trials, self.n_jobs, self.max_failure_rate = n_trials, n_jobs, max_failure_rate
        self.params, self.pruner, self.pruner_args = params, pruner, pruner_args

    def run(self, arguments: Sequence[str]) -> None:
        # Optuna would announce the study ("A new study created in Journal ...") and each trial
        # on its own handler; the jobs' lines and the summary say it. Its warnings still show.
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = SearchSpace.parse(self.params, arguments)
        study = optuna.create_study(
            study_name=resolved_study_name(self.study_name),
            storage=open_storage(self.storage_setting, self.sweep_dir),
            sampler=build_sampler(self.sampler),
            pruner=make_pruner(self.pruner, self.pruner_args),
            direction=self.direction,
            load_if_exists=True,
        )
        name_objective(study)
        earlier = earlier_trials(study, space, self.storage_setting, self.sweep_dir)
        next_job, to_go = earlier.next_job, self.n_trials - earlier.ended - len(earlier.pending)
        if earlier.ended or earlier.pending:
            log.info(earlier.describe(new=to_go))
        for batch in consecutive_batches(earlier.pending, self.n_jobs):
            returns = self.launcher.launch([job.overrides for job in batch], initial_job_idx=batch[0].num)
            self.tell_batch(study, [job.trial for job in batch], returns)
        while to_go > 0:
            trials = [study.ask(fixed_distributions=space.distributions) for _ in range(min(to_go, self.n_jobs))]
            for offset, trial in enumerate(trials):
                trial.set_user_attr(JOB_ATTR, next_job + offset)
                trial.set_user_attr(SWEEP_ATTR, sweep_mark(self.sweep_dir))
            returns = self.launcher.launch([space.overrides(trial.params) for trial in trials], initial_job_idx=next_job)
            self.tell_batch(study, [trial.number for trial in trials], returns)
            next_job, to_go = next_job + len(trials), to_go - len(trials)
        write_results(study, self.sweep_dir)

    def tell_batch(self, study: optuna.Study, numbers: Sequence[Optional[int]], returns: Sequence[Any]) -> None:
        """Tell each trial of a launched batch how its job ended (a number None: a job without a trial)."""
        failures = []
        for number, job_return in zip(numbers, returns):
            try:
                returned = float(job_return.return_value)  # raises what the job raised past rnnexp's handling
            except Exception as error:
                failures.append(error)
                log.warning(f"Job {job_return.hydra_cfg.hydra.job.num} failed outside its run: {error}")
                if number is not None:
                    study.tell(number, state=TrialState.FAIL)
                continue
            if number is not None:
                tell(study, number, job_record(job_return), returned)
        if failures and len(failures) / len(returns) > self.max_failure_rate:
            log.error(f"{len(failures)} of {len(returns)} jobs of the batch failed, more than max_failure_rate={self.max_failure_rate}")
            for job_return in returns:
                job_return.return_value  # raises the first failure, with its traceback, as Hydra's sweepers do


def build_sampler(sampler: DictConfig) -> Any:
    """The sampler of ``hydra.sweeper.sampler``, without its null keys: Optuna's defaults stand for them."""
    settings = {key: value for key, value in OmegaConf.to_container(sampler, resolve=True).items() if value is not None}
    return instantiate(settings)


def consecutive_batches(jobs: Sequence[PendingJob], size: int) -> list[list[PendingJob]]:
    """The jobs in launches of at most ``size``, each of consecutive job numbers (a launch numbers its jobs from its first)."""
    batches: list[list[PendingJob]] = []
    for job in jobs:
        last = batches[-1] if batches else None
        if last is not None and len(last) < size and job.num == last[-1].num + 1:
            last.append(job)
        else:
            batches.append([job])
    return batches
