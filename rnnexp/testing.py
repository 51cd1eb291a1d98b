"""Run a command line of rnnexp in this process, as its own process would: for tests and the docs' samples.

Starting Python and torch again for every command costs seconds; calling the
entry point in-process costs milliseconds. What a process would start afresh
is set up and undone here: the working directory, Hydra's global state, the
logging handlers a job installs, and the captured output.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence


@dataclass
class Done:
    """What one command printed and its exit status."""

    status: int
    stdout: str
    stderr: str


def run_command(entry: Callable[[list[str]], int], args: Sequence[str], cwd: Path) -> Done:
    """Call ``entry(args)`` (a ``main(argv)``) in ``cwd``; its exit status and output.

    HYDRA_FULL_ERROR is left out for the call, so a user's setting does not
    change the output under test.
    """
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()  # each command initialises Hydra itself
    out, err = io.StringIO(), io.StringIO()
    environment = {k: os.environ.pop(k) for k in ("HYDRA_FULL_ERROR",) if k in os.environ}
    try:
        with working_directory(cwd), logging_restored(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = entry(list(args))
            except SystemExit as exit:  # Hydra's --help and --cfg end with sys.exit(0)
                status = exit.code if isinstance(exit.code, int) else 1
    finally:
        os.environ.update(environment)
    return Done(status, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Hydra points the root logger at the job's log file and the current stdout: undo it after the command."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)
