"""A run's hyperparameters as TensorBoard's HParams page shows them, and the keys its user varied.

The page opens on what the user varied: each run marks those keys
``differs`` in its experiment summary (rnnexp.tracking.summaries), so they
are ticked first. ``Overrides``, the run's command-line overrides, is
capitalised: Python's order puts capitals first, so it is the first column
after the varied keys.
"""

from __future__ import annotations

import sys
from dataclasses import Field
from pathlib import Path
from typing import Any, Mapping, Optional

from omegaconf import OmegaConf

from rnnexp.config.fields import KEYWORDS, UNKNOWN_SIZE, HParam, HParamValue, hparam_of, short_name
from rnnexp.config.key_checks import GROUP_SECTIONS
from rnnexp.config.keys import schema_fields
from rnnexp.results import saved_overrides, sweep_task_overrides

__all__ = ["HParamValue", "NO_OVERRIDES", "OVERRIDES", "UNKNOWN_SIZE", "hparams_of", "overrides_of", "short_name", "varied_keys"]




# The hyperparameter holding the run's command-line overrides (see the module's docstring).
OVERRIDES = "Overrides"


NO_OVERRIDES = "(none)"  # a run with none, or trained by calling train() directly



def overrides_of(run_dir: str | Path) -> str:
    """The run's command-line overrides as typed (``model=cell seed=1``), from what Hydra saved beside it."""
    overrides = _job_overrides(run_dir)
    if overrides is None:
        overrides = saved_overrides(run_dir)
    return " ".join(overrides or []) or NO_OVERRIDES


def _job_overrides(run_dir: str | Path) -> Optional[list[str]]:
    """The overrides of the Hydra job running in ``run_dir``, from Hydra's config: what it has just saved there.

    None outside such a job (train() called directly, a run read later).
    """
    job = _running_job(run_dir)
    return None if job is None else [str(override) for override in job.overrides.task]


def _running_job(run_dir: str | Path):
    """The Hydra config of the job running in ``run_dir`` in this process (what it saves as .hydra/hydra.yaml); else None."""
    if "hydra" not in sys.modules:  # no Hydra job in this process
        return None
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    job = HydraConfig.get()
    output_dir = job.runtime.get("output_dir")
    if output_dir is None or Path(output_dir).resolve() != Path(run_dir).resolve():
        return None
    return job


def hparams_of(resolved: Mapping, overrides: str = NO_OVERRIDES) -> dict[str, HParamValue]:
    """The flat hyperparameters of a run (its resolved config), with the same keys in every run.

    The columns are the schema fields flagged ``hparam`` (rnnexp.config.fields),
    each with its field's type; null shows as the field's ``when_null``
    (clip 0.0: no clipping; a size the data decides, UNKNOWN_SIZE: null only
    in the config of a run that failed before it read the data). Then the
    keyword arguments of a user's class (model.recurrence.alpha,
    task.data.n), which only the runs of that class have: a run without the
    column still shows on the page (a missing value passes its filters).
    """
    hparams: dict[str, HParamValue] = {OVERRIDES: overrides}
    for key, field in schema_fields().items():
        section = _section(resolved, key)
        name = key.rpartition(".")[2]
        hparam = hparam_of(field)
        if hparam is not None and section is not None:
            hparams[hparam.column or key] = _shown(section.get(name), field, hparam, section)
        if field.metadata.get(KEYWORDS) and section is not None and isinstance(section.get(name), Mapping):
            hparams.update(_keyword_arguments(section[name], key))
    # The options chosen lead (model, encoder, ...), as in the experiment summary that lists them in this order.
    leading = [key for key in (OVERRIDES, *GROUP_SECTIONS) if key in hparams]
    return {key: hparams[key] for key in [*leading, *(key for key in hparams if key not in leading)]}


def _section(resolved: Mapping, key: str) -> Optional[Mapping]:
    """The dict holding ``key`` (the top level for ``lr``, the model for ``model.head``); None without one."""
    section = resolved
    for part in key.split(".")[:-1]:
        section = section.get(part) if isinstance(section, Mapping) else None
    return section if isinstance(section, Mapping) else None


# The field types HParams shows as such (an Optional's null is when_null).
_TYPES = {"bool": bool, "int": int, "float": float, "str": str}


def _shown(value: Any, field: Field, hparam: HParam, section: Mapping) -> HParamValue:
    if value is None:
        return hparam.when_null(section) if callable(hparam.when_null) else hparam.when_null
    if hparam.class_name:
        return short_name(value)
    declared = str(field.type).removeprefix("Optional[").removesuffix("]")
    return _TYPES.get(declared, str)(value)


def _keyword_arguments(node: Mapping, prefix: str) -> dict[str, HParamValue]:
    """``{"model.recurrence.alpha": 0.5}``: a class's own keyword arguments, nested ones dotted; null ones left out."""
    found: dict[str, HParamValue] = {}
    for name, value in node.items():
        if str(name).startswith("_"):  # _target_: the class itself is the model's or task's column
            continue
        key = f"{prefix}.{name}"
        if isinstance(value, Mapping):
            found.update(_keyword_arguments(value, key))
        elif isinstance(value, (bool, int, float, str)):
            found[key] = value
        elif value is not None:
            found[key] = str(value)  # a list: one string, a column of one type
    return found


def varied_keys(run_dir: str | Path) -> set[str]:
    """The keys the user varied: a sweep job's swept keys, or a single run's overridden keys.

    A job's sweep is read from the files Hydra saved: the job's
    ``.hydra/hydra.yaml`` (its sweeper's params, an Optuna search's) and the
    sweep directory's ``multirun.yaml`` above it (the overrides as typed, where
    ``seed=0,1`` sweeps and ``epochs=3`` does not). Empty for a run trained by
    calling train() directly. Keys that are no hyperparameter column
    (``task.shift``, ``hydra.*``) are returned too; they mark nothing.
    """
    run_dir = Path(run_dir)
    hydra = _job_hydra_config(run_dir)
    mode = None if hydra is None else hydra.get("mode")
    if getattr(mode, "name", mode) != "MULTIRUN":  # a RunMode in memory, its name once saved
        words = _job_overrides(run_dir) or saved_overrides(run_dir) or []
        return {_override_key(word) for word in words}
    keys = {_override_key(str(key)) for key in OmegaConf.select(hydra, "sweeper.params", default=None) or {}}
    # The sweep directory holds its jobs (conf/config.yaml's hydra.sweep.subdir). Not
    # hydra.sweep.dir as saved: resolving it again would name (and make) a new directory.
    typed = sweep_task_overrides(run_dir.parent)
    if typed:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(typed)
        keys |= {_override_key(override.key_or_group) for override in parsed if override.is_sweep_override()}
    return keys


def _job_hydra_config(run_dir: Path):
    """The Hydra config of the job in ``run_dir``: the running job's own, else its saved ``.hydra/hydra.yaml``; None without one.

    The running job's is in memory: reading it saves every job of a sweep
    parsing the whole saved file again.
    """
    running = _running_job(run_dir)
    if running is not None:
        return running
    hydra_yaml = run_dir / ".hydra" / "hydra.yaml"
    return OmegaConf.load(hydra_yaml).hydra if hydra_yaml.is_file() else None


def _override_key(word: str) -> str:
    """``+model.dropout=0.1`` -> ``model.dropout``: the config key an override sets."""
    return word.split("=", 1)[0].lstrip("+~")
