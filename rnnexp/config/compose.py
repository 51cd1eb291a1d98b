"""The config of a command composed without running it: Hydra's compose API on rnnexp's conf/ and schemas."""

from __future__ import annotations

from typing import Sequence

import hydra
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from rnnexp.config.schemas import register_configs
from rnnexp.run_dirs import register_resolvers


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The config ``python -m rnnexp OVERRIDES`` composes, without Hydra's own node and without a run.

    Neither the start checks nor validate() are applied: the caller decides
    which it needs. Hydra's compose API is opened on ``rnnexp.conf`` unless
    it is open already, and left open, so that a process composing many
    configs (the tests) starts Hydra once; a command that must start afresh
    clears GlobalHydra first, as rnnexp.testing.run_command does.
    """
    register_configs()
    register_resolvers()
    if not GlobalHydra.instance().is_initialized():
        hydra.initialize_config_module("rnnexp.conf", version_base="1.3")
    return hydra.compose("config", overrides=list(overrides))
