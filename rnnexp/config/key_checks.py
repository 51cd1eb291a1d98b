"""Keys that Hydra's composition lets a command line add or remove, refused with what to type instead.

Hydra lets ``+key=value`` and ``++key=value`` add a key that no schema has,
which nothing then reads, and ``~key`` remove a key, which every run reads.
The command line (rnnexp.cli.start_checks, before Hydra creates a
directory), ``rnnexp.shapes`` and the tests run these checks through
rnnexp.config.pipeline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import fields, is_dataclass
from typing import Collection, Iterator, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import MISSING, DictConfig, OmegaConf

from rnnexp.config.command_words import typed_override
from rnnexp.config.fields import null_of
from rnnexp.config.keys import SECTION_SCHEMAS, options_defining, schema_field
from rnnexp.errors import KeyHints, UserError, no_such_key
from rnnexp.internals.omegaconf_private import stored_section

# The sections that a config group fills (model=rnn): removing one leaves the run without it.
GROUP_SECTIONS = ("model", "encoder", "optimizer", "scheduler", "task")

# The optimizer's and scheduler's keys are keyword arguments of their _target_
# (+optimizer.amsgrad=true is Adam's own): torch knows them, not a schema, and
# refuses a wrong one when it builds the object.
_KEYWORD_SECTIONS = ("optimizer", "scheduler")


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
            child = stored_section(node, key)  # unresolved: T_max is ${epochs}
            if child is not None:
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
        raise UserError(no_such_key(unread[0], KeyHints(known, options_defining)))


def _dotted_keys(node: DictConfig, prefix: str = "") -> Iterator[str]:
    for key in node:
        dotted = f"{prefix}{key}"
        yield dotted
        child = stored_section(node, key)
        if dotted != "hydra" and child is not None:
            yield from _dotted_keys(child, f"{dotted}.")


def check_removal(key: str) -> None:
    """Refuse ``~key`` for a key of the schemas, saying what to type instead.

    Every run reads each of them. Hydra removes a top-level one (the run then
    fails where it reads it), refuses a nested one in its own words, and takes
    a key set to null for one that does not exist. What null does is the
    field's ``null`` (rnnexp.config.fields).
    """
    if key in GROUP_SECTIONS:
        raise UserError(
            f"~{key}: every run needs a {key}; choose an option instead, {key}=... (python -m rnnexp --help lists them)"
        )
    field = schema_field(key)
    if field is None or field.name.startswith("_"):
        return  # not a key of the schemas: Hydra answers
    if field.default is None:
        instead = f"{key}=null {null_of(field) or 'is its default'}"
    elif field.default == MISSING or field.default is dataclasses.MISSING:  # the latter: a default_factory (model.recurrence)
        instead = f"set it instead, {key}=..."
    else:
        instead = f"set it instead, for example {typed_override(key, field.default)}"
    raise UserError(f"~{key}: {key} cannot be removed, every run reads it; {instead}")


def check_removals(overrides: Sequence[str]) -> None:
    """Refuse each ``~key`` of ``overrides`` that every run reads, before Hydra answers it in its own words."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_delete() and not override.is_hydra_override():
            check_removal(override.key_or_group)
