"""What rnnexp uses of torch's private API: torch.optim's TorchDynamo wrappers, and the graph TensorBoard draws.

Checked by the suite on torch 2.13.0, the one torch of the version matrix, and
by hand on the ends of torch's range, 2.3.1 and 2.14.1 (docs/development.md,
"Supported versions"); what 2.2 and 2.3 lack is said where it matters.

torch.optim keeps TorchDynamo (the compiler behind ``torch.compile``) out of
a few Optimizer methods: ``add_param_group``, ``zero_grad``, ``state_dict``
and ``load_state_dict`` are wrapped in ``torch._disable_dynamo``, and
``step`` in a wrapper that sets the grad mode and marks two graph breaks.
Both wrappers import ``torch._dynamo`` on their first call, even when nothing
is being compiled, and that import takes longer than a whole run of the
notebook's models (0.9 to 3 s; docs/performance.md, "Start-up"). rnnexp
compiles nothing, and while ``torch._dynamo`` is not loaded nothing can be
compiling (``torch.compile`` and ``torch.export`` load it first), so these
wrappers have nothing to do: the optimizers built here call the methods they
wrap directly (:func:`_skip_dynamo_in_disabled_methods`,
:func:`without_dynamo_import`), and every call goes back to torch's own
wrappers as soon as ``torch._dynamo`` is loaded, by anyone. Torch's wrappers
are recognised by their code; a torch whose wrappers look otherwise is left
as it is and imports TorchDynamo as before.

tests/test_optimizers.py checks, on the installed torch, that the optimizers
load no TorchDynamo and that torch's own wrappers take over once it loads.

TensorBoard's Graphs tab: ``SummaryWriter.add_graph`` traces the model and
writes the graph in one call, and rnnexp traces each model structure once
per process (rnnexp.tracking.graph), so it calls what add_graph calls
between the two, ``torch.utils.tensorboard._pytorch_graph.graph``
(:func:`tensorboard_graph`). tests/test_shapes.py reads the graph back
from a run's event file.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any, Callable, Optional

import torch
from torch.optim import optimizer

_DYNAMO = "torch._dynamo"
# The Optimizer methods that torch wraps in torch._disable_dynamo.
_DYNAMO_DISABLED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
# Where torch._disable_dynamo keeps the disabled function once it has made it (torch 2.4 on).
_DISABLED_CACHE = "__dynamo_disable"


def dynamo_loaded() -> bool:
    return _DYNAMO in sys.modules


def knows_torch_wrappers() -> bool:
    """Whether this torch's wrappers are the ones recognised here, so that its optimizers load no TorchDynamo."""
    code = _disabled_wrapper_code()
    return code is not None and _DISABLED_CACHE in code.co_names and _grad_wrapper_code() is not None


def without_dynamo_import(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """``optimizer`` with a ``step`` that loads no TorchDynamo while none is loaded; torch's own step after.

    Torch's step wrapper (``_use_grad_for_differentiable``) sets the grad mode
    to the optimizer's ``differentiable`` setting, marks a graph break before
    and after the update, and restores the grad mode; outside compilation a
    graph break does nothing. This step does the same without the graph
    breaks, inside torch's own ``profile_hook_step`` (the step hooks and the
    profiler's record). An optimizer whose step is not torch's wrapper (a
    class of its own, a torch that wraps otherwise) is returned as it is.
    """
    hooked = type(optimizer).step  # the class's step, wrapped by profile_hook_step in Optimizer.__init__
    wrapper = getattr(hooked, "__wrapped__", None)
    if not getattr(hooked, "hooked", False) or not _is_torch_wrapper(wrapper, _grad_wrapper_code()):
        return optimizer
    update = wrapper.__wrapped__  # the optimizer's own step

    @functools.wraps(update)
    def step(self: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> Any:
        if dynamo_loaded():  # someone may compile from now on: torch's wrapper
            return wrapper(self, *args, **kwargs)
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return update(self, *args, **kwargs)

    optimizer.step = types.MethodType(torch.optim.Optimizer.profile_hook_step(step), optimizer)
    return optimizer


def skip_dynamo_in_disabled_methods() -> None:
    """Fill torch._disable_dynamo's cache of each Optimizer method it wraps with a stand-in that loads no TorchDynamo.

    ``torch._disable_dynamo(fn)`` returns a wrapper that, on its first call,
    imports TorchDynamo, makes ``torch._dynamo.disable(fn)`` and keeps it on
    ``fn`` for the calls after. The stand-in kept there instead calls ``fn``
    itself while TorchDynamo is not loaded (disabling a compiler that is not
    running changes nothing); the first call after it is loaded removes the
    stand-in and goes through torch's wrapper, which then makes and keeps the
    real one. A torch whose wrapper keeps no such cache (2.2 and 2.3) is left
    as it is. Process-wide, and idempotent.
    """
    if dynamo_loaded():
        return
    code = _disabled_wrapper_code()
    if code is None or _DISABLED_CACHE not in code.co_names:
        return
    for name in _DYNAMO_DISABLED:
        wrapper = getattr(torch.optim.Optimizer, name, None)
        if not _is_torch_wrapper(wrapper, code):
            continue
        method = wrapper.__wrapped__
        if getattr(method, _DISABLED_CACHE, None) is None:
            setattr(method, _DISABLED_CACHE, _until_dynamo_loads(method, wrapper))


def _until_dynamo_loads(method: Callable, wrapper: Callable) -> Callable:
    def call(*args: Any, **kwargs: Any) -> Any:
        if dynamo_loaded():
            # Torch's wrapper from now on: it makes the disabled method and keeps it in the stand-in's place.
            if getattr(method, _DISABLED_CACHE, None) is call:
                delattr(method, _DISABLED_CACHE)
            return wrapper(*args, **kwargs)
        return method(*args, **kwargs)

    return call


def _is_torch_wrapper(function: Any, code: Optional[types.CodeType]) -> bool:
    """Whether ``function`` is one of torch's wrappers whose code is ``code``, with the wrapped function beside it."""
    return code is not None and getattr(function, "__code__", None) is code and callable(getattr(function, "__wrapped__", None))


@functools.lru_cache(maxsize=None)
def _disabled_wrapper_code() -> Optional[types.CodeType]:
    """The code of the wrappers that ``torch._disable_dynamo`` returns (one probe, nothing imported)."""
    disabler = getattr(torch, "_disable_dynamo", None)
    return getattr(disabler(_probe), "__code__", None) if disabler is not None else None


@functools.lru_cache(maxsize=None)
def _grad_wrapper_code() -> Optional[types.CodeType]:
    """The code of the wrapper torch puts around each optimizer's step (one probe, nothing imported)."""
    decorate = getattr(optimizer, "_use_grad_for_differentiable", None)
    return getattr(decorate(_probe), "__code__", None) if decorate is not None else None


def _probe(*args: Any, **kwargs: Any) -> None:
    """A function to wrap, only to read the wrapper's code."""


def tensorboard_graph(traced: torch.jit.ScriptModule, inputs: tuple) -> tuple:
    """TensorBoard's GraphDef and run metadata of a traced module, as ``SummaryWriter.add_graph`` writes them."""
    from torch.utils.tensorboard._pytorch_graph import graph  # loads TensorBoard: only when a graph is drawn

    return graph(traced, inputs)
