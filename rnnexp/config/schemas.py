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

from dataclasses import dataclass, field, fields
from typing import Any, Dict, Optional, Tuple

from hydra.core.config_store import ConfigStore
from omegaconf import II, MISSING, DictConfig, OmegaConf

from rnnexp.config.fields import (
    DEVICE_WORDS,
    DOC,
    FLOAT32_MAX,
    KEYWORDS,
    UNKNOWN_SIZE,
    HParam,
    Range,
    a_device,
    at_least,
    fits_float32,
    fraction,
    one_of,
    positive,
    setting,
)
from rnnexp.config.labels import model_label
from rnnexp.data.task import KINDS as TASK_KINDS  # torch-free: tagging, language_model, classify, regress


# --------------------------------------------------------------------------- model
@dataclass
class ModelConfig:
    # The model's label (in run names, HParams, summaries); fixed by the YAML
    # option. null (model=custom): the recurrence class's name, the last
    # dotted part of recurrence._target_ (rnnexp.config.labels).
    name: Optional[str] = setting(
        MISSING, "the model's label: the option's name", hparam=HParam(column="model", when_null=model_label)
    )
    # The recurrence between the encoder and the head: `_target_`, a subclass
    # of torch.nn.Module (a built-in of rnnexp.models.builtin_recurrences, or your own:
    # docs/extending.md), and its own keyword arguments, typed without +
    # (model.recurrence.alpha=0.5). rnnexp passes input_size and hidden_size,
    # and num_layers, bidirectional and dropout where its constructor names
    # them. null _target_: model=custom, waiting for yours.
    recurrence: Dict[str, Any] = field(
        default_factory=lambda: {"_target_": None},
        metadata={KEYWORDS: True, DOC: "the recurrent layer: a class and its own keyword arguments ([extending.md](extending.md))"},
    )
    # Width of the hidden state h_t. Its null is the notebook's cell and rnn
    # models: h_t itself is read as the class scores when there is no head.
    # The options with a head set their own width.
    hidden_size: Optional[int] = setting(
        None,
        "width of h_t",
        check=Range(at_least(1), "must be an integer >= 1 (or null to size it from the data)"),
        null="sizes h_t from the number of classes",
        hparam=HParam(when_null=UNKNOWN_SIZE),
    )
    # Stacked recurrent layers (nn.RNN's num_layers). The cell model unrolls a
    # single nn.RNNCell, so it allows only 1.
    num_layers: int = setting(
        1, "stacked recurrent layers (`cell` allows only 1)", check=Range(at_least(1), "must be an integer >= 1"), hparam=HParam()
    )
    # Put an nn.Linear(hidden_size -> classes) on top of h_t, which frees
    # hidden_size. Without it, hidden_size must equal the number of classes.
    head: bool = setting(
        False,
        "add `nn.Linear(hidden_size → classes)`; without it h_t is read as the class scores and `hidden_size` must equal the number of classes",
        hparam=HParam(),
    )
    # Multiplies PyTorch's default uniform init of the recurrent layer; 1.0
    # keeps it. With h_t read as the class scores (no head) a random start often
    # ends in a wrong answer with a lower loss ("ohlll"), and a smaller start
    # lets more seeds solve the task: model=cell and model=rnn therefore start
    # at 0.3 (the seed counts are in docs/performance.md). A model with a head
    # solves from any seed at PyTorch's init.
    init_scale: float = setting(
        1.0,
        "multiplies PyTorch's default init of the recurrent layer (see [How training works](#how-training-works))",
        check=Range(positive, "must be a number > 0 (1.0 keeps PyTorch's init)"),
        hparam=HParam(),
    )
    # Run the sequence in both directions and concatenate the two states (needs
    # a head; not for model=cell). Lets the output at t see inputs after t.
    bidirectional: bool = setting(False, "read the sequence both ways (needs a head; not for `cell`)", hparam=HParam())
    # Dropout probability before the head and between stacked layers.
    dropout: float = setting(
        0.0, "dropout before the head and between stacked layers", check=Range(fraction, "must be >= 0 and < 1"), hparam=HParam()
    )
    # What the head reads on a task with one answer per sequence (classify,
    # regress): last, the state after each sequence's last step (for two
    # directions, each direction's last state); mean, the mean over the
    # steps; all, every step's output side by side (the MNIST-1D paper's
    # GRU; sequences of one length). A task of characters reads every step.
    readout: Optional[str] = setting(
        None,
        "what the head reads on a task with one answer per sequence: `last` state, `mean` over the steps, or `all` steps side by side",
        check=Range(one_of("last", "mean", "all"), "allowed values are last, mean, all, or null"),
        null="reads every step on a task of characters, the last state on a task with one answer per sequence",
        hparam=HParam(when_null="per_step"),
    )
    # model=cell on CUDA only: capture the unrolled training step as CUDA
    # graphs (one per batch shape), replayed as one launch instead of T small
    # kernels each. Needs a task whose sequences share one length.
    cuda_graph: bool = setting(
        False, "`model=cell` on `device=cuda` only: replay the unrolled loop as CUDA graphs (tasks whose sequences share one length)"
    )


# --------------------------------------------------------------------------- encoder
@dataclass
class EncoderConfig:
    # one_hot: x_t is a one-hot vector over the vocabulary (the notebook's
    # one_hot_lookup); embedding: x_t is a learned nn.Embedding row; linear:
    # x_t from a step's real-valued features (the tasks of real values).
    name: str = setting(MISSING, "how x_t is made: the option's name", hparam=HParam(column="encoder"))
    # Width of x_t: null for one_hot, whose width is the data's. encoder=embedding
    # sets its embedding size; encoder=linear maps the features to dim
    # numbers, or with null passes them on as they are.
    dim: Optional[int] = setting(
        None,
        "width of x_t: the embedding size (`encoder=embedding`), or the features' projection (`encoder=linear`)",
        check=Range(at_least(1), "must be an integer >= 1 (or null to size it from the data)"),
        null="sizes x_t from the vocabulary, or from the features (`linear`)",
        hparam=HParam(when_null=UNKNOWN_SIZE),
    )


# --------------------------------------------------------------------------- optimizer
# An optimizer is its torch class, named by _target_ and built by
# rnnexp.training.optimizers with the model's parameters and the top-level lr;
# its other keys are the class's keyword arguments. Each option has its own
# schema, holding that optimizer's defaults. HParams shows each by its class's
# name, and the one key they all have, weight_decay.
OPTIMIZER_CLASS = HParam(column="optimizer", class_name=True)
WEIGHT_DECAY = "weight decay (an L2 penalty for adam, sgd and rmsprop; decoupled for adamw)"


@dataclass
class AdamConfig:
    _target_: str = setting("torch.optim.Adam", "the optimizer's class", hparam=OPTIMIZER_CLASS)
    # Decay rates of the gradient's running mean and of its running square.
    betas: Tuple[float, float] = setting((0.9, 0.999), "decay rates of the gradient's running mean and running square")
    # L2 penalty, added to the gradient.
    weight_decay: float = setting(0.0, WEIGHT_DECAY, hparam=HParam(when_null=0.0))


@dataclass
class AdamWConfig(AdamConfig):
    """Adam's keys; its weight decay is decoupled."""

    _target_: str = setting("torch.optim.AdamW", "the optimizer's class", hparam=OPTIMIZER_CLASS)
    # Decoupled decay, applied to the weights directly (torch's AdamW default).
    weight_decay: float = setting(0.01, WEIGHT_DECAY, hparam=HParam(when_null=0.0))


@dataclass
class SGDConfig:
    _target_: str = setting("torch.optim.SGD", "the optimizer's class", hparam=OPTIMIZER_CLASS)
    # 0 gives plain gradient descent.
    momentum: float = setting(0.9, "momentum (sgd, rmsprop); 0: plain gradient descent")
    nesterov: bool = setting(False, "Nesterov momentum (sgd)")
    weight_decay: float = setting(0.0, WEIGHT_DECAY, hparam=HParam(when_null=0.0))


@dataclass
class RMSpropConfig:
    _target_: str = setting("torch.optim.RMSprop", "the optimizer's class", hparam=OPTIMIZER_CLASS)
    # Smoothing of the squared-gradient average.
    alpha: float = setting(0.99, "smoothing of the squared-gradient average (rmsprop)")
    momentum: float = setting(0.0, "momentum (sgd, rmsprop); 0: plain gradient descent")
    weight_decay: float = setting(0.0, WEIGHT_DECAY, hparam=HParam(when_null=0.0))


OPTIMIZER_SCHEMAS = {
    "schema_adam": AdamConfig,
    "schema_adamw": AdamWConfig,
    "schema_sgd": SGDConfig,
    "schema_rmsprop": RMSpropConfig,
}


# --------------------------------------------------------------------------- task
@dataclass
class TaskConfig:
    # The class that makes the task's sequences: one of rnnexp's own
    # (rnnexp.data.task_registry), fixed by the YAML option. Your own data
    # comes in through task=custom's task.data.
    _target_: str = MISSING
    # Which task; fixed by the YAML option.
    name: str = setting(MISSING, "the task: the option's name", hparam=HParam(column="task"))
    # Share of the examples (for task=text, the end of the text) held out for
    # validation: loss/val and the val accuracies, early stopping, the best
    # checkpoint. 0 for hello and inline, which have one pair; the data tasks
    # hold out 0.1 (conf/data_task.yaml).
    val_fraction: float = setting(0.0, "share held out for validation", check=Range(fraction, "must be >= 0 and < 1"))


@dataclass
class PairTaskConfig(TaskConfig):
    # hello: the notebook's "hello" -> "ohlol"; inline: strings from the command line.
    # Input characters, one time step each.
    source: str = setting(MISSING, "input characters, one time step each")
    # Target characters, one per time step of the source (same length).
    target: str = setting(MISSING, "target characters, one per character of the source")


@dataclass
class PairsFileTaskConfig(TaskConfig):
    # A UTF-8 file of pairs, each of equal length, read by its extension:
    # .tsv or .txt (source<TAB>target lines), .csv (source,target rows) or
    # .jsonl (rnnexp.data.pair_files); relative paths start from the working directory.
    path: str = setting(
        MISSING,
        "the file to read: `pairs` a file of equal-length pairs (.tsv, .csv, .jsonl), `text` a UTF-8 text, "
        "`arrays` real-valued sequences (.npz, .csv, .tsv)",
    )


def example_count(default: int = 512) -> Any:
    """The ``size`` field of every generated task (copy, ..., associative_recall, adding): one definition for all."""
    return setting(
        default, "number of examples generated (`adding`: for training)", check=Range(at_least(1), "must be an integer >= 1")
    )


def data_seed(default: int = 0) -> Any:
    """The ``seed`` field of every task that makes its data: the data's own, apart from the training seed."""
    return setting(default, "the data's own seed (not the training `seed`)")


def sequence_length(default: int = 12) -> Any:
    """The ``length`` field of the generated tasks and of adding: one definition for all."""
    return setting(
        default,
        "longest sequence, in characters (`selective_copy`: before its query steps; `adding`: every sequence's steps)",
        check=Range(at_least(1), "must be an integer >= 1"),
    )


@dataclass
class GeneratedTaskConfig(TaskConfig):
    # Longest sequence, in characters; lengths are drawn from [min_length, length].
    # selective_copy's tokens are written out after it, in steps of their own.
    length: int = sequence_length()
    # Shortest sequence (checked against length in rnnexp.config.checks).
    min_length: Optional[int] = setting(None, "shortest sequence (`selective_copy`: before its query steps)", null="gives every sequence task.length characters")
    # Number of examples generated.
    size: int = example_count()
    # Seed of the generator (independent of the training seed, the top-level `seed`).
    seed: int = data_seed()


def alphabet_size() -> Any:
    """The ``symbols`` field of the tasks that draw letters (copy, reverse, selective_copy, associative_recall): one definition for all."""
    return setting(8, "alphabet size: the first `symbols` lowercase letters", check=Range(lambda value: 2 <= value <= 26, "must be between 2 and 26"))


@dataclass
class CopyTaskConfig(GeneratedTaskConfig):
    # Steps between reading a character and writing it.
    delay: int = setting(2, "steps between reading a character and writing it")
    # Alphabet size: the first `symbols` lowercase letters.
    symbols: int = alphabet_size()


@dataclass
class SelectiveCopyTaskConfig(GeneratedTaskConfig):
    # Selective copying (rnnexp.data.builtin_tasks.SelectiveCopy): task.length
    # (or a length from [min_length, length]) is the noisy part the tokens are
    # scattered over; the tokens' query steps come after it.
    # Tokens to remember, each written out in order after the noisy part
    # (checked against the shortest noisy part in rnnexp.config.checks).
    tokens: int = setting(4, "tokens scattered among the noise, then written out in order", check=Range(at_least(1), "must be an integer >= 1"))
    # Alphabet size of the tokens: the first `symbols` lowercase letters.
    symbols: int = alphabet_size()


@dataclass
class AssociativeRecallTaskConfig(TaskConfig):
    # Associative recall (rnnexp.data.builtin_tasks.AssociativeRecall): each
    # sequence is 2 * pairs + 1 characters, so it has no length keys.
    # Key-value pairs before the query (at most task.symbols: the keys of a
    # sequence are distinct, checked in rnnexp.config.checks).
    pairs: int = setting(4, "key-value pairs before the query key", check=Range(at_least(1), "must be an integer >= 1"))
    # Alphabet of the keys: the first `symbols` lowercase letters.
    symbols: int = alphabet_size()
    # Alphabet of the values: the first `digits` digits, apart from the keys'.
    digits: int = setting(10, "value alphabet: the digits 0 to `digits` - 1", check=Range(lambda value: 2 <= value <= 10, "must be between 2 and 10"))
    size: int = example_count()
    seed: int = data_seed()


@dataclass
class CaesarTaskConfig(GeneratedTaskConfig):
    # Letters to shift by (a -> d for 3).
    shift: int = setting(3, "letters to shift by")


@dataclass
class ReverseTaskConfig(GeneratedTaskConfig):
    # Alphabet size: the first `symbols` lowercase letters.
    symbols: int = alphabet_size()


@dataclass
class LanguageModelTaskConfig(TaskConfig):
    # The keys of a task whose data is one text (task=text, and task=custom
    # when its callable returns a string): next-character prediction.
    # Characters per training window: the unrolled length, how far back gradients flow.
    window: int = setting(64, "characters per training window", check=Range(at_least(1), "must be an integer >= 1"))
    # Read the text as batch_size contiguous streams, window after window in
    # order, and carry the model's state from each window to the next
    # (detached: gradients still stop at the window's start), from zeros at
    # each epoch's start. Each prediction then sees the stream so far, not
    # only its window: a lower loss in the same epochs (docs/performance.md,
    # "Text"). false: independent windows from zeros, shuffled each epoch.
    stateful: bool = setting(True, "carry the state across windows of contiguous streams (true), or independent shuffled windows (false)")
    # With stateful: the validation text is read as this many streams side
    # by side, each from zeros; fewer give each prediction more context and
    # a slower pass. 10, as pytorch/examples' word_language_model evaluates.
    val_streams: int = setting(
        10, "the streams validation reads side by side", check=Range(at_least(1), "must be an integer >= 1")
    )
    # Every this many epochs, log a generated sample; 0: never.
    sample_every: int = setting(5, "log a generated sample every this many epochs; 0: never")
    # Characters to sample.
    sample_length: int = setting(200, "characters to sample")
    # Text the sample continues (its characters must occur in the text).
    prime: Optional[str] = setting(None, "text the sample continues", null="starts from the text's first character")
    # Sampling temperature: < 1 sharper and more repetitive, > 1 more random.
    temperature: float = setting(0.8, "sampling temperature", check=Range(positive, "must be a number > 0"))


@dataclass
class TextTaskConfig(LanguageModelTaskConfig):
    # A UTF-8 text file; its null is the shipped corpus (the opening of
    # Shakespeare's Coriolanus, about 100 kB).
    path: Optional[str] = setting(None, "a UTF-8 text file", null="reads the shipped text")
    # The sample of the shipped play continues a line's start.
    prime: Optional[str] = setting("The ", "text the sample continues", null="starts from the text's first character")


def declared_kind() -> Any:
    """The ``kind`` field of the tasks whose data tells its kind (custom, arrays): one definition for both.

    validate() checks task.kind by the first schema's range; the kinds a
    task cannot give, its class's check_config refuses (task=arrays: the
    kinds of characters).
    """
    return setting(
        None,
        "the kind of task: tagging, language_model (`custom` only), classify or regress",
        check=Range(one_of(*TASK_KINDS), "allowed values are tagging, language_model, classify, regress, or null"),
        null="takes it from the data: what task.data returns, or y's type (integers classify)",
    )


def answer_tolerance() -> Any:
    """The ``tolerance`` field of the tasks that may regress (custom, arrays, adding): one definition for all.

    A regress task's sequence counts as right (for solved_at and the
    accuracy) when each of its numbers is within this of its target:
    Hochreiter and Schmidhuber's criterion for the adding problem.
    """
    return setting(0.04, "regress: a sequence is right when each number is within this of its target", check=Range(positive, "must be a number > 0"))


@dataclass
class CustomTaskConfig(LanguageModelTaskConfig):
    # Your own data: the callable that returns the task's sequences, and its
    # keyword arguments beside it, taken without + and checked against its
    # signature (rnnexp.data.custom). It returns a list of (source, target)
    # string pairs of equal length (a tagging task) or one string (a language
    # model, which reads the keys above).
    data: Dict[str, Any] = field(
        default_factory=lambda: {"_target_": MISSING},
        metadata={KEYWORDS: True, DOC: "your data: a callable returning the task's sequences, and its keyword arguments"},
    )
    # tagging, language_model, classify or regress. null: what the callable
    # returns decides, and the run's saved config records it. Set it to have
    # that checked (classify: whole numbers in a float y are classes).
    kind: Optional[str] = declared_kind()
    # regress: how near each number must come (answer_tolerance).
    tolerance: float = answer_tolerance()


@dataclass
class ArraysFileTaskConfig(TaskConfig):
    # Real-valued sequences from a file (rnnexp.data.array_files): an .npz of
    # x (sequences, steps, features) and y, or a .csv (.tsv) of the UCR
    # archive's layout, one sequence per row after its answer. Relative
    # paths start from the working directory.
    path: str = setting(MISSING, "the file to read")
    # A second file of the same layout, held out for validation in place of
    # task.val_fraction's cut (the UCR archive's _TEST file).
    test_path: Optional[str] = setting(None, "a file of the same layout held out for validation", null="cuts task.val_fraction from task.path")
    # classify or regress (the kinds of characters are refused by
    # ArraysFile.check_config). null: y's type decides, integers classify,
    # and the run's saved config records it; classify takes whole numbers
    # written as floats too.
    kind: Optional[str] = declared_kind()
    tolerance: float = answer_tolerance()


@dataclass
class MNIST1DTaskConfig(TaskConfig):
    # MNIST-1D (rnnexp.data.mnist1d), made offline by the mnist1d package at the
    # paper's settings: 4000 training and 1000 test examples of 40 steps, the
    # test set as the validation set. The other settings are the package's own.
    # The paper's shuffled variant: one fixed permutation of the 40 steps for
    # every example, so no order is left to learn from.
    shuffle: bool = setting(False, "the paper's shuffled variant: one fixed permutation of the 40 steps")
    # The generator's seed: 42 is the paper's, the data set it published
    # (for numpy's legacy generator: 0 to 2**32 - 1, checked by the task's class).
    seed: int = data_seed(42)


@dataclass
class AddingTaskConfig(TaskConfig):
    # The adding problem (rnnexp.data.adding): values in channel 0, two of them
    # marked in channel 1 (one in each half), and the answer is their sum.
    # Steps per sequence, all of one length: how long the first marked value
    # must be kept (at least 2, one in each half, checked by the task's class).
    length: int = sequence_length(100)
    # Training sequences: 100,000, as Arjovsky et al. (2016), 3,125 optimizer
    # steps an epoch at batch_size 32. They are made at the start and kept in
    # memory, size * length * 8 bytes: 80 MB at length 100 (800 MB at 1000,
    # where a smaller size may be wiser).
    size: int = example_count(100_000)
    # Held-out sequences, the validation set, drawn from a stream of their own:
    # task.size leaves them as they are. 10,000 as in Arjovsky et al. (2016).
    test_size: int = setting(
        10_000, "held-out sequences, the validation set", check=Range(at_least(1), "must be an integer >= 1")
    )
    # The data's own seed, for numpy's legacy generator: 0 to 2**32 - 1
    # (checked by the task's class). Training and held-out sequences come
    # from two streams of it.
    seed: int = data_seed()
    # Hochreiter and Schmidhuber's (1997) criterion: a sequence counts as right
    # when its answer is off by less than this. The sums lie in [0, 2).
    tolerance: float = answer_tolerance()


TASK_SCHEMAS = {
    "schema_task_pair": PairTaskConfig,
    "schema_task_pairs_file": PairsFileTaskConfig,
    "schema_task_generated": GeneratedTaskConfig,
    "schema_task_copy": CopyTaskConfig,
    "schema_task_caesar": CaesarTaskConfig,
    "schema_task_reverse": ReverseTaskConfig,
    "schema_task_selective_copy": SelectiveCopyTaskConfig,
    "schema_task_associative_recall": AssociativeRecallTaskConfig,
    "schema_task_text": TextTaskConfig,
    "schema_task_custom": CustomTaskConfig,
    "schema_task_mnist1d": MNIST1DTaskConfig,
    "schema_task_adding": AddingTaskConfig,
    "schema_task_arrays_file": ArraysFileTaskConfig,
}


# --------------------------------------------------------------------------- scheduler
@dataclass
class SchedulerConfig:
    # A torch.optim.lr_scheduler class, built around the optimizer by
    # rnnexp.training.optimizers with the other keys as its keyword arguments.
    # The options' schemas below set their class: their own field, so this
    # one holds the key's metadata.
    _target_: Optional[str] = setting(
        None,
        "the scheduler's class",
        null="keeps the lr constant",
        hparam=HParam(column="scheduler", class_name=True, when_null="none"),
    )


@dataclass
class StepSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.StepLR"
    step_size: int = setting(10, "epochs between decays (`step`)")
    gamma: float = setting(0.5, "lr factor at each decay (`step`)")


COSINE = "torch.optim.lr_scheduler.CosineAnnealingLR"


@dataclass
class CosineSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = COSINE
    T_max: int = setting(II("epochs"), "epochs of one half-cosine: the whole run (`cosine`)")
    eta_min: float = setting(0.0, "the lr it ends at (`cosine`)")


@dataclass
class PlateauSchedulerConfig(SchedulerConfig):
    _target_: Optional[str] = "torch.optim.lr_scheduler.ReduceLROnPlateau"
    factor: float = setting(0.5, "lr factor when the validation loss stalls (`plateau`)")
    patience: int = setting(3, "epochs without improvement before reducing (`plateau`)")
    min_lr: float = setting(0.0, "the lr never goes below this (`plateau`)")


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
    lr: float = setting(
        0.1,
        "learning rate",
        check=(
            Range(positive, "must be a number > 0, for example lr=0.1"),
            Range(fits_float32, f"must be at most {FLOAT32_MAX:.2g} (the largest float32, the weights' type), for example lr=0.1"),
        ),
        hparam=HParam(),
    )
    # Full passes over the task's data (one optimizer step each for hello);
    # the notebook trains 15.
    epochs: int = setting(
        15, "full passes over the task's data", check=Range(at_least(1), "must be an integer >= 1, for example epochs=15"), hparam=HParam()
    )
    # Seeds torch before the model is built: same seed, same losses on the CPU.
    seed: int = setting(
        0, "torch's seed; the same seed gives the same losses on the CPU", check=Range(at_least(0), "must be an integer >= 0"), hparam=HParam()
    )
    # auto: an accelerator when present, else the cpu; but the cpu for small
    # models (rnnexp.training.device).
    device: str = setting(
        "auto",
        "where the run trains; `auto`: CUDA, then MPS, else the CPU, but the CPU for small models ([performance.md](performance.md))",
        check=Range(a_device, DEVICE_WORDS),
        hparam=HParam(),
    )
    # Sequences per optimizer step. hello has one sequence, so it trains with
    # batch 1 as in the notebook whatever this says.
    batch_size: int = setting(32, "sequences per optimizer step", check=Range(at_least(1), "must be an integer >= 1"), hparam=HParam())
    # Clip the gradient norm to this before each step: one steep step then
    # cannot undo the training so far.
    clip: Optional[float] = setting(
        None,
        "clip the gradient norm to this before each step",
        check=Range(positive, "must be a number > 0 (the largest gradient norm), or null for no clipping"),
        null="turns clipping off",
        hparam=HParam(when_null=0.0),
    )
    # Stop when the validation loss has not improved for this many epochs.
    patience: Optional[int] = setting(
        None,
        "stop after this many epochs without a better validation loss",
        check=Range(at_least(1), "must be an integer >= 1 (epochs), or null to train all epochs"),
        null="trains all epochs",
    )
    # The share of evaluation sequences right that counts as solved: 1, every
    # one; a sweep of hard settings may count 0.99 (one wrong character in
    # a few hundred sequences is not a failure to remember).
    solved_at: float = setting(
        1.0,
        "the share of evaluation sequences that must be right for a run to count as solved",
        check=Range(lambda value: 0 < value <= 1, "must be a share > 0 and <= 1 (1: every sequence right)"),
    )
    # Stop at the end of the first epoch that solves the task (every
    # evaluation sequence right): a sweep of many settings spends its time on
    # the ones still learning. A text is never solved, so this never stops it.
    stop_when_solved: bool = setting(
        False, "stop at the end of the first epoch that solves the task (`solved_at` of the evaluation sequences right)"
    )
    # A run has diverged, and stops with status diverged, when an epoch's
    # mean training loss exceeds this many times ln(classes), the loss of
    # guessing uniformly (as when the loss is inf or nan). A loss that
    # explodes to 1e30 stays finite in float32, and only this catches it.
    # 1e4 leaves margin over the transient spikes of runs that still learn:
    # at most 140x in the Optuna search's space, 1900x for RMSprop at lr 1.0
    # with a 1024-wide head on hello (docs/reliability.md).
    diverge_ratio: Optional[float] = setting(
        1e4,
        "a run whose epoch's mean training loss exceeds this many times ln(classes), the loss of guessing uniformly, "
        "stops with status `diverged`, as one whose loss becomes inf or nan does ([reliability.md](reliability.md))",
        check=Range(
            lambda value: value > 1,
            "must be a number > 1 (a multiple of ln(classes), the loss of guessing uniformly), "
            "or null to stop only on a non-finite loss",
        ),
        null="stops a run only on a non-finite loss",
    )
    # Count each training batch's accuracy (train_accuracy/* in TensorBoard).
    # The sequence tasks' solved rule reads it. task=text sets false: the
    # language model is judged by its validation loss and accuracy, and the
    # count costs about 3% of its training time (docs/performance.md).
    train_accuracy: bool = setting(
        True,
        "count each training batch's accuracy (`train_accuracy/*` in TensorBoard); `task=text` sets `false`, "
        "the other tasks need it for their solved rule",
    )
    # A run directory to continue from its last checkpoint (with its config;
    # `epochs=N` given as well extends the run to N epochs).
    resume: Optional[str] = setting(None, "a run directory to continue from its `last.pt`", null="starts a new run")
    # Progress bar within epochs: auto (on an interactive terminal, not in
    # sweeps), always, never.
    progress: str = setting(
        "auto",
        "progress bar within epochs",
        check=Range(one_of("auto", "always", "never"), "allowed values are auto, always, never"),
    )
    # What a sweep (-m) prints in the terminal for each job: jobs, one line
    # when it ends (overrides, status, final loss, seconds), so that a sweep of
    # many jobs fits on a screen above its summary; epochs, every epoch line as
    # a single run prints them. Each job's rnnexp.log has every line either
    # way; a single run always prints its epochs.
    sweep_lines: str = setting(
        "jobs",
        "what a sweep (`-m`) prints per job in the terminal ([sweeps.md](sweeps.md))",
        check=Range(
            one_of("jobs", "epochs"), "allowed values are jobs (one line per job of a sweep) or epochs (every epoch line)"
        ),
    )
    # A sweep's key whose values climb in difficulty (task.delay): its summary
    # then states, for each setting of the other keys, the hardest value that
    # every seed solved and the hardest that any seed solved (rnnexp.sweep.ladder).
    ladder: Optional[str] = setting(
        None,
        "a swept key whose values climb in difficulty (`task.delay`): the sweep's summary states, per setting, the "
        "hardest value every seed solved and the hardest any seed solved ([sweeps.md](sweeps.md))",
        null="no ladder table",
    )
    # torch's intra-op threads: auto (one for small models, where more only
    # add hand-off costs and suffer most when the cores are busy; for larger
    # ones the count a few timed steps found fastest on this CPU, kept for the
    # next run: see rnnexp.training.threads) or a count, at most the machine's
    # cores (checked where the run starts). Under a parallel launcher (joblib,
    # submitit) auto gives each job 1.
    threads: Any = setting(
        "auto",
        "torch's intra-op threads; `auto`: 1 for small models, for larger ones the count that trained fastest in a few "
        "timed steps on this CPU (kept for the next run), 1 under a parallel launcher ([performance.md](performance.md))",
        check=Range(
            lambda value: value == "auto" or (type(value) is int and value >= 1),
            "allowed values are auto or an integer >= 1 (torch's intra-op threads), for example threads=1",
        ),
    )


# Every schema by the name the YAML defaults lists use for it.
SCHEMAS = {
    "schema_config": Config,
    "schema_model": ModelConfig,
    "schema_encoder": EncoderConfig,
    **OPTIMIZER_SCHEMAS,
    **TASK_SCHEMAS,
    **SCHEDULER_SCHEMAS,
}


PROVIDER = "rnnexp"  # how the config store names who stored the schemas


def register_configs() -> None:
    """Store the schemas under the names the YAML defaults lists refer to.

    They are stored outside the config groups (``/schema_model@_here_`` in a
    YAML option's defaults list), so ``--help`` and the "choose one of" error
    list only real options.
    """
    cs = ConfigStore.instance()
    for name, schema in SCHEMAS.items():
        # Once per process: every command calls this, and building a schema's node costs about 1 ms
        # (an in-process test suite runs hundreds of commands). A store cleared since gets them again.
        stored = cs.repo.get(f"{name}.yaml")
        if stored is None or stored.provider != PROVIDER:
            cs.store(name=name, node=with_open_keywords(schema), provider=PROVIDER)



def with_open_keywords(schema: type) -> DictConfig:
    """``schema`` as a config whose KEYWORDS fields take keys it does not list, without ``+``.

    Hydra sets the whole config to struct mode after composing it, so a key
    that no schema lists needs ``+``; a node whose own struct flag is off
    keeps taking new keys (checked on hydra-core 1.3.2). The keyword
    arguments of a user's class are not known to any schema: its signature
    checks them when the class is built.
    """
    node = OmegaConf.structured(schema)
    for schema_field in fields(schema):
        if schema_field.metadata.get(KEYWORDS):
            OmegaConf.set_struct(node[schema_field.name], False)
    return node
