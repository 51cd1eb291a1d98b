"""Real-valued sequences in files: ``.npz`` (x, y, and optionally x_test, y_test), read without pickle.

A run keeps the arrays a user's callable returned (task=custom) in such a
file, so ``resume=`` trains on them without calling code again. Sequences of
unequal lengths are kept padded, with their lengths beside them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rnnexp.data.task import Arrays
from rnnexp.errors import UserError
from rnnexp.files import write_bytes

SPLITS = (("x", "y"), ("x_test", "y_test"))


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
                parts[f"{x_name}_lengths"] = np.array(lengths)
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


def read_arrays(path: Path) -> Arrays:
    """The arrays of an ``.npz`` file (no pickled objects); UserError naming the file when it lacks x or y."""
    import numpy as np  # here, as in write_arrays

    try:
        with np.load(path, allow_pickle=False) as stored:
            parts = {name: stored[name] for name in stored.files}
    except FileNotFoundError:
        raise UserError(f"{path}: missing") from None
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not an .npz file of arrays without pickled objects ({error})") from None
    for required in ("x", "y"):
        if required not in parts:
            raise UserError(f"{path}: holds no array named {required}; it needs x and y (and optionally x_test, y_test)")
    for x_name, _ in SPLITS:
        lengths = parts.pop(f"{x_name}_lengths", None)
        if lengths is not None and x_name in parts:
            parts[x_name] = [parts[x_name][i, :length] for i, length in enumerate(lengths.tolist())]
    return Arrays(parts["x"], parts["y"], parts.get("x_test"), parts.get("y_test"))
