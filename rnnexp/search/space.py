"""A search's space: Hydra's sweep syntax read into Optuna's distributions, and each trial's overrides drawn from them.

The keys of ``hydra.sweeper.params`` and the command line's overrides, in
that order (a key given twice keeps its last value), read as Hydra's Optuna
sweeper (hydra-optuna-sweeper 1.2 and 1.3, its
``create_optuna_distribution_from_override``) read them, on Optuna's
current distributions:

- ``choice(a, b, c)`` (or ``a,b,c``)    a categorical of those values (a list or a dict as its override's text)
- ``shuffle(range(...))``                 a categorical of the range's values
- ``range(start, stop[, step])``          integers from start to stop, both included, by step (floats, with a
                                          step, where any of the three is a float)
- ``interval(low, high)``                 a float between low and high
- ``int(interval(low, high))``            an integer between low and high
- ``tag(log, interval(...))``             either of them on a log scale; ``tag(log, range(a, b))`` too, which
                                          Hydra's sweeper read without the scale
- anything else                           passed to every trial as it is (``epochs=8``, ``hparams_search=optuna``)

A sweep it cannot draw from (``glob(*)``, a log scale on a choice, bounds
that Optuna refuses) is answered with one line before any job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from hydra.errors import OverrideParseException
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from rnnexp.errors import UserError, parse_reason

PARAMS_KEY = "hydra.sweeper.params"
_SYNTAX = "choice(...), range(...), shuffle(range(...)), interval(...), int(interval(...)) and tag(log, ...) of a range or an interval"


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
            try:
                (override,) = OverridesParser.create().parse_overrides([line])
            except OverrideParseException as error:  # the params of a config file: Hydra parsed the command line's
                raise UserError(f"{where}{line}: {parse_reason(error.message)}") from None
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
    """Optuna's distribution for a sweep override, as Hydra's Optuna sweeper maps it; a UserError naming ``line`` for
    a sweep it cannot draw from."""
    value = override.value()
    log = "log" in getattr(value, "tags", ())
    low = getattr(value, "start", None)
    if log and isinstance(low, (int, float)) and low <= 0:
        raise UserError(f"{line}: a log scale starts above 0; give a low end > 0")
    try:
        if isinstance(value, ChoiceSweep) or (isinstance(value, RangeSweep) and value.shuffle):
            if log:
                raise UserError(f"{line}: tag(log, ...) takes a range(...) or an interval(...); a choice has no scale, drop the tag")
            return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
        if isinstance(value, RangeSweep):
            return _range_distribution(value, log)
        if isinstance(value, IntervalSweep):
            if isinstance(value.start, int) and isinstance(value.end, int):  # int(interval(...))
                return IntDistribution(value.start, value.end, log=log)
            return FloatDistribution(value.start, value.end, log=log)
    except ValueError as error:  # Optuna's: low above high, a step of 0, a log scale with a step
        raise UserError(f"{line}: not a distribution to draw from ({error})") from None
    raise UserError(f"{line}: an Optuna search draws from {_SYNTAX}; list the values with choice(...)")


def _range_distribution(sweep: RangeSweep, log: bool) -> BaseDistribution:
    """``range(start, stop, step)`` as Hydra's Optuna sweeper read it: from start to stop, both included, by step."""
    if any(isinstance(v, float) for v in (sweep.start, sweep.stop, sweep.step)):
        return FloatDistribution(sweep.start, sweep.stop, step=sweep.step, log=log)
    return IntDistribution(int(sweep.start), int(sweep.stop), step=int(sweep.step), log=log)


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
