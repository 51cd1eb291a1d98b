"""A search's space: Hydra's sweep syntax read into Optuna's distributions, and each trial's overrides drawn from them.

The keys of ``hydra.sweeper.params`` and the command line's overrides, in
that order (a key given twice keeps its last value):

- ``choice(a, b, c)`` (or ``a,b,c``)    a categorical of those values
- ``range(start, stop[, step])``          integers (or floats) from start up to, but not including, stop, as
                                          Hydra's basic sweeper runs them; ``shuffle(range(...))`` is a categorical
- ``interval(low, high)``                 a float between low and high
- ``tag(log, interval(low, high))``       the same on a log scale; ``tag(log, range(a, b))`` for integers
- anything else                           passed to every trial as it is (``epochs=8``, ``hparams_search=optuna``)

This reads them as hydra-optuna-sweeper 1.3 did, on Optuna's current
distributions, but for ``range``, whose stop it included. A sweep it cannot
draw from (``glob(*)``) is answered with one line before any job runs.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from rnnexp.errors import UserError

PARAMS_KEY = "hydra.sweeper.params"
_SYNTAX = "choice(...), range(...), interval(...) and tag(log, interval(...))"


@dataclass
class SearchSpace:
    """The searched keys with their distributions, and the overrides every trial passes as given."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)  # key -> the whole override, key=value

    @classmethod
    def parse(cls, params: Optional[Mapping[str, Any]], arguments: Sequence[str]) -> SearchSpace:
        """The space of ``hydra.sweeper.params`` and the command line's ``arguments``."""
        lines = [(f"{PARAMS_KEY}.", f"{key}={value}") for key, value in (params or {}).items()]
        lines += [("", argument) for argument in arguments]
        space = cls()
        for where, line in lines:
            (override,) = OverridesParser.create().parse_overrides([line])
            key = override.get_key_element()  # with its + or ~: the trial passes it as typed
            space.distributions.pop(key, None)
            space.fixed.pop(key, None)
            if override.is_sweep_override():
                space.distributions[key] = distribution_of(override, f"{where}{line}")
            else:
                space.fixed[key] = _as_given(override)
        return space

    def draw(self, trial: Any) -> list[str]:
        """A new trial's overrides: a value of each distribution, asked of ``trial``; then the fixed ones."""
        return self.overrides({key: suggest(trial, key, d) for key, d in self.distributions.items()})

    def overrides(self, values: Mapping[str, Any]) -> list[str]:
        """The overrides of a trial whose values are ``values`` (a trial's params), in the space's order."""
        return [f"{key}={element(values[key])}" for key in self.distributions] + list(self.fixed.values())


def distribution_of(override: Override, line: str) -> BaseDistribution:
    """Optuna's distribution for a sweep override; a UserError naming ``line`` for a sweep it cannot draw from."""
    value = override.value()
    low = getattr(value, "start", None)
    if "log" in getattr(value, "tags", ()) and isinstance(low, (int, float)) and low <= 0:
        raise UserError(f"{line}: a log scale starts above 0; give a low end > 0")
    try:
        if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
            return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
        if isinstance(value, RangeSweep):
            return _range_distribution(value)
        if isinstance(value, IntervalSweep):
            return FloatDistribution(value.start, value.end, log="log" in value.tags)
    except ValueError as error:  # an empty range; Optuna's: a log scale from 0, a float step with log
        raise UserError(f"{line}: not a distribution to draw from ({error})") from None
    raise UserError(f"{line}: an Optuna search draws from {_SYNTAX}; list the values with choice(...)")


def _range_distribution(sweep: RangeSweep) -> BaseDistribution:
    """``range(start, stop, step)`` as Hydra's basic sweeper enumerates it: from start by step, stop left out."""
    values = list(sweep.range())
    if not values:
        raise ValueError("the range holds no value")
    low, high, step, log = min(values), max(values), abs(sweep.step), "log" in sweep.tags
    if all(isinstance(v, int) for v in (low, high, step)):
        return IntDistribution(low, high, log=log, step=step)
    # Hydra counts a float range in decimals: the highest value lies a whole number of steps
    # above the lowest, as Optuna checks, where the floats' own sum may miss it.
    high = float(decimal.Decimal(str(low)) + decimal.Decimal(str(step)) * (len(values) - 1))
    return FloatDistribution(low, high, log=log, step=step)


def suggest(trial: Any, name: str, distribution: BaseDistribution) -> Any:
    """``trial``'s value for ``name``, through Trial's public suggest methods."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
    return trial.suggest_float(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)


def element(value: Any) -> str:
    """A drawn value as the value of an override that Hydra reads back as that value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)  # a choice's string as Hydra gave it, in its quotes where it had them


def _as_given(override: Override) -> str:
    """A fixed override as the trial passes it: ``epochs=8``, ``~clip``."""
    if override.is_delete() and override.value() is None:
        return override.get_key_element()
    return f"{override.get_key_element()}={override.get_value_element_as_str()}"
