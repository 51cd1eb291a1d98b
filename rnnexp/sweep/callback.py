"""The Hydra callback (``hydra.callbacks`` in conf/config.yaml) that ends every multirun with its summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from rnnexp.errors import JOBS_FAILED, ExitWith
from rnnexp.files import write_atomically
from rnnexp.search.config import is_search
from rnnexp.search.study_storage import resolved_study_name, shown_storage
from rnnexp.sweep.jobs import MULTIRUN_NAME, Ranking
from rnnexp.sweep.report import SUMMARY_CSV, SUMMARY_MD, Summary


class SweepSummary(Callback):
    """Record the sweep as the multirun starts; at its end write the summary, and fail the multirun for jobs that failed.

    The summary: summary.csv and summary.md in the sweep directory, and the
    ranked table in the terminal; for an Optuna search, where its study is.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if (config.hydra.get("launcher") or {}).get("_target_", "").endswith(".SlurmLauncher"):  # Hydra's or rnnexp's
            from rnnexp.sweep.slurm_noise import quiet_sacct  # needs submitit, which comes with this launcher

            quiet_sacct()  # before the jobs are submitted and watched
        # Resolve the sweep directory once, here in the launching process, and
        # keep it as a plain string. Hydra copies the resolver's cache into
        # each job's config, and the joblib and submitit launchers pickle it
        # along, but a worker that resolved ${rnnexp.unique_dir:...} again would
        # create a second directory (or fail, the resolver not being registered there).
        with read_write(config.hydra), open_dict(config.hydra):
            config.hydra.sweep.dir = str(config.hydra.sweep.dir)
        # Recorded before any job runs, so that a sweep stopped half-way and
        # summarized later still ranks by the search's objective, and lists
        # the jobs it planned that never started. Hydra's basic sweeper saves
        # the same multirun.yaml again as it starts; the Optuna sweeper saves none.
        Ranking.of_sweeper(config.hydra.get("sweeper"), config.get("task")).write(config.hydra.sweep.dir)
        saved = Path(config.hydra.sweep.dir) / MULTIRUN_NAME
        write_atomically(saved, lambda tmp: OmegaConf.save(config, tmp))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        summary = Summary.read(config.hydra.sweep.dir, Ranking.of_sweeper(config.hydra.get("sweeper"), config.get("task")))
        summary.write()  # before any exit, so a failed sweep still has its tables
        print(summary.text(), flush=True)
        print(f"Summary: {summary.sweep_dir / SUMMARY_MD}, {summary.sweep_dir / SUMMARY_CSV}", flush=True)
        sweeper = config.hydra.get("sweeper")
        if is_search(sweeper):  # where optuna.load_study and optuna-dashboard find the trials and their curves
            where = shown_storage(sweeper.get("storage"), config.hydra.sweep.dir)
            print(f"Study {resolved_study_name(sweeper.get('study_name'))}: {where}", flush=True)
        problem = summary.problem()  # failed jobs; and jobs killed, or never run, by the time all have returned
        if problem:
            raise ExitWith(JOBS_FAILED, f"{problem}; see {summary.sweep_dir / SUMMARY_MD}")
