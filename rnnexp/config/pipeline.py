"""The one way from overrides to a config that may run: composed, its keys checked, its values validated, once.

    load_config(["model=rnn", "lr=0.05"])   # what `python -m rnnexp model=rnn lr=0.05` runs

The steps, in the command line's order: ``~key`` for a key that every run
reads (before composing: Hydra would answer it in its own words), composing
(rnnexp.config.compose), keys that nothing reads (``+lrr=0.1``), then every
value (rnnexp.config.checks.validate). Each refusal is one UserError line.

The command line composes through Hydra's app rather than the compose API,
so it runs the same steps where Hydra lets it: :func:`check_removals` before
the app, :func:`check_composed` in its start checks, and validate() once on
the job's config. ``rnnexp.shapes``, scripts and the tests call
:func:`load_config`, and the trainer takes what it returns as checked.
"""

from __future__ import annotations

from typing import Callable, Collection, Sequence

from omegaconf import DictConfig

from rnnexp.config.checks import validate
from rnnexp.config.compose import compose
from rnnexp.config.key_checks import check_keys, check_removals

__all__ = ["check_composed", "check_removals", "composed", "load_config", "validate"]

Composer = Callable[[Sequence[str]], DictConfig]


def check_composed(cfg: DictConfig, swept: Collection[str] = ()) -> None:
    """The checks of a config that Hydra composed: no key that nothing reads (``swept``: sections a sweep varies)."""
    check_keys(cfg, swept)


def composed(overrides: Sequence[str] = (), compose_with: Composer = compose) -> DictConfig:
    """``overrides`` composed with their keys checked, not yet validated: for a caller that validates a variant.

    ``rnnexp.shapes`` validates the config with a head (the shapes up to h_t
    need none). ``compose_with`` composes: the tests' composes each set of
    overrides once per session.
    """
    check_removals(overrides)
    cfg = compose_with(overrides)
    check_composed(cfg)
    return cfg


def load_config(overrides: Sequence[str] = (), compose_with: Composer = compose) -> DictConfig:
    """The config ``python -m rnnexp OVERRIDES`` runs, checked and validated; no directory is made.

    Raises UserError with one line naming the key, and Hydra's own errors
    for an unknown option or a value of the wrong type.
    """
    cfg = composed(overrides, compose_with)
    validate(cfg)
    return cfg
