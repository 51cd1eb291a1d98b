"""The pruners an Optuna search may use (``hydra.sweeper.pruner``) and their arguments (``hydra.sweeper.pruner_args``).

The sweeper builds its study with the pruner, and so does every job that
reports to the study (rnnexp.search.trial_report), from the same settings:
the job asks the pruner after each epoch whether its trial should stop.
The names are imported from optuna only when a pruner is built or checked,
since the start checks read this module in every multirun.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping, Optional

from rnnexp.errors import UserError
from rnnexp.targets import check_keywords

# Each name, and Optuna's class behind it. none still lets every job report its
# losses to its trial (optuna-dashboard draws them); it only never stops one.
PRUNERS = {
    "median": "optuna.pruners.MedianPruner",  # below the median of the finished trials' losses at the same epoch
    "hyperband": "optuna.pruners.HyperbandPruner",  # successive halving over brackets of trials
    "none": "optuna.pruners.NopPruner",
}
KEY, ARGS_KEY = "hydra.sweeper.pruner", "hydra.sweeper.pruner_args"


def pruner_class(name: str) -> type:
    """Optuna's class for the pruner ``name``; a UserError naming the allowed ones for any other."""
    if name not in PRUNERS:
        raise UserError(f"{KEY}={name}: allowed values are {', '.join(PRUNERS)}")
    module, _, attribute = PRUNERS[name].rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def make_pruner(name: str, arguments: Optional[Mapping[str, Any]] = None) -> Any:
    """The pruner ``name`` built with ``arguments``; one line naming the argument it does not take, or refuses."""
    cls = pruner_class(name)
    arguments = dict(arguments or {})
    check_keywords(cls, PRUNERS[name], arguments, ARGS_KEY)
    try:
        return cls(**arguments)
    except (TypeError, ValueError) as error:  # n_warmup_steps=-1, reduction_factor=1: Optuna's own words
        given = " ".join(f"{ARGS_KEY}.{key}={value}" for key, value in arguments.items())
        raise UserError(f"{given}: {PRUNERS[name]} refuses them ({error})") from None
