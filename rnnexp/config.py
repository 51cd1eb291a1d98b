"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each key's default lives here, with the reason for it. A YAML option in
``conf/`` names one of these schemas first in its defaults list and sets only
what differs for that option (model=cell: its name and init_scale), so a
misspelled key or a value of the wrong type fails at composition with the
key's name. What composition lets through, a key added with ``+`` that nothing
reads or a run directory that already holds a run, :class:`StartChecks`
refuses before Hydra creates a directory. :func:`validate` checks ranges and
combinations before anything is built (before torch is even imported);
:func:`migrate` brings the config of an older checkpoint up to these schemas.

Sizes that come from the data (vocabulary size, number of classes) are not
config keys: the task owns them and the code passes them to the model.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import Field, dataclass, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Optional, Tuple

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import II, MISSING, DictConfig, OmegaConf

from rnnexp.errors import USAGE_ERROR, ExitWith, UserError, no_such_key
from rnnexp.results import METRICS_NAME


# --------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    # Which architecture; fixed by the YAML option, used to pick the class.
    name: str = MISSING
    # Width of the hidden state h_t. null: the number of classes, so that (as in
    # the notebook's cell and rnn models) h_t itself is read as the class scores
    # when there is no head. The options with a head set their own width.
    hidden_size: Optional[int] = None
    # Stacked recurrent layers (nn.RNN's num_layers). The cell model unrolls a
    # single nn.RNNCell, so it allows only 1.
    num_layers: int = 1
    # Put an nn.Linear(hidden_size -> classes) on top of h_t, which frees
    # hidden_size. Without it, hidden_size must equal the number of classes.
    head: bool = False
    # Multiplies PyTorch's default uniform init of the recurrent layer; 1.0
    # keeps it. With h_t read as the class scores (no head) a random start often
    # ends in a wrong answer with a lower loss ("ohlll"), and a smaller start
    # lets more seeds solve the task: model=cell and model=rnn therefore start
    # at 0.3 (the seed counts are in docs/performance.md). A model with a head
    # solves from any seed at PyTorch's init.
    init_scale: float = 1.0
    # Run the sequence in both directions and concatenate the two states (needs
    # a head; not for model=cell). Lets the output at t see inputs after t.
    bidirectional: bool = False
    # Dropout probability before the head and between stacked layers.
    dropout: float = 0.0
    # model=cell on CUDA only: capture the unrolled training step as CUDA
    # graphs (one per batch shape), replayed as one launch instead of T small
    # kernels each. Needs a task whose sequences share one length.
    cuda_graph: bool = False


# --------------------------------------------------------------------------- encoder
@dataclass
class EncoderConfig:
    # one_hot: x_t is a one-hot vector over the vocabulary (the notebook's
    # one_hot_lookup); embedding: x_t is a learned nn.Embedding row.
    name: str = MISSING
    # Width of x_t. null for one_hot: it is the vocabulary size, set from the
    # data. encoder=embedding sets its embedding size.
    dim: Optional[int] = None


# --------------------------------------------------------------------------- optimizer
# Optimizers are built with hydra.utils.instantiate as partials; the model's
# parameters and the top-level lr are bound in code. Each option has its own
# schema, holding that optimizer's defaults.
@dataclass
class AdamConfig:
    _target_: str = "torch.optim.Adam"
    _partial_: bool = True
    # Decay rates of the gradient's running mean and of its running square.
    betas: Tuple[float, float] = (0.9, 0.999)
    # L2 penalty, added to the gradient.
    weight_decay: float = 0.0


@dataclass
class AdamWConfig:
    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    betas: Tuple[float, float] = (0.9, 0.999)
    # Decoupled decay, applied to the weights directly (torch's AdamW default).
    weight_decay: float = 0.01


@dataclass
class SGDConfig:
    _target_: str = "torch.optim.SGD"
    _partial_: bool = True
    # 0 gives plain gradient descent.
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0


@dataclass
class RMSpropConfig:
    _target_: str = "torch.optim.RMSprop"
    _partial_: bool = True
    # Smoothing of the squared-gradient average.
    alpha: float = 0.99
    momentum: float = 0.0
    weight_decay: float = 0.0


OPTIMIZER_SCHEMAS = {
    "schema_adam": AdamConfig,
    "schema_adamw": AdamWConfig,
    "schema_sgd": SGDConfig,
    "schema_rmsprop": RMSpropConfig,
}


# --------------------------------------------------------------------------- task
@dataclass
class TaskConfig:
    # Which task; fixed by the YAML option.
    name: str = MISSING
    # Share of the examples (for task=text, the end of the text) held out for
    # validation: loss/val and the val accuracies, early stopping, the best
    # checkpoint. 0 for hello and inline, which have one pair; the data tasks
    # hold out 0.1 (conf/data_task.yaml).
    val_fraction: float = 0.0


@dataclass
class PairTaskConfig(TaskConfig):
    # hello: the notebook's "hello" -> "ohlol"; inline: strings from the command line.
    # Input characters, one time step each.
    source: str = MISSING
    # Target characters, one per time step of the source (same length).
    target: str = MISSING


@dataclass
class PairsFileTaskConfig(TaskConfig):
    # A UTF-8 file of source<TAB>target lines, each pair of equal length;
    # relative paths start from the working directory.
    path: str = MISSING


@dataclass
class GeneratedTaskConfig(TaskConfig):
    # Longest sequence, in characters; lengths are drawn from [min_length, length].
    length: int = 12
    # Shortest sequence; null: all sequences have `length` characters.
    min_length: Optional[int] = None
    # Number of examples generated.
    size: int = 512
    # Seed of the generator (independent of the training seed, the top-level `seed`).
    seed: int = 0


@dataclass
class CopyTaskConfig(GeneratedTaskConfig):
    # Steps between reading a character and writing it.
    delay: int = 2
    # Alphabet size: the first `symbols` lowercase letters.
    symbols: int = 8


@dataclass
class CaesarTaskConfig(GeneratedTaskConfig):
    # Letters to shift by (a -> d for 3).
    shift: int = 3


@dataclass
class ReverseTaskConfig(GeneratedTaskConfig):
    # Alphabet size: the first `symbols` lowercase letters.
    symbols: int = 8


@dataclass
class TextTaskConfig(TaskConfig):
    # A UTF-8 text file; null: the shipped corpus (the opening of Shakespeare's
    # Coriolanus, about 100 kB).
    path: Optional[str] = None
    # Characters per training window: the unrolled length, how far back gradients flow.
    window: int = 64
    # Every this many epochs, log a generated sample; 0: never.
    sample_every: int = 5
    # Characters to sample.
    sample_length: int = 200
    # Text the sample continues (its characters must occur in the corpus).
    prime: str = "The "
    # Sampling temperature: < 1 sharper and more repetitive, > 1 more random.
    temperature: float = 0.8


TASK_SCHEMAS = {
    "schema_task_pair": PairTaskConfig,
    "schema_task_pairs_file": PairsFileTaskConfig,
    "schema_task_generated": GeneratedTaskConfig,
    "schema_task_copy": CopyTaskConfig,
    "schema_task_caesar": CaesarTaskConfig,
    "schema_task_reverse": ReverseTaskConfig,
    "schema_task_text": TextTaskConfig,
}


# --------------------------------------------------------------------------- scheduler
@dataclass
class SchedulerConfig:
    # A torch.optim.lr_scheduler class built as a partial around the optimizer;
    # null: constant lr.
    _target_: Optional[str] = None
    _partial_: bool = True


@dataclass
class StepSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.StepLR"
    step_size: int = 10  # epochs between decays
    gamma: float = 0.5  # lr factor at each decay


@dataclass
class CosineSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.CosineAnnealingLR"
    T_max: int = II("epochs")  # epochs of one half-cosine: the whole run
    eta_min: float = 0.0  # the lr it ends at


@dataclass
class PlateauSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    factor: float = 0.5  # lr factor when the monitored loss stalls
    patience: int = 3  # epochs without improvement before reducing
    min_lr: float = 0.0  # the lr never goes below this


SCHEDULER_SCHEMAS = {
    "schema_scheduler_none": SchedulerConfig,
    "schema_scheduler_step": StepSchedulerConfig,
    "schema_scheduler_cosine": CosineSchedulerConfig,
    "schema_scheduler_plateau": PlateauSchedulerConfig,
}


# --------------------------------------------------------------------------- top level
@dataclass
class Config:
    model: ModelConfig = MISSING
    encoder: EncoderConfig = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    task: Any = MISSING
    # Learning rate handed to the optimizer. 0.1 suits hello's tiny models; the
    # data tasks set 0.01 (conf/data_task.yaml says why).
    lr: float = 0.1
    # Full passes over the task's data (one optimizer step each for hello);
    # the notebook trains 15.
    epochs: int = 15
    # Seeds torch before the model is built: same seed, same losses on the CPU.
    seed: int = 0
    # auto (an accelerator when present, else cpu; the cpu for small models,
    # see rnnexp.device), cpu, cuda, cuda:N or mps.
    device: str = "auto"
    # Sequences per optimizer step. hello has one sequence, so it trains with
    # batch 1 as in the notebook whatever this says.
    batch_size: int = 32
    # Clip the gradient norm to this before each step; null: no clipping.
    clip: Optional[float] = None
    # Stop when the validation loss has not improved for this many epochs;
    # null: train all epochs.
    patience: Optional[int] = None
    # A run directory to continue from its last checkpoint (with its config;
    # `epochs=N` given as well extends the run to N epochs).
    resume: Optional[str] = None
    # Progress bar within epochs: auto (on an interactive terminal, not in
    # sweeps), always, never.
    progress: str = "auto"
    # torch's intra-op threads: auto (one for small models, where more only
    # add hand-off costs and suffer most when the cores are busy; all cores
    # for large ones, see rnnexp.threads) or a count. Under a parallel
    # launcher (joblib, submitit) auto gives each job 1.
    threads: Any = "auto"


# Every schema by the name the YAML defaults lists use for it.
SCHEMAS = {
    "schema_config": Config,
    "schema_model": ModelConfig,
    "schema_encoder": EncoderConfig,
    **OPTIMIZER_SCHEMAS,
    **TASK_SCHEMAS,
    **SCHEDULER_SCHEMAS,
}


def register_configs() -> None:
    """Store the schemas under the names the YAML defaults lists refer to.

    They are stored outside the config groups (``/schema_model@_here_`` in a
    YAML option's defaults list), so ``--help`` and the "choose one of" error
    list only real options.
    """
    cs = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        cs.store(name=name, node=schema)


# --------------------------------------------------------------------------- run dirs
# A label keeps letters, digits and . , = + ~ : @ % - _; anything else (the "/" of
# task.path=/a/b.txt, a space, a quote) becomes "_", so a label never nests
# directories and a run directory needs no quoting in a shell.
_UNSAFE_IN_LABEL = re.compile(r"[^\w.,=+~:@%-]")
# A directory name may hold 255 bytes; the time stamp and a -N suffix need the rest.
_LABEL_BYTES = 200
# What unique_dir names: HH-MM-SS.mmm, -N when another run took that millisecond, _label.
_RUN_NAME = re.compile(r"(\d{2}-\d{2}-\d{2}\.\d{3})(?:-(\d+))?(?:_|$)")
_DATE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}$")


def dir_label(text: str) -> str:
    """``text`` (a job's override_dirname) made safe as part of one directory name."""
    label = _UNSAFE_IN_LABEL.sub("_", text)
    if len(label.encode()) > _LABEL_BYTES:
        label = label.encode()[: _LABEL_BYTES - 3].decode(errors="ignore") + "..."
    return label


def unique_dir(parent: str, label: str = "") -> str:
    """Create and return ``parent/<HH-MM-SS.mmm>_<label>``, a directory no other run has.

    ``label`` is the job's overrides (``${hydra.job.override_dirname}``), so a
    run is named by what it changed (``14-19-35.714_model=cell,task=text``); an
    empty one leaves the time alone. ``${now:%H-%M-%S}`` collides when two runs
    start in the same second; the exclusive ``mkdir`` makes the name unique
    even for runs started in the same millisecond (``-1``, ``-2`` ... after
    the time). Registered as the ``rnnexp.unique_dir`` resolver with caching,
    so Hydra's sweep jobs, which copy the resolver cache of the sweep config,
    all see the same value.
    """
    os.makedirs(parent, exist_ok=True)
    stamp = datetime.now().strftime("%H-%M-%S.%f")[:-3]
    suffix = f"_{dir_label(label)}" if label else ""
    n = 0
    while True:
        path = os.path.join(parent, f"{stamp}-{n}{suffix}" if n else f"{stamp}{suffix}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1


def newest_run(root: str = "outputs/runs", exclude: Optional[str] = None) -> Optional[str]:
    """The newest directory that unique_dir made in ``root/<YYYY-MM-DD>/``, by the date and time in its name.

    What ``run=last`` names. A symbolic link to it would serve as well, but
    TensorBoard follows links inside its ``--logdir`` and would list the run
    twice. ``exclude`` leaves out one directory (a run that is about to
    resume the newest one has already made its own). None when there is none.
    """
    if not os.path.isdir(root):
        return None
    skip = os.path.realpath(exclude) if exclude else None
    runs = {}  # (date, time, n, name) -> path; the name only orders runs of the same millisecond
    for day in os.listdir(root):
        if _DATE_NAME.match(day) and os.path.isdir(os.path.join(root, day)):
            for name in os.listdir(os.path.join(root, day)):
                path, stamp = os.path.join(root, day, name), _RUN_NAME.match(name)
                if stamp and os.path.isdir(path) and os.path.realpath(path) != skip:
                    runs[(day, stamp.group(1), int(stamp.group(2) or 0), name)] = path
    return runs[max(runs)] if runs else None


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("rnnexp.unique_dir"):
        OmegaConf.register_new_resolver("rnnexp.unique_dir", unique_dir, use_cache=True)
    if not OmegaConf.has_resolver("rnnexp.dir_label"):
        # For a sweep job's subdirectory: ${hydra.job.num}_${rnnexp.dir_label:${hydra.job.override_dirname}}.
        OmegaConf.register_new_resolver("rnnexp.dir_label", dir_label)


# --------------------------------------------------------------------------- checks
# validate() answers every bad value that the config alone shows, before torch
# is imported. What needs the data or the machine is checked where that is
# known: the vocabulary size (rnnexp.models, rnnexp.encoders), the files and the
# split (rnnexp.tasks), the device (rnnexp.device, rnnexp.compute).
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
    Rule("progress", lambda value: value in ("auto", "always", "never"), "allowed values are auto, always, never"),
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


# --------------------------------------------------------------------------- keys added or removed on the command line
# Hydra lets `+key=value` and `++key=value` add a key that no schema has, which
# nothing then reads, and `~key` remove a key, which every run reads. Both are
# refused with the line to type instead.

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
            known: Optional[set[str]] = {f.name for schema in _SECTIONS.get(section, []) for f in fields(schema)}
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
    field = _schema_field(key)
    if field is None or field.name.startswith("_"):
        return  # not a key of the schemas: Hydra answers
    if field.default is None:
        instead = f"{key}=null {NULL_MEANS.get(key, 'is its default')}"
    elif field.default == MISSING:
        instead = f"set it instead, {key}=..."
    else:
        instead = f"set it instead, for example {_as_typed(key, field.default)}"
    raise UserError(f"~{key}: {key} cannot be removed, every run reads it; {instead}")


def _as_typed(key: str, value: Any) -> str:
    """``key=value`` as it is typed in a shell, for a schema default."""
    if isinstance(value, str) and value.startswith("${"):
        return f"'{key}={value}'"  # an interpolation: quoted, so that the shell leaves ${...} to Hydra
    if isinstance(value, str) and not re.fullmatch(r"[\w.:/+-]*", value):
        return f"\"{key}='{value}'\""  # Hydra's quotes keep the spaces, the shell's keep Hydra's
    return f"{key}={_value_typed(value)}"


def _value_typed(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return f"[{','.join(_value_typed(item) for item in value)}]"
    return str(value)


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
# (rnnexp.checkpoint.LAST; that module imports torch) and its TensorBoard events.
RUN_FILES = (METRICS_NAME, "last.pt")
_EVENT_FILES = "events.out.tfevents.*"


def run_file_in(directory: str | Path) -> Optional[str]:
    """The name of a file that a run wrote in ``directory``, or None when it holds no run."""
    path = Path(directory)
    for name in RUN_FILES:
        if (path / name).is_file():
            return name
    events = sorted(path.glob(_EVENT_FILES))
    return events[0].name if events else None


def check_run_dir(directory: str) -> None:
    """Refuse a run directory that holds a run: a second event file would draw its curves twice."""
    found = run_file_in(directory)
    if found:
        # resume= needs a checkpoint: a run that failed or stopped before its first epoch has none.
        resumable = (Path(directory) / "last.pt").is_file()
        raise UserError(
            f"hydra.run.dir={directory}: already holds a run ({found}); choose a new directory, hydra.run.dir=..."
            + (f", or continue that run with resume={directory}" if resumable else "")
        )


def check_sweep_dir(directory: str) -> None:
    """Refuse a sweep directory that holds a sweep: its jobs' directories and its summary would mix two sweeps."""
    path = Path(directory)
    for job in sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []:
        found = run_file_in(job)
        if found:
            raise UserError(
                f"hydra.sweep.dir={directory}: already holds a sweep ({job.name}/{found}); "
                "choose a new directory, hydra.sweep.dir=..."
            )


class StartChecks(Callback):
    """The checks of the composed config that Hydra lets through, made before it creates a directory.

    Hydra calls these hooks once it has composed the command line, and only
    then creates the run or sweep directory: a refusal leaves nothing behind.
    Hydra turns an exception in a hook into a warning, so a refusal ends the
    command with ExitWith, which rnnexp.cli prints as one line.
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
            check_sweep_dir(str(config.hydra.sweep.dir))
        except UserError as error:
            raise ExitWith(USAGE_ERROR, error) from None


# --------------------------------------------------------------------------- older checkpoints
# Keys added to the schemas after the first checkpoints were written. A run
# saved before a key existed behaved as the key's default does now, so
# migrate() fills each in with its schema default, and the rest of the code
# reads every key directly.
ADDED_KEYS = ("threads", "model.cuda_graph")


def migrate(config: dict) -> dict:
    """A checkpoint's config (plain data) with the keys added since it was saved, at their defaults.

    Returns a new dict; ``config`` is not changed.
    """
    migrated = copy.deepcopy(config)
    for key in ADDED_KEYS:
        section, _, name = key.rpartition(".")
        node = migrated[section] if section else migrated
        node.setdefault(name, schema_default(key))
    return migrated


def schema_default(key: str) -> Any:
    """The default a schema gives a top-level, ``model.`` or ``encoder.`` key."""
    field = _schema_field(key)
    if field is None:
        raise KeyError(key)
    return field.default


# The schemas of each section of the config: the top level, and each group's options.
_SECTIONS = {
    "": [Config],
    "model": [ModelConfig],
    "encoder": [EncoderConfig],
    "task": list(TASK_SCHEMAS.values()),
    "optimizer": list(OPTIMIZER_SCHEMAS.values()),
    "scheduler": list(SCHEDULER_SCHEMAS.values()),
}


def _schema_field(key: str) -> Optional[Field]:
    """The dataclass field behind a dotted key: the first of its section's schemas that has it."""
    section, _, name = key.rpartition(".")
    for schema in _SECTIONS.get(section, []):
        for field in fields(schema):
            if field.name == name:
                return field
    return None


def schema_keys() -> list[str]:
    """Every dotted key the schemas define (for "did you mean" hints)."""
    keys = []
    for section, schemas in _SECTIONS.items():
        prefix = f"{section}." if section else ""
        for schema in schemas:
            keys += [f"{prefix}{f.name}" for f in fields(schema) if not f.name.startswith("_")]
    return sorted(set(keys))
