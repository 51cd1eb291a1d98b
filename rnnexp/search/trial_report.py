"""Inside a job of an Optuna search: report each epoch's loss to the job's trial, and stop when the pruner says so.

rnnexp's Optuna search (rnnexp.search.loop) asks its study for a
trial, marks it with the sweep directory and the number of the job that will
run it, and only then launches the job. The job, in whatever process or node
runs it, opens the same storage (rnnexp.search.study_storage) from its own
Hydra config, finds its trial by those marks, and after each epoch reports
the study's objective as the trial's intermediate value at that epoch: its
monitored loss when the study minimises, its accuracy when it maximises
(validation, or training where the task has no split). The pruner, built from the same
settings (rnnexp.search.pruners), compares it with the other trials' at the
same epoch. The trainer sees only a callable (rnnexp.training.trainer.EpochHook).

A job outside a search, or one that finds no trial (the trial of a search
continued from before its study was kept), trains with no one listening.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

from hydra.types import RunMode
from omegaconf import DictConfig

from rnnexp.search.config import is_search
from rnnexp.search.pruners import make_pruner
from rnnexp.search.study_storage import open_storage, resolved_study_name
from rnnexp.training.objectives import ACCURACY, objective_of_direction

log = logging.getLogger("rnnexp")

# The marks the sweeper sets on a trial before it launches the trial's job.
JOB_ATTR = "rnnexp_job"  # the job's number, hydra.job.num
SWEEP_ATTR = "rnnexp_sweep_dir"  # the sweep directory, resolved: a shared database may hold several sweeps' trials


def sweep_mark(sweep_dir: str | Path) -> str:
    """How a trial names its sweep directory: its resolved path, which every node that mounts it at the same place shares."""
    return str(Path(sweep_dir).resolve())


def belongs_to(trial: Any, storage_setting: Optional[str], sweep_dir: str | Path) -> bool:
    """Whether ``trial`` was asked by the sweep in ``sweep_dir``.

    A study kept in the sweep directory (the default journal) holds that
    sweep's trials only, wherever the directory was moved since; a storage
    given elsewhere may hold other sweeps', told apart by their mark.
    """
    if JOB_ATTR not in trial.user_attrs:
        return False
    return storage_setting is None or trial.user_attrs.get(SWEEP_ATTR) == sweep_mark(sweep_dir)


def epoch_reporter(hydra_cfg: DictConfig) -> Optional[Callable[[int, float, float], bool]]:
    """For a job of rnnexp's Optuna search, the per-epoch hook that reports to its trial; None for any other job.

    A job that cannot reach the study says so in a warning and trains to its
    end: its result still reaches the study, which the sweeper tells.
    """
    if hydra_cfg.mode != RunMode.MULTIRUN or not is_search(hydra_cfg.get("sweeper")):
        return None
    try:
        return _report_to_trial(hydra_cfg.sweeper, hydra_cfg.sweep.dir, hydra_cfg.job.num)
    except Exception as error:
        log.warning(f"Cannot reach the search's study ({error}): this job reports no losses and is not pruned")
        return None


def _report_to_trial(sweeper: DictConfig, sweep_dir: str, job: int) -> Optional[TrialReport]:
    import optuna

    storage = open_storage(sweeper.get("storage"), sweep_dir)
    name = resolved_study_name(sweeper.get("study_name"))
    pruner = make_pruner(sweeper.get("pruner", "none"), sweeper.get("pruner_args"))
    study = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    mine = [t for t in running if belongs_to(t, sweeper.get("storage"), sweep_dir) and t.user_attrs[JOB_ATTR] == job]
    if not mine:
        log.info(f"No running trial of study {name} is this job's: it reports no losses")
        return None
    # optuna.trial.Trial takes the storage's id of the trial, which a FrozenTrial keeps private.
    trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(name), mine[-1].number)
    return TrialReport(optuna.trial.Trial(study, trial_id))


class TrialReport:
    """Tell a trial each epoch's loss, or accuracy; True when its pruner says the trial should stop there.

    What is told is what the study is told at the end (rnnexp.search.outcomes):
    the loss when it minimises, the accuracy when it maximises, so the pruner
    compares each epoch's value with the other trials' in the study's own
    direction. A report the storage refuses (a shared file system that went
    away) is logged once, and the job trains on to its end: pruning saves
    time, and the run itself is sound.
    """

    def __init__(self, trial: Any):
        self.trial = trial  # an optuna.trial.Trial that is running
        self.objective = objective_of_direction(trial.study.direction.name.lower())
        self.broken = False

    def __call__(self, epoch: int, loss: float, accuracy: float) -> bool:
        if self.broken:
            return False
        value = accuracy if self.objective.metric == ACCURACY else loss
        try:
            self.trial.report(value, step=epoch)  # Optuna's steps are the epochs, counted from 1
            stop = self.trial.should_prune()
        except Exception as error:
            self.broken = True
            log.warning(f"Epoch {epoch} not reported to trial {self.trial.number} ({error}); the job trains on without pruning")
            return False
        if stop:
            log.info(
                f"Pruned by the search after epoch {epoch}: trial {self.trial.number}'s {self.objective.words} "
                f"{value:.4g} is behind the others'"
            )
        return stop
