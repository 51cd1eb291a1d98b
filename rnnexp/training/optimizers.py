"""Build the optimizer and the scheduler a config names, without loading TorchDynamo.

The optimizer and the scheduler are torch classes named by ``_target_``
(conf/optimizer/, conf/scheduler/), built here with their node's values, the
model's parameters and the top-level ``lr``. Not with Hydra's recursive
``instantiate``: a run's saved config is read again on ``resume=``, and a
``_target_`` nested in its values would be called; here it is refused, and
the class itself must be torch's.

TorchDynamo stays unloaded while they run: see rnnexp.internals.torch_private.
"""

from __future__ import annotations

import importlib
import math
import re
from typing import Any, Optional

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnexp.errors import UserError
from rnnexp.internals.torch_private import skip_dynamo_in_disabled_methods, without_dynamo_import


def build_optimizer(cfg: DictConfig, model: nn.Module) -> torch.optim.Optimizer:
    cls = _torch_class("optimizer", cfg.optimizer._target_, (torch.optim.Optimizer,), "torch.optim.Optimizer", "torch.optim.Adam")
    skip_dynamo_in_disabled_methods()  # before the constructor's add_param_group
    return without_dynamo_import(_call("optimizer", cls, cfg.optimizer, model.parameters(), lr=cfg.lr))


def replan_cosine(scheduler: Any, optimizer: torch.optim.Optimizer, T_max: Optional[int]) -> None:
    """Give a restored CosineAnnealingLR the config's ``T_max`` where its state holds another (resume with epochs=N).

    The optimizer's lr becomes the one a schedule planned with ``T_max`` from
    the start gives at this epoch; torch's steps go on from it along the new
    half cosine.
    """
    if not isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) or scheduler.T_max == T_max:
        return
    scheduler.T_max = T_max
    progress = (1 + math.cos(math.pi * scheduler.last_epoch / T_max)) / 2
    for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs):
        group["lr"] = scheduler.eta_min + (base_lr - scheduler.eta_min) * progress


def build_scheduler(cfg: DictConfig, optimizer: torch.optim.Optimizer):
    if not cfg.scheduler._target_:
        return None
    schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    cls = _torch_class("scheduler", cfg.scheduler._target_, schedulers, "a torch.optim.lr_scheduler class", "torch.optim.lr_scheduler.StepLR")
    return _call("scheduler", cls, cfg.scheduler, optimizer)


def _torch_class(key: str, target: str, base: tuple[type, ...], kind: str, example: str) -> type:
    """The class ``target`` names, refused unless it is a subclass of ``base``: nothing else is called."""
    module_name, _, name = target.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name, None)
    except (ImportError, ValueError):  # ValueError: no module part ("Adam")
        found = None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise UserError(f"{key}._target_={target}: not a subclass of {kind}; for example {key}._target_={example}")
    return found


def _call(key: str, cls: type, node: DictConfig, *args: Any, **kwargs: Any) -> Any:
    """``cls`` built with ``node``'s values as plain data; an argument it does not take is a UserError naming it."""
    values = OmegaConf.to_container(node, resolve=True)
    arguments = {name: value for name, value in values.items() if name != "_target_"}
    for name, value in arguments.items():
        if _holds_target(value):
            raise UserError(f"{key}.{name}: holds a _target_; the {key}'s arguments are plain values, nothing in them is built")
    try:
        return cls(*args, **arguments, **kwargs)
    except TypeError as error:  # +optimizer.amsgrd=true: the class's __init__ refuses the keyword
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        if unknown is None:
            raise
        name = unknown.group(1)
        raise UserError(
            f"{key}.{name}: {node._target_} takes no argument {name}; "
            f"python -m rnnexp --cfg job shows the {key}'s keys"
        ) from None


def _holds_target(value: Any) -> bool:
    """Whether a ``_target_`` is nested anywhere in ``value`` (dicts and lists)."""
    if isinstance(value, dict):
        return "_target_" in value or any(_holds_target(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_target(item) for item in value)
    return False
