"""One command line through Hydra: the words rewritten for it, its entry point wrapped, its errors rendered.

Every job leaves a ``metrics.json`` in its directory, however it ended
(rnnexp.cli.job); a failed single run exits with the error's status, and a
sweep whose jobs failed exits with status 1 after its summary (rnnexp.sweep).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from datetime import date
from importlib import metadata
from typing import Iterator, Optional, Sequence

import hydra
from hydra import __version__ as hydra_version
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rnnexp import __version__
from rnnexp.cli.job import run_job
from rnnexp.config.command_words import check_spacing, path_words
from rnnexp.config.keys import key_hints
from rnnexp.config.pipeline import check_removals
from rnnexp.config.schemas import register_configs
from rnnexp.errors import JOBS_FAILED, USAGE_ERROR, ExitWith, UserError, one_line
from rnnexp.internals.hydra_private import hydra_arg_parser, mode_from_command_line
from rnnexp.run_dirs import named_run, register_resolvers, resumed_run_place, unique_dir
from rnnexp.search.config import SWEEPER_TARGET, register_search_configs
from rnnexp.sweep.continuation import continue_command


def run(argv: Optional[Sequence[str]]) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--version" in args:  # Hydra's own --version names only Hydra
        print(version_line())
        return 0
    show_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    register_configs()
    _register_launcher_options()
    register_resolvers()
    app = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        check_spacing(args)
        args = continue_command(args) or path_words(args)  # continue=<sweep dir>: that sweep's own command line
        flags = _hydra_flags(args)
        if flags is not None and flags.multirun:
            _register_sweepers()
            _register_launchers()
        with (
            _hydra_raises_errors(), _arguments(args), _run_dirs_named_only(not _runs_a_job(flags)),
            _resumed_run_dir(flags if _runs_a_job(flags) else None),
            mode_from_command_line(flags),  # Hydra would compose the whole config once more to read hydra.mode
        ):
            check_removals(flags.overrides if flags else [])  # before Hydra answers ~key in its own words
            app()
        return 0
    except ExitWith as stop:
        if stop.note:
            print(stop.note, flush=True)
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


def _print_error(error: BaseException | str) -> None:
    message = error if isinstance(error, str) else one_line(error, key_hints())
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
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = "not installed"
    return f"rnnexp {__version__} (Hydra {hydra_version}, torch {torch_version})"


def _register_sweepers() -> None:
    """Make rnnexp's sweepers known to Hydra, which looks for plugins by walking the hydra_plugins folders.

    The walk finds them in an installed wheel but not in an editable install
    (pip install -e), whose modules import without lying in such a folder.
    The class is imported by the name the search's config gives it, as Hydra
    instantiates it: rnnexp's modules import nothing of the plugin package.
    The search's config options are stored again after the walk: an
    hydra-optuna-sweeper found there would have stored its own under the same names.
    """
    module, _, name = SWEEPER_TARGET.rpartition(".")
    Plugins.instance().register(getattr(importlib.import_module(module), name))
    register_search_configs()


# rnnexp's launchers (hydra/launcher=gpus, hydra/launcher=slurm) and the module that stores their
# config options, named as a config's _target_ names a class: rnnexp imports nothing of the plugin package.
GPUS_LAUNCHER = "hydra_plugins.rnnexp_launchers.gpus_launcher.GpusLauncher"
SLURM_LAUNCHER = "hydra_plugins.rnnexp_launchers.slurm_launcher.SlurmLauncher"
RNNEXP_LAUNCHERS = (GPUS_LAUNCHER, SLURM_LAUNCHER)
LAUNCHER_OPTIONS = "hydra_plugins.rnnexp_launchers.config"


def _register_launcher_options() -> None:
    """Store ``hydra/launcher=gpus`` and ``hydra/launcher=slurm`` in Hydra's ConfigStore before Hydra composes.

    For the reason of _register_sweepers: an editable install hides the plugin
    from Hydra's walk. Every command stores them, so that a key of one
    launcher given to another is answered with the option that takes it.
    """
    importlib.import_module(LAUNCHER_OPTIONS)


def _register_launchers() -> None:
    """Make rnnexp's launcher classes known to Hydra, which instantiates only the plugins it has registered."""
    for launcher in RNNEXP_LAUNCHERS:
        module, _, name = launcher.rpartition(".")
        Plugins.instance().register(getattr(importlib.import_module(module), name))


def _hydra_flags(args: Sequence[str]) -> Optional[argparse.Namespace]:
    """The command line as Hydra's own parser reads it; None where Hydra will refuse it (and say why)."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return hydra_arg_parser().parse_args(list(args))
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

    typed = OverridesParser.create().parse_overrides(list(flags.overrides))
    if any(override.key_or_group == "hydra.run.dir" for override in typed):
        return None
    resume = [o for o in typed if o.key_or_group == "resume" and not o.is_delete() and isinstance(o.value(), str)]
    if not resume:
        return None
    run = named_run(resume[-1].value(), "resume")
    plain = [o.input_line for o in typed if not o.is_hydra_override() and o.key_or_group != "resume"]
    return run, [line for line in plain if line is not None]
