"""What Hydra's composition lets through, refused before it creates a directory.

Hydra lets ``+key=value`` and ``++key=value`` add a key that no schema has,
which nothing then reads, and ``~key`` remove a key, which every run reads;
and it writes into a run directory that already holds a run. Each is refused
with one line saying what to type instead. :class:`StartChecks` is the Hydra
callback (``hydra.callbacks`` in conf/config.yaml) that runs these checks.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Collection, Iterator, Optional, Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import MISSING, DictConfig, OmegaConf

from rnnexp.internals.hydra_private import compose_each_job_once
from rnnexp.config.keys import SECTION_SCHEMAS, schema_field
from rnnexp.errors import USAGE_ERROR, ExitWith, UserError, no_such_key
from rnnexp.results import EVENT_FILES, LAST, METRICS_NAME, typed_override

# The sections that a config group fills (model=rnn): removing one leaves the run without it.
GROUP_SECTIONS = ("model", "encoder", "optimizer", "scheduler", "task")

# The optimizer's and scheduler's keys are keyword arguments of their _target_
# (+optimizer.amsgrad=true is Adam's own): torch knows them, not a schema, and
# refuses a wrong one when it builds the object.
_KEYWORD_SECTIONS = ("optimizer", "scheduler")

# What null does, for each schema key whose default is null: the value to type
# instead of removing the key.
NULL_MEANS = {
    "clip": "turns clipping off",
    "patience": "trains all epochs",
    "resume": "starts a new run",
    "model.hidden_size": "sizes h_t from the number of classes",
    "encoder.dim": "sizes x_t from the vocabulary",
    "task.min_length": "gives every sequence task.length characters",
}


def unread_keys(cfg: DictConfig, swept: Collection[str] = ()) -> list[str]:
    """The dotted keys of ``cfg`` that no schema defines: added with + or ++, and read by nothing.

    Hydra's own ``hydra`` and the keyword sections (optimizer, scheduler) are
    left out. A section in ``swept`` (a group whose option a sweep varies) is
    checked against every option's schema: its jobs may choose any of them.
    """
    unread: list[str] = []

    def visit(node: DictConfig, prefix: str) -> None:
        section = prefix.rstrip(".")
        if section in swept:
            known: Optional[set[str]] = {f.name for schema in SECTION_SCHEMAS.get(section, []) for f in fields(schema)}
        else:
            schema = OmegaConf.get_type(node)
            known = {f.name for f in fields(schema)} if is_dataclass(schema) else None
        for key in node:
            dotted = f"{prefix}{key}"
            if dotted == "hydra" or dotted in _KEYWORD_SECTIONS:
                continue
            if known is not None and key not in known:
                unread.append(dotted)
                continue
            child = node._get_node(key)  # unresolved: T_max is ${epochs}
            if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
                visit(child, f"{dotted}.")

    visit(cfg, "")
    return unread


def check_keys(cfg: DictConfig, swept: Collection[str] = ()) -> None:
    """Refuse a key that nothing reads, with the line the same key gets when typed without a +."""
    unread = unread_keys(cfg, swept)
    if unread:
        # Hints from this config's own keys (task.shift, task=caesar's, is no key of
        # task=hello), less the added ones and what they hold.
        known = [key for key in _dotted_keys(cfg) if not any(key == u or key.startswith(f"{u}.") for u in unread)]
        raise UserError(no_such_key(unread[0], known))


def _dotted_keys(node: DictConfig, prefix: str = "") -> Iterator[str]:
    for key in node:
        dotted = f"{prefix}{key}"
        yield dotted
        child = node._get_node(key)
        if dotted != "hydra" and isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            yield from _dotted_keys(child, f"{dotted}.")


def check_removal(key: str) -> None:
    """Refuse ``~key`` for a key of the schemas, saying what to type instead.

    Every run reads each of them. Hydra removes a top-level one (the run then
    fails where it reads it), refuses a nested one in its own words, and takes
    a key set to null for one that does not exist.
    """
    if key in GROUP_SECTIONS:
        raise UserError(
            f"~{key}: every run needs a {key}; choose an option instead, {key}=... (python -m rnnexp --help lists them)"
        )
    field = schema_field(key)
    if field is None or field.name.startswith("_"):
        return  # not a key of the schemas: Hydra answers
    if field.default is None:
        instead = f"{key}=null {NULL_MEANS.get(key, 'is its default')}"
    elif field.default == MISSING:
        instead = f"set it instead, {key}=..."
    else:
        instead = f"set it instead, for example {typed_override(key, field.default)}"
    raise UserError(f"~{key}: {key} cannot be removed, every run reads it; {instead}")


def swept_sections(config: DictConfig) -> set[str]:
    """The top-level sections that a sweep's jobs may compose otherwise than the sweep's own config.

    The config Hydra composes for a multirun holds none of the swept values
    (with task=copy,caesar its task is the default, hello); each job composes
    its own. The sweeper's params sweep too (hparams_search=optuna).
    """
    typed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
    swept = [override.key_or_group for override in typed if override.is_sweep_override()]
    swept += [str(key) for key in config.hydra.sweeper.get("params") or {}]
    sections = {key.lstrip("+~").split(".")[0] for key in swept}
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
            check_keys(config)
            check_run_dir(str(config.hydra.run.dir))
        except UserError as error:
            raise ExitWith(USAGE_ERROR, error) from None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            # A key that one of a swept group's options reads (+task.shift with
            # task=copy,caesar) is checked again by each job, on the config it composes.
            check_keys(config, swept=swept_sections(config))
            check_sweep_dir(str(config.hydra.sweep.dir), config.hydra.overrides.task)
        except UserError as error:
            raise ExitWith(USAGE_ERROR, error) from None
        # Hydra builds the sweeper after this hook: it then composes each job once, not twice.
        compose_each_job_once(config)


