"""Every check of a value that needs no data: ranges (``RULES``) and combinations.

:func:`validate` runs before anything is built, before torch is even
imported, and answers a bad value with one line naming the key and what is
allowed. What needs the data or the machine is checked where that is known:
the vocabulary size (rnnexp.models.tagger, rnnexp.models.encoders), the files and the split
(rnnexp.data.tasks), the device (rnnexp.training.device, rnnexp.training.placement).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

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


def _positive(value: Any) -> bool:
    return value > 0


# The largest float32. The weights are float32, and torch converts each step's
# size (lr times a factor) to their type: a larger one fails with "value cannot
# be converted to type float without overflow".
FLOAT32_MAX = 3.4028234663852886e38


def _fits_float32(value: Any) -> bool:
    return value <= FLOAT32_MAX  # inf does not


def _at_least(low: int) -> Callable[[Any], bool]:
    return lambda value: value >= low


def _fraction(value: Any) -> bool:
    return 0 <= value < 1


_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_ABSENT = object()

RULES = (
    Rule("lr", _positive, "must be a number > 0, for example lr=0.1"),
    Rule("lr", _fits_float32, f"must be at most {FLOAT32_MAX:.2g} (the largest float32, the weights' type), for example lr=0.1"),
    Rule("epochs", _at_least(1), "must be an integer >= 1, for example epochs=15"),
    Rule("seed", _at_least(0), "must be an integer >= 0"),
    Rule(
        "device",
        lambda value: _DEVICE_PATTERN.match(value) is not None,
        "allowed values are auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps",
    ),
    Rule("batch_size", _at_least(1), "must be an integer >= 1"),
    Rule("clip", _positive, "must be a number > 0 (the largest gradient norm), or null for no clipping", nullable=True),
    Rule("patience", _at_least(1), "must be an integer >= 1 (epochs), or null to train all epochs", nullable=True),
    Rule(
        "diverge_ratio",
        lambda value: value > 1,
        "must be a number > 1 (a multiple of ln(classes), the loss of guessing uniformly), "
        "or null to stop only on a non-finite loss",
        nullable=True,
    ),
    Rule("progress", lambda value: value in ("auto", "always", "never"), "allowed values are auto, always, never"),
    Rule(
        "sweep_lines",
        lambda value: value in ("jobs", "epochs"),
        "allowed values are jobs (one line per job of a sweep) or epochs (every epoch line)",
    ),
    Rule(
        "threads",
        lambda value: value == "auto" or (type(value) is int and value >= 1),
        "allowed values are auto or an integer >= 1 (torch's intra-op threads), for example threads=1",
    ),
    Rule("model.hidden_size", _at_least(1), "must be an integer >= 1 (or null to size it from the data)", nullable=True),
    Rule("model.num_layers", _at_least(1), "must be an integer >= 1"),
    Rule("model.init_scale", _positive, "must be a number > 0 (1.0 keeps PyTorch's init)"),
    Rule("model.dropout", _fraction, "must be >= 0 and < 1"),
    Rule("encoder.dim", _at_least(1), "must be an integer >= 1 (or null to size it from the data)", nullable=True),
    Rule("task.val_fraction", _fraction, "must be >= 0 and < 1"),
    Rule("task.length", _at_least(1), "must be an integer >= 1"),
    Rule("task.size", _at_least(1), "must be an integer >= 1"),
    Rule("task.symbols", lambda value: 2 <= value <= 26, "must be between 2 and 26"),
    Rule("task.window", _at_least(1), "must be an integer >= 1"),
    Rule("task.val_streams", _at_least(1), "must be an integer >= 1"),
    Rule("task.temperature", _positive, "must be a number > 0"),
)


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
    _check_stateful(cfg)
    _check_train_accuracy(cfg)


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
    """What each architecture allows: one left-to-right cell, a head for two directions."""
    if model.name == "cell" and model.bidirectional:
        raise UserError(
            "model.bidirectional=true: model=cell unrolls one left-to-right nn.RNNCell; "
            "use model=rnn, lstm or gru for a bidirectional model"
        )
    if model.name == "cell" and model.num_layers != 1:
        raise UserError(
            f"model.num_layers={model.num_layers}: model=cell unrolls one nn.RNNCell, so only 1 is "
            "allowed; use model=rnn for stacked layers"
        )
    if model.bidirectional and not model.head:
        raise UserError(
            "model.bidirectional=true: the two directions' states are concatenated, so the model needs "
            "a head to map them to the classes; set model.head=true"
        )
    if model.cuda_graph and model.name != "cell":
        raise UserError(
            f"model.cuda_graph=true: only model=cell is captured as a CUDA graph (model={model.name} "
            "already runs each layer as one fused kernel); set model.cuda_graph=false"
        )


def _check_stateful(cfg: DictConfig) -> None:
    """What carrying the state from window to window (task.stateful, the text task) rules out in the model."""
    if not cfg.task.get("stateful", False):
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


def _check_train_accuracy(cfg: DictConfig) -> None:
    """Only a language model may leave out the training accuracy: the sequence tasks' solved rule reads it."""
    if not cfg.train_accuracy and cfg.task.name != "text":  # rnnexp.data.tasks.is_language_model, without torch
        raise UserError(
            f"train_accuracy=false: task={cfg.task.name} decides when it is solved from the accuracy of the "
            "sequences it trains or validates on; only task=text can leave it out"
        )


def _check_encoder(encoder: DictConfig) -> None:
    if encoder.name == "embedding" and encoder.dim is None:
        raise UserError("encoder.dim=null: encoder=embedding needs its embedding size, for example encoder.dim=10")


def _check_task(task: DictConfig) -> None:
    """Task keys that depend on each other: the pair's strings, the lengths, the copy delay."""
    if "source" in task:  # hello, inline
        source, target = task.source, task.target
        if not source or not target:
            empty = "task.source" if not source else "task.target"
            raise UserError(f"{empty} is empty: give at least one character, for example task.source=hello task.target=ohlol")
        if len(source) != len(target):
            raise UserError(
                f"task.source={source!r} has {len(source)} characters but task.target={target!r} has "
                f"{len(target)}: they must have the same length (one target character per time step)"
            )
    if "min_length" in task and task.min_length is not None and not 1 <= task.min_length <= task.length:
        raise UserError(f"task.min_length={task.min_length}: must be between 1 and task.length={task.length}")
    if "delay" in task:
        shortest = task.min_length if task.min_length is not None else task.length
        if not 0 <= task.delay < shortest:
            raise UserError(f"task.delay={task.delay}: must be >= 0 and shorter than the shortest sequence")


