"""What ``threads=auto`` measured, kept per CPU model and model shape in the user's cache folder.

A thread count changes the order of a matmul's sums, and so a loss's last
bits: the same command must train on the same count every time on one
machine. The first run of a shape times it; later runs read the count kept
here (threads.json, in $RNNEXP_CACHE_DIR, else $XDG_CACHE_HOME/rnnexp, else
~/.cache/rnnexp). Deleting the file makes the next run of each shape time it again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from rnnexp.files import write_json

FILE_NAME = "threads.json"


@dataclass(frozen=True)
class Entry:
    count: int
    ms_per_step: dict[int, float]  # thread count -> median milliseconds of a training step
    when: str  # the date it was measured

    def describe(self) -> str:
        """``8.1 ms a step on 2 threads against 12.3 ms on 1``."""
        others = ", ".join(f"{ms:g} ms on {c}" for c, ms in sorted(self.ms_per_step.items()) if c != self.count)
        plural = "s" if self.count > 1 else ""
        return f"{self.ms_per_step[self.count]:g} ms a step on {self.count} thread{plural} against {others}"


def path() -> Path:
    folder = os.environ.get("RNNEXP_CACHE_DIR")
    if not folder:
        folder = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnnexp")
    return Path(folder) / FILE_NAME


def cpu_model() -> str:
    """The CPU's model name as lscpu gives it (/proc/cpuinfo on Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_key(available: int) -> str:
    """The machine as far as a thread count's speed goes: its CPU, torch's threads and torch's kernels."""
    return f"{cpu_model()}; {available} threads; torch {torch.__version__}"


def shape_key(model: nn.Module, batch_shape: tuple[int, ...]) -> str:
    """The model's classes and parameter shapes, and the batch's (B, T): what a step's time depends on."""
    recurrence = getattr(model, "recurrence", None)
    classes = type(model).__name__ + (f"({type(recurrence).__name__})" if recurrence is not None else "")
    shapes = [(name, tuple(p.shape)) for name, p in model.named_parameters()]
    digest = hashlib.sha1(repr(shapes).encode()).hexdigest()[:12]
    size = sum(p.numel() for p in model.parameters())
    return f"{classes} {size} parameters {digest}, batch {tuple(batch_shape)}"


def today() -> str:
    return datetime.date.today().isoformat()


def recall(machine: str, shape: str) -> Optional[Entry]:
    """The entry kept for ``shape`` on ``machine``; None when there is none (or the file cannot be read)."""
    found = _read().get(machine, {}).get(shape)
    try:
        timed = {int(c): float(ms) for c, ms in found["ms_per_step"].items()}
        return Entry(int(found["threads"]), timed, str(found["measured"]))
    except (TypeError, KeyError, ValueError, AttributeError):
        return None  # none kept, or written by hand: time it again


def remember(machine: str, shape: str, entry: Entry) -> str:
    """Keep ``entry``; says where, or why it could not be kept (the choice then holds for this run only)."""
    kept = _read()
    kept.setdefault(machine, {})[shape] = {
        "threads": entry.count,
        "ms_per_step": {str(c): ms for c, ms in sorted(entry.ms_per_step.items())},
        "measured": entry.when,
    }
    target = path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_json(target, kept)
    except OSError as error:
        return f"not kept ({error.strerror or error}): the next run times it again"
    return f"kept in {target}"


def _read() -> dict:
    try:
        kept = json.loads(path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept if isinstance(kept, dict) else {}
