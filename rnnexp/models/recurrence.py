"""The recurrence contract, and the one place a recurrence class named by ``_target_`` is resolved and checked.

A recurrence is a ``torch.nn.Module``:

- its constructor takes ``input_size`` and ``hidden_size`` (rnnexp passes
  them, positionally: the encoder's width and model.hidden_size, or the
  number of classes when it is null), then its own keyword arguments
  (model.recurrence.*), and ``num_layers``, ``bidirectional``, ``dropout``
  where it names them;
- ``forward(x, state=None)`` maps x (batch, time, input_size) and an optional
  state (None: its own start) to ``(outputs, state)``: outputs (batch, time,
  output_size) and the state after the last step, a tensor or a tuple of them;
  a forward that names a ``lengths`` argument gets the batch's (batch,)
  lengths on the CPU, or None when every sequence fills the batch;
- ``output_size`` where it differs from ``hidden_size``.

A class may also say more about itself: ``check_config(model)`` (a
classmethod) refuses what it cannot build, in one line; ``graphable = True``
allows model.cuda_graph; ``describe(x, lengths)`` names its tensors for
``python -m rnnexp.shapes`` (rnnexp.models.description has the generic one).

Resolving a ``_target_`` here, not with ``hydra.utils.instantiate``, is what
keeps a run directory from running code by being read: ``resume=`` and
``rnnexp.predict`` rebuild the model its saved config names, and only a
subclass of ``nn.Module`` is ever called, with the arguments above (no nested
``_target_`` is followed).
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from rnnexp.config.labels import model_label
from rnnexp.errors import UserError
from rnnexp.targets import check_keywords, locate

# A recurrence's state: a tensor (h), or a tuple of them ((h, c) for an LSTM).
State = Union[torch.Tensor, tuple]

# The model keys a recurrence receives where its constructor names them, with
# the value that needs no such argument: any other is refused without one.
# model.dropout also acts before the head, so every recurrence runs with it;
# one that names `dropout` gets it too (the built-in layers: between layers).
STRUCTURAL = {"num_layers": 1, "bidirectional": False, "dropout": None}

KEY = "model.recurrence._target_"
EXAMPLE = f"{KEY}=my_rnns.ElmanReLU"


def detach_state(state: Any) -> Any:
    """The same values, cut from the graph that made them, so backpropagation stops at the window's start.

    A tensor, or tuples and lists of them nested in any way (a user's recurrence may carry several).
    """
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(part) for part in state)
    return state


def resolve_recurrence(model: Mapping[str, Any]) -> type:
    """The class model.recurrence._target_ names: imported, and refused in one line unless it is an nn.Module subclass.

    Nothing is called here: a target that is not a class (``os.system``) is
    refused before it could be.
    """
    target = (model.get("recurrence") or {}).get("_target_")
    if not target:
        raise UserError(f"{KEY}: no recurrence class named; model=custom runs your own nn.Module, for example {EXAMPLE} (docs/extending.md)")
    found = locate(str(target), KEY)  # the working directory importable, as python -m has it
    if not isinstance(found, type):
        raise UserError(
            f"{KEY}={target}: not a class ({type(found).__name__}); a recurrence is a subclass of torch.nn.Module "
            f"(docs/extending.md), for example {EXAMPLE}"
        )
    if not issubclass(found, nn.Module):
        raise UserError(f"{KEY}={target}: not a subclass of torch.nn.Module; a recurrence is one (docs/extending.md)")
    return found


def _first_line(error: Optional[BaseException]) -> str:
    text = str(error).strip() if error is not None else ""
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def recurrence_arguments(cls: type, model: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments rnnexp builds ``cls`` with, checked against its constructor's signature.

    The class's own ``check_config`` first (the built-ins' messages), then
    model.cuda_graph, the two sizes, each model.recurrence key, and the
    structural keys (STRUCTURAL): passed where the constructor names them,
    refused in one line where it does not and the value is not the default.
    """
    label, name = model_label(model), _class_name(cls)
    check = getattr(cls, "check_config", None)
    if callable(check):
        check(model)
    if model["cuda_graph"] and not getattr(cls, "graphable", False):
        raise UserError(
            f"model.cuda_graph=true: only model=cell is captured as a CUDA graph ({name} is not); set model.cuda_graph=false"
        )
    parameters = _constructor_parameters(cls)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) < 2 and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
        raise UserError(
            f"{KEY}={name}: its constructor must take the two sizes rnnexp passes, "
            f"{cls.__name__}(input_size, hidden_size, ...); it takes ({_signature_words(parameters)})"
        )
    sizes = {p.name for p in positional[:2]}
    named = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - sizes
    structural = {key for key in STRUCTURAL if key in named}  # the model keys it receives
    own = {key: _plain(value) for key, value in (model.get("recurrence") or {}).items() if key != "_target_"}
    check_keywords(cls, name, own, "model.recurrence", supplied=sizes | structural)
    arguments = dict(own)
    for key, default in STRUCTURAL.items():
        if key in structural:
            arguments.setdefault(key, model[key])
        elif default is not None and model[key] != default:
            raise UserError(
                f"model.{key}={_shown(model[key])}: {name} takes no {key} argument, so model={label} runs with "
                f"model.{key}={_shown(default)} only; set that, or give its constructor a {key} argument"
            )
    return arguments


def _plain(value: Any) -> Any:
    """A config value as plain dicts and lists: what the class gets, and data only (a nested ``_target_`` is never followed)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_plain(item) for item in value]
    return value


def _constructor_parameters(cls: type) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):  # a signature Python cannot read (a C type): take it at its word
        return [
            inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
            inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
        ]


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _signature_words(parameters: list[inspect.Parameter]) -> str:
    return ", ".join(str(p) for p in parameters)


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def build_recurrence(cls: type, input_size: int, hidden_size: int, arguments: Mapping[str, Any]) -> nn.Module:
    """``cls(input_size, hidden_size, **arguments)``; an error of its constructor is one line naming it."""
    try:
        return cls(input_size, hidden_size, **arguments)
    except UserError:
        raise
    except Exception as error:
        words = ", ".join([str(input_size), str(hidden_size), *(f"{k}={v!r}" for k, v in arguments.items())])
        raise UserError(f"{KEY}={_class_name(cls)}: {cls.__name__}({words}) failed: {_first_line(error)}") from None


def output_size_of(recurrence: nn.Module, hidden_size: int) -> int:
    """The width of the recurrence's outputs: its ``output_size``, else ``hidden_size``."""
    size = getattr(recurrence, "output_size", hidden_size)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise UserError(f"{KEY}={_class_name(type(recurrence))}: output_size={size!r} is not an integer >= 1")
    return size


def takes_lengths(recurrence: nn.Module) -> bool:
    """Whether the recurrence's forward names a ``lengths`` argument (it then handles padding itself)."""
    try:
        return "lengths" in inspect.signature(recurrence.forward).parameters
    except (TypeError, ValueError):
        return False


def probe(recurrence: nn.Module, input_size: int, output_size: int) -> None:
    """Run the recurrence on a tiny batch, as training will, and refuse in one line what breaks the contract.

    Two sequences of three steps, from its own start and again from the state
    it returns (as a stream's next window). In eval mode, without a gradient,
    and with torch's random state put back after, so the run's random stream
    is untouched whatever the forward draws.
    """
    name = _class_name(type(recurrence))
    batch, steps = 2, 3
    try:
        device = next(recurrence.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    x = torch.zeros(batch, steps, input_size, device=device)  # (B, T, input)
    was_training = recurrence.training
    recurrence.eval()
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            result = _call(recurrence, name, "forward(x)", x, None)
            outputs, state = _pair(result, name)
            _check_outputs(outputs, name, (batch, steps, output_size))
            again = _call(recurrence, name, "forward(x, state) with the state it returned", x, state)
            _check_outputs(_pair(again, name)[0], name, (batch, steps, output_size))
    finally:
        recurrence.train(was_training)


def _call(recurrence: nn.Module, name: str, what: str, x: torch.Tensor, state: Any) -> Any:
    try:
        return recurrence(x, state)
    except Exception as error:
        raise UserError(
            f"{KEY}={name}: {what} failed on x of shape {tuple(x.shape)} (batch, time, input_size): {_first_line(error)}"
        ) from None


def _pair(result: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"a {type(result).__name__}" + (f" of {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise UserError(f"{KEY}={name}: forward must return a pair (outputs, state), and it returned {got}")
    return result[0], result[1]


def _check_outputs(outputs: Any, name: str, expected: tuple[int, int, int]) -> None:
    if not isinstance(outputs, torch.Tensor):
        raise UserError(f"{KEY}={name}: forward's outputs must be a tensor, and they are a {type(outputs).__name__}")
    if tuple(outputs.shape) != expected:
        raise UserError(
            f"{KEY}={name}: forward returned outputs of shape {tuple(outputs.shape)}; expected (batch, time, "
            f"output_size) = {expected} (set self.output_size where it differs from hidden_size)"
        )
