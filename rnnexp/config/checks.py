"""Every check of a value that needs no data: ranges (``RULES``, generated from the schemas' fields) and combinations.

:func:`validate` runs before anything is built, before torch is even
imported, and answers a bad value with one line naming the key and what is
allowed. What needs the data or the machine is checked where that is known:
the vocabulary size (rnnexp.models.tagger, rnnexp.models.encoders), the files and the split
(rnnexp.data.loading), the device (rnnexp.training.device, rnnexp.training.placement).
"""

from __future__ import annotations

from dataclasses import Field, dataclass
from typing import Any, Callable, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from rnnexp.config.fields import FLOAT32_MAX, null_of, ranges_of
from rnnexp.config.keys import schema_fields
from rnnexp.data.task import ANSWER_KINDS, CHARACTER_KINDS, LANGUAGE_MODEL
from rnnexp.data.task_registry import task_class, task_kind  # torch-free: the task's class and kind, by name
from rnnexp.errors import UserError


@dataclass(frozen=True)
class Rule:
    """A range rule for one key: ``key=value: <allowed>`` unless ``ok(value)``.

    A rule whose key the config lacks (task.window for task=copy) is skipped.
    """

    key: str
    ok: Callable[[Any], bool]
    allowed: str  # what is allowed, read after "key=value: "
    nullable: bool = False  # null passes: it switches the feature off or sizes it from the data


def rules_of(keys: Mapping[str, Field]) -> tuple[Rule, ...]:
    """The range rules that the fields carry (``check``), in the fields' order; a field with a ``null`` lets null pass."""
    return tuple(
        Rule(key, each.ok, each.allowed, nullable=null_of(field) is not None)
        for key, field in keys.items()
        for each in ranges_of(field)
    )


# Generated from the schemas' fields (rnnexp.config.fields), where each key's range lives.
RULES = rules_of(schema_fields())
_ABSENT = object()


def validate(cfg: DictConfig) -> None:
    """Check every value that needs no data: ranges (RULES), then combinations.

    Raises UserError with one line naming the key and what is allowed.
    """
    _check_missing(cfg)
    for rule in RULES:
        value = OmegaConf.select(cfg, rule.key, default=_ABSENT)
        if value is _ABSENT or (value is None and rule.nullable):
            continue
        if not rule.ok(value):
            raise UserError(f"{rule.key}={value}: {rule.allowed}")
    _check_first_step(cfg)
    _check_model(cfg.model)
    _check_encoder(cfg.encoder)
    _check_task(cfg.task)
    # task=custom's kind is known once its callable has run: the trainer checks it then.
    check_data_kind(cfg, task_kind(cfg.task))


def _check_missing(cfg: DictConfig) -> None:
    """Keys left at ??? (task.source for task=inline, task.path for task=pairs)."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        example = " ".join(f"{key}=..." for key in missing)
        raise UserError(f"{', '.join(missing)}: no value given; set it on the command line: {example}")


def _check_first_step(cfg: DictConfig) -> None:
    """Adam's family divides lr by 1 - betas[0] in its first step: that step must fit a float32 too."""
    betas = OmegaConf.select(cfg, "optimizer.betas")
    if not betas or not 0 <= betas[0] < 1:
        return
    largest = FLOAT32_MAX * (1 - betas[0])
    if cfg.lr > largest:
        raise UserError(
            f"lr={cfg.lr}: must be at most {largest:.2g} with optimizer.betas[0]={betas[0]}, since the first step "
            f"is lr / (1 - betas[0]) and a float32 holds at most {FLOAT32_MAX:.2g}; for example lr=0.1"
        )


def _check_model(model: DictConfig) -> None:
    """What holds whatever the recurrence: a class named, and a head for two directions.

    What a recurrence class allows (model=cell: one layer, one direction; a
    user's class: its keyword arguments) is its own to say, checked when the
    class is resolved, before any weight is drawn (rnnexp.models.recurrence):
    that needs torch, which this module never imports.
    """
    if not model.recurrence.get("_target_"):
        raise UserError(
            "model.recurrence._target_: no recurrence class named; model=custom runs your own nn.Module, for example "
            "model.recurrence._target_=my_rnns.ElmanReLU (docs/extending.md), or choose a built-in, model=lstm"
        )
    if model.bidirectional and not model.head:
        raise UserError(
            "model.bidirectional=true: the two directions' states are concatenated, so the model needs "
            "a head to map them to the classes; set model.head=true"
        )


def check_data_kind(cfg: DictConfig, kind: Optional[str]) -> None:
    """The checks that depend on the kind of task (rnnexp.data.task): None, not known yet, checks nothing."""
    if kind is None:
        return
    _check_stateful(cfg, kind)
    _check_train_accuracy(cfg, kind)
    _check_encoder_fits(cfg, kind)
    _check_readout(cfg, kind)


def _check_encoder_fits(cfg: DictConfig, kind: str) -> None:
    """Characters need an encoder of ids (one_hot, embedding); real values need encoder=linear."""
    name, task = cfg.encoder.name, cfg.task.name
    if kind in CHARACTER_KINDS and name == "linear":
        raise UserError(
            f"encoder=linear: task={task} gives characters, and encoder=linear reads real-valued features; "
            "use encoder=one_hot or encoder=embedding"
        )
    if kind in ANSWER_KINDS and name != "linear":
        # task=custom learns that its data is real-valued only from it, after the model option has brought its encoder.
        raise UserError(
            f"encoder={name}: task={task} gives real-valued features, not characters, and encoder={name} reads "
            "characters; use encoder=linear"
        )


def _check_readout(cfg: DictConfig, kind: str) -> None:
    """model.readout chooses one answer per sequence: a task of characters answers at every step."""
    readout = cfg.model.get("readout")
    if readout is not None and kind in CHARACTER_KINDS:
        raise UserError(
            f"model.readout={readout}: task={cfg.task.name} answers at every step, so the head reads each step; "
            "model.readout is for tasks with one answer per sequence (classify, regress: task=mnist1d, task=adding, "
            "your own arrays)"
        )


def _check_stateful(cfg: DictConfig, kind: str) -> None:
    """What carrying the state from window to window (task.stateful, a language model's) rules out in the model."""
    if kind != LANGUAGE_MODEL or not cfg.task.get("stateful", False):
        return
    if cfg.model.bidirectional:
        raise UserError(
            "model.bidirectional=true: task.stateful carries the state forward through the text, and a backward "
            "direction's state runs the other way; set task.stateful=false or model.bidirectional=false"
        )
    if cfg.model.cuda_graph:
        raise UserError(
            "model.cuda_graph=true: the graphs replay windows that start from zeros, and task.stateful carries "
            "the state from window to window; set task.stateful=false or model.cuda_graph=false"
        )


def _check_train_accuracy(cfg: DictConfig, kind: str) -> None:
    """Only a language model may leave out the training accuracy: the other kinds' solved rule reads it."""
    if not cfg.train_accuracy and kind != LANGUAGE_MODEL:
        raise UserError(
            f"train_accuracy=false: task={cfg.task.name} decides when it is solved from the accuracy of the "
            "sequences it trains or validates on; only a language model (task=text, or task=custom on one text) "
            "can leave it out"
        )


def _check_encoder(encoder: DictConfig) -> None:
    if encoder.name == "embedding" and encoder.dim is None:
        raise UserError("encoder.dim=null: encoder=embedding needs its embedding size, for example encoder.dim=10")


def _check_task(task: DictConfig) -> None:
    """The task's class (one of rnnexp's own, by name, before any import), then its keys' combinations, its own to say."""
    task_class(task).check_config(task)


