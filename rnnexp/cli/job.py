"""One job of the command: a run, or one job of a sweep, from its composed config to its record.

Every job leaves a ``metrics.json`` in its directory, however it ended: the
trainer's for a run that trained (ok, diverged, interrupted), else the job's
own for one that failed or was stopped before training began. A failed
single run ends the command with the error; in a sweep the job returns inf
and the sweep goes on.

torch loads with the trainer, after the config is checked: a bad value is
answered before it (see _train).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from rnnexp.cli.console import JOB_LINE, JobLines, quiet_job
from rnnexp.cli.start_checks import run_file_in
from rnnexp.config.checks import validate
from rnnexp.config.command_words import start_command
from rnnexp.config.keys import key_hints
from rnnexp.config.pipeline import check_composed
from rnnexp.errors import USAGE_ERROR, ExitWith, UserError, one_line
from rnnexp.interrupt import WARNING, Interrupted, StopRequest
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.run_dirs import discard_new_run_dir, named_run
from rnnexp.search.trial_report import epoch_reporter
from rnnexp.sweep.continuation import SWEEP_LINES_KEY, finish_command, saved_task_overrides
from rnnexp.sweep.job_dir import DirectoryTaken, earlier_attempt, held
from rnnexp.sweep.jobs import Job
from rnnexp.sweep.report import job_line

log = logging.getLogger("rnnexp")


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what Hydra's sweepers minimise; rnnexp's search reads
    its objective, the final loss or the accuracy, from the job's metrics.json).

    A diverged or failed job in a sweep returns inf: the worst value a
    sweeper can compare (Optuna rejects NaN, and a raised error would end
    the basic sweeper before the summary). So does one an Optuna search
    pruned: the search reads from its metrics.json that it was pruned.
    """
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    started, begun = time.perf_counter(), time.time()
    # The command's StopRequest, over start-up and training alike (a launcher's
    # worker process opens its own).
    with StopRequest.shared() as stop, _sweep_terminal(cfg, hydra_cfg):
        try:
            with _sweep_job_dir(run_dir, hydra_cfg):
                result = _train(cfg, hydra_cfg, stop)
        except DirectoryTaken as taken:
            # Another config's run, or a job still running: its files are not this job's to write.
            if hydra_cfg.mode == RunMode.RUN:
                raise ExitWith(USAGE_ERROR, taken) from None
            log.error(f"Job not run: {one_line(taken, key_hints())}")
            return math.inf
        except Interrupted as stopped:
            status = _record_stop(stopped, run_dir, hydra_cfg, time.perf_counter() - started)
            raise _stopped(status, hydra_cfg) from None
        except Exception as error:
            if hydra_cfg.mode == RunMode.RUN and isinstance(error, UserError) and _discard_untrained(run_dir):
                raise ExitWith(USAGE_ERROR, error) from error  # refused before training: no run to list
            logging.getLogger("rnnexp.failures").exception("run failed")  # the traceback, into the job's log file
            reason = one_line(error, key_hints())
            RunResult.failed(run_dir, reason, time.perf_counter() - started).write(run_dir)
            try:  # a row of TensorBoard's HParams page too, never in the way of the error itself
                from rnnexp.tracking.failure import record_failure

                record_failure(run_dir, cfg, reason)
            except Exception:
                logging.getLogger("rnnexp.failures").exception("no TensorBoard record of the failure")
            if hydra_cfg.mode == RunMode.RUN:
                if isinstance(error, UserError):
                    raise ExitWith(USAGE_ERROR, error) from error
                raise
            # In a sweep the job returns, so the other jobs run and the summary
            # lists this one; the exit status comes after it.
            _report_job(run_dir, hydra_cfg, f" (traceback in its {hydra_cfg.job.name}.log)")
            return math.inf
        if hydra_cfg.mode == RunMode.MULTIRUN:
            # A continued sweep's job that had ended: its record is older than this attempt.
            _report_job(run_dir, hydra_cfg, kept=(run_dir / METRICS_NAME).stat().st_mtime < begun)
        if result.status is Status.INTERRUPTED and _launcher_warned(stop):
            return math.inf  # its time is up and the launcher does not requeue it: the sweep goes on
    if result.status is Status.INTERRUPTED:
        raise _stopped(result.exit_status, hydra_cfg)
    if result.status is not Status.OK or result.final_loss is None or not math.isfinite(result.final_loss):
        return math.inf
    return result.final_loss


def _discard_untrained(run_dir: Path) -> bool:
    """Remove the directory this command made for a run that never began training; True when it did.

    Training begins with the run's records (its event file, then metrics.json
    and last.pt); before them the directory holds only what Hydra wrote as
    the job started.
    """
    return run_file_in(run_dir) is None and discard_new_run_dir(str(run_dir))


def _launcher_warned(stop: StopRequest) -> bool:
    """Hand the launcher's time-limit warning to the launcher, now that the run has saved; True when it did not requeue.

    submitit requeues the job and exits the process, or, with no requeue left
    (``hydra.launcher.max_num_timeout``), raises; the job then ends here as
    interrupted, and ``continue=`` finishes it later.
    """
    if stop.signal != WARNING:
        return False
    try:
        stop.pass_on()
    except Exception as error:
        log.warning(f"Not requeued ({one_line(error)}): continue the sweep to finish this job")
    return True


def _record_stop(stopped: Interrupted, run_dir: Path, hydra_cfg: DictConfig, seconds: float) -> int:
    """A job stopped before training began, or aborted: its record, its line, its exit status."""
    record = RunResult.interrupted(run_dir, stopped.signal_name, seconds)
    if not (run_dir / METRICS_NAME).exists():  # the trainer writes its own once it has started
        record.write(run_dir)
    if stopped.aborted:
        log.warning(f"Aborted by a second {stopped.signal_name}.")
    elif hydra_cfg.mode == RunMode.RUN:  # a sweep's job says it in its line
        log.warning(
            f"Interrupted ({stopped.signal_name}) before training began: nothing to resume; "
            f"start it again: {start_command(hydra_cfg.overrides.task)}"
        )
    if hydra_cfg.mode == RunMode.MULTIRUN:
        _report_job(run_dir, hydra_cfg)
    return record.exit_status


def _report_job(run_dir: Path, hydra_cfg: DictConfig, detail: str = "", kept: bool = False) -> None:
    """A sweep job's one line as it ends (rnnexp.sweep.report.job_line), read from what the job wrote, as the summary reads it."""
    job = Job.read(run_dir)
    job.num = hydra_cfg.job.num
    level = {Status.FAILED: logging.ERROR, Status.INTERRUPTED: logging.WARNING}.get(job.status, logging.INFO)
    log.log(level, job_line(job, saved_task_overrides(hydra_cfg.sweep.dir) or [], detail, kept), extra={JOB_LINE: True})


def _stopped(status: int, hydra_cfg: DictConfig) -> ExitWith:
    """The command's end for a job cut short by a signal; in a sweep, with the command that finishes the sweep.

    Continuing the sweep (not resume= of the one job, which would start a run
    outside it) runs every job that has not ended, this one from its last.pt.
    The command prints that line as it ends, once for the sweep: under a
    parallel launcher each worker's job is cut, and each raises this.
    """
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return ExitWith(status)
    finish = finish_command(hydra_cfg.sweep.dir)
    return ExitWith(status, note=f"To finish the sweep (jobs that ended are kept, the others resume or start): {finish}")


@contextlib.contextmanager
def _sweep_terminal(cfg: DictConfig, hydra_cfg: DictConfig) -> Iterator[None]:
    """A sweep job with ``sweep_lines=jobs``: its terminal shows its one line and warnings (rnnexp.cli.console.JobLines).

    Only the terminal's handlers get the filter; the job's rnnexp.log keeps every line.
    The setting is the terminal filter's (rnnexp.sweep.continuation.SWEEP_LINES_KEY):
    the config's sweep_lines, or what a continued sweep was given.
    """
    shown = OmegaConf.select(hydra_cfg, SWEEP_LINES_KEY.removeprefix("hydra."), default=None) or cfg.sweep_lines
    if hydra_cfg.mode != RunMode.MULTIRUN or not quiet_job(shown):
        yield
        return
    terminal = [
        handler for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
    quiet = JobLines()
    for handler in terminal:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in terminal:
            handler.removeFilter(quiet)


def _train(cfg: DictConfig, hydra_cfg: DictConfig, stop: StopRequest) -> RunResult:
    """The job's config (a checkpoint's when resuming), checked, then trained."""
    if hydra_cfg.mode == RunMode.MULTIRUN:
        # A sweep's job composes its own config (StartChecks saw the sweep's, without
        # the swept values): a key that its options do not read is refused here.
        # A single run's config is the one StartChecks checked.
        check_composed(cfg)
    resume = None
    if cfg.resume is not None:
        from rnnexp.training.checkpoint import load_resume

        # The newest run other than the one this job just made.
        run = named_run(cfg.resume, "resume", exclude=hydra_cfg.runtime.output_dir)
        cfg, resume = load_resume(run, explicit_epochs(hydra_cfg.overrides.task))
    cfg.threads = job_threads(cfg.threads, hydra_cfg.launcher.get("_target_", ""))
    validate(cfg)  # a bad value is answered in well under a second: before torch is imported
    if hydra_cfg.mode == RunMode.MULTIRUN and resume is None:
        # A requeued or continued job finds its directory as an earlier attempt left it.
        earlier = earlier_attempt(hydra_cfg.runtime.output_dir, cfg)
        if earlier.finished is not None:
            log.info(f"Already ended ({earlier.finished.status}, {earlier.finished.epochs} epochs): kept as it is")
            return earlier.finished
        if earlier.checkpoint is not None:
            from rnnexp.training.checkpoint import Resume

            resume = Resume(earlier.checkpoint, Path(hydra_cfg.runtime.output_dir))
    from rnnexp.training.trainer import train

    stop.check()  # a signal while torch was imported (or before): stop before building anything
    show_progress = cfg.progress == "always" or (
        cfg.progress == "auto" and hydra_cfg.mode == RunMode.RUN and sys.stderr.isatty()
    )
    # A job of an Optuna search reports each epoch's loss to its trial, and stops where the pruner says.
    after_epoch = epoch_reporter(hydra_cfg)
    return train(
        cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress, stop=stop, after_epoch=after_epoch
    )


@contextlib.contextmanager
def _sweep_job_dir(run_dir: Path, hydra_cfg: DictConfig) -> Iterator[None]:
    """A sweep job holds its directory while it runs: a second attempt of it must not write there too."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        yield
        return

    with held(run_dir):
        yield


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
