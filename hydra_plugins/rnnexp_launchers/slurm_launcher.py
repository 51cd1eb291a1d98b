"""The ``slurm`` launcher: Hydra's submitit SLURM launcher, for sweeps of any size and jobs of a few seconds (``hydra/launcher=slurm``).

Hydra's own submits a sweep as one job array, one job to a task: a sweep
above the cluster's ``MaxArraySize`` or ``MaxSubmitJobs`` never starts, and
every job of a few seconds pays for a Python process of its own. This one
takes every key of Hydra's ``submitit_slurm`` and adds:

- ``jobs_per_task``: K jobs to a SLURM task, run one after another in its
  process (``auto``: as many as ``task_minutes`` allow);
- ``max_array_size``, ``max_submit_jobs``: the limits the sweep's tasks are
  split under, into arrays queued together; null reads the cluster's.

Its keys are checked in check_config(), before Hydra creates the sweep
directory; submitit is imported only once a sweep is launched.
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from .slurm_limits import MAX_ARRAY_KEY, MAX_SUBMIT_KEY, Packing, check_limit, check_task_time, partition_max_minutes

log = logging.getLogger(__name__)


class SlurmLauncher(Launcher):
    def __init__(
        self,
        jobs_per_task: Any = 1,
        task_minutes: float = 10.0,
        max_array_size: Optional[int] = None,
        max_submit_jobs: Optional[int] = None,
        **params: Any,
    ) -> None:
        self.packing = Packing.of(jobs_per_task, task_minutes)
        self.max_array_size = check_limit(MAX_ARRAY_KEY, max_array_size)
        self.max_submit_jobs = check_limit(MAX_SUBMIT_KEY, max_submit_jobs)
        # Hydra's submitit_slurm keys, as plain values (they are pickled into every task).
        self.params = {k: OmegaConf.to_container(v, resolve=True) if OmegaConf.is_config(v) else v for k, v in params.items()}
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function

    @staticmethod
    def check_config(config: DictConfig) -> None:
        """Refuse bad keys before the sweep has a directory (rnnexp's start checks call this)."""
        launcher = config.hydra.launcher
        packing = Packing.of(launcher.get("jobs_per_task", 1), launcher.get("task_minutes", 10.0))
        check_limit(MAX_ARRAY_KEY, launcher.get("max_array_size"))
        check_limit(MAX_SUBMIT_KEY, launcher.get("max_submit_jobs"))
        timeout_min, partition = int(launcher.get("timeout_min", 60)), launcher.get("partition")
        check_task_time(packing.task_time_min(timeout_min), partition_max_minutes(partition), packing, timeout_min, partition)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from . import _slurm_submit  # submitit: only once a sweep runs

        return _slurm_submit.launch(self, job_overrides, initial_job_idx)
