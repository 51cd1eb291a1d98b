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

:func:`trace_shapes` returns the named shapes (a :class:`ShapeTrace`) and
:func:`render` the text printed. docs/shapes.md quotes the output for the
notebook's models; ``python scripts/docs_outputs.py`` writes it anew.
"""

from __future__ import annotations

import copy
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torch.overrides import TorchFunctionMode

from rnnexp.config.checks import validate
from rnnexp.config.compose import compose
from rnnexp.config.keys import schema_keys
from rnnexp.data.sequences import Batch
from rnnexp.errors import USAGE_ERROR, UserError, one_line
from rnnexp.models.tagger import CellModel, LayerModel, RecurrentTagger, build_model, check_head
from rnnexp.models.sampling import eval_mode
from rnnexp.cli.start_checks import check_keys, check_removal
from rnnexp.data.tasks import load_task

# Rows of the recurrent weights per gate: nn.LSTM stacks 4 (input, forget,
# cell, output), nn.GRU 3 (reset, update, new), nn.RNN and nn.RNNCell 1.
GATES = {"LSTM": 4, "GRU": 3}


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
    inputs: list[Shape]  # ids -> x
    steps: list[Step]  # model=cell only
    recurrent: list[Shape]  # nn.RNN / LSTM / GRU: inputs, h_0, out, h_n (c_0, c_n)
    outputs: list[Shape]  # head input -> logits; empty where h_t cannot be class scores
    loss: list[Shape]  # F.cross_entropy's input and target; empty as outputs
    parameters: list[Shape] = field(default_factory=list)
    refusal: str = ""  # why python -m rnnexp refuses to train this config (no head), else ""

    @property
    def parameter_count(self) -> int:
        return sum(math.prod(p.shape) for p in self.parameters)

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape recorded under ``name`` (``h_n``, ``logits``, ``rnn.weight_ih_l0``, ...)."""
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
    refusal = head_refusal(cfg, len(data.vocab))
    torch.manual_seed(cfg.seed)  # the weights as a run would draw them (the shapes do not depend on it)
    model = build_model(cfg, len(data.vocab), trainable=False)
    batch = next(data.train.batches(cfg.batch_size))  # in order: the first batch_size sequences
    title = f"model={cfg.model.name}  encoder={cfg.encoder.name}  task={cfg.task.name}"
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

    With a ``refusal`` (training needs a head this model lacks) its h_t are no
    class scores: the trace ends at them, with no head, logits or loss.
    """
    sizes = _sizes(model, batch)
    scores = not refusal
    with eval_mode(model):  # dropout off: the same shapes, and running the layer again repeats its outputs
        seen = _forward_with_hooks(model, batch, with_loss=scores)
        recurrent = [] if isinstance(model, CellModel) else _layer_shapes(model, seen, sizes)
    if isinstance(model, CellModel):
        steps = _cell_steps(seen, sizes)
        recurrence = "model=cell calls one nn.RNNCell per time step on x[:, t]; h_0 = zeros"
        hidden, h_note = "hidden_size", "h_1..h_T stacked"
    else:
        steps = []
        recurrence = _layer_words(model)
        hidden = "directions x hidden_size"
        h_note = "out, transposed back to batch-first" if model.time_first else "out"
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
        recurrence=recurrence,
        head=head_words,
        inputs=[
            _named("ids", seen["ids"], ("batch", "seq_len"), sizes, "character ids: the first training batch"),
            _named("x", seen["x"], ("batch", "seq_len", "input_size"), sizes, _encoder_words(model.encoder)),
        ],
        steps=steps,
        recurrent=recurrent,
        outputs=[
            _named("h", seen["head_input"], ("batch", "seq_len", hidden), sizes, h_note),
            _named("logits", seen["logits"], ("batch", "seq_len", "classes"), sizes, logits_note),
        ] if scores else [],
        loss=[
            _named("loss input", seen["loss_input"], ("batch x seq_len", "classes"), sizes, "logits, one row per step"),
            _named("loss target", seen["loss_target"], ("batch x seq_len",), sizes, target_note),
        ] if scores else [],
        parameters=[
            _named(name, parameter, _parameter_dims(name, hidden, _gate_rows(model)), sizes)
            for name, parameter in sorted(model.named_parameters(), key=_forward_order)
        ],
        refusal=refusal,
    )


class _LossInputs(TorchFunctionMode):
    """Records the tensors handed to F.cross_entropy (a function: no module to hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is F.cross_entropy:
            self.tensors = (args[0], args[1])  # (B*T, C) scores, (B*T,) targets
        return func(*args, **(kwargs or {}))


def _forward_with_hooks(model: RecurrentTagger, batch: Batch, with_loss: bool = True) -> dict[str, Any]:
    """One forward pass of ``batch`` (with its targets, as in training, if ``with_loss``); what each module saw."""
    seen: dict[str, Any] = {"steps": []}

    def on_encoder(module, args, out):
        seen["ids"], seen["x"] = args[0], out  # (B, T) -> (B, T, input)

    def on_cell(module, args, out):
        seen["steps"].append((args[0], args[1], out))  # x_t (B, input), h_{t-1} (B, H) -> h_t (B, H)

    def on_layer(module, args, out):
        seen["rnn_input"], seen["rnn_output"] = args[0], out  # the layer's own layout

    def on_head(module, args, out):
        seen["head_input"], seen["logits"] = args[0], out  # (B, T, output) -> (B, T, C)

    hooks = [model.encoder.register_forward_hook(on_encoder), model.head.register_forward_hook(on_head)]
    if isinstance(model, CellModel):
        hooks.append(model.cell.register_forward_hook(on_cell))
    elif isinstance(model, LayerModel):
        hooks.append(model.rnn.register_forward_hook(on_layer))
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


def _sizes(model: RecurrentTagger, batch: Batch) -> dict[str, int]:
    """Each dimension's words and its size, as the model was built and the batch was drawn."""
    batch_size, seq_len = batch.source.shape
    sizes = {
        "batch": batch_size,
        "seq_len": seq_len,
        "vocab": model.num_classes,  # one vocabulary for input and output
        "input_size": model.encoder.output_size,
        "hidden_size": model.hidden_size,
    }
    if isinstance(model, LayerModel):
        directions = 2 if model.rnn.bidirectional else 1
        sizes |= {
            "num_layers": model.rnn.num_layers,
            "directions": directions,
            "num_layers x directions": model.rnn.num_layers * directions,
            "directions x hidden_size": directions * model.hidden_size,
        }
        if batch.lengths is not None:
            sizes["unpadded steps"] = int(batch.lengths.sum())
    sizes[_gate_rows(model)] = _gates(model) * model.hidden_size
    sizes["classes"] = model.num_classes
    sizes["batch x seq_len"] = batch_size * seq_len
    return sizes


def _cell_steps(seen: dict[str, Any], sizes: dict[str, int]) -> list[Step]:
    steps = []
    for t, (x_t, h_prev, h_t) in enumerate(seen["steps"], start=1):
        steps.append(
            Step(
                t,
                _named("x_t", x_t, ("batch", "input_size"), sizes, "x[:, t]"),
                _named("h_{t-1}", h_prev, ("batch", "hidden_size"), sizes, "h_0 = zeros" if t == 1 else ""),
                _named("h_t", h_t, ("batch", "hidden_size"), sizes, "tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"),
            )
        )
    return steps


def _layer_shapes(model: LayerModel, seen: dict[str, Any], sizes: dict[str, int]) -> list[Shape]:
    """inputs, h_0, out and h_n (and c_0, c_n for an LSTM) of the torch layer, in its layout."""
    layer_input, (out, last) = seen["rnn_input"], seen["rnn_output"]
    packed = isinstance(layer_input, PackedSequence)  # a batch of unequal lengths
    finals = _as_tuple(last)  # LSTM: (h_n, c_n)
    # The model leaves h_0 to torch (zeros). Run the layer again with zeros of
    # h_n's shape given explicitly, as the notebook does: torch checks their
    # shape, and the same outputs show they are the h_0 it used.
    starts = tuple(torch.zeros_like(final) for final in finals)
    with torch.no_grad():
        again, again_last = model.rnn(layer_input, starts if len(starts) > 1 else starts[0])
    same_out = torch.equal(again.data, out.data) if packed else torch.equal(again, out)
    same_finals = all(torch.equal(a, b) for a, b in zip(_as_tuple(again_last), finals))
    assert same_out and same_finals, "the layer's own h_0 is not zeros of h_n's shape"

    steps = ("seq_len", "batch") if model.time_first else ("batch", "seq_len")
    state = ("num_layers x directions", "batch", "hidden_size")
    if packed:
        shapes = [
            _named("inputs", layer_input.data, ("unpadded steps", "input_size"), sizes, "packed: the padding left out"),
        ]
    else:
        shapes = [_named("inputs", layer_input, (*steps, "input_size"), sizes, "x as the layer reads it")]
    shapes.append(_named("h_0", starts[0], state, sizes, "zeros; batch_first never moves batch here"))
    if len(starts) > 1:
        shapes.append(_named("c_0", starts[1], state, sizes, "zeros: the LSTM's cell state"))
    if packed:
        shapes.append(_named("out", out.data, ("unpadded steps", "directions x hidden_size"), sizes, "packed; unpacked after"))
    else:
        shapes.append(_named("out", out, (*steps, "directions x hidden_size"), sizes, "h_1..h_T of the top layer"))
    shapes.append(_named("h_n", finals[0], state, sizes, "h_T of every layer and direction"))
    if len(finals) > 1:
        shapes.append(_named("c_n", finals[1], state, sizes, "the last cell state"))
    return shapes


def _as_tuple(state: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def _layer_words(model: LayerModel) -> str:
    rnn = model.rnn
    layers = f"{rnn.num_layers} layer{'s' if rnn.num_layers > 1 else ''}{', two directions' if rnn.bidirectional else ''}"
    if model.time_first:
        layout = "time-first (batch_first=False, torch's default): x goes in transposed, (seq_len, batch, input_size)"
    else:
        layout = "batch-first (batch_first=True): x goes in as it is, (batch, seq_len, input_size)"
    return f"nn.{type(rnn).__name__}, {layers}, {layout}"


def _encoder_words(encoder: nn.Module) -> str:
    if hasattr(encoder, "embedding"):
        return "rows of nn.Embedding(vocab, input_size)"
    return "one-hot rows: input_size = vocab"


def _gates(model: RecurrentTagger) -> int:
    return GATES.get(model.rnn.mode, 1) if isinstance(model, LayerModel) else 1


def _gate_rows(model: RecurrentTagger) -> str:
    """The rows of a recurrent weight in words: hidden_size, or 4 x hidden_size for an LSTM's four gates."""
    return f"{_gates(model)} x hidden_size" if _gates(model) > 1 else "hidden_size"


def _forward_order(named: tuple[str, nn.Parameter]) -> int:
    """Encoder, recurrence, head: the order the forward pass uses them (sorted() keeps the rest)."""
    return {"encoder": 0, "head": 2}.get(named[0].split(".")[0], 1)


def _parameter_dims(name: str, hidden: str, gates: str) -> tuple[str, ...]:
    """Each dimension of parameter ``name`` in words: W_ih is (hidden_size, input_size), as the notebook says."""
    owner, _, kind = name.rpartition(".")
    if owner == "encoder.embedding":
        return ("vocab", "input_size")
    if owner == "head":
        return ("classes", hidden) if kind == "weight" else ("classes",)
    layer = re.search(r"_l(\d+)", kind)
    first_layer = layer is None or layer.group(1) == "0"
    if kind.startswith("weight_ih"):
        return (gates, "input_size" if first_layer else "directions x hidden_size")
    if kind.startswith("weight_hh"):
        return (gates, "hidden_size")
    if kind.startswith("bias"):
        return (gates,)
    raise ValueError(f"no words for the dimensions of parameter {name}")


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
    base = ", ".join(f"{key} {value}" for key, value in trace.sizes.items() if " x " not in key and key != "unpadded steps")
    lines = [trace.title, f"sizes: {base}", ""]
    lines += ["input: the encoder turns ids into x", *_table([_row(s) for s in trace.inputs]), ""]
    lines.append(f"recurrence: {trace.recurrence}")
    if trace.steps:
        lines += _step_lines(trace.steps)
    lines += _table([_row(s) for s in trace.recurrent])
    lines.append("")
    if trace.outputs:
        lines += [f"head: {trace.head}", *_table([_row(s) for s in trace.outputs]), ""]
    if trace.loss:
        lines += ["loss: F.cross_entropy over every step", *_table([_row(s) for s in trace.loss]), ""]
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
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        if override.is_delete() and not override.is_hydra_override():
            check_removal(override.key_or_group)
    cfg = compose(overrides)
    check_keys(cfg)
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
        print(f"rnnexp.shapes: error: {one_line(error, schema_keys())}", file=sys.stderr)
        return USAGE_ERROR
