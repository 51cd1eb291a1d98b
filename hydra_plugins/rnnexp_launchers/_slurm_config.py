"""The keys of ``hydra/launcher=slurm``: Hydra's ``submitit_slurm`` keys, sized for rnnexp's small CPU jobs, and rnnexp's own.

One job per task, one core each (rnnexp then runs torch on one thread). From a login node:
    python -m rnnexp -m hydra/launcher=slurm hydra.launcher.partition=cpu model=cell,rnn seed=0,1,2,3,4
Every key of Hydra's submitit_slurm config can be set the same way
(hydra.launcher.account=..., hydra.launcher.gpus_per_node=1 with device=cuda, ...).
docs/cluster.md explains each key.
"""

# No "from __future__ import annotations": see config.py.
from dataclasses import dataclass
from typing import Any, Optional

from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf

SLURM_LAUNCHER_TARGET = "hydra_plugins.rnnexp_launchers.slurm_launcher.SlurmLauncher"


@dataclass
class SlurmLauncherConf(SlurmQueueConf):
    _target_: str = SLURM_LAUNCHER_TARGET
    # Each job's time limit in minutes; a task that runs K jobs (jobs_per_task) gets K times it (sbatch --time).
    # See signal_delay_s below.
    timeout_min: int = 20
    cpus_per_task: Optional[int] = 1
    mem_gb: Optional[int] = 2
    # Tasks of the sweep that SLURM may run at once, over all of its arrays.
    array_parallelism: int = 64
    # SLURM sends SIGUSR2 this long before the time limit (up to 60 s earlier: it checks its limits
    # only every 30 s or so). The job saves its last.pt after the current step, and submitit requeues
    # it if max_num_timeout allows, to continue from there. Keep timeout_min well above this: a job
    # whose limit is nearer than signal_delay_s + 60 s gets the signal as soon as it starts.
    signal_delay_s: int = 60
    # Times a task that reaches its limit is requeued (0: it ends there, its job interrupted).
    max_num_timeout: int = 0
    # submitit's files (each task's pickles and logs) in one folder made before the first submission:
    # under Hydra's default, .submitit/%j, each task's folder is made only once sbatch has answered,
    # and a task that starts sooner (an idle cluster starts one within milliseconds) cannot open its
    # log there and dies unstarted.
    submitit_folder: str = "${hydra.sweep.dir}/.submitit"
    # Jobs of the sweep one SLURM task runs one after another, in one Python process: each SLURM task
    # otherwise starts Python and imports torch for a job of a few seconds. auto: each task takes the
    # sweep's next job until it has run for task_minutes.
    jobs_per_task: Any = 1
    # What a task of jobs_per_task=auto aims at, in minutes: it starts no further job after this.
    task_minutes: float = 10.0
    # The most tasks one job array holds, and the most tasks queued at once. null: the cluster's own
    # (MaxArraySize from scontrol show config; MaxSubmitJobs from sacctmgr, where it answers).
    max_array_size: Optional[int] = None
    max_submit_jobs: Optional[int] = None
