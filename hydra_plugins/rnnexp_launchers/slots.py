"""Which GPUs a sweep may use, and the slots its jobs run in: one worker process per slot.

A slot is a GPU index; a GPU with ``jobs_per_gpu`` = k gives k slots. The
indices are the machine's own (nvidia-smi's), and each worker is started
with ``CUDA_VISIBLE_DEVICES`` set to its slot's index, so its job sees that
one GPU as ``cuda:0``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Iterable, Optional, Sequence

from rnnexp.errors import UserError

GPUS_KEY = "hydra.launcher.gpus"
JOBS_PER_GPU_KEY = "hydra.launcher.jobs_per_gpu"


def machine_gpus() -> list[int]:
    """The GPU indices this process may use, read without initialising CUDA here.

    A ``CUDA_VISIBLE_DEVICES`` of the launching process already narrows the
    machine to its list; else nvidia-smi lists the GPUs; else torch counts
    them (NVML or the driver: no CUDA context is made, and the workers are
    started afresh, not forked, so they would not inherit one anyway).
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
        # Entries past the first that is not an index are ignored by CUDA too.
        indices = []
        for entry in entries:
            if not entry.isdigit():
                break
            indices.append(int(entry))
        return indices
    listed = _nvidia_smi_indices()
    if listed is not None:
        return listed
    import torch  # only where nvidia-smi is absent: a second or so to import

    return list(range(torch.cuda.device_count()))


def _nvidia_smi_indices() -> Optional[list[int]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return []  # nvidia-smi without a driver, or without a GPU, says so and fails
    return [int(line) for line in done.stdout.split() if line.strip().isdigit()]


def check_jobs_per_gpu(jobs_per_gpu: int) -> None:
    if jobs_per_gpu < 1:
        raise UserError(
            f"{JOBS_PER_GPU_KEY}={jobs_per_gpu}: must be an integer >= 1 (the jobs that share one GPU at a time)"
        )


def check_gpus(gpus: Sequence[int], present: Sequence[int]) -> None:
    """Refuse an index this machine lacks, an index given twice, and an empty list."""
    given = "[" + ",".join(str(g) for g in gpus) + "]"
    on_machine = f"it has GPU {_listed(present)}" if present else "it has none that nvidia-smi or torch sees"
    if not gpus:
        raise UserError(f"{GPUS_KEY}=[]: name at least one GPU, or leave it out for every GPU of this machine")
    twice = sorted({g for g in gpus if list(gpus).count(g) > 1})
    if twice:
        raise UserError(
            f"{GPUS_KEY}={given}: GPU {_listed(twice)} given more than once; "
            f"{JOBS_PER_GPU_KEY}=N runs N jobs on each GPU"
        )
    absent = [g for g in gpus if g not in present]
    if absent:
        raise UserError(f"{GPUS_KEY}={given}: no GPU {_listed(absent)} on this machine ({on_machine})")


def _listed(indices: Iterable[int]) -> str:
    return ", ".join(str(i) for i in indices)


def plan_slots(gpus: Optional[Sequence[int]], jobs_per_gpu: int, devices: Iterable[str]) -> list[int]:
    """The slots of a sweep whose jobs run on ``devices``, from the launcher's keys; a UserError for bad keys.

    The indices are checked against the machine only where a job may use a
    GPU: jobs on ``device=cpu`` use none, so their indices only name the
    workers (which is how a machine without a GPU runs, and tests, this launcher).
    """
    check_jobs_per_gpu(jobs_per_gpu)
    if gpus is not None and not gpus:
        check_gpus([], [])
    if gpus is not None and not needs_cuda(devices):
        check_gpus(gpus, gpus)
        return slots(gpus, jobs_per_gpu)
    present = machine_gpus()
    if gpus is None and not present:
        raise UserError(
            f"{GPUS_KEY}: this machine has no GPU that nvidia-smi or torch sees; run the sweep with "
            f"hydra/launcher=joblib, or name GPUs for jobs on device=cpu, for example {GPUS_KEY}=[0,1] device=cpu"
        )
    chosen = present if gpus is None else list(gpus)
    check_gpus(chosen, present)
    return slots(chosen, jobs_per_gpu)


def slots(gpus: Sequence[int], jobs_per_gpu: int) -> list[int]:
    """One GPU index per worker: each GPU's workers side by side, ``[0, 1, 0, 1]`` for GPUs 0 and 1 with 2 jobs each.

    The first jobs of a sweep thus spread over the GPUs before any GPU takes a second one.
    """
    return [gpu for _ in range(jobs_per_gpu) for gpu in gpus]


def needs_cuda(devices: Iterable[str]) -> bool:
    """Whether jobs on these ``device`` settings may use a GPU: anything but ``cpu`` (``auto`` picks CUDA where it is)."""
    return any(str(device) != "cpu" for device in devices)
