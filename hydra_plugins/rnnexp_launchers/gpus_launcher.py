"""The ``gpus`` launcher: a local sweep whose jobs each get a GPU of their own (``hydra/launcher=gpus``).

Hydra's joblib launcher runs every job in one pool whose workers all see
every GPU, so each job's ``cuda`` is the first GPU (Hydra issues 377, 1331,
2602); Hydra's maintainers left it to a launcher. This one starts one
worker process per slot, each with ``CUDA_VISIBLE_DEVICES`` naming its GPU
before anything in it can initialise CUDA, and hands each job to the next
free worker. Its settings are checked in setup(), before Hydra creates the
sweep directory: a refusal leaves nothing behind.
"""

from __future__ import annotations

import logging
from typing import Any, List, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from .slots import plan_slots

log = logging.getLogger(__name__)


class GpusLauncher(Launcher):
    def __init__(self, gpus: Optional[List[int]] = None, jobs_per_gpu: int = 1) -> None:
        self.gpus = None if gpus is None else [int(g) for g in gpus]
        self.jobs_per_gpu = int(jobs_per_gpu)
        self.slots: list[int] = []
        self.config: Optional[DictConfig] = None
        self.task_function: Optional[TaskFunction] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context
        self.slots = plan_slots(self.gpus, self.jobs_per_gpu, _devices(config))

    @staticmethod
    def check_config(config: DictConfig) -> None:
        """Refuse bad launcher keys before the sweep has a directory (rnnexp's start checks call this).

        setup() checks them again, for a sweep started without rnnexp's
        checks; it comes only after Hydra's callbacks have written into the
        sweep directory.
        """
        launcher = config.hydra.launcher
        plan_slots(launcher.get("gpus"), int(launcher.get("jobs_per_gpu", 1)), _devices(config))

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from . import _core  # joblib's loky: only once a sweep runs

        return _core.launch(launcher=self, job_overrides=job_overrides, initial_job_idx=initial_job_idx)


def _devices(config: DictConfig) -> list[str]:
    """The ``device`` settings of the sweep's jobs: the config's, and each value of a ``device=`` override."""
    devices = [str(config.get("device", "auto"))]
    for override in OverridesParser.create().parse_overrides(list(config.hydra.overrides.task)):
        if override.key_or_group.lstrip("+~") != "device":
            continue
        values: Any = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        devices += [str(value) for value in values]
    return devices
