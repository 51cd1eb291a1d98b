"""The Optuna search's config: its keys, their defaults, and the options Hydra composes it from.

Registered in Hydra's ConfigStore as Hydra's own Optuna sweeper registered
its (hydra-optuna-sweeper 1.3, written for optuna < 3): the group
``hydra/sweeper`` gets the option ``optuna``, and ``hydra/sweeper/sampler``
the options ``tpe``, ``random`` and ``cmaes``. So ``override /hydra/sweeper:
optuna`` and ``override /hydra/sweeper/sampler: tpe`` compose as they did, with
the same keys, and configs written for that plugin run unchanged; the search
adds ``pruner`` and ``pruner_args``. A sampler's keys that are null are left
out when it is built: Optuna's own default applies, whichever release is
installed (TPE's ``constant_liar`` is off before Optuna 5 and on from 5).

Nothing here imports optuna: the plugin module that registers the options
(hydra_plugins/rnnexp_sweepers) is imported whenever Hydra looks for plugins,
with or without the sweep extra, and the start checks read this module in
every multirun. The options are registered only where optuna can be
imported, so that without the extra ``hydra/sweeper=optuna`` is answered as
an option that needs it.
"""

import importlib.util
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from rnnexp.data.task_registry import task_kind
from rnnexp.errors import UserError
from rnnexp.training.objectives import DIRECTIONS, Objective, objective_of, objective_of_direction

# The Hydra plugin class, which Hydra finds only under the hydra_plugins namespace.
SWEEPER_TARGET = "hydra_plugins.rnnexp_sweepers.optuna_search.OptunaSearch"


class Direction(Enum):
    """Which way the search goes, and so what it optimises: minimize the final loss, or maximize the accuracy."""

    minimize = 1
    maximize = 2


@dataclass
class SamplerConfig:
    _target_: str = MISSING


@dataclass
class TPESamplerConfig(SamplerConfig):
    """optuna.samplers.TPESampler: models the good and the bad trials' values, and draws where the good ones lie."""

    _target_: str = "optuna.samplers.TPESampler"
    seed: Optional[int] = None  # the same trials in the same order on every run
    n_startup_trials: int = 10  # random trials before the model
    n_ei_candidates: int = 24  # candidates drawn for each value, the best of them kept
    multivariate: Optional[bool] = None  # model the parameters jointly
    group: Optional[bool] = None  # with multivariate: model each set of parameters that occur together apart
    # Trials of a batch that have not ended count as bad ones, so a batch spreads out.
    constant_liar: Optional[bool] = None


@dataclass
class RandomSamplerConfig(SamplerConfig):
    """optuna.samplers.RandomSampler: every trial drawn at random."""

    _target_: str = "optuna.samplers.RandomSampler"
    seed: Optional[int] = None


@dataclass
class CmaEsSamplerConfig(SamplerConfig):
    """optuna.samplers.CmaEsSampler: needs the cmaes package (pip install cmaes); numbers only, choices are drawn at random."""

    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: Optional[int] = None
    sigma0: Optional[float] = None
    n_startup_trials: Optional[int] = None
    popsize: Optional[int] = None
    consider_pruned_trials: Optional[bool] = None
    use_separable_cma: Optional[bool] = None
    with_margin: Optional[bool] = None
    lr_adapt: Optional[bool] = None


@dataclass
class OptunaSearchConfig:
    """hydra.sweeper for rnnexp's Optuna search (conf/hparams_search/optuna.yaml sets its values)."""

    _target_: str = SWEEPER_TARGET
    defaults: List[Any] = field(default_factory=lambda: [{"sampler": "tpe"}])
    # The sweeper builds the sampler itself, without its null keys: Hydra would pass them all.
    _recursive_: bool = False

    sampler: SamplerConfig = MISSING
    # minimize: each job's final loss; maximize: its accuracy (rnnexp.training.objectives);
    # null: the task's kind chooses (maximize for classify, minimize for the others).
    direction: Optional[Direction] = None
    # Where the study lives; null: a journal file in the sweep directory, optuna.journal
    # (rnnexp/search/study_storage.py). A database URL (sqlite:///optuna.db) or a journal file's path also do.
    storage: Optional[str] = None
    study_name: Optional[str] = "rnnexp"  # null: rnnexp too (every job finds the study by its name)
    n_trials: int = 20  # in all, a continued search's earlier trials included
    n_jobs: int = 2  # trials asked for at a time: the batch a launcher runs together
    # A batch ends the study only when more than this share of it failed outside the job (a worker that died).
    max_failure_rate: float = 0.0
    # The searched keys, in Hydra's sweep syntax: choice(...), range(...), interval(...), int(interval(...)), tag(log, ...).
    params: Optional[Dict[str, str]] = None
    # Stops a trial after an epoch whose loss is behind the other trials' there: median, hyperband or none.
    pruner: str = "none"
    # The pruner's own arguments, as its Optuna class takes them (pruner_args.n_warmup_steps=2 for median).
    pruner_args: Dict[str, Any] = field(default_factory=dict)


SAMPLERS = {"tpe": TPESamplerConfig, "random": RandomSamplerConfig, "cmaes": CmaEsSamplerConfig}
# The samplers whose Optuna class needs a package that Optuna does not install.
SAMPLER_PACKAGES = {"cmaes": "cmaes"}
PROVIDER = "rnnexp"


def register_search_configs() -> None:
    """Put the search's options into Hydra's ConfigStore, where optuna is installed (again: the last one stored wins).

    Called as the plugin module is imported, and again once Hydra has looked for
    plugins (rnnexp.cli.command), over the options an installed
    hydra-optuna-sweeper would have stored under the same names.
    """
    if importlib.util.find_spec("optuna") is None:
        return
    store = ConfigStore.instance()
    search = OmegaConf.structured(OptunaSearchConfig)
    # Hydra makes every key of a config fixed once composed; the pruner's arguments are
    # the pruner's to judge (rnnexp.search.pruners), so hydra.sweeper.pruner_args.NAME=... adds one without a +.
    OmegaConf.set_struct(search.pruner_args, False)
    store.store(group="hydra/sweeper", name="optuna", node=search, provider=PROVIDER)
    for name, node in SAMPLERS.items():
        store.store(group="hydra/sweeper/sampler", name=name, node=node, provider=PROVIDER)


def is_search(sweeper: Optional[Mapping[str, Any]]) -> bool:
    """Whether a multirun's ``hydra.sweeper`` is rnnexp's Optuna search (its ``_target_`` names the plugin's class)."""
    return sweeper is not None and str(sweeper.get("_target_", "")).endswith(SWEEPER_TARGET.rpartition(".")[2])


def check_sampler(sampler: Mapping[str, Any]) -> None:
    """Refuse a sampler whose package is missing (cmaes), in one line, before any job runs."""
    for name, node in SAMPLERS.items():
        package = SAMPLER_PACKAGES.get(name)
        if node._target_ == sampler.get("_target_") and package and importlib.util.find_spec(package) is None:
            raise UserError(f"hydra/sweeper/sampler={name}: {node._target_} needs the {package} package; pip install {package}")


def search_objective(direction: Any, task: Optional[Mapping[str, Any]]) -> Optional[Objective]:
    """What a search with ``hydra.sweeper.direction`` optimises for ``task`` (its config node); None for a list of directions.

    minimize: the final loss; maximize: the accuracy. Null follows the task's
    kind as its class tells it before any data is read: a classify task
    maximises its accuracy, every other kind minimises its final loss, and so
    does task=custom unless task.kind names its kind (its data is read only
    by the jobs). The sweeper, its jobs and the summary all ask this.
    """
    direction = getattr(direction, "name", direction)  # the schema holds an enum
    if direction is None:
        return objective_of(task_kind(task) if task is not None else None)
    if str(direction) in DIRECTIONS:
        return objective_of_direction(str(direction))
    return None


def kind_unknown_note(direction: Any, task: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The line a search logs when its direction is null and its config does not tell the task's kind (task=custom)."""
    if getattr(direction, "name", direction) is not None or task is None or task_kind(task) is not None:
        return None
    return (
        "hydra.sweeper.direction=null: task=custom tells its kind only once its data is read, so the search minimizes "
        "the final loss; with task.kind=classify it maximizes the accuracy (or set hydra.sweeper.direction=maximize)"
    )
