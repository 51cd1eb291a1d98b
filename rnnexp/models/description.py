"""What a recurrence says about its tensors for ``python -m rnnexp.shapes``, and the description any recurrence gets.

A recurrence class with a ``describe(x, lengths)`` method names its own
tensors (the built-ins: the cell's steps, the torch layer's h_0 and h_n);
any other is described by :func:`describe_any` from one call read by a
hook: x in, outputs and the state out. Each dimension is named in words
(keys of the sizes rnnexp.tools.shapes knows, or the recurrence's own
``sizes``), and the shapes tool checks every word against the tensor.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import nn


@dataclass(frozen=True)
class Named:
    """One tensor of the recurrence, its dimensions in words, and a note."""

    name: str
    tensor: torch.Tensor
    dims: tuple[str, ...]
    note: str = ""


@dataclass
class Description:
    """A recurrence's part of the shapes: in words, and its tensors."""

    words: str  # what runs the recurrence and in which layout
    output: str  # the words of the outputs' width: hidden_size, directions x hidden_size, output_size
    output_note: str  # how its outputs are read, beside h
    sizes: dict[str, int] = field(default_factory=dict)  # the dimension words it adds, with their sizes
    steps: list[tuple[Named, Named, Named]] = field(default_factory=list)  # per time step: x_t, h_{t-1}, h_t
    tensors: list[Named] = field(default_factory=list)  # its own inputs, outputs and states
    parameter_dims: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by name within the recurrence


def as_tuple(state: Any) -> tuple:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def describe(recurrence: nn.Module, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> Description:
    """The recurrence's own description where its class has one, else :func:`describe_any`'s."""
    own = getattr(recurrence, "describe", None)
    return own(x, lengths) if callable(own) else describe_any(recurrence, x, lengths)


def describe_any(recurrence: nn.Module, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> Description:
    """x, the outputs and each tensor of the state, read from one call of ``recurrence`` by a hook."""
    seen: dict[str, Any] = {}

    def on_call(module, args, out):
        seen["x"], seen["out"] = args[0], out

    hook = recurrence.register_forward_hook(on_call)
    try:
        with torch.no_grad():
            if "lengths" in inspect.signature(recurrence.forward).parameters:
                recurrence(x, None, lengths=lengths)
            else:
                recurrence(x, None)
    finally:
        hook.remove()
    outputs, state = seen["out"]
    hidden = int(getattr(recurrence, "hidden_size", 0) or 0)
    size_words = {"batch": x.shape[0], "hidden_size": hidden, "output_size": outputs.shape[-1]}
    parts = [part for part in as_tuple(state) if isinstance(part, torch.Tensor)]
    tensors = [Named("x", seen["x"], ("batch", "seq_len", "input_size"), "what forward(x, state=None) is given")]
    tensors.append(Named("outputs", outputs, ("batch", "seq_len", "output_size"), "its first result"))
    for i, part in enumerate(parts):
        name = "state" if len(parts) == 1 else f"state[{i}]"
        tensors.append(Named(name, part, _words_for(part.shape, size_words), "its second: where the next window starts"))
    type_ = type(recurrence)
    return Description(
        words=f"{type_.__module__}.{type_.__qualname__}, called once: forward(x, state=None) -> (outputs, state)",
        output="output_size",
        output_note="outputs",
        sizes={"output_size": outputs.shape[-1], **{str(n): n for p in parts for n in p.shape if n not in size_words.values()}},
        tensors=tensors,
        parameter_dims={
            name: _words_for(parameter.shape, {"hidden_size": hidden, "output_size": outputs.shape[-1]}, input_size=x.shape[-1])
            for name, parameter in recurrence.named_parameters()
        },
    )


def _words_for(shape: torch.Size, known: dict[str, int], input_size: Optional[int] = None) -> tuple[str, ...]:
    """Each dimension as the first word whose size it has, else the number itself (its own word in ``sizes``)."""
    words = []
    for n in shape:
        match = next((word for word, size in known.items() if size == n), None)
        if match is None and input_size == n:
            match = "input_size"
        words.append(match or str(n))
    return tuple(words)
