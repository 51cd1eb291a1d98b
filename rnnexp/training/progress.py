"""A one-line progress bar for long epochs, on an interactive terminal only."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class ProgressBar:
    """Redraws ``Epoch 3/20 [#####.....] 45/90 steps  loss 1.234  52,311 chars/s`` in place.

    Disabled, every method does nothing, so the loop calls it unconditionally.
    Redraws at most ten times a second: printing is slower than a small step.
    """

    def __init__(self, enabled: bool, epochs: int, steps_per_epoch: int, stream: Optional[TextIO] = None):
        self.enabled = enabled and steps_per_epoch > 1
        self.epochs, self.steps = epochs, steps_per_epoch
        self.stream = stream if stream is not None else sys.stderr  # looked up now: a redirected stderr counts
        self._last_draw = 0.0
        self._epoch_start = time.perf_counter()
        self._chars = 0

    def start_epoch(self) -> None:
        self._epoch_start, self._chars = time.perf_counter(), 0

    def step(self, epoch: int, step: int, loss: float, chars: int) -> None:
        if not self.enabled:
            return
        self._chars += chars
        now = time.perf_counter()
        if now - self._last_draw < 0.1 and step < self.steps:
            return
        self._last_draw = now
        rate = self._chars / max(now - self._epoch_start, 1e-9)
        filled = int(20 * step / self.steps)
        line = (
            f"Epoch {epoch}/{self.epochs} [{'#' * filled}{'.' * (20 - filled)}] {step}/{self.steps} steps"
            f"  loss {loss:.3f}  {rate:,.0f} chars/s"
        )
        self.stream.write("\r" + line)
        self.stream.flush()

    def clear(self) -> None:
        """Erase the bar before a log line is printed."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
