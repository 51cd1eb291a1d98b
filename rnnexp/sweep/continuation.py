"""``python -m rnnexp continue=<sweep dir | last>``: a sweep cut short, run again into its own directory.

The sweep's command line comes back from the ``multirun.yaml`` Hydra saved in
its directory: its overrides and its launcher (``hydra/launcher=slurm`` and
its keys), with ``hydra.sweep.dir`` set to that directory. Each job then
finds its own directory as the earlier attempt left it, and rnnexp.sweep.job_dir's
rule applies: ended jobs are kept, interrupted ones resume, failed and
never-started ones run. Hydra settings may be added (a partition, a time
limit, another launcher); the experiment's own settings may not, since the
jobs would no longer be the sweep's.

``sweep_lines`` says what this attempt prints, not what its jobs compute, so
it may be given too. It cannot join the sweep's own overrides, which name
its jobs' directories (``hydra.job.override_dirname``) and tell the sweep
apart from another: it sets the terminal's filter instead
(``SWEEP_LINES_KEY``, which follows the config's ``sweep_lines`` otherwise),
for this attempt alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from omegaconf import OmegaConf

from rnnexp.config.command_words import hydra_value, typed_override, unquoted
from rnnexp.config.fields import ranges_of
from rnnexp.config.keys import schema_field
from rnnexp.errors import UserError
from rnnexp.results import MULTIRUN_NAME, sweep_task_overrides
from rnnexp.run_dirs import SWEEPS, named_run

KEY = "continue"
# What a sweep prints in the terminal: Hydra's logging filter (conf/hydra/hydra_logging/rnnexp.yaml), which
# the launching process applies and each job reads (rnnexp.cli.job), set to the config's sweep_lines.
SWEEP_LINES_KEY = "hydra.hydra_logging.filters.sweep_lines.sweep_lines"
_SWEEP_LINES = "sweep_lines"
# Hydra overrides that the continued command sets itself.
_SET_HERE = ("hydra.sweep.dir=", "hydra.mode=", f"{SWEEP_LINES_KEY}=")
_MULTIRUN_FLAGS = ("-m", "--multirun")


def continue_command(args: Sequence[str]) -> Optional[list[str]]:
    """The command line that continues the sweep a ``continue=`` argument names; None without one."""
    given = [arg for arg in args if arg.startswith(f"{KEY}=")]
    if not given:
        return None
    if len(given) > 1:
        raise UserError(f"{KEY}= is given {len(given)} times; continue one sweep at a time")
    value = unquoted(given[0].partition("=")[2])  # a directory as printed, or in Hydra's quotes
    sweep_dir = Path(named_run(value, KEY, root=SWEEPS))
    saved = sweep_dir / MULTIRUN_NAME
    if not saved.is_file():
        what = "no such directory" if not sweep_dir.is_dir() else f"not a sweep directory (no {MULTIRUN_NAME})"
        raise UserError(f"{KEY}={value}: {what}; give a sweep's directory, {KEY}={SWEEPS}/<date>/<time>, or {KEY}=last")
    extra = [_terminal_setting(arg) for arg in args if arg not in given and arg not in _MULTIRUN_FLAGS]
    for arg in extra:
        if not arg.lstrip("+~").startswith("hydra"):
            raise UserError(
                f"{arg}: a continued sweep keeps its own settings, so only Hydra's may be added "
                f"(hydra.launcher.partition=..., hydra/launcher=...); start a new sweep to change {arg.partition('=')[0]}"
            )
    hydra = OmegaConf.load(saved).hydra
    kept = [str(o) for o in hydra.overrides.hydra if not str(o).startswith(_SET_HERE)]
    task = [str(o) for o in hydra.overrides.task]
    return ["-m", *kept, *task, f"hydra.sweep.dir={hydra_value(str(sweep_dir))}", *extra]


def _terminal_setting(arg: str) -> str:
    """``sweep_lines=V`` as the continued attempt's terminal setting, checked as the config checks it; any other argument as given."""
    key, _, value = arg.partition("=")
    if key != _SWEEP_LINES:
        return arg
    for allowed in ranges_of(schema_field(_SWEEP_LINES)):
        if not allowed.ok(value):
            raise UserError(f"{arg}: {allowed.allowed}")
    return f"{SWEEP_LINES_KEY}={value}"


def finish_command(sweep_dir: str | Path) -> str:
    """The command that runs what is left of the sweep in ``sweep_dir``, into that directory."""
    return f"python -m rnnexp {typed_override(KEY, str(sweep_dir))}"


def saved_task_overrides(sweep_dir: str | Path) -> Optional[list[str]]:
    """The overrides a sweep directory's sweep was started with; None when it holds no sweep."""
    return sweep_task_overrides(sweep_dir)

