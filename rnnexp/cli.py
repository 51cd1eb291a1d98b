"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

A thin Hydra entry point. :func:`main` composes the config and runs
:func:`run_job` once (or once per job of a sweep); every error that reaches
the user is rendered here, as one line on stderr and an exit status:
2 for bad input, 1 for a sweep with failed jobs, 130/143 for SIGINT/SIGTERM.
``HYDRA_FULL_ERROR=1`` shows the traceback instead.

In a sweep a job that raises is recorded as failed in its own directory
(its ``metrics.json``) and the sweep goes on; after the summary
(rnnexp.sweep) the multirun exits with status 1 if any job failed.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from typing import Iterator, Optional, Sequence

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnexp.config import register_configs, register_resolvers, schema_keys, validate
from rnnexp.errors import USAGE_ERROR, ExitWith, UserError, one_line
from rnnexp.results import RunResult, Status

log = logging.getLogger("rnnexp")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    show_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    register_configs()
    register_resolvers()
    app = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        with _hydra_raises_errors(), _arguments(argv):
            app()
        return 0
    except ExitWith as stop:
        if stop.error is None:
            return stop.status
        if show_traceback and isinstance(stop.error, BaseException):
            raise stop.error
        _print_error(stop.error)
        return stop.status
    except (UserError, HydraException, OmegaConfBaseException, OSError) as error:
        # Composition: an unknown option or key, a bad value, an unwritable run directory.
        if show_traceback:
            raise
        _print_error(error)
        return USAGE_ERROR


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what a sweeper minimises).

    A diverged or failed job in a sweep returns inf: the worst value a
    sweeper can compare (Optuna rejects NaN, and a raised error would end
    the basic sweeper before the summary).
    """
    hydra_cfg = HydraConfig.get()
    started = time.perf_counter()
    try:
        result = _train(cfg, hydra_cfg)
    except Exception as error:
        logging.getLogger("rnnexp.failures").exception("run failed")  # the traceback, into the job's log file
        if hydra_cfg.mode == RunMode.RUN:
            if isinstance(error, UserError):
                raise ExitWith(USAGE_ERROR, error) from error
            raise
        # In a sweep the job records its failure and returns, so the other jobs
        # run and the summary lists this one; the exit status comes after it.
        reason = one_line(error, schema_keys())
        RunResult.failed(hydra_cfg.runtime.output_dir, reason, time.perf_counter() - started).write(hydra_cfg.runtime.output_dir)
        log.error(f"Job failed: {reason} (traceback in {hydra_cfg.runtime.output_dir}/{hydra_cfg.job.name}.log)")
        return math.inf
    if result.status is Status.INTERRUPTED:
        raise ExitWith(result.exit_status)
    return result.final_loss if result.final_loss is not None and math.isfinite(result.final_loss) else math.inf


def _train(cfg: DictConfig, hydra_cfg: DictConfig) -> RunResult:
    """The job's config (a checkpoint's when resuming), checked, then trained."""
    resume = None
    if cfg.resume is not None:
        from rnnexp.checkpoint import load_resume

        cfg, resume = load_resume(cfg.resume, explicit_epochs(hydra_cfg.overrides.task))
    cfg.threads = job_threads(cfg.threads, hydra_cfg.launcher.get("_target_", ""))
    validate(cfg)  # a bad value is answered in well under a second: before torch is imported
    from rnnexp.trainer import train

    show_progress = cfg.progress == "always" or (
        cfg.progress == "auto" and hydra_cfg.mode == RunMode.RUN and sys.stderr.isatty()
    )
    return train(cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress)


def job_threads(setting: str | int, launcher_target: str) -> str | int:
    """The ``threads`` setting for one job: ``auto`` becomes 1 under a parallel launcher.

    N jobs in parallel with torch's default of one thread per core would run
    N x cores threads on the cores and spend their time switching; joblib's
    and submitit's workers already fill the cores.
    """
    if setting == "auto" and not launcher_target.endswith(".BasicLauncher"):
        return 1
    return setting


def explicit_epochs(task_overrides: Sequence[str]) -> int | None:
    """The N of an ``epochs=N`` typed on the command line, else None."""
    for override in task_overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "epochs":
            return int(value)
    return None


def _print_error(error: BaseException | str) -> None:
    message = error if isinstance(error, str) else one_line(error, schema_keys())
    print(f"rnnexp: error: {message}", file=sys.stderr)


@contextlib.contextmanager
def _hydra_raises_errors() -> Iterator[None]:
    """Have Hydra raise errors instead of printing its own multi-line report, so main() renders them."""
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["HYDRA_FULL_ERROR"]
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


@contextlib.contextmanager
def _arguments(argv: Optional[Sequence[str]]) -> Iterator[None]:
    """Hydra's entry point parses ``sys.argv``; give it ``argv`` for the call."""
    if argv is None:
        yield
        return
    saved = sys.argv
    sys.argv = [saved[0] if saved else "rnnexp", *argv]
    try:
        yield
    finally:
        sys.argv = saved
