"""Stop a run cleanly on Ctrl-C (SIGINT) or a scheduler's SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any, Optional

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """While active, the first SIGINT or SIGTERM only sets ``signal``; the loop
    checks it after every step and winds down (checkpoint, metrics, event file).
    A second signal aborts at once, as it would without rnnexp.

    Handlers can only be installed from the main thread; elsewhere this stays
    inactive and signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.signal: Optional[int] = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def signal_name(self) -> Optional[str]:
        """SIGINT or SIGTERM once one arrived, else None."""
        return signal.Signals(self.signal).name if self.signal is not None else None

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signal is not None:
            self._restore()
            raise KeyboardInterrupt
        self.signal = signum
        log.warning(f"{signal.Signals(signum).name}: stopping after this step and saving (again to abort at once)")

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __exit__(self, *exc: Any) -> None:
        self._restore()
