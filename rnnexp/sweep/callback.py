"""The Hydra callback (``hydra.callbacks`` in conf/config.yaml) that ends every multirun with its summary."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from rnnexp.errors import JOBS_FAILED, ExitWith
from rnnexp.sweep.jobs import Ranking
from rnnexp.sweep.report import SUMMARY_CSV, SUMMARY_MD, Summary


class SweepSummary(Callback):
    """Record the ranking as the multirun starts; at its end write the summary and fail the multirun for failed jobs.

    The summary: summary.csv and summary.md in the sweep directory, and the
    ranked table in the terminal.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Resolve the sweep directory once, here in the launching process, and
        # keep it as a plain string. Hydra copies the resolver's cache into
        # each job's config, and the joblib and submitit launchers pickle it
        # along, but a worker that resolved ${rnnexp.unique_dir:...} again would
        # create a second directory (or fail, the resolver not being registered there).
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.sweep.dir = str(config.hydra.sweep.dir)
        # Recorded before any job runs, so that a sweep stopped half-way and
        # summarized later still ranks by the search's objective.
        Ranking.of_sweeper(config.hydra.get("sweeper")).write(config.hydra.sweep.dir)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summary = Summary.read(config.hydra.sweep.dir, Ranking.of_sweeper(config.hydra.get("sweeper")))
        summary.write()  # before any exit, so a failed sweep still has its tables
        print(summary.text(), flush=True)
        print(f"Summary: {summary.sweep_dir / SUMMARY_MD}, {summary.sweep_dir / SUMMARY_CSV}", flush=True)
        if summary.failed:
            first = summary.failed[0]
            raise ExitWith(
                JOBS_FAILED,
                f"{len(summary.failed)} of {len(summary.ranked)} jobs failed (job {first.num}: {first.error}); "
                f"see {summary.sweep_dir / SUMMARY_MD}",
            )
