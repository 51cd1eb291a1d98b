"""How many seeds solve a task with given settings?

    python scripts/seed_survey.py model=rnn --seeds 100
    python scripts/seed_survey.py model=rnn model.init_scale=1.0 --seeds 100

Trains one run per seed (0 .. N-1) with the given overrides, each in a
temporary directory, and prints how many end solved (every evaluation
sequence right after the last epoch, as a sweep's summary counts them), and
the median solved epoch. The init_scale figures in docs/performance.md come
from this script.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_module

from rnnexp.config.schemas import register_configs
from rnnexp.results import RunResult
from rnnexp.run_dirs import register_resolvers
from rnnexp.sweep.jobs import Job
from rnnexp.training.trainer import train


def solved(result: RunResult) -> bool:
    """The sweep summary's rule (Job.solved), so the survey and a sweep of the same seeds agree."""
    return Job(
        -1, Path(result.run_dir), [], result.status,
        solved_epoch=result.solved_epoch, prediction=result.prediction, target=result.target,
        sequences_right=result.sequences_right, sequences=result.sequences,
    ).solved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="config overrides, as on the rnnexp command line")
    parser.add_argument("--seeds", type=int, default=20, help="number of seeds, from 0 (default 20)")
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING)  # no per-epoch lines
    register_configs()
    register_resolvers()
    solved_epochs = []
    with initialize_config_module("rnnexp.conf", version_base="1.3"), tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            cfg = compose("config", overrides=["device=cpu", *args.overrides, f"seed={seed}"])
            result = train(cfg, f"{tmp}/{seed}")
            if solved(result):
                solved_epochs.append(result.solved_epoch)
    median = statistics.median(solved_epochs) if solved_epochs else None
    print(f"{' '.join(args.overrides) or '(defaults)'}: {len(solved_epochs)} of {args.seeds} seeds end solved; "
          f"median solved epoch {median}")


if __name__ == "__main__":
    main()
