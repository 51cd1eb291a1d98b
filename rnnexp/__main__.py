"""The command line: ``python -m rnnexp [group=option ...] [key=value ...] [-m]``.

A thin Hydra entry point: compose the config, call :func:`rnnexp.train.train`
in the job's output directory, and turn bad input into one line on stderr
with exit status 2 (``HYDRA_FULL_ERROR=1`` shows the full traceback instead).
"""

from __future__ import annotations

import logging
import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnexp.config import register_configs, register_resolvers, schema_keys
from rnnexp.errors import UserError, one_line

USAGE_ERROR = 2


def run_job(cfg: DictConfig) -> float:
    """One training job; returns the final loss (what a sweeper minimises)."""
    from rnnexp.train import train  # torch is imported only once a job runs

    run_dir = HydraConfig.get().runtime.output_dir
    try:
        return train(cfg, run_dir).final_loss
    except Exception:
        logging.getLogger("rnnexp.failures").exception("run failed")
        raise


def main() -> None:
    show_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    # With HYDRA_FULL_ERROR set Hydra re-raises instead of printing its own
    # multi-line report, so the error reaches the handler below.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    register_configs()
    register_resolvers()
    entry = hydra.main(version_base="1.3", config_path="pkg://rnnexp.conf", config_name="config")(run_job)
    try:
        entry()
    except (UserError, HydraException, OmegaConfBaseException) as error:
        if show_traceback:
            raise
        print(f"rnnexp: error: {one_line(error, schema_keys())}", file=sys.stderr)
        sys.exit(USAGE_ERROR)


if __name__ == "__main__":
    main()
