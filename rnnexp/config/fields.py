"""What a schema field says about its key, beside its default: its range, what null means, its HParams column.

Each fact about a config key has one home, the key's field in
rnnexp/config/schemas.py. A field has this shape (``clip`` and ``patience``
there are real ones)::

    warmup: Optional[int] = setting(
        None,
        "epochs of rising lr before the schedule",
        check=Range(at_least(1), "must be an integer >= 1, or null for no warm-up"),
        null="starts at the full lr",
        hparam=HParam(when_null=0),
    )

The rest is generated from the fields: the range checks (rnnexp.config.checks.RULES),
what ``~clip`` answers (rnnexp.config.key_checks.null_means), the HParams columns
(rnnexp.tracking.hparams.hparams_of) and the key table of docs/configuration.md
(:func:`key_table`, written by scripts/config_table.py).

The metadata vocabulary (the keys of ``field.metadata``):

- ``doc``: what the key does, in a few words (the docs table's last column).
- ``check``: a :class:`Range`, or a tuple of them, each its own line when refused:
  ``key=value: <allowed>``. A missing key (task.window for task=copy) is not checked.
- ``null``: what ``key=null`` does, read after ``key=null`` ("starts at the full lr").
  A key that has one may be null; its range is checked only for other values.
- ``hparam``: an :class:`HParam`: the key is a column of TensorBoard's HParams page.
- ``keywords``: the node holds a ``_target_`` and its own keyword arguments
  (rnnexp.config.schemas.with_open_keywords); their values are HParams columns too.

Imports nothing but the standard library and OmegaConf: rnnexp.config never imports torch.
"""

from __future__ import annotations

import re
from dataclasses import Field, dataclass, field
from typing import Any, Callable, Mapping, Optional, Union

from omegaconf import MISSING

DOC, CHECK, NULL, HPARAM, KEYWORDS = "doc", "check", "null", "hparam", "keywords"

HParamValue = Union[int, float, str, bool]


@dataclass(frozen=True)
class Range:
    """The values a key allows: ``ok(value)``, else refused as ``key=value: <allowed>``."""

    ok: Callable[[Any], bool]
    allowed: str  # read after "key=value: "


@dataclass(frozen=True)
class HParam:
    """How a key shows on TensorBoard's HParams page.

    Every run of a sweep must give a column the same type (a None would turn
    the column into strings and hide runs), so null shows as ``when_null``:
    a value, or a function of the key's section (the resolved dict holding it).
    """

    column: Optional[str] = None  # the column's name; None: the dotted key
    when_null: Union[HParamValue, Callable[[Mapping], HParamValue], None] = None
    class_name: bool = False  # a _target_, shown by its class's name as its YAML option spells it (adamw)


def setting(
    default: Any = MISSING,
    doc: str = "",
    *,
    check: Union[Range, tuple[Range, ...]] = (),
    null: Optional[str] = None,
    hparam: Optional[HParam] = None,
    keywords: bool = False,
) -> Any:
    """A schema field with its default and its metadata (the vocabulary in this module's docstring)."""
    metadata: dict[str, Any] = {DOC: doc, CHECK: (check,) if isinstance(check, Range) else tuple(check)}
    if null is not None:
        metadata[NULL] = null
    if hparam is not None:
        metadata[HPARAM] = hparam
    if keywords:
        metadata[KEYWORDS] = True
    return field(default=default, metadata=metadata)


def ranges_of(schema_field: Field) -> tuple[Range, ...]:
    return schema_field.metadata.get(CHECK, ())


def null_of(schema_field: Field) -> Optional[str]:
    return schema_field.metadata.get(NULL)


def hparam_of(schema_field: Field) -> Optional[HParam]:
    return schema_field.metadata.get(HPARAM)


def doc_of(schema_field: Field) -> str:
    return schema_field.metadata.get(DOC, "")


# --------------------------------------------------------------------------- the ranges' predicates
def positive(value: Any) -> bool:
    return value > 0


def at_least(low: int) -> Callable[[Any], bool]:
    return lambda value: value >= low


def fraction(value: Any) -> bool:
    return 0 <= value < 1


# The largest float32. The weights are float32, and torch converts each step's
# size (lr times a factor) to their type: a larger one fails with "value cannot
# be converted to type float without overflow".
FLOAT32_MAX = 3.4028234663852886e38


def fits_float32(value: Any) -> bool:
    return value <= FLOAT32_MAX  # inf does not


def one_of(*values: Any) -> Callable[[Any], bool]:
    return lambda value: value in values


# The devices a run may name; N is a CUDA device's index (rnnexp.training.device places the run).
DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
_DEVICE_PATTERN = re.compile("^(" + "|".join(re.escape(d).replace("N", r"\d+") for d in DEVICES) + ")$")


DEVICE_WORDS = "allowed values are {} or {}".format(
    ", ".join(f"{d} (N = 0, 1, ...)" if d.endswith(":N") else d for d in DEVICES[:-1]), DEVICES[-1]
)


def a_device(value: Any) -> bool:
    return _DEVICE_PATTERN.match(str(value)) is not None


# --------------------------------------------------------------------------- HParams
# Stands for a size the data decides, in a run that failed before it read the data:
# a number, so the column stays numeric for every run.
UNKNOWN_SIZE = -1


def class_name(target: str) -> str:
    """``my_rnns.ElmanReLU`` -> ``ElmanReLU``: the last dotted part of a ``_target_``."""
    return target.rsplit(".", 1)[-1]


def short_name(target: str) -> str:
    """``torch.optim.AdamW`` -> ``adamw``: a class's name as its YAML option spells it."""
    return class_name(target).lower()

