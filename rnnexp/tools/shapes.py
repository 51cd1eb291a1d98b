"""Show the shape of every tensor a config builds, without training.

    python -m rnnexp.shapes [group=option ...] [key=value ...]

The notebook's first lesson is the dimensions: seq_len x batch x input_size
into an nn.RNNCell step by step, and h_0, out and h_n of an nn.RNN. This
command composes the config as ``python -m rnnexp`` does (same groups, same
overrides, same one-line errors, exit status 2), builds the task and the
model, and passes one real batch of ``batch_size`` training sequences through
the model with forward hooks on the encoder, the recurrent module and the
head, and catches what F.cross_entropy is given. Every shape printed is read
from a tensor of that pass; the words beside it (batch, seq_len, ...) are
checked against it.

A config that training refuses for want of a head (model.head=false with a
hidden_size other than the number of classes, or two directions) is shown as
far as it goes, up to h_t, with one line on what training it needs: the
notebook's cells have no head, since they compute no loss.

A task of real values (classify, regress) shows its features (batch,
seq_len, features) going in, the readout that turns the recurrence's outputs
into one vector per sequence (model.readout: last, mean or all), and one
answer per sequence coming out: class scores (batch, classes) into
F.cross_entropy, or numbers (batch, outputs) into F.mse_loss.

:func:`trace_shapes` returns the named shapes (a :class:`ShapeTrace`) and
:func:`render` the text printed. docs/shapes.md quotes the output for the
notebook's models; ``python scripts/docs_outputs.py`` writes it anew.
"""

from __future__ import annotations

import copy
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException
from torch import nn
from torch.overrides import TorchFunctionMode

from rnnexp.config.checks import validate
from rnnexp.config.keys import key_hints
from rnnexp.config.labels import model_label
from rnnexp.config.pipeline import composed
from rnnexp.data.loading import load_task
from rnnexp.data.sequences import Batch
from rnnexp.errors import USAGE_ERROR, UserError, one_line
from rnnexp.models.description import Description, Named, describe
from rnnexp.models.sampling import eval_mode
from rnnexp.models.encoders import LinearEncoder
from rnnexp.models.losses import sequence_cross_entropy
from rnnexp.models.readouts import AllSteps, LastStep, MeanOfSteps
from rnnexp.models.tagger import RecurrentTagger, build_model, check_head


@dataclass(frozen=True)
class Shape:
    """One tensor: its shape as read, and each dimension in words (keys of ``ShapeTrace.sizes``)."""

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Step:
    """One call of nn.RNNCell: x_t and h_{t-1} in, h_t out (t counts from 1)."""

    t: int
    x_t: Shape
    h_prev: Shape
    h_t: Shape


@dataclass
class ShapeTrace:
    """The named shapes of one forward pass, section by section."""

    title: str  # model=..., encoder=..., task=...
    sizes: dict[str, int]  # every dimension's words -> its size
    recurrence: str  # what runs the recurrence and in which layout, in words
    head: str  # what maps h_t to the class scores, in words
    inputs: list[Shape]  # ids (or real features) -> x
    steps: list[Step]  # a recurrence that names its steps (model=cell)
    recurrent: list[Shape]  # the recurrence's own tensors (nn.RNN / LSTM / GRU: inputs, h_0, out, h_n, c_0, c_n)
    outputs: list[Shape]  # head input -> logits; empty where h_t cannot be class scores
    loss: list[Shape]  # F.cross_entropy's input and target; empty as outputs
    parameters: list[Shape] = field(default_factory=list)
    refusal: str = ""  # why python -m rnnexp refuses to train this config (no head), else ""
    real_values: bool = False  # features in, one answer per sequence out (classify, regress)
    readout: str = ""  # how model.readout makes one vector per sequence, in words ("": every step, for characters)
    loss_words: str = "F.cross_entropy over every step"  # what the loss is, for the heading of its section

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(p.shape) for p in self.parameters)

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape recorded under ``name`` (``h_n``, ``logits``, ``recurrence.rnn.weight_ih_l0``, ...)."""
        for section in (self.inputs, self.recurrent, self.outputs, self.loss, self.parameters):
            for entry in section:
                if entry.name == name:
                    return entry.shape
        raise KeyError(name)


# --------------------------------------------------------------------------- tracing
def trace_shapes(cfg: DictConfig) -> ShapeTrace:
    """Build ``cfg``'s task and model and trace the first training batch through it (CPU; no training).

    ``cfg`` must have passed :func:`compose_config`'s checks. Raises UserError
    for what only the data shows (a file). A model that training refuses for
    want of a head is traced up to h_t, and the trace says why (``refusal``).
    """
    data = load_task(cfg.task)
    refusal = head_refusal(cfg, data.sizes.outputs)
    torch.manual_seed(cfg.seed)  # the weights as a run would draw them (the shapes do not depend on it)
    model = build_model(cfg, data.sizes, trainable=False)
    batch = next(data.train.batches(cfg.batch_size))  # in order: the first batch_size sequences
    title = f"model={model_label(cfg.model)}  encoder={cfg.encoder.name}  task={cfg.task.name}"
    return trace_model(model, batch, title, refusal)


def head_refusal(cfg: DictConfig, num_classes: int) -> str:
    """The one line ``python -m rnnexp`` refuses ``cfg`` with for want of a head, or "" if it trains.

    ``cfg`` has passed every other check (:func:`compose_config` validates it
    with model.head=true), so what is refused here is the missing head.
    """
    if cfg.model.head:
        return ""
    try:
        validate(cfg)  # two directions need a head
        check_head(cfg.model, num_classes)  # so does a hidden_size other than the classes
    except UserError as error:
        return str(error)
    return ""


def trace_model(model: RecurrentTagger, batch: Batch, title: str = "", refusal: str = "") -> ShapeTrace:
    """Pass ``batch`` through ``model`` with hooks and name what each module saw and returned.

    The recurrence's part is what its class says of itself (its ``describe``),
    or, for a class that says nothing, x, outputs and state read by a hook
    (rnnexp.models.description). With a ``refusal`` (training needs a head
    this model lacks) its h_t are no class scores: the trace ends at them,
    with no head, logits or loss.
    """
    scores = not refusal
    with eval_mode(model):  # dropout off: the same shapes, and running the recurrence again repeats its outputs
        seen = _forward_with_hooks(model, batch, with_loss=scores)
        described = describe(model.recurrence, seen["x"], batch.lengths)
    sizes = _sizes(model, batch, described)
    hidden = described.output
    if batch.source.is_floating_point():  # real values: one answer per sequence
        return _trace_answers(model, batch, title, refusal, seen, described, sizes)
    if isinstance(model.head, nn.Linear):
        head_words = f"nn.Linear({hidden} -> classes), the same at every step"
        logits_note = "class scores per step"
    else:
        head_words = "none: h_t itself is read as the class scores (so hidden_size = classes)"
        logits_note = "= h: no head"
    target_note = "target ids, one per step" + ("; padding is -100, left out" if batch.lengths is not None else "")
    return ShapeTrace(
        title=title,
        sizes=sizes,
        recurrence=described.words,
        head=head_words,
        inputs=[
            _named("ids", seen["ids"], ("batch", "seq_len"), sizes, "character ids: the first training batch"),
            _named("x", seen["x"], ("batch", "seq_len", "input_size"), sizes, _encoder_words(model.encoder)),
        ],
        steps=[Step(t, *(_shape(named, sizes) for named in step)) for t, step in enumerate(described.steps, start=1)],
        recurrent=[_shape(named, sizes) for named in described.tensors],
        outputs=[
            _named("h", seen["head_input"], ("batch", "seq_len", hidden), sizes, described.output_note),
            _named("logits", seen["logits"], ("batch", "seq_len", "classes"), sizes, logits_note),
        ] if scores else [],
        loss=[
            _named("loss input", seen["loss_input"], ("batch x seq_len", "classes"), sizes, "logits, one row per step"),
            _named("loss target", seen["loss_target"], ("batch x seq_len",), sizes, target_note),
        ] if scores else [],
        parameters=[
            _named(name, parameter, _parameter_dims(name, hidden, described), sizes)
            for name, parameter in sorted(model.named_parameters(), key=_forward_order)
        ],
        refusal=refusal,
    )


# How each readout (rnnexp.models.readouts) turns h (batch, seq_len, H) into one vector per sequence.
_READOUT_WORDS = {
    LastStep: ("the state after each sequence's last real step", "last step"),
    MeanOfSteps: ("the mean of each sequence's outputs over its real steps", "mean over the steps"),
    AllSteps: ("every step's output side by side, flattened", "every step, flattened"),
}


def _trace_answers(
    model: RecurrentTagger, batch: Batch, title: str, refusal: str, seen: dict[str, Any], described: Description,
    sizes: dict[str, int],
) -> ShapeTrace:
    """The trace of a task of real values: features in, a readout, one answer per sequence out (see the module's docstring)."""
    scores = not refusal
    hidden = described.output
    classify = model.loss is sequence_cross_entropy
    answers = "classes" if classify else "outputs"
    readout_words, readout_short = _READOUT_WORDS[type(model.readout)]
    flat = isinstance(model.readout, AllSteps)
    width = f"seq_len x {hidden}" if flat else hidden
    sizes[width] = model.readout.width(model.output_size)
    what = "class scores" if classify else "numbers"
    if isinstance(model.head, nn.Linear):
        head_words = f"nn.Linear({width} -> {answers}), one answer per sequence"
        logits_note = f"{what}, one row per sequence"
    else:
        head_words = f"none: the readout itself is read as the {what} (so its width = {answers})"
        logits_note = "= the readout: no head"
    features_note = "real values: the first training batch" + ("; zeros after each end" if batch.lengths is not None else "")
    if not scores:
        loss = []
    elif classify:
        loss = [
            _named("loss input", seen["loss_input"], ("batch", "classes"), sizes, "class scores, one row per sequence"),
            _named("loss target", seen["loss_target"], ("batch",), sizes, "one class per sequence"),
        ]
    else:
        loss = [
            _named("loss input", seen["loss_input"], ("batch", "outputs"), sizes, "the predicted numbers"),
            _named("loss target", seen["loss_target"], ("batch", "outputs"), sizes, "the target numbers"),
        ]
    return ShapeTrace(
        title=title,
        sizes=sizes,
        recurrence=described.words,
        head=head_words,
        readout=readout_words,
        inputs=[
            _named("features", seen["ids"], ("batch", "seq_len", "features"), sizes, features_note),
            _named("x", seen["x"], ("batch", "seq_len", "input_size"), sizes, _encoder_words(model.encoder)),
        ],
        steps=[Step(t, *(_shape(named, sizes) for named in step)) for t, step in enumerate(described.steps, start=1)],
        recurrent=[_shape(named, sizes) for named in described.tensors],
        outputs=[
            _named("h", seen["readout_input"], ("batch", "seq_len", hidden), sizes, described.output_note),
            _named("readout", seen["head_input"], ("batch", width), sizes, readout_short),
            _named("logits", seen["logits"], ("batch", answers), sizes, logits_note),
        ] if scores else [],
        loss=loss,
        parameters=[
            _named(name, parameter, _parameter_dims(name, width, described, answers), sizes)
            for name, parameter in sorted(model.named_parameters(), key=_forward_order)
        ],
        refusal=refusal,
        real_values=True,
        loss_words="F.cross_entropy, one class per sequence" if classify else "F.mse_loss over every number",
    )


class _LossInputs(TorchFunctionMode):
    """Records the tensors handed to F.cross_entropy or F.mse_loss (functions: no module to hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (F.cross_entropy, F.mse_loss):
            self.tensors = (args[0], args[1])  # (B*T, C) or (B, C) scores and their targets; (B, K) numbers and theirs
        return func(*args, **(kwargs or {}))


def _forward_with_hooks(model: RecurrentTagger, batch: Batch, with_loss: bool = True) -> dict[str, Any]:
    """One forward pass of ``batch`` (with its targets, as in training, if ``with_loss``); what each module saw."""
    seen: dict[str, Any] = {}

    def on_encoder(module, args, out):
        seen["ids"], seen["x"] = args[0], out  # (B, T) -> (B, T, input)

    def on_head(module, args, out):
        # (B, T, output) -> (B, T, C); one answer a sequence: (B, width) -> (B, C) or (B, K)
        seen["head_input"], seen["logits"] = args[0], out

    def on_readout(module, args, out):
        seen["readout_input"] = args[0]  # (B, T, output): the recurrence's outputs before the readout

    hooks = [model.encoder.register_forward_hook(on_encoder), model.head.register_forward_hook(on_head),
             model.readout.register_forward_hook(on_readout)]
    loss = _LossInputs()
    try:
        with torch.no_grad(), loss:
            model(batch.source, batch.target if with_loss else None, batch.lengths)
    finally:
        for hook in hooks:
            hook.remove()
    if with_loss:
        seen["loss_input"], seen["loss_target"] = loss.tensors
    return seen


def _sizes(model: RecurrentTagger, batch: Batch, described: Description) -> dict[str, int]:
    """Each dimension's words and its size, as the model was built, the batch was drawn and the recurrence says."""
    batch_size, seq_len = batch.source.shape[:2]
    sizes = {"batch": batch_size, "seq_len": seq_len}
    if batch.source.is_floating_point():  # real values: features in, classes or numbers out
        sizes["features"] = batch.source.shape[2]
    else:
        sizes["vocab"] = model.num_classes  # one vocabulary for input and output
    sizes |= {"input_size": model.encoder.output_size, "hidden_size": model.hidden_size}
    sizes |= described.sizes
    regress = batch.source.is_floating_point() and model.loss is not sequence_cross_entropy
    sizes["outputs" if regress else "classes"] = model.num_classes
    sizes["batch x seq_len"] = batch_size * seq_len
    return sizes


def _encoder_words(encoder: nn.Module) -> str:
    if hasattr(encoder, "embedding"):
        return "rows of nn.Embedding(vocab, input_size)"
    if isinstance(encoder, LinearEncoder):
        if isinstance(encoder.projection, nn.Linear):
            return "nn.Linear(features, input_size) at every step"
        return "the features as they are: input_size = features"
    return "one-hot rows: input_size = vocab"


def _forward_order(named: tuple[str, nn.Parameter]) -> int:
    """Encoder, recurrence, head: the order the forward pass uses them (sorted() keeps the rest)."""
    return {"encoder": 0, "head": 2}.get(named[0].split(".")[0], 1)


def _parameter_dims(name: str, hidden: str, described: Description, answers: str = "classes") -> tuple[str, ...]:
    """Each dimension of parameter ``name`` in words: the encoder's and head's here, the recurrence's as it says.

    ``hidden``: the words of the head's input width; ``answers``: of its outputs (classes, or a regress task's outputs).
    """
    owner, _, kind = name.rpartition(".")
    if owner == "encoder.embedding":
        return ("vocab", "input_size")
    if owner == "encoder.projection":
        return ("input_size", "features") if kind == "weight" else ("input_size",)
    if owner == "head":
        return (answers, hidden) if kind == "weight" else (answers,)
    return described.parameter_dims[name.removeprefix("recurrence.")]


def _shape(named: Named, sizes: dict[str, int]) -> Shape:
    return _named(named.name, named.tensor, named.dims, sizes, named.note)


def _named(name: str, tensor: torch.Tensor, dims: tuple[str, ...], sizes: dict[str, int], note: str = "") -> Shape:
    """The tensor's shape, with ``dims`` checked against it: the words cannot drift from the code."""
    shape = tuple(tensor.shape)
    expected = tuple(sizes[d] for d in dims)
    if shape != expected:
        raise AssertionError(f"{name}: the tensor is {shape}, but ({', '.join(dims)}) is {expected}")
    return Shape(name, shape, dims, note)


# --------------------------------------------------------------------------- text
def render(trace: ShapeTrace) -> str:
    """The text ``python -m rnnexp.shapes`` prints for ``trace``, ending in a newline."""
    base = ", ".join(
        f"{key} {value}" for key, value in trace.sizes.items()
        if " x " not in key and key != "unpadded steps" and not key.isdigit()  # a number is its own word
    )
    lines = [trace.title, f"sizes: {base}", ""]
    into_x = "the encoder turns the features into x" if trace.real_values else "the encoder turns ids into x"
    lines += [f"input: {into_x}", *_table([_row(s) for s in trace.inputs]), ""]
    lines.append(f"recurrence: {trace.recurrence}")
    if trace.steps:
        lines += _step_lines(trace.steps)
    lines += _table([_row(s) for s in trace.recurrent])
    lines.append("")
    if trace.outputs:
        lines += [f"readout: {trace.readout}"] if trace.readout else []
        lines += [f"head: {trace.head}", *_table([_row(s) for s in trace.outputs]), ""]
    if trace.loss:
        lines += [f"loss: {trace.loss_words}", *_table([_row(s) for s in trace.loss]), ""]
    lines += [f"parameters: {trace.parameter_count}", *_table([_row(s) for s in trace.parameters])]
    if trace.refusal:
        lines += ["", f"training this config needs model.head=true; python -m rnnexp refuses it as it is: {trace.refusal}"]
    return "\n".join(lines) + "\n"


def _row(shape: Shape) -> list[str]:
    return [shape.name, _tuple(shape.shape), _tuple(shape.dims), shape.note]


def _step_lines(steps: list[Step]) -> list[str]:
    """The first two steps and the last: the ones between have the same shapes."""
    shown = steps if len(steps) <= 3 else [steps[0], steps[1], steps[-1]]
    rows = []
    for step in shown:
        for i, shape in enumerate((step.x_t, step.h_prev, step.h_t)):
            row = _row(shape)
            if step.t > 1:
                row[-1] = ""  # the notes once, on the first step
            rows.append([f"t={step.t}" if i == 0 else "", *row])
    lines = _table(rows)
    if len(steps) > 3:
        between = "t=3" if len(steps) == 4 else f"t=3 to t={len(steps) - 1}"
        lines.insert(6, f"  ...  {between}: the same shapes")
    return lines


def _tuple(items: tuple) -> str:
    inner = ", ".join(str(item) for item in items)
    return f"({inner},)" if len(items) == 1 else f"({inner})"


def _table(rows: list[list[str]]) -> list[str]:
    """Rows indented by two spaces, columns padded to their widest cell."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


# --------------------------------------------------------------------------- command line
def compose_config(overrides: Sequence[str]) -> DictConfig:
    """The config ``python -m rnnexp OVERRIDES`` would run, with its checks; no output directory.

    The same checks in the same order as the command line: ``~key`` before
    composing, then the keys that nothing reads, then validate(), all but
    those that ask for a head: the shapes up to h_t need none, and
    :func:`trace_shapes` says what training needs instead.
    """
    cfg = composed(overrides)  # rnnexp.config.pipeline's steps, all but validate()
    with_head = copy.deepcopy(cfg)
    with_head.model.head = True  # the one difference: what validate(cfg) refuses beyond this wants a head
    validate(with_head)
    return cfg


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``python -m rnnexp.shapes ARGV`` (default: ``sys.argv[1:]``) and return its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["-h"], ["--help"]):
        print("\n\n".join(__doc__.split("\n\n")[:2]))
        return 0
    try:
        flags = [arg for arg in args if arg.startswith("-")]
        if flags:
            raise UserError(f"{flags[0]}: rnnexp.shapes takes overrides only (group=option, key=value), as one run would")
        print(render(trace_shapes(compose_config(args))), end="")
        return 0
    except (UserError, HydraException, OmegaConfBaseException) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"rnnexp.shapes: error: {one_line(error, key_hints())}", file=sys.stderr)
        return USAGE_ERROR
