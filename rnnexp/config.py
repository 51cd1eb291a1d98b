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
    # hello: the notebook's "hello" -> "ohlol"; inline: strings from the command line.
    name: str = MISSING
    # Input characters, one time step each.
    source: str = MISSING
    # Target characters, one per time step of the source (same length).
    target: str = MISSING


# --------------------------------------------------------------------------- top level
@dataclass
class Config:
    model: ModelConfig = MISSING
    encoder: EncoderConfig = MISSING
    optimizer: Any = MISSING
    task: TaskConfig = MISSING
    # Learning rate handed to the optimizer.
    lr: float = 0.1
    # Full passes over the task's data (one optimizer step each for hello).
    epochs: int = 15
    # Seeds torch before the model is built: same seed, same losses on the CPU.
    seed: int = 0
    # auto (an accelerator when present, else cpu), cpu, cuda, cuda:N or mps.
    device: str = "auto"
    # torch's intra-op CPU threads for the job. null: torch's default (one per
    # core) when jobs run one at a time, 1 under a parallel launcher (joblib,
    # submitit), where each core already has a job of its own.
    threads: Optional[int] = None


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
    cs.store(name="schema_task", node=TaskConfig)
    for name, schema in OPTIMIZER_SCHEMAS.items():
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
    if cfg.threads is not None and cfg.threads < 1:
        raise UserError(f"threads={cfg.threads}: must be an integer >= 1 (or null for the default)")
    if not cfg.model.init_scale > 0:
        raise UserError(f"model.init_scale={cfg.model.init_scale}: must be a number > 0 (1.0 keeps PyTorch's init)")
    if cfg.model.num_layers < 1:
        raise UserError(f"model.num_layers={cfg.model.num_layers}: must be an integer >= 1")
    if cfg.model.name == "cell" and cfg.model.num_layers != 1:
        raise UserError(
            f"model.num_layers={cfg.model.num_layers}: model=cell unrolls one nn.RNNCell, so only 1 is "
            "allowed; use model=rnn for stacked layers"
        )
    if cfg.encoder.name == "embedding" and cfg.encoder.dim is None:
        raise UserError("encoder.dim=null: encoder=embedding needs its embedding size, for example encoder.dim=10")
    if cfg.encoder.name == "one_hot" and cfg.encoder.dim is not None:
        raise UserError(
            f"encoder.dim={cfg.encoder.dim}: encoder=one_hot takes its width from the vocabulary; "
            "leave encoder.dim unset or use encoder=embedding"
        )



def schema_keys() -> list[str]:
    """Every dotted key the schemas define (for "did you mean" hints)."""
    from dataclasses import fields

    keys = [f.name for f in fields(Config)]
    for prefix, schemas in (
        ("model", [ModelConfig]),
        ("encoder", [EncoderConfig]),
        ("task", [TaskConfig]),
        ("optimizer", list(OPTIMIZER_SCHEMAS.values())),
    ):
        for schema in schemas:
            keys += [f"{prefix}.{f.name}" for f in fields(schema) if not f.name.startswith("_")]
    return sorted(set(keys))
