"""The jobs of one launch, each on the next free slot's worker: one worker process per slot, started with its GPU.

Each worker is a loky process of its own (joblib's: a fresh interpreter,
not a fork, with the task pickled by cloudpickle as under Hydra's joblib
launcher), whose environment names its GPU. A worker runs one job at a
time, so no more jobs run at once than there are slots, and a GPU holds at
most ``jobs_per_gpu`` of them.
"""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any, Dict, Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from joblib.externals.loky import ProcessPoolExecutor
from omegaconf import DictConfig, open_dict

from .gpus_launcher import GpusLauncher

log = logging.getLogger(__name__)


def execute_job(
    idx: int,
    overrides: Sequence[str],
    hydra_context: HydraContext,
    config: DictConfig,
    task_function: TaskFunction,
    singleton_state: Dict[Any, Any],
) -> JobReturn:
    """One job in its worker, as Hydra's joblib launcher runs it: its config, its number, its directory."""
    setup_globals()
    Singleton.set_state(singleton_state)
    sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    HydraConfig.instance().set_config(sweep_config)
    return run_job(
        hydra_context=hydra_context,
        config=sweep_config,
        task_function=task_function,
        job_dir_key="hydra.sweep.dir",
        job_subdir_key="hydra.sweep.subdir",
    )


def slot_environment(gpu: int) -> dict[str, str]:
    """A worker's own variables: its one GPU, numbered as nvidia-smi numbers it (CUDA's default order is fastest first)."""
    return {"CUDA_VISIBLE_DEVICES": str(gpu), "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


def launch(launcher: GpusLauncher, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
    setup_globals()
    assert launcher.config is not None and launcher.hydra_context is not None and launcher.task_function is not None
    configure_log(launcher.config.hydra.hydra_logging, launcher.config.hydra.verbose)
    sweep_dir = Path(str(launcher.config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    gpus = sorted(set(launcher.slots))
    log.info(
        f"GPUs {','.join(map(str, gpus))}, {launcher.jobs_per_gpu} job(s) each: "
        f"launching {len(job_overrides)} jobs, {len(launcher.slots)} at a time"
    )
    log.info(f"Launching jobs, sweep output dir : {sweep_dir}")
    for idx, overrides in enumerate(job_overrides):
        log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")

    singleton_state = Singleton.get_state()
    workers = [ProcessPoolExecutor(max_workers=1, env=slot_environment(gpu)) for gpu in launcher.slots]
    results: list[Any] = [None] * len(job_overrides)
    running: dict[Future, tuple[int, int]] = {}  # a job's future -> (its place in this launch, its worker)
    waiting = list(enumerate(job_overrides))
    free = list(range(len(workers)))
    try:
        while waiting or running:
            while waiting and free:
                worker = free.pop(0)
                place, overrides = waiting.pop(0)
                future = workers[worker].submit(
                    execute_job, initial_job_idx + place, overrides, launcher.hydra_context, launcher.config,
                    launcher.task_function, singleton_state,
                )
                running[future] = (place, worker)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: running[f][0]):
                place, worker = running.pop(future)
                # A job's exception (the ExitWith of a job stopped by a signal) ends the launch: no
                # further job starts, and the running ones, which got the signal too, end as they save.
                results[place] = future.result()
                free.append(worker)
    finally:
        for worker in workers:
            worker.shutdown(wait=True)
    return results
