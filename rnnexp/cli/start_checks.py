"""What Hydra's composition lets through, refused before it creates a directory.

Hydra lets ``+key=value`` and ``++key=value`` add a key that no schema has,
which nothing then reads, and ``~key`` remove a key, which every run reads
(both checked by rnnexp.config.key_checks); and it writes into a run
directory that already holds a run. Each is refused with one line saying
what to type instead. :class:`StartChecks` is the Hydra callback
(``hydra.callbacks`` in conf/config.yaml) that runs these checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rnnexp.config.command_words import typed_override
from rnnexp.config.key_checks import GROUP_SECTIONS
from rnnexp.config.pipeline import check_composed
from rnnexp.errors import USAGE_ERROR, ExitWith, UserError
from rnnexp.internals.hydra_private import compose_each_job_once
from rnnexp.results import EVENT_FILES, LAST, METRICS_NAME
from rnnexp.search.checks import check_search as check_search_settings
from rnnexp.search.config import is_search


def swept_keys(config: DictConfig) -> list[str]:
    """The keys a multirun sweeps: those of the command line with several values, then the sweeper's params."""
    typed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
    swept = [override.key_or_group.lstrip("+~") for override in typed if override.is_sweep_override()]
    return swept + [str(key).lstrip("+~") for key in config.hydra.sweeper.get("params") or {}]


def swept_sections(config: DictConfig) -> set[str]:
    """The top-level sections that a sweep's jobs may compose otherwise than the sweep's own config.

    The config Hydra composes for a multirun holds none of the swept values
    (with task=copy,caesar its task is the default, hello); each job composes
    its own. The sweeper's params sweep too (hparams_search=optuna).
    """
    sections = {key.split(".")[0] for key in swept_keys(config)}
    if sections & {"experiment", "hparams_search"}:  # options of the whole config: they may choose any group
        sections |= set(GROUP_SECTIONS)
    return sections


# --------------------------------------------------------------------------- directories that hold a run
# The files that show a directory holds a run: its record, its last checkpoint
# and its TensorBoard events.
RUN_FILES = (METRICS_NAME, LAST)


def run_file_in(directory: str | Path) -> Optional[str]:
    """The name of a file that a run wrote in ``directory``, or None when it holds no run."""
    path = Path(directory)
    for name in RUN_FILES:
        if (path / name).is_file():
            return name
    events = sorted(path.glob(EVENT_FILES))
    return events[0].name if events else None


def check_run_dir(directory: str) -> None:
    """Refuse a run directory that holds a run: a second event file would draw its curves twice."""
    found = run_file_in(directory)
    if found:
        # resume= needs a checkpoint: a run that failed or stopped before its first epoch has none.
        resumable = (Path(directory) / LAST).is_file()
        raise UserError(
            f"hydra.run.dir={directory}: already holds a run ({found}); choose a new directory, hydra.run.dir=..."
            + (f", or continue that run with {typed_override('resume', directory)}" if resumable else "")
        )


def check_ladder(config: DictConfig) -> None:
    """Refuse a ``ladder`` key that the sweep does not sweep: its summary would have no ladder to show."""
    ladder = config.get("ladder")
    swept = swept_keys(config)
    if ladder is not None and ladder not in swept:
        sweeps = f"this sweep varies {', '.join(swept)}" if swept else "this sweep varies no key"
        raise UserError(f"ladder={ladder}: must name a key the sweep varies with several values ({sweeps})")


def check_search(config: DictConfig) -> None:
    """Refuse an Optuna search's settings that no job could run with (rnnexp.search.checks), before any job runs."""
    sweeper = config.hydra.get("sweeper")
    if is_search(sweeper):
        check_search_settings(sweeper, config.hydra.overrides.task)


def check_launcher(config: DictConfig) -> None:
    """Let the sweep's launcher refuse its keys before the sweep directory exists.

    Hydra's callbacks write into that directory before Hydra builds the
    launcher, so a launcher that checks its keys only as it is set up leaves
    a sweep without jobs behind. A launcher class with a ``check_config(config)``
    (rnnexp's gpus launcher) is asked here; its class is found by the
    config's ``_target_``, as Hydra finds it.
    """
    from hydra.utils import get_class

    target = (config.hydra.get("launcher") or {}).get("_target_")
    try:
        launcher = get_class(target) if target else None
    except Exception:
        return  # Hydra reports a launcher it cannot import, in its own words, when it builds it
    check = getattr(launcher, "check_config", None)
    if callable(check):
        check(config)


def check_sweep_dir(directory: str, overrides: Sequence[str] = ()) -> None:
    """Refuse a sweep directory that holds another sweep: its jobs' directories and its summary would mix two sweeps.

    The same sweep (the same overrides) continues there: what
    ``continue=<sweep dir>`` runs (rnnexp.sweep.continuation).
    """
    from rnnexp.sweep.continuation import KEY, saved_task_overrides

    path = Path(directory)
    if saved_task_overrides(path) == list(overrides):
        return
    for job in sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []:
        found = run_file_in(job)
        if found:
            raise UserError(
                f"hydra.sweep.dir={directory}: already holds another sweep ({job.name}/{found}); "
                f"choose a new directory, hydra.sweep.dir=..., or continue that sweep: "
                f"python -m rnnexp {typed_override(KEY, directory)}"
            )


class StartChecks(Callback):
    """The checks of the composed config that Hydra lets through, made before it creates a directory.

    Hydra calls these hooks once it has composed the command line, and only
    then creates the run or sweep directory: a refusal leaves nothing behind.
    Hydra turns an exception in a hook into a warning, so a refusal ends the
    command with ExitWith, which rnnexp.cli.main prints as one line.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        # A run directory may name ${hydra:runtime.choices.model}: that resolver reads
        # HydraConfig, which Hydra sets from this config as the job starts.
        HydraConfig.instance().set_config(config)
        try:
            check_composed(config)
            check_run_dir(str(config.hydra.run.dir))
        except UserError as error:
            raise ExitWith(USAGE_ERROR, error) from None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            # A key that one of a swept group's options reads (+task.shift with
            # task=copy,caesar) is checked again by each job, on the config it composes.
            check_composed(config, swept=swept_sections(config))
            check_ladder(config)
            check_search(config)
            check_launcher(config)
            check_sweep_dir(str(config.hydra.sweep.dir), config.hydra.overrides.task)
        except UserError as error:
            raise ExitWith(USAGE_ERROR, error) from None
        # Hydra builds the sweeper after this hook: it then composes each job once, not twice.
        compose_each_job_once(config)


