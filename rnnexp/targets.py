"""A user's ``_target_``: the object a dotted name points at, and the keyword arguments its signature takes.

A config node such as ``task.data`` or ``model.recurrence`` holds a
``_target_`` and keyword arguments for it. :func:`locate` imports what the
name points at, with the working directory importable: ``python -m rnnexp``
puts it on ``sys.path``, the installed ``rnnexp`` command does not, and a
user's ``my_data.py`` beside their command must be found either way.
:func:`check_keywords` compares the arguments given with the signature
before anything is called. Every failure is one UserError naming the key.

Hydra's own ``hydra.utils.get_object`` would do the import, but its errors
run over several lines and it does not add the working directory.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
from typing import Any, Callable, Collection, Iterable, Iterator

from rnnexp.errors import UserError


def locate(dotted: str, key: str) -> Any:
    """The object ``dotted`` (``package.module.name``) names; UserError ``key=dotted: ...`` when there is none."""
    module_name, _, attribute = str(dotted).rpartition(".")
    if not module_name or not attribute:
        raise UserError(f"{key}={dotted}: not a dotted name; give module.name, the module to import and the name in it")
    try:
        with _working_directory_importable():
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise UserError(f"{key}={dotted}: cannot be imported ({error}) from {os.getcwd()}") from None
    except Exception as error:  # the module itself is broken: a SyntaxError, a NameError at its top
        detail = " ".join(str(error).split())  # one line, whatever the module raised
        raise UserError(f"{key}={dotted}: importing {module_name} failed ({type(error).__name__}: {detail})") from None
    if not hasattr(module, attribute):
        raise UserError(f"{key}={dotted}: module {module_name} has no {attribute}")
    return getattr(module, attribute)


@contextlib.contextmanager
def _working_directory_importable() -> Iterator[None]:
    """The working directory first on sys.path for the block, as ``python -m`` has it for the whole process."""
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        yield
    finally:
        if added and here in sys.path:
            sys.path.remove(here)


def parameters_of(target: Callable) -> list[str]:
    """The names ``target`` takes as keyword arguments, in order (for a class: its constructor's)."""
    return [
        name for name, parameter in _signature(target).parameters.items()
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]


def check_keywords(target: Callable, dotted: str, given: Iterable[str], key: str, supplied: Collection[str] = ()) -> None:
    """Refuse a keyword argument that ``target``'s signature does not take, or a required one not given.

    ``given``: the names under ``key`` in the config; ``supplied``: the ones
    rnnexp passes itself (a recurrence's sizes). A ``**kwargs`` takes any name.
    """
    signature = _signature(target)
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    named = [n for n in parameters_of(target) if n not in supplied]
    allowed = ", ".join(named) if named else "no keyword arguments"
    for name in given:
        if name not in parameters and not takes_any:
            raise UserError(f"{key}.{name}: {dotted} takes no argument {name}; it takes {allowed}")
    needed = [
        name for name, p in parameters.items()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and name not in given and name not in supplied
    ]
    if needed:
        example = " ".join(f"{key}.{name}=..." for name in needed)
        raise UserError(f"{key}: {dotted} needs {', '.join(needed)}; give {example}")


def _signature(target: Callable) -> inspect.Signature:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: take it as taking anything
        return inspect.Signature([inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
