"""End a command's process as soon as its work is done, without the interpreter's teardown.

A process that has imported torch takes about a quarter of a second to end
after its last line: Python frees every module's objects, then the C runtime
runs torch's C++ static destructors. Neither writes anything of the
command's. By the time they start, the command's files are closed, Python has
joined its threads and run its exit handlers (joblib's workers, multiprocessing,
weakref finalizers), and only the logs and the standard streams may still hold
output: :func:`run_command` flushes those and ends the process with os._exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
from typing import Callable, NoReturn


def run_command(main: Callable[[], int]) -> NoReturn:
    """``sys.exit(main())``, with the process ended by the last of its exit handlers.

    Call this before ``main`` imports anything that registers exit handlers of
    its own (torch, Hydra, joblib): handlers run last registered first, so
    theirs all run before the one that ends the process. If ``main`` raises,
    Python reports the error and exits as usual.
    """
    status: list[int] = []
    atexit.register(_end_process, status)
    try:
        code = main()
    except BrokenPipeError:
        # The reader of stdout has gone (| head): end quietly, with the status a
        # process that SIGPIPE ended has, instead of a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 128 + signal.SIGPIPE
    status.append(code)
    sys.exit(code)


def _end_process(status: list[int]) -> None:
    if not status:
        return  # main() raised: Python's own exit reports it
    if "coverage" in sys.modules:
        return  # coverage.py saves its data from an exit handler registered before this one
    # Registered when logging was imported, before this handler, so it would run after it.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a pipe whose reader has gone, or a closed stream
            pass
    os._exit(status[0])
