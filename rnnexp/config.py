"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each YAML option in ``conf/`` names one of these schemas first in its defaults
list, so a misspelled key or a value of the wrong type fails at composition
with the key's name. Ranges (lr > 0, sizes >= 1, ...) are checked by
:func:`validate`, which runs before anything is built.

Sizes that come from the data (vocabulary size, number of classes) are not
config keys: the task owns them and the code passes them to the model.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Tuple

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf

from rnnexp.errors import UserError


# --------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    # Which architecture; fixed by the YAML option, used to pick the class.
    name: str = MISSING
    # Width of the hidden state h_t. null: the number of classes, so that (as in
    # the notebook) h_t itself is read as the class scores when there is no head.
    hidden_size: Optional[int] = None
    # Stacked recurrent layers (nn.RNN's num_layers). The cell model unrolls a
    # single nn.RNNCell, so it allows only 1.
    num_layers: int = 1
    # Put an nn.Linear(hidden_size -> classes) on top of h_t. Without it,
    # hidden_size must equal the number of classes.
    head: bool = False
    # Multiplies PyTorch's default uniform init of the recurrent layer. With h_t
    # read as class scores (no head) a random start often ends in a wrong answer
    # ("ohlll"); a smaller start helps: with model=rnn, lr=0.1 and 15 epochs,
    # 81 of 100 seeds end solved at 0.3, 73 at 1.0 (and 100 with a head).
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
    # Width of x_t. one_hot: null (it is the vocabulary size); embedding: the
    # embedding dimension.
    dim: Optional[int] = None


# --------------------------------------------------------------------------- optimizer
# Optimizers are built with hydra.utils.instantiate as partials; the model's
# parameters and the top-level lr are bound in code (rnnexp.train).
@dataclass
class AdamConfig:
    _target_: str = "torch.optim.Adam"
    _partial_: bool = True
    betas: Tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0


@dataclass
class AdamWConfig:
    _target_: str = "torch.optim.AdamW"
    _partial_: bool = True
    betas: Tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.01


@dataclass
class SGDConfig:
    _target_: str = "torch.optim.SGD"
    _partial_: bool = True
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0


@dataclass
class RMSpropConfig:
    _target_: str = "torch.optim.RMSprop"
    _partial_: bool = True
    alpha: float = 0.99
    momentum: float = 0.0
    weight_decay: float = 0.0


# --------------------------------------------------------------------------- task
@dataclass
class TaskConfig:
    # Which task; fixed by the YAML option.
    name: str = MISSING
    # Share of the examples (of the text, for task=text) held out for
    # validation: loss/val and the val accuracies, early stopping, best checkpoint.
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
    # A UTF-8 file of source<TAB>target lines, each pair of equal length.
    path: str = MISSING


@dataclass
class GeneratedTaskConfig(TaskConfig):
    # Longest sequence; lengths are drawn from [min_length, length].
    length: int = 12
    # Shortest sequence; null: all sequences have `length` characters.
    min_length: Optional[int] = None
    # Number of examples generated.
    size: int = 512
    # Seed of the generator (independent of the training seed).
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
    symbols: int = 8


@dataclass
class TextTaskConfig(TaskConfig):
    # A UTF-8 text file; null: the shipped corpus (the opening of Coriolanus).
    path: Optional[str] = None
    # Characters per training window (the unrolled length).
    window: int = 64
    # Every this many epochs, log a sample; 0: never.
    sample_every: int = 5
    # Characters to sample.
    sample_length: int = 200
    # Text the sample starts from (its characters must occur in the corpus).
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
    T_max: int = MISSING  # epochs of one half-cosine: ${epochs} in the YAML
    eta_min: float = 0.0


@dataclass
class PlateauSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    factor: float = 0.5  # lr factor when the monitored loss stalls
    patience: int = 3  # epochs without improvement before reducing
    min_lr: float = 0.0


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
    # Learning rate handed to the optimizer.
    lr: float = 0.1
    # Full passes over the task's data (one optimizer step each for hello).
    epochs: int = 15
    # Seeds torch before the model is built: same seed, same losses on the CPU.
    seed: int = 0
    # auto (an accelerator when present, else cpu), cpu, cuda, cuda:N or mps.
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
    # for large ones) or a count. Parallel sweep workers should get 1.
    threads: Any = "auto"


OPTIMIZER_SCHEMAS = {
    "schema_adam": AdamConfig,
    "schema_adamw": AdamWConfig,
    "schema_sgd": SGDConfig,
    "schema_rmsprop": RMSpropConfig,
}


def register_configs() -> None:
    """Store the schemas under the names the YAML defaults lists refer to.

    They are stored outside the config groups (``/schema_model@_here_`` in a
    YAML option's defaults list), so ``--help`` and the "choose one of" error
    list only real options.
    """
    cs = ConfigStore.instance()
    cs.store(name="schema_config", node=Config)
    cs.store(name="schema_model", node=ModelConfig)
    cs.store(name="schema_encoder", node=EncoderConfig)
    for name, schema in {**OPTIMIZER_SCHEMAS, **TASK_SCHEMAS, **SCHEDULER_SCHEMAS}.items():
        cs.store(name=name, node=schema)


# --------------------------------------------------------------------------- run dirs
def unique_dir(parent: str) -> str:
    """Create and return ``parent/<HH-MM-SS.mmm>``, a directory no other run has.

    ``${now:%H-%M-%S}`` collides when two runs start in the same second; the
    exclusive ``mkdir`` makes the name unique even for runs started in the same
    millisecond (a ``-1``, ``-2`` ... suffix is added). Registered as the
    ``rnnexp.unique_dir`` resolver with caching, so Hydra's sweep jobs, which
    copy the resolver cache of the sweep config, all see the same value.
    """
    os.makedirs(parent, exist_ok=True)
    stamp = datetime.now().strftime("%H-%M-%S.%f")[:-3]
    candidate, n = stamp, 0
    while True:
        try:
            os.mkdir(os.path.join(parent, candidate))
            return os.path.join(parent, candidate)
        except FileExistsError:
            n += 1
            candidate = f"{stamp}-{n}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("rnnexp.unique_dir"):
        OmegaConf.register_new_resolver("rnnexp.unique_dir", unique_dir, use_cache=True)


# --------------------------------------------------------------------------- checks
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def validate(cfg: DictConfig) -> None:
    """Check ranges and combinations the schemas cannot express.

    Raises UserError naming the key and what is allowed.
    """
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        example = " ".join(f"{key}=..." for key in missing)
        raise UserError(f"{', '.join(missing)}: no value given; set it on the command line: {example}")
    if not cfg.lr > 0:
        raise UserError(f"lr={cfg.lr}: must be a number > 0, for example lr=0.1")
    if cfg.epochs < 1:
        raise UserError(f"epochs={cfg.epochs}: must be an integer >= 1, for example epochs=15")
    if cfg.seed < 0:
        raise UserError(f"seed={cfg.seed}: must be an integer >= 0")
    if not _DEVICE_PATTERN.match(cfg.device):
        raise UserError(
            f"device={cfg.device}: allowed values are auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps"
        )
    for key in ("model.hidden_size", "encoder.dim"):
        value = OmegaConf.select(cfg, key)
        if value is not None and value < 1:
            raise UserError(f"{key}={value}: must be an integer >= 1 (or null to size it from the data)")
    if not cfg.model.init_scale > 0:
        raise UserError(f"model.init_scale={cfg.model.init_scale}: must be a number > 0 (1.0 keeps PyTorch's init)")
    if cfg.model.num_layers < 1:
        raise UserError(f"model.num_layers={cfg.model.num_layers}: must be an integer >= 1")
    if not 0 <= cfg.model.dropout < 1:
        raise UserError(f"model.dropout={cfg.model.dropout}: must be >= 0 and < 1")
    if cfg.model.name == "cell" and cfg.model.bidirectional:
        raise UserError(
            "model.bidirectional=true: model=cell unrolls one left-to-right nn.RNNCell; "
            "use model=rnn, lstm or gru for a bidirectional model"
        )
    if cfg.batch_size < 1:
        raise UserError(f"batch_size={cfg.batch_size}: must be an integer >= 1")
    if cfg.clip is not None and not cfg.clip > 0:
        raise UserError(f"clip={cfg.clip}: must be a number > 0 (the largest gradient norm), or null for no clipping")
    if cfg.patience is not None and cfg.patience < 1:
        raise UserError(f"patience={cfg.patience}: must be an integer >= 1 (epochs), or null to train all epochs")
    if cfg.progress not in ("auto", "always", "never"):
        raise UserError(f"progress={cfg.progress}: allowed values are auto, always, never")
    if cfg.model.name == "cell" and cfg.model.num_layers != 1:
        raise UserError(
            f"model.num_layers={cfg.model.num_layers}: model=cell unrolls one nn.RNNCell, so only 1 is "
            "allowed; use model=rnn for stacked layers"
        )
    threads = cfg.get("threads", "auto")  # .get: a checkpoint's config from before the key resumes too
    if threads != "auto" and not (type(threads) is int and threads >= 1):
        raise UserError(f"threads={threads}: allowed values are auto or an integer >= 1 (torch's intra-op threads), for example threads=1")
    if cfg.model.get("cuda_graph", False) and cfg.model.name != "cell":
        raise UserError(
            f"model.cuda_graph=true: only model=cell is captured as a CUDA graph (model={cfg.model.name} "
            "already runs each layer as one fused kernel); set model.cuda_graph=false"
        )
    if cfg.encoder.name == "embedding" and cfg.encoder.dim is None:
        raise UserError("encoder.dim=null: encoder=embedding needs its embedding size, for example encoder.dim=10")



def schema_keys() -> list[str]:
    """Every dotted key the schemas define (for "did you mean" hints)."""
    from dataclasses import fields

    keys = [f.name for f in fields(Config)]
    for prefix, schemas in (
        ("model", [ModelConfig]),
        ("encoder", [EncoderConfig]),
        ("task", list(TASK_SCHEMAS.values())),
        ("optimizer", list(OPTIMIZER_SCHEMAS.values())),
        ("scheduler", list(SCHEDULER_SCHEMAS.values())),
    ):
        for schema in schemas:
            keys += [f"{prefix}.{f.name}" for f in fields(schema) if not f.name.startswith("_")]
    return sorted(set(keys))
