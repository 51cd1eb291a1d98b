"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each key's default lives here, with the reason for it. A YAML option in
``conf/`` names one of these schemas first in its defaults list and sets only
what differs for that option (model=cell: its name and init_scale), so a
misspelled key or a value of the wrong type fails at composition with the
key's name. :func:`migrate` brings the config of an older checkpoint up to
these schemas.

What composition lets through is checked elsewhere: ranges and combinations
by rnnexp.config.checks (before torch is imported), keys added or removed on the
command line and reused directories by rnnexp.cli.start_checks.

Sizes that come from the data (vocabulary size, number of classes) are not
config keys: the task owns them and the code passes them to the model.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional, Tuple

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING, DictConfig, OmegaConf



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
    # Read the text as batch_size contiguous streams, window after window in
    # order, and carry the model's state from each window to the next
    # (detached: gradients still stop at the window's start), from zeros at
    # each epoch's start. Each prediction then sees the stream so far, not
    # only its window: a lower loss in the same epochs (docs/performance.md,
    # "Text"). false: independent windows from zeros, shuffled each epoch.
    stateful: bool = True
    # With stateful: the validation text is read as this many streams side
    # by side, each from zeros; fewer give each prediction more context and
    # a slower pass. 10, as pytorch/examples' word_language_model evaluates.
    val_streams: int = 10
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


COSINE = "torch.optim.lr_scheduler.CosineAnnealingLR"


@dataclass
class CosineSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = COSINE
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
    # see rnnexp.training.device), cpu, cuda, cuda:N or mps.
    device: str = "auto"
    # Sequences per optimizer step. hello has one sequence, so it trains with
    # batch 1 as in the notebook whatever this says.
    batch_size: int = 32
    # Clip the gradient norm to this before each step; null: no clipping.
    clip: Optional[float] = None
    # Stop when the validation loss has not improved for this many epochs;
    # null: train all epochs.
    patience: Optional[int] = None
    # A run has diverged, and stops with status diverged, when an epoch's
    # mean training loss exceeds this many times ln(classes), the loss of
    # guessing uniformly (as when the loss is inf or nan). A loss that
    # explodes to 1e30 stays finite in float32, and only this catches it.
    # 1e4 leaves margin over the transient spikes of runs that still learn:
    # at most 140x in the Optuna search's space, 1900x for RMSprop at lr 1.0
    # with a 1024-wide head on hello (docs/reliability.md). null: only a
    # non-finite loss counts.
    diverge_ratio: Optional[float] = 1e4
    # Count each training batch's accuracy (train_accuracy/* in TensorBoard).
    # The sequence tasks' solved rule reads it. task=text sets false: the
    # language model is judged by its validation loss and accuracy, and the
    # count costs about 3% of its training time (docs/performance.md).
    train_accuracy: bool = True
    # A run directory to continue from its last checkpoint (with its config;
    # `epochs=N` given as well extends the run to N epochs).
    resume: Optional[str] = None
    # Progress bar within epochs: auto (on an interactive terminal, not in
    # sweeps), always, never.
    progress: str = "auto"
    # What a sweep (-m) prints in the terminal for each job: jobs, one line
    # when it ends (overrides, status, final loss, seconds), so that a sweep of
    # many jobs fits on a screen above its summary; epochs, every epoch line as
    # a single run prints them. Each job's rnnexp.log has every line either
    # way; a single run always prints its epochs.
    sweep_lines: str = "jobs"
    # torch's intra-op threads: auto (one for small models, where more only
    # add hand-off costs and suffer most when the cores are busy; all cores
    # for large ones, see rnnexp.training.threads) or a count. Under a parallel
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
        cs.store(name=name, node=with_open_keywords(schema))


# The metadata flag of a field that holds a ``_target_`` and its keyword
# arguments (a user's recurrence, a user's data): see with_open_keywords.
KEYWORDS = "keywords"


def with_open_keywords(schema: type) -> DictConfig:
    """``schema`` as a config whose KEYWORDS fields take keys it does not list, without ``+``.

    Hydra sets the whole config to struct mode after composing it, so a key
    that no schema lists needs ``+``; a node whose own struct flag is off
    keeps taking new keys (checked on hydra-core 1.3.2). The keyword
    arguments of a user's class are not known to any schema: its signature
    checks them when the class is built.
    """
    node = OmegaConf.structured(schema)
    for field in fields(schema):
        if field.metadata.get(KEYWORDS):
            OmegaConf.set_struct(node[field.name], False)
    return node
