"""The schemas' keys read as dotted names: each key's field and default, the options that define it, and older checkpoints' missing keys."""

from __future__ import annotations

import copy
import re
from dataclasses import Field, fields
from importlib import resources
from typing import Any, Optional

from omegaconf import OmegaConf

from rnnexp.config.schemas import (
    OPTIMIZER_SCHEMAS,
    SCHEDULER_SCHEMAS,
    SCHEMAS,
    TASK_SCHEMAS,
    Config,
    EncoderConfig,
    ModelConfig,
)
from rnnexp.errors import KeyHints

# --------------------------------------------------------------------------- older checkpoints
# Keys added to the schemas after the first checkpoints were written. A run
# saved before a key existed behaved as the key's default does now, so
# migrate() fills each in with its schema default, and the rest of the code
# reads every key directly. diverge_ratio is the one exception, on purpose:
# an older run resumed is held to today's divergence rule, which changes no
# loss, only where a run whose loss explodes stops.
ADDED_KEYS = ("threads", "model.cuda_graph", "sweep_lines", "diverge_ratio", "train_accuracy")
# Keys older checkpoints hold that the schemas no longer have, dropped on
# loading: rnnexp.training.optimizers passes every optimizer and scheduler key
# but _target_ to the class, and no torch class takes _partial_.
REMOVED_KEYS = ("optimizer._partial_", "scheduler._partial_")


def migrate(config: dict) -> dict:
    """A checkpoint's config (plain data) with the keys added since it was saved, at their defaults, and the removed ones gone.

    Returns a new dict; ``config`` is not changed.
    """
    migrated = copy.deepcopy(config)
    for key in ADDED_KEYS:
        section, _, name = key.rpartition(".")
        node = migrated[section] if section else migrated
        node.setdefault(name, schema_default(key))
    for key in REMOVED_KEYS:
        section, _, name = key.rpartition(".")
        node = migrated.get(section) if section else migrated
        if isinstance(node, dict):
            node.pop(name, None)
    if "recurrence" not in migrated["model"]:
        # Saved when model.name chose the class: the recurrence its option names now.
        migrated["model"]["recurrence"] = builtin_recurrence(migrated["model"]["name"])
    return migrated


def builtin_recurrence(model_name: str) -> dict:
    """The ``recurrence`` node (``_target_`` and arguments) of the built-in option conf/model/<model_name>.yaml.

    Read from the option itself, the one home of which class each built-in
    runs. A name that is no option is left without a class: building the
    model then says what to type.
    """
    option = resources.files("rnnexp.conf") / "model" / f"{model_name}.yaml"
    if not option.is_file():
        return {"_target_": None}
    node = OmegaConf.create(option.read_text()).get("recurrence")  # the YAML text
    return OmegaConf.to_container(node) if node is not None else {"_target_": None}


def schema_default(key: str) -> Any:
    """The default a schema gives a top-level, ``model.`` or ``encoder.`` key."""
    field = schema_field(key)
    if field is None:
        raise KeyError(key)
    return field.default


# The schemas of each section of the config: the top level, and each group's options.
SECTION_SCHEMAS = {
    "": [Config],
    "model": [ModelConfig],
    "encoder": [EncoderConfig],
    "task": list(TASK_SCHEMAS.values()),
    "optimizer": list(OPTIMIZER_SCHEMAS.values()),
    "scheduler": list(SCHEDULER_SCHEMAS.values()),
}


def schema_field(key: str) -> Optional[Field]:
    """The dataclass field behind a dotted key: the first of its section's schemas that has it."""
    section, _, name = key.rpartition(".")
    for schema in SECTION_SCHEMAS.get(section, []):
        for field in fields(schema):
            if field.name == name:
                return field
    return None


def schema_fields() -> dict[str, Field]:
    """Every dotted key the schemas define, with its field: the first of its section's schemas that has it.

    In the schemas' order (the top level, model, encoder, task, optimizer,
    scheduler), so what is generated from the fields (the range checks, the
    docs' key table) keeps that order.
    """
    found: dict[str, Field] = {}
    for section, schemas in SECTION_SCHEMAS.items():
        prefix = f"{section}." if section else ""
        for schema in schemas:
            for field in fields(schema):
                found.setdefault(f"{prefix}{field.name}", field)
    return found


def schema_keys() -> list[str]:
    """Every dotted key the schemas define (for "did you mean" hints)."""
    keys = []
    for section, schemas in SECTION_SCHEMAS.items():
        prefix = f"{section}." if section else ""
        for schema in schemas:
            keys += [f"{prefix}{f.name}" for f in fields(schema) if not f.name.startswith("_")]
    return sorted(set(keys))


_SCHEMA_IN_DEFAULTS = re.compile(r"^\s*-\s*/(schema_\w+)@", re.MULTILINE)  # "- /schema_task_text@task"


def options_defining(key: str) -> list[str]:
    """The options of ``key``'s group whose schema has it: ``task.path`` -> ``["pairs", "text"]``.

    Read from each option's YAML defaults list (the schema it extends), so a
    key typed under the wrong option can be sent to the ones that read it.
    """
    if key.startswith(f"{LAUNCHER_SECTION}."):
        return launchers_defining(key.removeprefix(f"{LAUNCHER_SECTION}."))
    group, _, name = key.partition(".")
    folder = resources.files("rnnexp.conf") / group
    if not name or "." in name or group not in SECTION_SCHEMAS or not folder.is_dir():
        return []
    options = []
    for option in sorted(folder.iterdir(), key=lambda path: path.name):
        schema = _SCHEMA_IN_DEFAULTS.search(option.read_text()) if option.name.endswith(".yaml") else None
        if schema and name in {f.name for f in fields(SCHEMAS.get(schema.group(1), Config))}:
            options.append(option.name.removesuffix(".yaml"))
    return options


LAUNCHER_SECTION = "hydra.launcher"


def launchers_defining(name: str) -> list[str]:
    """The options of ``hydra/launcher`` that have the key ``name``: ``jobs_per_gpu`` -> ``["gpus"]``.

    Read from Hydra's ConfigStore, where each launcher plugin stores its
    config's schema: only the plugins installed here are named.
    """
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    group = LAUNCHER_SECTION.replace(".", "/")
    try:
        options = store.list(group)
    except OSError:  # ConfigStore says a group it does not hold is not a directory
        return []
    found = []
    for option in options:
        node = store.load(f"{group}/{option}").node
        if "." not in name and name in node:
            found.append(option.removesuffix(".yaml"))
    return sorted(found)


def key_hints() -> KeyHints:
    """The schemas' keys and the options that define each, for rnnexp.errors' line on a key the config lacks."""
    return KeyHints(schema_keys(), options_defining)
