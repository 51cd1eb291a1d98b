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

import argparse
import contextlib
import io
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn, Optional, Sequence

from rnnexp.errors import JOBS_FAILED, USAGE_ERROR, ExitWith, UserError, one_line
from rnnexp.interrupt import WARNING, Interrupted, StopRequest
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


def command() -> NoReturn:
    """The ``rnnexp`` command and ``python -m rnnexp``: :func:`main`, then the process ends (rnnexp.cli.quick_exit)."""
    from rnnexp.cli.quick_exit import run_command

    run_command(main)


def _command(argv: Optional[Sequence[str]]) -> int:
    import hydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from rnnexp.config.command_words import check_spacing, path_words
    from rnnexp.internals.hydra_private import mode_from_command_line
    from rnnexp.config.schemas import register_configs
    from rnnexp.run_dirs import register_resolvers
    from rnnexp.sweep.continuation import continue_command

    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:  # Hydra's own --version names only Hydra
        print(version_line())
        return 0
    show_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    register_configs()
    register_resolvers()
    app = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        check_spacing(args)
        args = continue_command(args) or path_words(args)  # continue=<sweep dir>: that sweep's own command line
        flags = _hydra_flags(args)
        if flags is not None and flags.multirun:
            _register_sweepers()
        with (
            _hydra_raises_errors(), _arguments(args), _run_dirs_named_only(not _runs_a_job(flags)),
            _resumed_run_dir(flags if _runs_a_job(flags) else None),
            mode_from_command_line(flags),  # Hydra would compose the whole config once more to read hydra.mode
        ):
            _check_removals(flags.overrides if flags else [])
            app()
        return 0
    except ExitWith as stop:
        if stop.error is None:
            return stop.code
        if show_traceback and isinstance(stop.error, BaseException):
            raise stop.error
        _print_error(stop.error)
        return stop.code
    except (UserError, HydraException, OmegaConfBaseException, OSError) as error:
        # Composition: an unknown option or key, a bad value, an unwritable run directory.
        if show_traceback:
            raise
        _print_error(error)
        return USAGE_ERROR
    except Exception as error:
        if show_traceback or not type(error).__module__.startswith("submitit"):
            raise
        # submitit's launcher asks every job for its result, and raises for a job that
        # SLURM cancelled, or killed past its time limit, before it could give one.
        _print_error(
            f"a job of the sweep ended without a result ({' '.join(str(error).splitlines()[:2])}); the sweep's summary so far: "
            "python -m rnnexp.summarize last; finish it: python -m rnnexp continue=last"
        )
        return JOBS_FAILED


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what a sweeper minimises).

    A diverged or failed job in a sweep returns inf: the worst value a
    sweeper can compare (Optuna rejects NaN, and a raised error would end
    the basic sweeper before the summary).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from rnnexp.config.keys import schema_keys
    from rnnexp.sweep.job_dir import DirectoryTaken

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
            log.error(f"Job not run: {one_line(taken, schema_keys())}")
            return math.inf
        except Interrupted as stopped:
            status = _record_stop(stopped, run_dir, hydra_cfg, time.perf_counter() - started)
            raise ExitWith(status) from None
        except Exception as error:
            if hydra_cfg.mode == RunMode.RUN and isinstance(error, UserError) and _discard_untrained(run_dir):
                raise ExitWith(USAGE_ERROR, error) from error  # refused before training: no run to list
            logging.getLogger("rnnexp.failures").exception("run failed")  # the traceback, into the job's log file
            reason = one_line(error, schema_keys())
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
        raise ExitWith(result.exit_status)
    return result.final_loss if result.final_loss is not None and math.isfinite(result.final_loss) else math.inf


def _discard_untrained(run_dir: Path) -> bool:
    """Remove the directory this command made for a run that never began training; True when it did.

    Training begins with the run's records (its event file, then metrics.json
    and last.pt); before them the directory holds only what Hydra wrote as
    the job started.
    """
    from rnnexp.run_dirs import discard_new_run_dir
    from rnnexp.cli.start_checks import run_file_in

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
    from hydra.types import RunMode

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
    """A sweep job's one line as it ends (rnnexp.sweep.report.job_line); for one cut short, the command that finishes the sweep.

    Read from what the job wrote, as the sweep's summary reads it. Continuing
    the sweep (not resume= of the one job, which would start a run outside
    it) runs every job that has not ended, this one from its last.pt.
    """
    from rnnexp.cli.console import JOB_LINE
    from rnnexp.sweep.continuation import finish_command, saved_task_overrides
    from rnnexp.sweep.jobs import Job
    from rnnexp.sweep.report import job_line

    job = Job.read(run_dir)
    job.num = hydra_cfg.job.num
    sweep_dir = hydra_cfg.sweep.dir
    level = {Status.FAILED: logging.ERROR, Status.INTERRUPTED: logging.WARNING}.get(job.status, logging.INFO)
    log.log(level, job_line(job, saved_task_overrides(sweep_dir) or [], detail, kept), extra={JOB_LINE: True})
    if job.status is Status.INTERRUPTED:
        log.warning(
            f"To finish the sweep (jobs that ended are kept, the others resume or start): {finish_command(sweep_dir)}"
        )


@contextlib.contextmanager
def _sweep_terminal(cfg: DictConfig, hydra_cfg: DictConfig) -> Iterator[None]:
    """A sweep job with ``sweep_lines=jobs``: its terminal shows its one line and warnings (rnnexp.cli.console.JobLines).

    Only the terminal's handlers get the filter; the job's rnnexp.log keeps every line.
    """
    from hydra.types import RunMode

    from rnnexp.cli.console import JobLines, quiet_job

    if hydra_cfg.mode != RunMode.MULTIRUN or not quiet_job(cfg.sweep_lines):
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
    from hydra.types import RunMode

    from rnnexp.config.checks import validate
    from rnnexp.run_dirs import named_run

    if hydra_cfg.mode == RunMode.MULTIRUN:
        from rnnexp.cli.start_checks import check_keys

        # A sweep's job composes its own config (StartChecks saw the sweep's, without
        # the swept values): a key that its options do not read is refused here.
        # A single run's config is the one StartChecks checked.
        check_keys(cfg)
    resume = None
    if cfg.resume is not None:
        from rnnexp.training.checkpoint import load_resume

        # The newest run other than the one this job just made.
        run = named_run(cfg.resume, "resume", exclude=hydra_cfg.runtime.output_dir)
        cfg, resume = load_resume(run, explicit_epochs(hydra_cfg.overrides.task))
    cfg.threads = job_threads(cfg.threads, hydra_cfg.launcher.get("_target_", ""))
    validate(cfg)  # a bad value is answered in well under a second: before torch is imported
    if hydra_cfg.mode == RunMode.MULTIRUN and resume is None:
        from rnnexp.sweep.job_dir import earlier_attempt

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
    return train(cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress, stop=stop)


@contextlib.contextmanager
def _sweep_job_dir(run_dir: Path, hydra_cfg: DictConfig) -> Iterator[None]:
    """A sweep job holds its directory while it runs: a second attempt of it must not write there too."""
    from hydra.types import RunMode

    if hydra_cfg.mode != RunMode.MULTIRUN:
        yield
        return
    from rnnexp.sweep.job_dir import held

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


def _print_error(error: BaseException | str) -> None:
    from rnnexp.config.keys import schema_keys

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
def _arguments(args: Sequence[str]) -> Iterator[None]:
    """Hydra's entry point parses ``sys.argv``: give it ``args``, under the installed command's name.

    Hydra names the program after ``sys.argv[0]`` in ``--hydra-help`` and in
    the shell-completion script. Completion works for the ``rnnexp`` command
    (for ``python -m rnnexp`` bash would complete ``python``'s arguments), so
    both name that command, however rnnexp was started.
    """
    saved = sys.argv
    sys.argv = ["rnnexp", *args]
    try:
        yield
    finally:
        sys.argv = saved


def version_line() -> str:
    """rnnexp's version, with Hydra's and torch's; torch's is read from its package, not imported."""
    from importlib import metadata

    from hydra import __version__ as hydra_version

    from rnnexp import __version__

    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return f"rnnexp {__version__} (Hydra {hydra_version}, torch {torch_version})"


def _register_sweepers() -> None:
    """Make rnnexp's sweepers known to Hydra, which looks for plugins by walking the hydra_plugins folders.

    The walk finds them in an installed wheel but not in an editable install
    (pip install -e), whose modules import without lying in such a folder.
    """
    from hydra.core.plugins import Plugins

    from hydra_plugins.rnnexp_sweepers.optuna_search import OptunaSearch

    Plugins.instance().register(OptunaSearch)


def _hydra_flags(args: Sequence[str]) -> Optional[argparse.Namespace]:
    """The command line as Hydra's own parser reads it; None where Hydra will refuse it (and say why)."""
    from hydra._internal.utils import get_args_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return get_args_parser().parse_args(list(args))
    except SystemExit:
        return None


def _runs_a_job(flags: Optional[argparse.Namespace]) -> bool:
    """False for --cfg, --info, --help, --hydra-help and --shell-completion: they only show something."""
    if flags is None:
        return False
    return not (flags.cfg or flags.info or flags.help or flags.hydra_help or flags.shell_completion)


@contextlib.contextmanager
def _run_dirs_named_only(named_only: bool) -> Iterator[None]:
    """For a command that runs no job, name the run and sweep directories without creating them.

    ``--cfg hydra --resolve`` resolves ``hydra.run.dir`` and ``hydra.sweep.dir``,
    and the ``rnnexp.unique_dir`` resolver creates the directory it names (its
    exclusive mkdir is what keeps two runs out of one directory).
    """
    if not named_only:
        yield
        return
    from omegaconf import OmegaConf

    from rnnexp.run_dirs import register_resolvers

    OmegaConf.register_new_resolver("rnnexp.unique_dir", _named_when_a_job_starts, use_cache=True, replace=True)
    try:
        yield
    finally:
        OmegaConf.clear_resolver("rnnexp.unique_dir")
        register_resolvers()


def _named_when_a_job_starts(parent: str, *_: object) -> str:
    return os.path.join(parent, "<created when a job starts>")


@contextlib.contextmanager
def _resumed_run_dir(flags: Optional[argparse.Namespace]) -> Iterator[None]:
    """A single run's ``resume=<run>``: name its directory after that run, beside it (rnnexp.run_dirs.resumed_run_place).

    A ``hydra.run.dir`` given on the command line is used as given.
    """
    resumed = _resumed_run(flags)
    if resumed is None:
        yield
        return
    from datetime import date

    from omegaconf import OmegaConf

    from rnnexp.run_dirs import register_resolvers, resumed_run_place, unique_dir

    run, overrides = resumed
    parent, label = resumed_run_place(run, overrides, date.today().isoformat())
    OmegaConf.register_new_resolver(
        "rnnexp.unique_dir", lambda *_: unique_dir(parent, label), use_cache=True, replace=True
    )
    try:
        yield
    finally:
        OmegaConf.clear_resolver("rnnexp.unique_dir")
        register_resolvers()


def _resumed_run(flags: Optional[argparse.Namespace]) -> Optional[tuple[str, list[str]]]:
    """The run directory a single run's ``resume=`` names, and the command's overrides; None for any other command."""
    if flags is None or flags.multirun:
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rnnexp.run_dirs import named_run

    typed = OverridesParser.create().parse_overrides(list(flags.overrides))
    if any(override.key_or_group == "hydra.run.dir" for override in typed):
        return None
    resume = [o for o in typed if o.key_or_group == "resume" and not o.is_delete() and isinstance(o.value(), str)]
    if not resume:
        return None
    run = named_run(resume[-1].value(), "resume")
    plain = [o.input_line for o in typed if not o.is_hydra_override() and o.key_or_group != "resume"]
    return run, [line for line in plain if line is not None]


def _check_removals(overrides: Sequence[str]) -> None:
    """Refuse ``~key`` for a key that every run reads, before Hydra answers it in its own words."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rnnexp.cli.start_checks import check_removal

    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_delete() and not override.is_hydra_override():
            check_removal(override.key_or_group)
