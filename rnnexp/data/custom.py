"""A user's own data: task=custom, its sequences returned by the callable ``task.data._target_`` names.

    python -m rnnexp task=custom task.data._target_=my_data.reversed_words task.data.n=500

``task.data`` holds the ``_target_`` and the callable's keyword arguments,
checked against its signature before it is called. It returns a list of
(source, target) string pairs, each of equal length (a tagging task), one
string (a language model), or real-valued sequences with one answer each
(classify or regress): ``(x, y)``, ``(x, y, x_test, y_test)``, a dict with
those names or :class:`rnnexp.data.task.Arrays`, of arrays or tensors
(rnnexp.data.arrays says which shapes). rnnexp.data.loading does the rest
as for the built-in tasks.

A run directory must not run code by being read, and a saved config's
``task.data._target_`` could name anything (``os.system``). So a run keeps
the sequences its callable returned, as plain JSON in ``sequences.json``
beside its checkpoints (arrays, as checked, in ``sequences.npz`` beside it,
read without pickle), and a resumed run reads them from there and never
imports or calls what its config names. It then trains on exactly the
data the first run did.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Mapping, Optional

from omegaconf import DictConfig, OmegaConf

from rnnexp.data.task import LANGUAGE_MODEL, TAGGING, Arrays, Sequences, Task
from rnnexp.errors import UserError
from rnnexp.data.array_files import read_arrays, write_arrays
from rnnexp.files import write_bytes
from rnnexp.targets import check_keywords, locate

SEQUENCES_NAME = "sequences.json"  # in the run directory: what the callable returned
ARRAYS_NAME = "sequences.npz"  # beside it, when that was arrays
ARRAYS_KEY = "arrays"  # the record's Arrays, written to ARRAYS_NAME rather than into the JSON


class Custom(Task):
    """task=custom: the sequences of the user's callable (fresh runs) or of the run's sequences.json (resumed ones)."""

    kind = None  # what the callable returns decides, or task.kind when set

    @property
    def target(self) -> str:
        return str(self.keys["data"]["_target_"])

    @property
    def origin(self) -> str:
        return f"task.data._target_={self.target}"

    def sequences(self) -> Sequences:
        if self.saved_run is not None:
            sequences = _read_saved(self.saved_run / SEQUENCES_NAME)
            origin = str(self.saved_run / SEQUENCES_NAME)
        else:
            sequences, origin = self._call(), self.origin
        arrays = as_arrays(sequences, origin)
        if arrays is not None:
            return self._checked_kind_of_arrays(arrays, origin)
        sequences = checked(sequences, origin)
        declared = self.keys.get("kind")
        found = LANGUAGE_MODEL if isinstance(sequences, str) else TAGGING
        if declared is not None and declared != found:
            what = "one string (a language model)" if found == LANGUAGE_MODEL else "pairs (a tagging task)"
            raise UserError(f"task.kind={declared}: {origin} returned {what}; set task.kind={found}, or null to take it from the data")
        return sequences

    def _checked_kind_of_arrays(self, arrays: Arrays, origin: str) -> Arrays:
        """Arrays are classify or regress: task.kind may say which (a float y of whole numbers can be classes)."""
        declared = self.keys.get("kind")
        if declared in (TAGGING, LANGUAGE_MODEL):
            raise UserError(
                f"task.kind={declared}: {origin} returned arrays (x, y), real values with one answer per sequence; "
                "set task.kind=classify or regress, or null to take it from y's type"
            )
        return arrays

    def _call(self) -> Any:
        keywords = _keywords(self.keys["data"])
        function = locate(self.target, "task.data._target_")
        if not callable(function):
            raise UserError(f"task.data._target_={self.target}: not callable (a {type(function).__name__})")
        check_keywords(function, self.target, keywords, "task.data")
        return function(**keywords)

    def record(self, sequences: Sequences) -> dict[str, Any]:
        """sequences.json: the callable's name and arguments, for the reader, and what it returned.

        Arrays (as checked: what the run trains on) are kept beside it in
        sequences.npz, read without pickle, and sequences.json names that file.
        """
        if isinstance(sequences, Arrays):
            return {
                "_target_": self.target, "keywords": _keywords(self.keys["data"]), "kind": "arrays",
                "sequences": ARRAYS_NAME, ARRAYS_KEY: sequences,
            }
        return {
            "_target_": self.target,
            "keywords": _keywords(self.keys["data"]),
            "kind": LANGUAGE_MODEL if isinstance(sequences, str) else TAGGING,
            "sequences": sequences if isinstance(sequences, str) else [list(pair) for pair in sequences],
        }


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    record = dict(record)
    arrays = record.pop(ARRAYS_KEY, None)
    if arrays is not None:
        write_arrays(run_dir / ARRAYS_NAME, arrays)
    write_bytes(run_dir / SEQUENCES_NAME, json.dumps(record, ensure_ascii=False).encode("utf-8"))


ARRAY_NAMES = ("x", "y", "x_test", "y_test")


def as_arrays(returned: Any, origin: str) -> Optional[Arrays]:
    """What a callable returned as Arrays when it is real-valued data: Arrays, (x, y), (x, y, x_test, y_test), or a
    mapping with those names; None when it is strings (pairs or a text). A mapping with other names is refused."""
    if isinstance(returned, Arrays):
        return returned
    if isinstance(returned, Mapping) and "x" in returned and "y" in returned:
        unknown = [str(name) for name in returned if name not in ARRAY_NAMES]
        if unknown:
            raise UserError(
                f"{origin}: returned a dict with {', '.join(unknown)}; real-valued data is x and y, "
                "and optionally x_test and y_test"
            )
        return Arrays(returned["x"], returned["y"], returned.get("x_test"), returned.get("y_test"))
    if isinstance(returned, tuple) and len(returned) in (2, 4) and not all(_strings(part) for part in returned):
        return Arrays(*returned)
    return None


def _strings(part: Any) -> bool:
    """Whether ``part`` is a string or a pair of them: a tuple of these is a text's or a tagging task's."""
    return isinstance(part, str) or (isinstance(part, (list, tuple)) and all(isinstance(item, str) for item in part))


def _keywords(node: Any) -> dict[str, Any]:
    """The keyword arguments under task.data (everything but ``_target_``), as plain data."""
    plain = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    for name in plain:
        if name.startswith("_") and name != "_target_":
            raise UserError(f"task.data.{name}: not supported; task.data takes _target_ and the callable's keyword arguments")
    return {name: value for name, value in plain.items() if name != "_target_"}


def _read_saved(path: Path) -> Any:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("kind") == "arrays":
            path = path.parent / ARRAYS_NAME  # FileNotFoundError names it below
            return read_arrays(io.BytesIO(path.read_bytes()), str(path))
        return record["sequences"]
    except FileNotFoundError:
        raise UserError(
            f"{path}: missing; a task=custom run resumes from the sequences its callable returned, kept in this file"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path}: not the sequences a task=custom run keeps ({type(error).__name__}: {error})") from None


def checked(sequences: Any, origin: str) -> Sequences:
    """``sequences`` if they are one non-empty string or a non-empty list of equal-length string pairs; else UserError."""
    if isinstance(sequences, str):
        if not sequences:
            raise UserError(f"{origin}: returned an empty string; a language model needs a text to learn")
        return sequences
    if not isinstance(sequences, (list, tuple)):
        raise UserError(
            f"{origin}: returned a {type(sequences).__name__}; expected a list of (source, target) string pairs "
            "(a tagging task), one string (a language model), or arrays (x, y) of real values"
        )
    if sequences and hasattr(sequences[0], "shape"):
        raise UserError(
            f"{origin}: returned a {type(sequences).__name__} of arrays; return real-valued data as a tuple (x, y) "
            "or (x, y, x_test, y_test), or a dict with those names"
        )
    if not sequences:
        raise UserError(f"{origin}: returned no pairs (an empty {type(sequences).__name__})")
    pairs = []
    for number, pair in enumerate(sequences):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise UserError(f"{origin}: pair {number} (from 0) is {_short(pair)}; expected a (source, target) pair of strings")
        source, target = pair
        if not source or len(source) != len(target):
            raise UserError(
                f"{origin}: pair {number} (from 0), {_short(source)} -> {_short(target)}, has a source of {len(source)} "
                f"characters and a target of {len(target)}; each pair needs one target character per source character, "
                "and at least one"
            )
        pairs.append((source, target))
    return pairs


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
