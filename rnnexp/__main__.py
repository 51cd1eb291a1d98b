"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

A thin Hydra entry point: compose the config, call :func:`rnnexp.train.train`
in the job's output directory, and turn bad input into one line on stderr
with exit status 2 (``HYDRA_FULL_ERROR=1`` shows the full traceback instead).

In a multirun a job that raises is recorded as failed in its own directory and
the sweep goes on; after the summary (rnnexp.sweep) the multirun exits with
status 1 if any job failed.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import time
from typing import NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnexp.config import register_configs, register_resolvers, schema_keys, validate
from rnnexp.errors import SweepFailed, UserError, one_line
from rnnexp.sweep import record_failure

JOBS_FAILED = 1
USAGE_ERROR = 2
# Read before main() sets HYDRA_FULL_ERROR for its own use: did the user ask for tracebacks?
SHOW_TRACEBACK = os.environ.get("HYDRA_FULL_ERROR") == "1"


def exit_with(error: BaseException) -> NoReturn:
    print(f"rnnexp: error: {one_line(error, schema_keys())}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what a sweeper minimises).

    A diverged or failed job in a sweep returns inf: the worst value a
    sweeper can compare (Optuna rejects NaN, and a raised error would end
    the basic sweeper before the summary).
    """
    hydra_cfg = HydraConfig.get()
    started = time.perf_counter()
    try:
        validate(cfg)  # answers a bad value in well under a second: before torch is imported
        from rnnexp.checkpoint import load_resume
        from rnnexp.train import train

        resume = None
        if cfg.resume is not None:
            cfg, resume = load_resume(cfg.resume, explicit_epochs(hydra_cfg.overrides.task))
        cfg.threads = job_threads(cfg.get("threads", "auto"), hydra_cfg.launcher.get("_target_", ""))
        show_progress = cfg.progress == "always" or (
            cfg.progress == "auto" and hydra_cfg.mode == RunMode.RUN and sys.stderr.isatty()
        )
        result = train(cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress)
        if result.status == "interrupted":
            # The shell's convention for death by signal: 130 (SIGINT), 143 (SIGTERM).
            sys.exit(128 + signal.Signals[result.signal])
        final_loss = result.final_loss
        return final_loss if final_loss is not None and math.isfinite(final_loss) else math.inf
    except Exception as error:
        logging.getLogger("rnnexp.failures").exception("run failed")
        if hydra_cfg.mode == RunMode.RUN:
            if isinstance(error, UserError) and not SHOW_TRACEBACK:
                # Exit here: past this point Hydra adds its own lines to stderr.
                exit_with(error)
            raise
        # In a sweep the job records its failure and returns, so the other jobs
        # run and the summary lists this one; the exit status comes after it.
        reason = one_line(error, schema_keys())
        record_failure(hydra_cfg.runtime.output_dir, reason, time.perf_counter() - started)
        logging.getLogger("rnnexp").error(
            f"Job failed: {reason} (traceback in {hydra_cfg.runtime.output_dir}/{hydra_cfg.job.name}.log)"
        )
        return math.inf


def job_threads(setting: str | int, launcher_target: str) -> str | int:
    """The ``threads`` setting for one job: ``auto`` becomes 1 under a parallel launcher.

    N jobs in parallel with torch's default of one thread per core would run
    N x cores threads on the cores and spend their time switching; joblib's
    and submitit's workers already fill the cores.
    """
    if setting == "auto" and not launcher_target.endswith(".BasicLauncher"):
        return 1
    return setting


def explicit_epochs(task_overrides: list[str]) -> int | None:
    """The N of an ``epochs=N`` typed on the command line, else None."""
    for override in task_overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "epochs":
            return int(value)
    return None


def main() -> None:
    # With HYDRA_FULL_ERROR set Hydra re-raises instead of printing its own
    # multi-line report, so the error reaches the handler below.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    register_configs()
    register_resolvers()
    entry = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        entry()
    except SweepFailed as error:
        if SHOW_TRACEBACK:
            raise
        print(f"rnnexp: error: {error}", file=sys.stderr)
        sys.exit(JOBS_FAILED)
    except (UserError, HydraException, OmegaConfBaseException, OSError) as error:
        if SHOW_TRACEBACK:
            raise
        exit_with(error)


if __name__ == "__main__":
    main()
