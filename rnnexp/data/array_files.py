"""Real-valued sequences in files: task=arrays reads them, and a run keeps a callable's arrays in one.

The extension picks the layout:

    .npz         arrays ``x`` (sequences, steps, features), or (sequences, steps) for one
                 feature, and ``y`` (sequences,) or (sequences, values); optionally ``x_test``
                 and ``y_test``, a held-out split. Sequences of unequal lengths are stored
                 padded, the steps of each in ``x_lengths`` (``x_test_lengths``). Read with
                 allow_pickle=False: an array of Python objects is refused, never unpickled.
    .csv, .tsv   the UCR time-series archive's layout: one sequence a row, its answer in the
                 first column and then one value per step (one feature); rows may differ in
                 length. A first row whose answer is not a number is a header. Blank lines
                 are skipped.

In a table, answers that are all written as integers are classes, and any
other number makes them values to regress (task.kind says which, when set).
A table's every cell is checked as it is read, and a bad one is one
UserError naming the key, the file and the line; what an .npz holds is
checked with any other arrays, by rnnexp.data.arrays.

A run keeps the arrays a user's callable returned (task=custom) in an .npz,
so ``resume=`` trains on them without calling code again.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Mapping, Optional, Union

from rnnexp.data.pair_files import read_bytes
from rnnexp.data.task import ANSWER_KINDS, CLASSIFY, REGRESS, Arrays, Task
from rnnexp.errors import UserError
from rnnexp.files import write_bytes

SPLITS = (("x", "y"), ("x_test", "y_test"))
LENGTHS = "_lengths"  # x_lengths: the steps of each padded sequence of x
NPZ_NAMES = ("x", "y", "x_test", "y_test", "x" + LENGTHS, "x_test" + LENGTHS)
TABLE_DELIMITERS = {".csv": ",", ".tsv": "\t"}
EXTENSIONS = (".npz", *TABLE_DELIMITERS)
WHAT = "an .npz of arrays x and y, or a .csv or .tsv table of one sequence a row"


class ArraysFile(Task):
    """task=arrays: the sequences of task.path (and the held-out split of task.test_path, when given)."""

    kind = None  # y decides, classify or regress, or task.kind when set

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """task.kind's range is task=custom's, which allows the kinds of characters too: a file of arrays does not."""
        declared = keys["kind"]
        if declared is not None and declared not in ANSWER_KINDS:
            raise UserError(
                f"task.kind={declared}: task=arrays reads real values with one answer per sequence; "
                "allowed values are classify, regress, or null"
            )

    @property
    def origin(self) -> str:
        return f"task.path={self.keys['path']}"

    @property
    def held_out_origin(self) -> Optional[str]:
        test_path = self.keys["test_path"]
        return None if test_path is None else f"task.test_path={test_path}"

    def sequences(self) -> Arrays:
        declared = self.keys["kind"]
        arrays = read_file(self.keys["path"], "task.path", declared)
        test_path = self.keys["test_path"]
        if test_path is None:
            return arrays
        if arrays.x_test is not None or arrays.y_test is not None:
            raise UserError(
                f"{self.origin}: holds a held-out split (x_test, y_test), and task.test_path gives another; "
                "drop one of them"
            )
        held_out = read_file(test_path, "task.test_path", declared or kind_of(arrays.y))
        if held_out.x_test is not None or held_out.y_test is not None:
            raise UserError(f"{self.held_out_origin}: holds x_test or y_test; the held-out file gives its sequences as x and y")
        return Arrays(arrays.x, arrays.y, held_out.x, held_out.y)


def kind_of(y: Any) -> str:
    """classify when ``y`` (an array a file gave) holds integers or booleans, regress otherwise."""
    return CLASSIFY if y.dtype.kind in "iub" else REGRESS


def read_file(path_value: str, key: str, kind: Optional[str]) -> Arrays:
    """The arrays of the file ``key`` names, read by its extension; ``kind``: the answers' kind, None: as written."""
    # The file first: a missing or unreadable file is named as such, whatever its extension.
    data = read_bytes(path_value, WHAT, key)
    origin, extension = f"{key}={path_value}", Path(path_value).suffix.lower()
    if extension == ".npz":
        return read_arrays(io.BytesIO(data), origin)
    if extension in TABLE_DELIMITERS:
        return read_table(data, origin, TABLE_DELIMITERS[extension], kind)
    raise UserError(
        f"{origin}: unknown extension {extension or '(none)'}; allowed: {', '.join(EXTENSIONS)} "
        "(arrays x and y, or one sequence a row after its answer)"
    )


# --------------------------------------------------------------------------- .npz
def write_arrays(path: Path, arrays: Arrays) -> None:
    """``arrays`` (as checked: tensors, or a list of (T_i, F) ones) into one ``.npz`` at ``path``."""
    import numpy as np  # here: the command line's checks import this module before numpy is needed

    parts: dict[str, Any] = {}
    for x_name, y_name in SPLITS:
        x, y = getattr(arrays, x_name), getattr(arrays, y_name)
        if x is None:
            continue
        if isinstance(x, (list, tuple)):
            sequences = [np.asarray(s).reshape(len(s), -1) for s in x]
            lengths = [len(s) for s in sequences]
            if len(set(lengths)) > 1:  # unequal lengths: kept padded with zeros, the lengths beside
                parts[x_name + LENGTHS] = np.array(lengths)
                padded = np.zeros((len(sequences), max(lengths), sequences[0].shape[1]), dtype=sequences[0].dtype)
                for row, sequence in enumerate(sequences):
                    padded[row, : len(sequence)] = sequence
                x = padded
            else:
                x = np.stack(sequences)
        parts[x_name] = np.asarray(x)
        parts[y_name] = np.asarray(y)
    buffer = io.BytesIO()
    np.savez(buffer, **parts)
    write_bytes(path, buffer.getvalue())


def read_arrays(source: Union[Path, BinaryIO], origin: Optional[str] = None) -> Arrays:
    """The arrays of an ``.npz`` (a path or its bytes), read without pickle; UserError naming ``origin`` (the path)."""
    import numpy as np  # here, as in write_arrays

    origin = origin or str(source)
    try:
        stored = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{origin}: missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        raise UserError(f"{origin}: not an .npz file (the zip of named arrays numpy.savez writes)") from None
    if not hasattr(stored, "files"):  # one array, as numpy.save writes
        raise UserError(f"{origin}: one array (.npy), not an .npz of named arrays; write it with numpy.savez(path, x=x, y=y)")
    with stored:
        unknown = [name for name in stored.files if name not in NPZ_NAMES]
        if unknown:
            raise UserError(
                f"{origin}: holds {', '.join(unknown)}, which task=arrays does not read; "
                "it reads x and y, and optionally x_test and y_test (x_lengths, x_test_lengths: the steps of padded sequences)"
            )
        for required in ("x", "y"):
            if required not in stored.files:
                held = ", ".join(stored.files) or "no arrays"
                raise UserError(f"{origin}: holds no array named {required} ({held}); it needs x and y, and optionally x_test and y_test")
        parts = {name: _npz_array(stored, name, origin) for name in stored.files}
    for x_name, _ in SPLITS:
        lengths = parts.pop(x_name + LENGTHS, None)
        if lengths is not None and x_name in parts:
            parts[x_name] = _unpadded(parts[x_name], lengths, origin, x_name)
    return Arrays(parts["x"], parts["y"], parts.get("x_test"), parts.get("y_test"))


def _npz_array(stored: Any, name: str, origin: str) -> Any:
    try:
        return stored[name]
    except ValueError:  # an array of Python objects: reading it would unpickle
        hint = (
            f"store sequences of unequal lengths padded with their steps in {name}{LENGTHS}, or a list of them from task=custom"
            if name in ("x", "x_test") else "store numbers"
        )
        raise UserError(f"{origin}: {name} holds Python objects, which are not read (that would unpickle them); {hint}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise UserError(f"{origin}: {name} cannot be read ({type(error).__name__}: {error})") from None


def _unpadded(x: Any, lengths: Any, origin: str, name: str) -> list[Any]:
    """The sequences of a padded ``x``, each cut to its steps in ``lengths``."""
    steps = x.shape[1] if x.ndim >= 2 else 0
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu" or len(lengths) != len(x):
        raise UserError(
            f"{origin}: {name}{LENGTHS} must hold one integer per sequence of {name} ({len(x)}), "
            f"not {lengths.dtype} of shape {lengths.shape}"
        )
    bad = [row for row, length in enumerate(lengths.tolist()) if not 1 <= length <= steps]
    if bad:
        raise UserError(
            f"{origin}: {name}{LENGTHS} row {bad[0]} (from 0) is {int(lengths[bad[0]])}; "
            f"each sequence has from 1 to {steps} steps (the padded {name}'s)"
        )
    return [x[row, :length] for row, length in enumerate(lengths.tolist())]


# --------------------------------------------------------------------------- .csv, .tsv
def read_table(data: bytes, origin: str, delimiter: str, kind: Optional[str]) -> Arrays:
    """One sequence a row, its answer first (the UCR archive's layout); ``kind``: None takes it from how the answers are written."""
    import numpy as np  # here, as in write_arrays

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{origin}: not UTF-8 text (byte {error.start} cannot be decoded)") from None
    answers: list[tuple[int, Union[int, float]]] = []  # (line, answer)
    sequences: list[list[float]] = []
    rows = csv.reader(text.splitlines(), delimiter=delimiter)
    first = True
    try:
        for row in rows:
            line = rows.line_num  # a quoted cell may span lines: the row's last line
            if len(row) <= 1 and not "".join(row).strip():
                continue  # a blank line
            answer = _number(row[0])
            if first:
                first = False
                if answer is None:
                    continue  # a header: its answer's cell is not a number
            where = f"{origin} line {line}"
            answers.append((line, _finite(answer, row[0], f"{where}, column 1")))
            if len(row) < 2:
                raise UserError(f"{where}: no values after the answer; a row is its answer, then one value per step")
            sequences.append([_finite(_float(cell), cell, f"{where}, column {column}") for column, cell in enumerate(row[1:], start=2)])
    except csv.Error as error:
        raise UserError(f"{origin} line {rows.line_num}: not {'CSV' if delimiter == ',' else 'TSV'} ({error})") from None
    if not sequences:
        raise UserError(f"{origin}: no sequences; a row is its answer, then one value per step")
    if kind is None:
        kind = CLASSIFY if all(isinstance(answer, int) for _, answer in answers) else REGRESS
    if kind == CLASSIFY:
        for line, answer in answers:
            if answer != int(answer) or answer < 0:
                raise UserError(
                    f"{origin} line {line}: the answer {answer:g} is not a class; classes are integers from 0"
                    + (" (for numbers to predict, task.kind=regress)" if answer != int(answer) else "")
                )
        y = np.array([int(answer) for _, answer in answers], dtype=np.int64)
    else:
        y = np.array([float(answer) for _, answer in answers], dtype=np.float64)
    if len({len(values) for values in sequences}) == 1:
        return Arrays(np.array(sequences, dtype=np.float64), y)  # (N, T): one feature a step
    return Arrays([np.array(values, dtype=np.float64) for values in sequences], y)  # unequal lengths


def _number(cell: str) -> Optional[Union[int, float]]:
    """The number a cell holds, an int when it is written as one; None when it holds none."""
    try:
        return int(cell)
    except ValueError:
        return _float(cell)


def _float(cell: str) -> Optional[float]:
    try:
        return float(cell)
    except ValueError:
        return None


def _finite(value: Optional[Union[int, float]], cell: str, where: str) -> Union[int, float]:
    """``value``, the number read from ``cell``; UserError naming ``where`` when the cell holds no finite number."""
    if value is None:
        shown = "empty" if not cell.strip() else f"{cell.strip()!r} is not a number"
        raise UserError(f"{where}: {shown}; every cell holds a number, the answer and then one value per step")
    if not math.isfinite(value):
        raise UserError(f"{where}: {cell.strip()} is not a finite number; give finite values")
    return value
