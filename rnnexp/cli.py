"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

A thin Hydra entry point. :func:`main` composes the config and runs
:func:`run_job` once (or once per job of a sweep); every error that reaches
the user is rendered here, as one line on stderr and an exit status:
2 for bad input, 1 for a sweep with failed jobs, 130/143 for SIGINT/SIGTERM.
``HYDRA_FULL_ERROR=1`` shows the traceback instead.

Every job leaves a ``metrics.json`` in its directory, however it ended: the
trainer's for a run that trained (ok, diverged, interrupted), else the job's
own for one that failed or was stopped before training began. A failed single
run then exits as above; in a sweep the job returns and the sweep goes on, and
after the summary (rnnexp.sweep) the multirun exits with status 1 if any job
failed.

A signal is caught from the first moment of :func:`main`: before Hydra and
torch are imported, so this module imports neither at its top.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

from rnnexp.errors import USAGE_ERROR, ExitWith, UserError, one_line
from rnnexp.interrupt import Interrupted, StopRequest
from rnnexp.results import METRICS_NAME, RunResult, Status, start_command

if TYPE_CHECKING:
    from omegaconf import DictConfig

log = logging.getLogger("rnnexp")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    # First of all: a signal from here on only sets the flag, and the job
    # reads it (see run_job), even when it arrived while Hydra loaded.
    with StopRequest():
        try:
            return _command(argv)
        except Interrupted as stopped:  # a second signal, outside any job
            print(f"rnnexp: aborted by a second {stopped.signal_name}", file=sys.stderr)
            return stopped.exit_status


def _command(argv: Optional[Sequence[str]]) -> int:
    import hydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rnnexp.config import register_configs, register_resolvers

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
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from rnnexp.config import schema_keys

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    started = time.perf_counter()
    # The command's StopRequest, over start-up and training alike (a launcher's
    # worker process opens its own).
    with StopRequest.shared() as stop:
        try:
            result = _train(cfg, hydra_cfg, stop)
        except Interrupted as stopped:
            status = _record_stop(stopped, run_dir, hydra_cfg.overrides.task, time.perf_counter() - started)
            raise ExitWith(status) from None
        except Exception as error:
            logging.getLogger("rnnexp.failures").exception("run failed")  # the traceback, into the job's log file
            reason = one_line(error, schema_keys())
            RunResult.failed(run_dir, reason, time.perf_counter() - started).write(run_dir)
            if hydra_cfg.mode == RunMode.RUN:
                if isinstance(error, UserError):
                    raise ExitWith(USAGE_ERROR, error) from error
                raise
            # In a sweep the job returns, so the other jobs run and the summary
            # lists this one; the exit status comes after it.
            log.error(f"Job failed: {reason} (traceback in {run_dir}/{hydra_cfg.job.name}.log)")
            return math.inf
    if result.status is Status.INTERRUPTED:
        raise ExitWith(result.exit_status)
    return result.final_loss if result.final_loss is not None and math.isfinite(result.final_loss) else math.inf


def _record_stop(stopped: Interrupted, run_dir: Path, overrides: Sequence[str], seconds: float) -> int:
    """A job stopped before training began, or aborted: its record, its line, its exit status."""
    record = RunResult.interrupted(run_dir, stopped.signal_name, seconds)
    if not (run_dir / METRICS_NAME).exists():  # the trainer writes its own once it has started
        record.write(run_dir)
    if stopped.aborted:
        log.warning(f"Aborted by a second {stopped.signal_name}.")
    else:
        log.warning(
            f"Interrupted ({stopped.signal_name}) before training began: nothing to resume; "
            f"start it again: {start_command(overrides)}"
        )
    return record.exit_status


def _train(cfg: DictConfig, hydra_cfg: DictConfig, stop: StopRequest) -> RunResult:
    """The job's config (a checkpoint's when resuming), checked, then trained."""
    from hydra.types import RunMode

    from rnnexp.config import validate

    resume = None
    if cfg.resume is not None:
        from rnnexp.checkpoint import load_resume

        cfg, resume = load_resume(cfg.resume, explicit_epochs(hydra_cfg.overrides.task))
    cfg.threads = job_threads(cfg.threads, hydra_cfg.launcher.get("_target_", ""))
    validate(cfg)  # a bad value is answered in well under a second: before torch is imported
    from rnnexp.trainer import train

    stop.check()  # a signal while torch was imported (or before): stop before building anything
    show_progress = cfg.progress == "always" or (
        cfg.progress == "auto" and hydra_cfg.mode == RunMode.RUN and sys.stderr.isatty()
    )
    return train(cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress, stop=stop)


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
    from rnnexp.config import schema_keys

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
