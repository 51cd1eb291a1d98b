"""Submitting a sweep to SLURM as tasks that fit the cluster, and gathering each job's result.

The jobs are packed into tasks (rnnexp_launchers._slurm_tasks), the tasks cut
into arrays that fit ``MaxArraySize`` and ``MaxSubmitJobs``
(rnnexp_launchers.slurm_limits), and the arrays queued together, so SLURM
runs them side by side; under ``MaxSubmitJobs`` the next array is queued as
soon as the tasks already queued leave room. Job numbers are the sweep's
own, so directories, the summary, requeue and ``continue=`` are those of
one array.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.types import HydraContext
from omegaconf import DictConfig, OmegaConf, open_dict

from rnnexp.errors import UserError
from rnnexp.internals.hydra_private import ValidatedConfigs
from rnnexp.sweep.continuation import finish_command

from .slurm_launcher import SlurmLauncher
from .slurm_limits import (
    Limits,
    Refused,
    arrays,
    arrays_at_once,
    cluster_max_array_size,
    check_task_time,
    cluster_slots,
    limits,
    partition_max_minutes,
    parallelism,
)
from ._slurm_tasks import ClaimedJobs, Composed, Job, JobPack, JobRunner, write_composed

log = logging.getLogger(__name__)

# How often the launcher looks for room under MaxSubmitJobs, in seconds.
ROOM_POLL_S = 5.0


def launch(launcher: SlurmLauncher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> List[JobReturn]:
    """Run one batch of the sweep on SLURM and wait for it: a JobReturn per job, in the batch's order."""
    assert launcher.config is not None and launcher.hydra_context is not None and launcher.task_function is not None
    config = launcher.config
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if "mode" in config.hydra.sweep:
        os.chmod(sweep_dir, mode=int(str(config.hydra.sweep.mode), 8))
    jobs: List[Job] = [(initial_job_idx + place, list(overrides)) for place, overrides in enumerate(job_overrides)]
    log.info(f"Submitit 'slurm' sweep output dir : {sweep_dir}")
    for number, overrides in jobs:
        log.info(f"\t#{number} : {' '.join(filter_overrides(overrides))}")
    fit = limits(launcher.max_array_size, launcher.max_submit_jobs)
    submitter = Submitter(launcher, fit, sweep_dir, len(jobs))
    partition = launcher.params.get("partition")
    check_task_time(submitter.task_minutes, partition_max_minutes(partition), launcher.packing,
                    int(launcher.params.get("timeout_min", 60)), partition)
    singleton_state = Singleton.get_state()
    loader = launcher.hydra_context.config_loader
    runner = JobRunner(HydraContext(ValidatedConfigs.unwrapped(loader), launcher.hydra_context.callbacks),
                       launcher.task_function, config)
    composed = checked_configs(loader, config, jobs)
    packing = launcher.packing
    if packing.per_task is not None:
        k = packing.per_task
        packs = [JobPack(runner, part, singleton_state, {n: composed[n] for n, _ in part if n in composed})
                 for part in (jobs[start:start + k] for start in range(0, len(jobs), k))]
        returned = [task.results()[0] for task in submitter.submit(packs)]
        by_number = {result_number: result for pack, results in zip(packs, returned)
                     for (result_number, _), result in zip(pack.jobs, results)}
    else:
        by_number = claimed_rounds(launcher, runner, jobs, composed, submitter, singleton_state)
    return [by_number.get(number) or not_started(overrides) for number, overrides in jobs]


def checked_configs(loader: Any, config: DictConfig, jobs: List[Job]) -> Composed:
    """The configs the sweeper composed to check these jobs, where rnnexp kept them: sent to the tasks, not composed again there.

    Each is marked as launched (``hydra.job.id``), as the basic launcher marks
    the ones it takes; the task sets its own SLURM id.
    """
    taken: Composed = {}
    take = getattr(loader, "take_checked", None)
    for number, overrides in jobs if take is not None else []:
        found = take(config, overrides)
        if found is not None:
            with open_dict(found.hydra.job) as job:
                job.id = f"{found.hydra.job.name}_{number}"
            taken[number] = found
    return taken


def claimed_rounds(launcher: SlurmLauncher, runner: JobRunner, jobs: List[Job], composed: Composed,
                   submitter: "Submitter", singleton_state: Dict[Any, Any]) -> Dict[int, JobReturn]:
    """``jobs_per_task=auto``: tasks that share the jobs out, one per slot SLURM may run at once; another round while jobs are left unclaimed."""
    claims = sweep_dir_claims(launcher)
    write_composed(str(claims), composed)
    seconds = launcher.packing.task_minutes * 60
    # The tasks that can run at once: the sweep's parallelism, what the account may queue, what the partition's cores hold.
    params = launcher.params
    known = [int(params.get("array_parallelism", 1)), submitter.limits.submit_jobs,
             cluster_slots(params.get("partition"), params.get("cpus_per_task"))]
    slots = min(limit for limit in known if limit is not None)
    results: Dict[int, JobReturn] = {}
    left = jobs
    while left:
        tasks = [ClaimedJobs(runner, left, singleton_state, str(claims), seconds)
                 for _ in range(launcher.packing.tasks(len(left), slots))]
        for task in submitter.submit(tasks):
            results.update(task.results()[0])
        # Jobs a task claimed but did not run (it was stopped) stay for continue=, as unstarted jobs do.
        unclaimed = [job for job in left if job[0] not in results and not (claims / str(job[0])).exists()]
        if len(unclaimed) == len(left):
            break  # nothing was claimed: no round would do better
        left = unclaimed
    return results


def sweep_dir_claims(launcher: SlurmLauncher) -> Path:
    """A folder of this launch's own (a continued sweep claims afresh), beside submitit's files."""
    assert launcher.config is not None
    folder = str(launcher.params.get("submitit_folder", ""))
    base = Path(folder) if folder and "%" not in folder else Path(str(launcher.config.hydra.sweep.dir)) / ".submitit"
    claims = base / "claims" / uuid.uuid4().hex
    claims.mkdir(parents=True)
    return claims


def not_started(overrides: Sequence[str]) -> JobReturn:
    """A job its task never started (the task's time was up): worst for a sweeper, missing in the summary, run by continue=."""
    return JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED, _return_value=math.inf)


class Submitter:
    """Queues callables as SLURM tasks, in arrays that fit ``limits``, and refuses in one line what SLURM refuses."""

    def __init__(self, launcher: SlurmLauncher, limits: Limits, sweep_dir: Path, jobs: int) -> None:
        self.launcher = launcher
        self.limits = limits
        self.sweep_dir = sweep_dir
        self.jobs = jobs
        self.task_minutes = launcher.packing.task_time_min(int(launcher.params.get("timeout_min", 60)))

    def submit(self, callables: Sequence[Callable[[], Any]]) -> List[Any]:
        """One submitit Job per callable, in their order."""
        from submitit.core.utils import FailedJobError, JobPaths

        chunks = arrays(len(callables), self.limits.per_array)
        at_once = arrays_at_once([len(chunk) for chunk in chunks], self.limits.submit_jobs)
        share = parallelism(int(self.launcher.params.get("array_parallelism", 1)), at_once, len(chunks[0]))
        executor = self._executor(share)
        if len(chunks) > 1:
            log.info(f"{len(callables)} tasks in {len(chunks)} arrays of at most {len(chunks[0])} ({self._why()})")
        submitted: List[Any] = []
        for chunk in chunks:
            self._wait_for_room(submitted, len(chunk))
            folder = JobPaths.get_first_id_independent_folder(executor.folder)  # where submitit writes them
            before = set(folder.iterdir()) if folder.is_dir() else set()
            try:
                # submitit prints sbatch's error itself as well: the line below says it once.
                with contextlib.redirect_stderr(io.StringIO()):
                    submitted += executor.submit_array([callables[i] for i in chunk])
            except FailedJobError as error:
                # The tasks' pickles and the sbatch file, written before sbatch answered, belong to no job.
                for written in set(folder.iterdir()) - before:
                    written.unlink(missing_ok=True)
                refused = Refused(str(error), len(chunk), len(submitted), len(callables), self.jobs, self.task_minutes)
                raise UserError(refused.line(finish_command(self.sweep_dir), cluster_max_array_size())) from None
        return submitted

    def _why(self) -> str:
        said = []
        if self.limits.array_size is not None:
            said.append(f"max_array_size {self.limits.array_size}: {self.limits.array_size_from}")
        if self.limits.submit_jobs is not None:
            said.append(f"max_submit_jobs {self.limits.submit_jobs}: {self.limits.submit_jobs_from}")
        return "; ".join(said)

    def _wait_for_room(self, submitted: List[Any], size: int) -> None:
        """Under MaxSubmitJobs: wait until this sweep's queued tasks leave room for ``size`` more."""
        limit = self.limits.submit_jobs
        if limit is None:
            return
        while sum(not task.done() for task in submitted) + size > limit:
            time.sleep(ROOM_POLL_S)

    def _executor(self, parallelism: int) -> Any:
        """submitit's executor from Hydra's submitit_slurm keys, as Hydra's launcher builds it; each task's time for its jobs."""
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

        params = dict(self.launcher.params)
        params["timeout_min"] = self.task_minutes
        params["array_parallelism"] = parallelism
        executor = submitit.AutoExecutor(
            cluster="slurm", folder=params.pop("submitit_folder"), slurm_max_num_timeout=params.pop("max_num_timeout", 0)
        )
        shared = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(**{key if key in shared else f"slurm_{key}": value for key, value in params.items()})
        return executor
