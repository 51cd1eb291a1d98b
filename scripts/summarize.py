"""Rebuild the summary of a finished sweep and draw its loss curves.

    python scripts/summarize.py outputs/multirun/2026-11-26/14-28-53.338

Writes summary.csv, summary.md and loss_curves.png into the sweep directory
and prints the ranked table, as the multirun itself did at its end: ranked as
the sweep's ranking.yaml says (by the search's objective after an Optuna
search). The plot needs matplotlib (pip install 'rnnexp[sweep]', or pip install -e '.[sweep]' in a clone); --no-plot
skips it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnexp.errors import USAGE_ERROR, UserError
from rnnexp.sweep import SUMMARY_CSV, SUMMARY_MD, Summary


def main(argv: list[str] | None = None) -> int:
    """Summarize the sweep ``argv`` names (default: ``sys.argv[1:]``); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_dir", type=Path, help="a multirun directory: outputs/multirun/<date>/<time>")
    parser.add_argument("--no-plot", action="store_true", help="write the tables only")
    args = parser.parse_args(argv)

    try:
        if not args.sweep_dir.is_dir():
            raise UserError(f"{args.sweep_dir}: no such directory")
        summary = Summary.read(args.sweep_dir)
        if not summary.ranked:
            raise UserError(f"{args.sweep_dir}: no job directories in it (a job directory holds .hydra/overrides.yaml)")
        summary.write()
        print(summary.text())
        written = [SUMMARY_CSV, SUMMARY_MD]
        if not args.no_plot:
            from rnnexp.sweep.plot import plot_loss_curves

            written.append(plot_loss_curves(summary).name)
        print(f"Written into {args.sweep_dir}: {', '.join(written)}")
    except UserError as error:
        print(f"summarize.py: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
