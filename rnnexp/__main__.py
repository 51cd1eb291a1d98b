"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

A thin Hydra entry point: compose the config, call :func:`rnnexp.train.train`
in the job's output directory, and turn bad input into one line on stderr
with exit status 2 (``HYDRA_FULL_ERROR=1`` shows the full traceback instead).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnexp.config import register_configs, register_resolvers, schema_keys, validate
from rnnexp.errors import UserError, one_line

USAGE_ERROR = 2
# Read before main() sets HYDRA_FULL_ERROR for its own use: did the user ask for tracebacks?
SHOW_TRACEBACK = os.environ.get("HYDRA_FULL_ERROR") == "1"


def exit_with(error: BaseException) -> NoReturn:
    print(f"rnnexp: error: {one_line(error, schema_keys())}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what a sweeper minimises)."""
    hydra_cfg = HydraConfig.get()
    try:
        validate(cfg)  # answers a bad value in well under a second: before torch is imported
        from rnnexp.checkpoint import load_resume
        from rnnexp.train import train

        if cfg.threads == "auto" and "joblib" in str(hydra_cfg.launcher.get("_target_", "")):
            cfg.threads = 1  # parallel workers already fill the cores: one intra-op thread each
        resume = None
        if cfg.resume is not None:
            cfg, resume = load_resume(cfg.resume, explicit_epochs(hydra_cfg.overrides.task))
        show_progress = cfg.progress == "always" or (
            cfg.progress == "auto" and hydra_cfg.mode == RunMode.RUN and sys.stderr.isatty()
        )
        result = train(cfg, hydra_cfg.runtime.output_dir, resume=resume, show_progress=show_progress)
        return result.final_loss if result.final_loss is not None else float("inf")
    except Exception as error:
        logging.getLogger("rnnexp.failures").exception("run failed")
        if isinstance(error, UserError) and hydra_cfg.mode == RunMode.RUN and not SHOW_TRACEBACK:
            # Exit here: past this point Hydra adds its own lines to stderr. In
            # a sweep, raise instead, so the other jobs still run.
            exit_with(error)
        raise


def explicit_epochs(task_overrides: list[str]) -> int | None:
    """The N of an ``epochs=N`` typed on the command line, else None."""
    for override in task_overrides:
        key, _, value = override.partition("=")
        if key.lstrip("+~") == "epochs":
            return int(value)
    return None


def main() -> None:
    # With HYDRA_FULL_ERROR set Hydra re-raises instead of printing its own
    # multi-line report, so the error reaches the handler below.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    register_configs()
    register_resolvers()
    entry = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        entry()
    except (UserError, HydraException, OmegaConfBaseException) as error:
        if SHOW_TRACEBACK:
            raise
        exit_with(error)


if __name__ == "__main__":
    main()
