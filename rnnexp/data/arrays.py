"""Real-valued sequences with one answer each: checked, made tensors, batched.

A classify or regress task returns :class:`rnnexp.data.task.Arrays`: ``x``
of shape (N, T, F) (or (N, T) for one feature, or a list of N (T_i, F)
sequences of unequal lengths), and ``y`` of shape (N,) holding classes, or
(N,) or (N, K) holding numbers. :func:`checked_arrays` refuses what cannot
train, in one line naming where the data came from and the sequence:
ragged sequences, NaN or inf, labels that are not integers, shapes that do
not fit. :class:`ArraySet` then batches them as rnnexp.data.sequences'
SequenceSet batches characters, padding unequal lengths with zeros and
handing the lengths on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import torch
from torch.nn.utils.rnn import pad_sequence

from rnnexp.data.sequences import Batch, Batched
from rnnexp.data.task import CLASSIFY, REGRESS
from rnnexp.errors import UserError


@dataclass
class CheckedArrays:
    """One split's sequences as tensors: a (N, T, F) float32 tensor, or a list of (T_i, F) when lengths differ."""

    x: torch.Tensor | list[torch.Tensor]
    y: torch.Tensor  # (N,) int64 for classify, (N, K) float32 for regress


def answer_kind(y: Any, origin: str) -> str:
    """classify when ``y`` holds integers (or booleans), regress when it holds floats; UserError naming ``origin`` else."""
    return REGRESS if _answers(y, origin, "y").dtype.is_floating_point else CLASSIFY


def checked_arrays(x: Any, y: Any, origin: str, kind: str, split: str = "") -> CheckedArrays:
    """``x`` and ``y`` as tensors of the shapes above, or UserError with one line naming ``origin`` and the sequence.

    ``split``: "" for the training data, "_test" for a held-out split (the
    line then names x_test and y_test).
    """
    x_name, y_name = f"x{split}", f"y{split}"
    inputs = _inputs(x, origin, x_name)
    targets = _targets(y, origin, y_name, kind)
    if len(targets) != len(inputs):
        raise UserError(
            f"{origin}: {x_name} holds {len(inputs)} sequences but {y_name} holds {len(targets)} answers; "
            "give one answer per sequence"
        )
    return CheckedArrays(inputs, targets)


def _as_tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"{name} is not an array of numbers ({error})") from None


def _inputs(x: Any, origin: str, name: str) -> torch.Tensor | list[torch.Tensor]:
    """``x`` as one (N, T, F) float32 tensor, or a list of (T_i, F) ones when it is a list of unequal sequences."""
    if getattr(x, "dtype", None) == object and getattr(x, "ndim", 0) == 1:
        x = list(x)  # numpy's array of sequences of unequal lengths (dtype=object): the list it holds
    if isinstance(x, (list, tuple)) and x and not isinstance(x[0], (int, float)):
        sequences = [_sequence(part, origin, name, number) for number, part in enumerate(x)]
        for number, sequence in enumerate(sequences):
            if sequence.shape[1] != sequences[0].shape[1]:
                raise UserError(
                    f"{origin}: {name} sequence {number} (from 0) has {sequence.shape[1]} features a step, sequence 0 "
                    f"has {sequences[0].shape[1]}; every sequence needs the same features"
                )
        if len({len(s) for s in sequences}) == 1:
            return torch.stack(sequences)
        return sequences
    try:
        whole = _as_tensor(x, name)
    except ValueError:
        raise UserError(
            f"{origin}: {name} is ragged or not numbers; expected (sequences, steps, features) real values, "
            "or a list of (steps, features) sequences"
        ) from None
    if whole.dim() == 2:
        whole = whole.unsqueeze(2)  # (N, T) -> (N, T, 1): one feature
    if whole.dim() != 3 or whole.shape[0] == 0 or whole.shape[1] == 0:
        raise UserError(
            f"{origin}: {name} has shape {tuple(whole.shape)}; expected (sequences, steps, features), "
            "or (sequences, steps) for one feature, with at least one of each"
        )
    _check_numbers(whole, origin, name)
    values = whole.to(torch.float32)
    bad = ~torch.isfinite(values).flatten(1).all(dim=1)  # (N,)
    if bad.any():
        number = int(bad.nonzero()[0])
        return _sequence(whole[number], origin, name, number)  # raises, naming the step
    return values


def _sequence(part: Any, origin: str, name: str, number: int) -> torch.Tensor:
    """One sequence as a (T, F) float32 tensor, checked; ``number`` names it in a refusal."""
    try:
        sequence = _as_tensor(part, name)
    except ValueError:
        raise UserError(
            f"{origin}: {name} sequence {number} (from 0) is ragged or not numbers; each sequence is "
            "(steps, features) real values, every step with the same features"
        ) from None
    if sequence.dim() == 1:
        sequence = sequence.unsqueeze(1)  # (T,) -> (T, 1): one feature
    if sequence.dim() != 2 or sequence.shape[0] == 0:
        raise UserError(
            f"{origin}: {name} sequence {number} (from 0) has shape {tuple(sequence.shape)}; expected "
            "(steps, features) with at least one step"
        )
    _check_numbers(sequence, origin, f"{name} sequence {number} (from 0)")
    _check_finite(sequence, f"{origin}: {name} sequence {number} (from 0)", "step")
    return sequence.to(torch.float32)


def _check_finite(values: torch.Tensor, what: str, row: str) -> None:
    """UserError naming the first ``row`` (step, row) of ``values`` (rows, ...) that a float32 cannot hold finitely."""
    as_float32 = values.to(torch.float32)
    bad = ~torch.isfinite(as_float32.reshape(len(values), -1)).all(dim=1)
    if not bad.any():
        return
    first = int(bad.nonzero()[0])
    where = f"{row} {first} (from 0)"
    if torch.isfinite(values[first].double()).all():  # finite, but beyond float32's range
        raise UserError(f"{what} holds a value beyond float32's range (about 3.4e38) at {where}; scale the data")
    raise UserError(f"{what} holds NaN or inf at {where}; give finite values")


def _check_numbers(values: torch.Tensor, origin: str, name: str) -> None:
    if not (values.dtype.is_floating_point or values.dtype in _INTEGERS or values.dtype == torch.bool):
        raise UserError(f"{origin}: {name} holds {values.dtype}, not real values")


_INTEGERS = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _answers(y: Any, origin: str, name: str) -> torch.Tensor:
    """``y`` as a tensor of real numbers (integers, booleans or floats), or UserError naming ``origin``."""
    try:
        targets = _as_tensor(y, name)
    except ValueError as error:
        raise UserError(f"{origin}: {error}; expected one answer per sequence") from None
    _check_numbers(targets, origin, name)
    return targets


def _targets(y: Any, origin: str, name: str, kind: str) -> torch.Tensor:
    """``y`` as (N,) int64 classes or (N, K) float32 values, checked against ``kind``."""
    targets = _answers(y, origin, name)
    if targets.dim() == 0 or len(targets) == 0:
        raise UserError(f"{origin}: {name} has shape {tuple(targets.shape)}; expected one answer per sequence")
    if kind == CLASSIFY:
        if targets.dim() == 2 and targets.shape[1] == 1:
            targets = targets[:, 0]
        if targets.dim() != 1:
            raise UserError(f"{origin}: {name} has shape {tuple(targets.shape)}; classes are one integer per sequence, (sequences,)")
        if targets.dtype.is_floating_point:
            whole = torch.isfinite(targets) & (targets == targets.round())  # (N,); inf equals its round
            if not whole.all():
                row = int((~whole).nonzero()[0])
                raise UserError(
                    f"{origin}: {name} row {row} (from 0) is {float(targets[row])!r}: a class must be an integer "
                    "(for numbers to predict, task.kind=regress)"
                )
        if targets.numel() and int(targets.min()) < 0:
            row = int((targets < 0).nonzero()[0])
            raise UserError(f"{origin}: {name} row {row} (from 0) is {int(targets[row])}: classes are integers from 0")
        return targets.to(torch.int64)
    if targets.dim() == 1:
        targets = targets.unsqueeze(1)  # (N,) -> (N, 1): one number each
    if targets.dim() != 2 or targets.shape[1] == 0:
        raise UserError(f"{origin}: {name} has shape {tuple(targets.shape)}; expected (sequences,) or (sequences, values)")
    _check_finite(targets, f"{origin}: {name}", "row")
    return targets.to(torch.float32)


class ArraySet(Batched):
    """Real-valued sequences and their answers, batched with zero padding where lengths differ."""

    equal_lengths: bool

    def __init__(self, x: torch.Tensor | Sequence[torch.Tensor], y: torch.Tensor):
        if isinstance(x, torch.Tensor):  # (N, T, F): a batch is one index operation
            self.lengths = torch.full((len(x),), x.shape[1], dtype=torch.long)
            self.equal_lengths = True
        else:
            self.lengths = torch.tensor([len(s) for s in x], dtype=torch.long)
            self.equal_lengths = bool((self.lengths == self.lengths[0]).all())
            x = torch.stack(list(x)) if self.equal_lengths else list(x)
        self.inputs = x
        self.targets = y  # (N,) or (N, K)

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def features(self) -> int:
        return int(self.inputs.shape[2] if self.equal_lengths else self.inputs[0].shape[1])

    @property
    def length(self) -> Optional[int]:
        """The steps every sequence has; None when they differ."""
        return int(self.lengths[0]) if self.equal_lengths else None

    def all_targets(self) -> torch.Tensor:
        return self.targets

    def subset(self, index: Sequence[int]) -> "ArraySet":
        chosen = torch.as_tensor(list(index), dtype=torch.long)
        if self.equal_lengths:
            return ArraySet(self.inputs[chosen], self.targets[chosen])
        return ArraySet([self.inputs[i] for i in chosen.tolist()], self.targets[chosen])

    def batch(self, index: torch.Tensor) -> Batch:
        """Sources (B, T, F) float32, targets (B,) or (B, K); lengths only when they differ within the set."""
        if self.equal_lengths:
            return Batch(self.inputs[index], self.targets[index], None, index)
        chosen = index.tolist()
        source = pad_sequence([self.inputs[i] for i in chosen], batch_first=True)  # (B, T_max, F), zeros after each end
        return Batch(source, self.targets[index], self.lengths[index], index)
