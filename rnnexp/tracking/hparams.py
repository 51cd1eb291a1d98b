"""A run's hyperparameters as TensorBoard's HParams page shows them, and the keys its user varied.

The page opens on what the user varied: each run marks those keys
``differs`` in its experiment summary (rnnexp.tracking.summaries), so they
are ticked first. ``Overrides``, the run's command-line overrides, is
capitalised: Python's order puts capitals first, so it is the first column
after the varied keys.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Union

from omegaconf import OmegaConf

from rnnexp.results import saved_overrides, sweep_task_overrides


HParamValue = Union[int, float, str, bool]


# The hyperparameter holding the run's command-line overrides (see the module's docstring).
OVERRIDES = "Overrides"


NO_OVERRIDES = "(none)"  # a run with none, or trained by calling train() directly


# Stands for a size the data decides, in a run that failed before it read the data:
# a number, so the column stays numeric for every run.
UNKNOWN_SIZE = -1


def short_name(target: str) -> str:
    """``torch.optim.AdamW`` -> ``adamw``: a class's name as its YAML option spells it."""
    return target.rsplit(".", 1)[-1].lower()


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


def hparams_of(resolved: dict, overrides: str = NO_OVERRIDES) -> dict[str, HParamValue]:
    """The flat hyperparameters of a run (its resolved config), with the same keys in every run.

    Optimizer-specific keys (betas, momentum, ...) differ between optimizers,
    so only weight_decay, which all of them have, joins the table. A size the
    data decides and the config leaves null (model.hidden_size, encoder.dim)
    is UNKNOWN_SIZE: it is null only in the config of a run that failed
    before it read the data.
    """
    model, encoder, optimizer = resolved["model"], resolved["encoder"], resolved["optimizer"]
    scheduler = resolved["scheduler"]["_target_"]
    return {
        OVERRIDES: overrides,
        "model": model["name"],
        "encoder": encoder["name"],
        "optimizer": short_name(optimizer["_target_"]),
        "scheduler": short_name(scheduler) if scheduler else "none",
        "task": resolved["task"]["name"],
        "lr": float(resolved["lr"]),
        "epochs": int(resolved["epochs"]),
        "batch_size": int(resolved["batch_size"]),
        "seed": int(resolved["seed"]),
        "device": str(resolved["device"]),
        "clip": float(resolved["clip"] or 0.0),  # 0: no clipping
        "model.hidden_size": _size(model["hidden_size"]),
        "model.num_layers": int(model["num_layers"]),
        "model.head": bool(model["head"]),
        "model.bidirectional": bool(model["bidirectional"]),
        "model.dropout": float(model["dropout"]),
        "model.init_scale": float(model["init_scale"]),
        "encoder.dim": _size(encoder["dim"]),
        "optimizer.weight_decay": float(optimizer.get("weight_decay", 0.0)),
    }


def _size(value: Optional[int]) -> int:
    return UNKNOWN_SIZE if value is None else int(value)


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
