"""A search run again into its own sweep directory (``continue=``): what the earlier attempt left to finish.

The directory says which jobs ended (earlier_jobs: their metrics.json),
and the study, kept in the directory's journal or a database, which trials
are still running. A cut search leaves its trials running: the ones whose
job had ended before the cut are told now, from the job's metrics.json (a
pruned job's trial pruned); the ones whose job was interrupted, or never
started, are run again as the same job, under the same number, reporting to
the same trial, and told when they return. Every trial of the study thus
ends once, and the jobs keep their numbers. Jobs that the study does not
know (a search from before its study was kept) resume without a trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import optuna
from optuna.trial import TrialState

from rnnexp.results import ENDED, METRICS_NAME, RunResult, saved_overrides
from rnnexp.search.outcomes import tell
from rnnexp.search.space import SearchSpace
from rnnexp.search.trial_report import JOB_ATTR, belongs_to


@dataclass
class EarlierJobs:
    """The jobs a sweep directory holds, as a continued search sees them."""

    ended: dict[int, RunResult] = field(default_factory=dict)  # by number: ok, diverged, failed or pruned
    next_job: int = 0  # the number after the highest job's
    unfinished: dict[int, list[str]] = field(default_factory=dict)  # the others' overrides, by number


def earlier_jobs(sweep_dir: str | Path) -> EarlierJobs:
    """What a sweep directory holds of an earlier attempt of its sweep; nothing for a new directory."""
    found = EarlierJobs()
    for job in sorted(Path(sweep_dir).glob("*_*")) if Path(sweep_dir).is_dir() else []:
        number = job.name.partition("_")[0]
        overrides = saved_overrides(job) if job.is_dir() and number.isdigit() else None
        if overrides is None:
            continue
        found.next_job = max(found.next_job, int(number) + 1)
        record = job / METRICS_NAME
        result = RunResult.read(record) if record.is_file() else None
        if result is not None and result.status in ENDED:
            found.ended[int(number)] = result
        else:
            found.unfinished[int(number)] = overrides
    return found


@dataclass
class PendingJob:
    """A job of the earlier attempt to run again: its number, its overrides, and its trial's number (None: no trial)."""

    num: int
    overrides: list[str]
    trial: Optional[int]


@dataclass
class EarlierTrials:
    """What a continued search finds: trials that ended, jobs to run again, and the number its new jobs start from."""

    ended: int = 0
    pending: list[PendingJob] = field(default_factory=list)
    next_job: int = 0
    resumable: set[int] = field(default_factory=set)  # the jobs that left a directory: pending ones in it resume

    def describe(self, new: int) -> str:
        """The line a continued search starts with; ``new``: the trials it will add."""
        resumed = sum(job.num in self.resumable for job in self.pending)
        unstarted = len(self.pending) - resumed
        return (
            f"Continuing the search: {self.ended} trials ended, {resumed} to resume"
            + (f", {unstarted} drawn but never started" if unstarted else "")
            + (f", {new} new from job {self.next_job}" if new > 0 else ", none new")
        )


def earlier_trials(study: optuna.Study, space: SearchSpace, storage_setting: Optional[str], sweep_dir: str | Path) -> EarlierTrials:
    """Settle what an earlier attempt of the search in ``sweep_dir`` left: tell the trials whose job ended, list the rest."""
    jobs = earlier_jobs(sweep_dir)
    trials = {
        trial.user_attrs[JOB_ATTR]: trial
        for trial in study.get_trials(deepcopy=False)
        if belongs_to(trial, storage_setting, sweep_dir)
    }
    found = EarlierTrials(ended=len(jobs.ended), resumable=set(jobs.unfinished))
    for num, trial in sorted(trials.items()):
        if trial.state is not TrialState.RUNNING:
            continue
        if num in jobs.ended:
            tell(study, trial.number, jobs.ended[num], returned=None)  # ended after the study last heard of it
        elif num in jobs.unfinished:
            found.pending.append(PendingJob(num, jobs.unfinished[num], trial.number))
        elif set(space.distributions) <= set(trial.params):
            found.pending.append(PendingJob(num, space.overrides(trial.params), trial.number))  # never started
        else:
            study.tell(trial.number, state=TrialState.FAIL)  # cut before its values were drawn: nothing to run
    told = {job.num for job in found.pending}
    found.pending += [PendingJob(num, overrides, None) for num, overrides in jobs.unfinished.items() if num not in told]
    found.pending.sort(key=lambda job: job.num)
    found.next_job = max([jobs.next_job, *(job.num + 1 for job in found.pending)])
    return found
