"""Stop a run cleanly on Ctrl-C (SIGINT) or a scheduler's SIGTERM, at any moment.

On a cluster the launcher may also listen for the scheduler's warning that a
job's time is nearly up (submitit: SIGUSR2, ``hydra.launcher.signal_delay_s``
before the limit), to requeue the job. That warning stops the run the same
way, and the launcher's own handler runs once the run has saved its
checkpoint (:meth:`StopRequest.pass_on`).

A first signal only sets a flag. The training loop reads it after every step
and winds down (checkpoint, metrics, event file); before the first step there
is nothing to save, so start-up reads it at a few points with
:meth:`StopRequest.check`, which raises :class:`Interrupted`. A second
signal raises :class:`Interrupted` at once, wherever the code is.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from types import FrameType
from typing import Any, Iterator, Optional

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A scheduler's warning that time is nearly up; heard only where a launcher
# has a handler for it, which runs after the run has saved.
WARNING = signal.SIGUSR2


class Interrupted(KeyboardInterrupt):
    """A signal that cannot wait for the loop: a stop during start-up, or a second signal (``aborted``).

    A KeyboardInterrupt, so code that knows nothing of rnnexp (Hydra, a script
    calling train()) lets it through as it would Ctrl-C.
    """

    def __init__(self, signum: int, aborted: bool = False):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.aborted = aborted

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """128 + the signal's number, as for a finished run (rnnexp.results.RunResult.exit_status)."""
        return 128 + self.signum


class StopRequest:
    """While active, the first SIGINT or SIGTERM only sets ``signal``; a second raises Interrupted.

    Handlers can only be installed from the main thread; elsewhere this stays
    inactive and signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.signal: Optional[int] = None
        # Set while the loop trains: a first signal is then acknowledged at
        # once, since the stop waits for the end of the step. During start-up
        # the stop follows within moments and says so itself.
        self.training = False
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def signal_name(self) -> Optional[str]:
        """SIGINT, SIGTERM (or a launcher's SIGUSR2) once one arrived, else None."""
        return signal.Signals(self.signal).name if self.signal is not None else None

    def check(self) -> None:
        """Raise Interrupted if a stop was requested: for start-up, where nothing needs saving."""
        if self.signal is not None:
            raise Interrupted(self.signal)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.signal is not None:
            self._restore()  # a third signal has its usual effect
            raise Interrupted(signum, aborted=True)
        self.signal = signum
        if self.training:
            log.warning(f"{signal.Signals(signum).name}: stopping after this step and saving (again to abort at once)")

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
            if callable(signal.getsignal(WARNING)):
                self._previous[WARNING] = signal.signal(WARNING, self._handle)
        return self

    def pass_on(self) -> None:
        """After the run saved: hand a launcher's warning to the launcher's own handler (submitit requeues the job).

        Nothing for a stop by SIGINT or SIGTERM, which the run itself answers.
        """
        handler = self._previous.get(WARNING)
        if self.signal == WARNING and callable(handler):
            handler(WARNING, None)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    @classmethod
    @contextlib.contextmanager
    def shared(cls) -> Iterator["StopRequest"]:
        """The StopRequest this process already listens with, else a new one for the block.

        The command line installs one before anything else, so a signal during
        its start-up reaches the job; a launcher's worker process has none of
        its own until its job opens one here.
        """
        installed = getattr(signal.getsignal(signal.SIGINT), "__self__", None)
        if isinstance(installed, cls):
            yield installed
        else:
            with cls() as stop:
                yield stop
