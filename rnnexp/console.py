"""The terminal's log handler: once the reader of a run's output has gone (``| head``), the run goes on quietly."""

from __future__ import annotations

import logging
import os
import sys


class ConsoleHandler(logging.StreamHandler):
    """A StreamHandler that, when its pipe's reader has gone, points the stream at os.devnull instead of failing.

    logging's own handler prints a traceback for every record it cannot write,
    so a run piped into ``head`` would print one per epoch. The run and its
    files matter more than a terminal nobody reads: it goes on, and later
    lines, print()s (a sweep's summary) and the flush at exit all go to
    os.devnull, through the same file descriptor.
    """

    def handleError(self, record: logging.LogRecord) -> None:
        if not isinstance(sys.exc_info()[1], BrokenPipeError):
            super().handleError(record)
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())
        finally:
            os.close(devnull)
