"""Rebuild a sweep's summary, and draw its loss curves: after the sweep, or while it runs.

    python -m rnnexp.summarize outputs/multirun/2026-11-26/14-54-15.397
    python -m rnnexp.summarize last --plot

The argument is a sweep's directory, or last (or latest): the newest sweep
under outputs/multirun. Writes summary.csv and summary.md into it and prints
the ranked table, with the code the multirun itself runs at its end
(rnnexp.sweep), ranked as the sweep's ranking.yaml says. A sweep still
running, or cut short, lists every job it planned: those that ended, and
those interrupted, running (or killed) and never started, each with how far
it got, and the command that finishes the sweep. --plot also draws every
job's loss/train curve into loss_curves.png (needs matplotlib:
pip install 'rnnexp[sweep]').

Bad input gets one line on stderr and exit status 2; --help prints this text.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from rnnexp.config.command_words import shell_word
from rnnexp.errors import USAGE_ERROR, UserError
from rnnexp.results import METRICS_NAME, OVERRIDES_FILE
from rnnexp.run_dirs import NEWEST, SWEEPS, newest_run
from rnnexp.sweep import SUMMARY_CSV, SUMMARY_MD, Summary
from rnnexp.sweep.jobs import MULTIRUN_NAME, is_sweep_dir
from rnnexp.sweep.plot import plot_loss_curves, pyplot

PLOT = "--plot"
USAGE = f"type python -m rnnexp.summarize {SWEEPS}/<date>/<time> (a sweep's directory), or last for the newest"


def parse(argv: Sequence[str]) -> tuple[str, bool]:
    """(the sweep as given, whether to plot)."""
    unknown = [arg for arg in argv if arg.startswith("-") and arg != PLOT]
    if unknown:
        raise UserError(f"{unknown[0]}: no such option; the options are {PLOT} and --help")
    given = [arg for arg in argv if arg != PLOT]
    if not given:
        raise UserError(f"no sweep given; {USAGE}")
    if len(given) > 1:
        raise UserError(f"{' '.join(given)}: one sweep at a time; {USAGE}")
    return given[0], PLOT in argv


def find_sweep(value: str) -> Path:
    """The sweep directory ``value`` names: itself, or the newest sweep for last."""
    if value in NEWEST:
        newest = newest_run(SWEEPS)
        if newest is None:
            raise UserError(
                f"{value}: no sweep under {SWEEPS} here; give a sweep's directory, or start one (python -m rnnexp -m ...)"
            )
        return Path(newest)
    path = Path(value)
    if not path.is_dir():
        raise UserError(f"{value}: {'not a directory' if path.exists() else 'no such directory'}; {USAGE}")
    if not is_sweep_dir(path):
        raise UserError(f"{value}: {_what_it_is(path)}")
    return path


def _what_it_is(path: Path) -> str:
    """Why ``path`` is not a sweep directory, and what to type instead."""
    if (path / OVERRIDES_FILE).is_file():
        if is_sweep_dir(path.parent):
            return f"one job of a sweep; summarize the sweep: python -m rnnexp.summarize {shell_word(str(path.parent))}"
        return f"a single run, not a sweep (its result is its {METRICS_NAME}); {USAGE}"
    sweeps = sorted(p for p in path.iterdir() if p.is_dir() and is_sweep_dir(p))
    if sweeps:
        return f"a folder of sweeps, not a sweep; give one of them: python -m rnnexp.summarize {shell_word(str(sweeps[-1]))}"
    return f"not a sweep directory (no {MULTIRUN_NAME}, no job directories with {OVERRIDES_FILE}); {USAGE}"


def summarize(sweep_dir: Path, plot: bool = False) -> str:
    """Write the summary files (and the plot) into ``sweep_dir``; return what to print."""
    if plot:
        pyplot()  # a missing matplotlib is said before anything is written
    summary = Summary.read(sweep_dir)
    written = [SUMMARY_CSV, SUMMARY_MD]
    try:
        summary.write()
        if plot:
            written.append(plot_loss_curves(summary).name)
    except OSError as error:
        raise UserError(f"cannot write into {sweep_dir}: {error.strerror}; the summary needs a writable sweep directory") from None
    return f"{summary.text()}\nWritten into {sweep_dir}: {', '.join(written)}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``python -m rnnexp.summarize ARGV`` (default: ``sys.argv[1:]``) and return its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print(__doc__.strip())
        return 0
    try:
        value, plot = parse(args)
        print(summarize(find_sweep(value), plot))
    except UserError as error:
        print(f"rnnexp.summarize: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    return 0
