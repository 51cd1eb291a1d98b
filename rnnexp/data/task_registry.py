"""The task classes a config may name, and which kind of task a config trains: one place for both.

A task's ``_target_`` must name one of rnnexp's own task classes, looked up
by name before anything is imported or called: a run's saved config is read
on ``resume=`` and by ``rnnexp.predict``, and a directory received from
someone else could name anything. The user's own data comes in through
task=custom's ``task.data`` (rnnexp.data.custom), whose callable is called
on a fresh run only, or from files of arrays (task=arrays, rnnexp.data.array_files).

Torch-free: rnnexp.config.checks asks :func:`task_kind` before torch loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from rnnexp.data.array_files import ArraysFile
from rnnexp.data.builtin_tasks import BUILTIN_TASKS
from rnnexp.data.custom import Custom
from rnnexp.data.task import LANGUAGE_MODEL, Task
from rnnexp.errors import UserError


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# Every class a task's _target_ may name, by that name: the built-in tasks, and the user's own data.
TASK_CLASSES: dict[str, type[Task]] = {_dotted(cls): cls for cls in (*BUILTIN_TASKS, Custom, ArraysFile)}

# A checkpoint saved before tasks were named by _target_ has only task.name.
_BEFORE_TARGETS = {
    "hello": "StringPair", "inline": "StringPair", "pairs": "PairsFile", "copy": "Copy", "parity": "Parity",
    "caesar": "Caesar", "reverse": "Reverse", "text": "Text",
}


def target_of(task: Mapping[str, Any]) -> str:
    """The dotted class name ``task`` (a config node, or a checkpoint's plain dict) names."""
    target = task.get("_target_")
    if target is None and task.get("name") in _BEFORE_TARGETS:
        return f"rnnexp.data.builtin_tasks.{_BEFORE_TARGETS[task['name']]}"
    return str(target)


def task_class(task: Mapping[str, Any]) -> type[Task]:
    """The class ``task._target_`` names, if it is one of rnnexp's own; UserError otherwise, before any import."""
    target = target_of(task)
    if target not in TASK_CLASSES:
        names = ", ".join(sorted(TASK_CLASSES))
        raise UserError(
            f"task._target_={target}: not one of rnnexp's task classes ({names}); "
            "for your own data use task=custom task.data._target_=module.function"
        )
    return TASK_CLASSES[target]


def build_task(task: Mapping[str, Any], saved_run: Optional[Path] = None) -> Task:
    """The task ``task`` describes; ``saved_run``: the run being resumed, whose kept data it reads instead of code."""
    return task_class(task)(task, saved_run)


def task_kind(task: Mapping[str, Any]) -> Optional[str]:
    """The task's kind (rnnexp.data.task.KINDS); None where only the data can tell (task=custom before its callable ran).

    That is task=custom before its callable ran, and task=arrays before its
    file is read, when task.kind is null. A run's resolved config has task.kind filled in, so a checkpoint's task always tells.
    """
    cls = TASK_CLASSES.get(target_of(task))
    if cls is None:
        return None
    return cls.kind or task.get("kind")


def is_language_model(task: Mapping[str, Any]) -> bool:
    """Whether ``task`` trains a language model: one that predicts each next character, so its run samples text."""
    return task_kind(task) == LANGUAGE_MODEL
