"""Turn the `device` key into a torch.device that exists on this machine."""

from __future__ import annotations

import os
from typing import Optional

import torch

from rnnexp.errors import UserError

# Multiply-adds per time step (parameters x sequences per batch, as in
# rnnexp.training.threads) below which ``auto`` stays on the CPU: a tiny step is a few
# microseconds of arithmetic, and on an accelerator each of its kernels costs
# a launch instead, so the notebook's models run faster on one CPU thread.
# An estimate rather than a measurement (docs/performance.md, "Device"):
# hidden 32 at batch 32 is above it, hello is far below.
ACCELERATOR_WORK = 100_000


def resolve_device(spec: str, work: int | None = None) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an absent device is a UserError.

    With ``work`` (multiply-adds per time step) below ACCELERATOR_WORK, ``auto``
    picks the CPU even when an accelerator is present: it would only be slower.
    """
    if spec == "auto":
        if work is not None and work < ACCELERATOR_WORK:
            return torch.device("cpu")
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device={spec}: CUDA is not available on this machine; use device=cpu or device=auto")
        count = torch.cuda.device_count()
        index = int(spec.partition(":")[2] or 0)
        if index >= count:
            raise UserError(f"device={spec}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    if spec == "mps" and not _mps_available():
        raise UserError("device=mps: Apple's MPS backend is not available on this machine; use device=cpu or device=auto")
    return torch.device(spec)


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def visible_gpus() -> Optional[str]:
    """This process's ``CUDA_VISIBLE_DEVICES`` (None when unset): the machine's GPUs behind cuda:0, cuda:1, ...

    hydra/launcher=gpus starts each worker with one GPU there; a run records
    it, since its own ``cuda:0`` does not say which GPU of the machine it was.
    """
    return os.environ.get("CUDA_VISIBLE_DEVICES")
