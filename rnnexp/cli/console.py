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

    # Loggers whose lines are the run's record rather than news for the terminal:
    # they reach the job's rnnexp.log only (the threads and device a run took, and why).
    FILE_ONLY = frozenset({"rnnexp.placement"})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name not in self.FILE_ONLY and bool(super().filter(record))

    def handleError(self, record: logging.LogRecord) -> None:
        if not isinstance(sys.exc_info()[1], BrokenPipeError):
            super().handleError(record)
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.stream.fileno())
        finally:
            os.close(devnull)


# Set on the record of a sweep job's one line (rnnexp.cli.main), which the terminal always shows.
JOB_LINE = "rnnexp_job_line"


def quiet_job(sweep_lines: str) -> bool:
    """Whether a sweep job's terminal shows only its one line (and warnings): all but ``sweep_lines=epochs``."""
    return sweep_lines != "epochs"


class JobLines(logging.Filter):
    """The terminal of a sweep job with ``sweep_lines=jobs``: its one line, and warnings and errors.

    The epoch lines and the run's other news stay in the job's rnnexp.log
    (its file handler has no such filter). The trainer's own warnings (a loss
    that became non-finite, an interruption) are left out too: the job's line
    says how it ended, and the sweep says how to finish it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, JOB_LINE, False):
            return True
        if record.levelno >= logging.ERROR:
            return True
        return record.levelno >= logging.WARNING and record.name != "rnnexp.training.trainer"


class HydraLines(logging.Filter):
    """Hydra's terminal (conf/hydra/hydra_logging/rnnexp.yaml): no INFO lines of launchers and sweepers with ``sweep_lines=jobs``.

    Each job prints one line of its own when it ends; the launcher's
    ``#3 : model=rnn ...`` as it starts, and the Optuna sweeper's study and
    best-trial lines, would double them (the summary ranks the best trial
    first). rnnexp's own lines (its sweeper's, on a continued search) and
    every warning still show.
    """

    def __init__(self, sweep_lines: str = "jobs") -> None:
        super().__init__()
        self.quiet = quiet_job(sweep_lines)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.quiet or record.levelno >= logging.WARNING:
            return True
        return record.name.startswith("rnnexp")
