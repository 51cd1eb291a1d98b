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


def cli(args: Sequence[str], cwd: Path, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``python -m rnnexp ARGS`` in ``cwd`` and capture its output."""
    # A HYDRA_FULL_ERROR in the caller's environment would change the error output under test.
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rnnexp", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run ``python -m rnnexp ARGS`` in ``tmp_path`` (or ``cwd``) and capture its output."""

    def run(args: Sequence[str], cwd: Path | None = None, env: dict | None = None, timeout: float = 180):
        return cli(args, cwd or tmp_path, env, timeout)

    return run


def sweep_dir_of(cwd: Path) -> Path:
    """The one sweep directory under ``cwd/outputs/multirun``."""
    (sweep_dir,) = (cwd / "outputs" / "multirun").glob("*/*")
    return sweep_dir


# A small sweep that several test modules read: four jobs, two models x two optimizers.
SMALL_SWEEP = ["-m", "model=cell,rnn", "optimizer=adam,sgd", "epochs=4", "device=cpu"]


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """SMALL_SWEEP run once with the basic launcher: (the finished process, its sweep directory)."""
    cwd = tmp_path_factory.mktemp("small_sweep")
    done = cli(SMALL_SWEEP, cwd)
    assert done.returncode == 0, done.stderr
    return done, sweep_dir_of(cwd)
