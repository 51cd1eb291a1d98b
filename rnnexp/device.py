"""Turn the `device` key into a torch.device that exists on this machine."""

from __future__ import annotations

import torch

from rnnexp.errors import UserError


def resolve_device(spec: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an absent device is a UserError."""
    if spec == "auto":
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
