"""Shared fixtures: configs composed with Hydra's compose API, and the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Sequence

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from rnnexp.config import register_configs, register_resolvers

register_configs()
register_resolvers()


@pytest.fixture
def make_cfg() -> Callable[..., DictConfig]:
    """Compose the app's config with overrides, as the command line would (device pinned to cpu)."""

    def make(*overrides: str) -> DictConfig:
        with initialize_config_module("rnnexp.conf", version_base="1.3"):
            return compose("config", overrides=["device=cpu", *overrides])

    return make


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m rnnexp ARGS`` in ``tmp_path`` (or ``cwd``) and capture its output."""

    def run(args: Sequence[str], cwd: Path | None = None, env: dict | None = None, timeout: float = 180):
        # A HYDRA_FULL_ERROR in the caller's environment would change the error output under test.
        full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "rnnexp", *args],
            cwd=cwd or tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
