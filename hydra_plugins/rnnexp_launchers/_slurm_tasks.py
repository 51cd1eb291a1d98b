"""What one SLURM task of ``hydra/launcher=slurm`` runs: one job of the sweep, or several one after another.

A task is a Python process that SLURM starts and submitit hands a pickled
callable. Most of a small job's time there goes into starting Python and
importing torch, so a task may run several jobs in that one process, as the
basic launcher does on a laptop:

- :class:`JobPack`, ``jobs_per_task=K``: the K jobs it was given, in order.
- :class:`ClaimedJobs`, ``jobs_per_task=auto``: the sweep's next unclaimed job,
  again and again, until ``task_minutes`` have passed or none is left.

Each job keeps its own directory, records and TensorBoard run. A task that
SLURM requeues (preemption, ``scontrol requeue``, its time limit with
``max_num_timeout`` left) starts its callable again from the top, and
rnnexp.sweep.job_dir's rule makes that right: a job that ended is kept, the
job that was cut short resumes from its ``last.pt``, the rest run.
"""

from __future__ import annotations

import copy
import errno
import itertools
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from rnnexp.results import METRICS_NAME, RunResult, Status

Job = Tuple[int, List[str]]  # (the job's number in the sweep, its overrides)
Composed = Dict[int, DictConfig]  # job number -> its config, composed where the sweep was checked


@dataclass
class JobRunner:
    """What a task needs to run jobs of the sweep: Hydra's context (with Hydra's own loader), the task function, the sweep's config."""

    hydra_context: HydraContext
    task_function: TaskFunction
    config: DictConfig

    def run(self, number: int, overrides: Sequence[str], composed: Optional[DictConfig]) -> JobReturn:
        """One job in this process, as Hydra's submitit launcher runs each: its config, number and directory.

        ``composed``: its config as the launching process composed it to check
        the sweep; None composes it here.
        """
        import submitit

        if composed is None:
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        else:
            # A copy: Hydra makes the config it runs read-only, and a task that submitit requeues at its
            # time limit is pickled as it is then, to run these configs again.
            config = copy.deepcopy(composed)
        with open_dict(config.hydra.job) as job:
            job.id = submitit.JobEnvironment().job_id  # the task's SLURM id, shared by the jobs it runs
            job.num = number
        return run_job(
            hydra_context=self.hydra_context,
            task_function=self.task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )


def stopped(result: JobReturn) -> bool:
    """Whether the job ended interrupted: its time was up (not requeued) or it was stopped; the task starts no further job."""
    metrics = Path(str(result.hydra_cfg.hydra.runtime.output_dir)) / METRICS_NAME if result.hydra_cfg else None
    try:
        return metrics is not None and RunResult.read(metrics).status is Status.INTERRUPTED
    except (OSError, ValueError):
        return False


@dataclass
class JobPack:
    """``jobs_per_task=K``: these jobs, one after another; the task's result is their JobReturns, in order.

    A job that ended interrupted ends the pack: the task's time is up (or it
    was stopped), so the jobs after it would only be cut short in turn. They
    are left unstarted, listed as missing in the summary, and ``continue=``
    runs them.
    """

    runner: JobRunner
    jobs: List[Job]
    singleton_state: Dict[Any, Any]
    composed: Composed

    def __call__(self) -> List[JobReturn]:
        Singleton.set_state(self.singleton_state)
        setup_globals()
        results = []
        for number, overrides in self.jobs:
            results.append(self.runner.run(number, overrides, self.composed.get(number)))
            if stopped(results[-1]):
                break
        return results

    def checkpoint(self) -> Any:
        """submitit, requeueing the task at its time limit: the same pack again (its ended jobs are kept)."""
        import submitit

        return submitit.helpers.DelayedSubmission(self)


@dataclass
class ClaimedJobs:
    """``jobs_per_task=auto``: take the sweep's next unclaimed job until ``seconds`` have passed; the result maps job numbers to JobReturns.

    A job is claimed by creating its file in ``claims`` exclusively
    (``O_CREAT | O_EXCL``, atomic on a local disk and on NFS from v3), which
    holds the claiming task's SLURM id. A requeued task keeps its id, so it
    first runs again the jobs it claimed before (the ended ones are kept).
    The jobs' composed configs are in one file there (COMPOSED_FILE), read by
    each task, rather than pickled into every task.
    """

    runner: JobRunner
    jobs: List[Job]
    singleton_state: Dict[Any, Any]
    claims: str
    seconds: float

    def __call__(self) -> Dict[int, JobReturn]:
        import submitit

        Singleton.set_state(self.singleton_state)
        setup_globals()
        me = submitit.JobEnvironment().job_id
        started = time.monotonic()
        composed = read_composed(self.claims)
        results: Dict[int, JobReturn] = {}
        for number, overrides in itertools.chain(self._claimed_by(me), self._new_claims(me, started)):
            results[number] = self.runner.run(number, overrides, composed.get(number))
            if stopped(results[number]):
                break
        return results

    def _claimed_by(self, me: str) -> List[Job]:
        return [(number, overrides) for number, overrides in self.jobs if claim_holder(self.claims, number) == me]

    def _new_claims(self, me: str, started: float) -> Iterator[Job]:
        """A generator, so each job is claimed only once the one before has ended: the time is checked between jobs."""
        ran = False
        for number, overrides in self.jobs:
            if ran and time.monotonic() - started >= self.seconds:
                return
            if claim(self.claims, number, me):
                ran = True
                yield number, overrides

    def checkpoint(self) -> Any:
        import submitit

        return submitit.helpers.DelayedSubmission(self)


COMPOSED_FILE = "composed.pkl"


def write_composed(claims: str, composed: Composed) -> None:
    with open(os.path.join(claims, COMPOSED_FILE), "wb") as file:
        pickle.dump(composed, file)


def read_composed(claims: str) -> Composed:
    try:
        with open(os.path.join(claims, COMPOSED_FILE), "rb") as file:
            return pickle.load(file)
    except FileNotFoundError:
        return {}


def claim(claims: str, number: int, me: str) -> bool:
    """Claim job ``number`` for task ``me``; False when another task has it."""
    try:
        descriptor = os.open(os.path.join(claims, str(number)), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except OSError as error:
        if error.errno == errno.EEXIST:
            return False
        raise
    with os.fdopen(descriptor, "w") as file:
        file.write(me)
    return True


def claim_holder(claims: str, number: int) -> Optional[str]:
    """The SLURM id of the task that claimed job ``number``; None while no task has."""
    try:
        return Path(claims, str(number)).read_text() or None
    except FileNotFoundError:
        return None
