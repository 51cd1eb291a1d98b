"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

:func:`main` runs the command (rnnexp.cli.command: Hydra composes the config
and runs rnnexp.cli.job.run_job once, or once per job of a sweep) and
renders every error that reaches the user as one line on stderr and an exit
status: 2 for bad input, 1 for a sweep with failed jobs, 130/143 for
SIGINT/SIGTERM. ``HYDRA_FULL_ERROR=1`` shows the traceback instead.

A signal is caught from the first moment of :func:`main`: before Hydra and
torch are imported, so this module imports neither, and loads the command
only once it listens.
"""

from __future__ import annotations

import sys
from typing import NoReturn, Optional, Sequence

from rnnexp.cli.quick_exit import run_command
from rnnexp.interrupt import Interrupted, StopRequest


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    # First of all: a signal from here on only sets the flag, and the job
    # reads it (see rnnexp.cli.job.run_job), even when it arrived while Hydra loaded.
    with StopRequest():
        try:
            from rnnexp.cli.command import run  # Hydra loads here, once signals are caught

            return run(argv)
        except Interrupted as stopped:  # a second signal, outside any job
            print(f"rnnexp: aborted by a second {stopped.signal_name}", file=sys.stderr)
            return stopped.exit_status


def command() -> NoReturn:
    """The ``rnnexp`` command and ``python -m rnnexp``: :func:`main`, then the process ends (rnnexp.cli.quick_exit)."""
    run_command(main)
