"""What rnnexp uses of Hydra's private API (``hydra._internal``), all of it here; tested on hydra-core 1.3.2 to 1.3.8.

Hydra 1.3 has no public way to do these, and each is checked by a test
(tests/test_composing.py) that fails if a later Hydra changes what it relies on:

- its command-line parser (:func:`hydra_arg_parser`), to read ``-m`` and
  ``--cfg`` the way Hydra will, before Hydra runs;
- the basic sweeper's grid (:func:`basic_sweep_grid`), to list a sweep's jobs
  in Hydra's own order;
- each composition of a command done once. Composing rnnexp's config takes
  longer than training one of the notebook's models (figures in
  docs/performance.md, "Start-up" and "Sweeps"), and Hydra 1.3 composes more
  often than a command needs:

  - a command composes its whole config once only to read ``hydra.mode``
    (``Hydra.get_mode``), and again to run; :func:`mode_from_command_line`
    answers the first from the command line, where rnnexp's configs leave the
    mode;
  - in a sweep, the sweeper composes every job's config to check that it
    composes (``Sweeper.validate_batch_is_legal``), and the basic launcher
    composes it again to run it; :class:`ValidatedConfigs` hands the launcher
    the config the check composed. rnnexp's SLURM launcher takes them too
    (:meth:`ValidatedConfigs.take_checked`), to send each to its task instead
    of composing it again on the node.

  Both give Hydra what it would have composed itself, so overrides, sweep
  directories, callbacks and what Hydra saves in ``.hydra/`` are as before.
"""

from __future__ import annotations

import argparse
import contextlib
from importlib import resources
from typing import Any, Iterator, List, Optional

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.hydra import Hydra
from hydra._internal.utils import get_args_parser
from hydra.core.config_loader import ConfigLoader
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.types import Override
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

# The launcher that composes each job in this process, right after the sweeper checked it.
BASIC_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
# The launchers that take the checked configs: the basic one, and rnnexp's SLURM launcher.
TAKE_CHECKED = (BASIC_LAUNCHER, "hydra_plugins.rnnexp_launchers.slurm_launcher.SlurmLauncher")
# Checked configs kept for the launcher, at about 130 kB each: a sweep of more
# jobs per batch composes the jobs past this number twice, as Hydra does.
KEPT = 256


class ValidatedConfigs(ConfigLoader):
    """A config loader that keeps each job's config from the sweeper's check until the launcher asks for it.

    Hydra's sweepers compose each job's config (``load_sweep_config``) to
    check a batch before launching it, and discard the config; the basic
    launcher then composes the same job again, from the same sweep config and
    overrides. Here the first composition is kept and given to the launcher,
    so each job is composed once. A config is given out twice only while no
    job has taken it: the basic launcher numbers a config (``hydra.job.id``)
    as soon as it gets it, and a numbered one is never given out again (the
    same overrides twice in a sweep compose again). Everything else goes to
    Hydra's own loader.
    """

    def __init__(self, loader: ConfigLoader, kept: int = KEPT):
        self.loader = loader
        self.kept = kept
        self.checked: dict[tuple[int, tuple[str, ...]], list[DictConfig]] = {}

    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: List[str]) -> DictConfig:
        key = (id(master_config), tuple(sweep_overrides))
        waiting = [config for config in self.checked.get(key, []) if _not_launched(config)]
        if waiting:
            config = waiting.pop(0)
            self.checked[key] = waiting
            # As load_sweep_config does: the sweep config's resolved values (its time
            # stamps, its directory) as they are now.
            OmegaConf.copy_cache(from_config=master_config, to_config=config)
            return config
        config = self.loader.load_sweep_config(master_config, list(sweep_overrides))
        if sum(len(configs) for configs in self.checked.values()) < self.kept:
            self.checked[key] = waiting + [config]
        return config

    def take_checked(self, master_config: DictConfig, sweep_overrides: List[str]) -> Optional[DictConfig]:
        """The checked config of a job, as :meth:`load_sweep_config` gives it, if one is kept; None rather than composing."""
        if any(_not_launched(config) for config in self.checked.get((id(master_config), tuple(sweep_overrides)), [])):
            return self.load_sweep_config(master_config, sweep_overrides)
        return None

    @staticmethod
    def unwrapped(loader: ConfigLoader) -> ConfigLoader:
        """Hydra's own loader: what a launcher pickles for its workers, without the configs kept here."""
        return loader.loader if isinstance(loader, ValidatedConfigs) else loader

    def load_configuration(
        self,
        config_name: Optional[str],
        overrides: List[str],
        run_mode: RunMode,
        from_shell: bool = True,
        validate_sweep_overrides: bool = True,
    ) -> DictConfig:
        return self.loader.load_configuration(config_name, overrides, run_mode, from_shell, validate_sweep_overrides)

    def get_search_path(self) -> Any:
        return self.loader.get_search_path()

    def get_sources(self) -> Any:
        return self.loader.get_sources()

    def list_groups(self, parent_name: str) -> List[str]:
        return self.loader.list_groups(parent_name)

    def get_group_options(self, group_name: str, *args: Any, **kwargs: Any) -> List[str]:
        return self.loader.get_group_options(group_name, *args, **kwargs)

    def compute_defaults_list(self, config_name: Optional[str], overrides: List[str], run_mode: RunMode) -> Any:
        return self.loader.compute_defaults_list(config_name, overrides, run_mode)

    def __getattr__(self, name: str) -> Any:  # the rest of Hydra's ConfigLoaderImpl
        if name == "loader":  # not set yet: an instance being built by copy or pickle
            raise AttributeError(name)
        return getattr(self.loader, name)

    def __reduce__(self) -> Any:
        """A copy for another process is Hydra's own loader, without the configs kept here.

        Hydra's Singleton state, which launchers send to their workers,
        holds the loader: the kept configs would go with every task.
        """
        return _itself, (self.loader,)


def _itself(value: Any) -> Any:
    return value


def _not_launched(config: DictConfig) -> bool:
    return OmegaConf.is_missing(config.hydra.job, "id")


def compose_each_job_once(config: DictConfig) -> None:
    """Have the multirun that ``config`` starts compose each job once (see ValidatedConfigs).

    Called as the multirun starts (rnnexp.cli.start_checks.StartChecks), after
    Hydra composed the sweep's config and before it builds the sweeper, which
    takes Hydra's config loader then. Only under the basic launcher, which
    composes the jobs in this process, and rnnexp's SLURM launcher, which
    sends them to its tasks; the other launchers compose them in their workers.
    """
    if config.hydra.launcher.get("_target_") not in TAKE_CHECKED or not GlobalHydra.instance().is_initialized():
        return
    app = GlobalHydra.instance().hydra
    if app is not None and not isinstance(app.config_loader, ValidatedConfigs):
        app.config_loader = ValidatedConfigs(app.config_loader)


@contextlib.contextmanager
def mode_from_command_line(flags: Any) -> Iterator[None]:
    """While Hydra's entry point runs, answer ``Hydra.get_mode`` from the command line instead of a composition.

    ``flags``: the command line as Hydra's parser reads it. Hydra composes
    the whole config to read ``hydra.mode``, which chooses between a run and
    a multirun when the command line gives no ``-m``; None (unset) leaves the
    choice to ``-m``. Only an experiment option may set ``hydra.mode`` in
    rnnexp's configs (experiment=memory is a sweep; a test checks conf/), so
    the mode is the one a ``hydra.mode=...`` override gives, else the one the
    named experiment's file gives, or unset. (Hydra's own answer would also
    hide a config that does not compose: it takes the mode as unset, and the
    run then fails on the sweep's values with a line about them.) A command
    that may read other configs (``--config-dir``, ``--config-name``,
    ``--config-path``), or sets the mode otherwise than plainly, is left to
    Hydra.
    """
    mode = _typed_mode(flags)
    if mode is _ASK_HYDRA:
        yield
        return
    asked = Hydra.get_mode

    def get_mode(self: Any, config_name: Optional[str], overrides: List[str]) -> Optional[RunMode]:
        return mode

    Hydra.get_mode = get_mode
    try:
        yield
    finally:
        Hydra.get_mode = asked


_ASK_HYDRA = object()


def _experiment_mode(override: Override) -> Any:
    """The ``hydra.mode`` that ``experiment=NAME`` sets (None: unset), read from its file in rnnexp.conf."""
    name = override.value()
    if override.is_delete() or override.is_sweep_override() or not isinstance(name, str):
        return _ASK_HYDRA
    path = resources.files("rnnexp.conf") / "experiment" / f"{name}.yaml"
    if not path.is_file():
        return None  # no such option: Hydra says so, whichever the mode
    mode = OmegaConf.select(OmegaConf.create(path.read_text(encoding="utf-8")), "hydra.mode", default=None)
    return None if mode is None else RunMode.__members__.get(str(mode), _ASK_HYDRA)


def _typed_mode(flags: Any) -> Any:
    """The run mode the command line sets (None: unset), or _ASK_HYDRA where only a composition can tell."""
    if flags is None or flags.config_dir or flags.config_name or flags.config_path:
        return _ASK_HYDRA
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        overrides = OverridesParser.create().parse_overrides(list(flags.overrides))
    except Exception:  # Hydra reports it, in its own words
        return _ASK_HYDRA
    mode: Any = None
    for override in overrides:
        if override.key_or_group == "experiment":
            mode = _experiment_mode(override)  # hydra.mode given as well wins over the experiment's
    for override in overrides:
        if override.key_or_group != "hydra.mode":
            continue
        value = override.value()
        if override.is_delete() or override.is_sweep_override() or not isinstance(value, str):
            return _ASK_HYDRA
        mode = RunMode.__members__.get(value, _ASK_HYDRA)
        if mode is _ASK_HYDRA:
            return _ASK_HYDRA
    return mode


def hydra_arg_parser() -> argparse.ArgumentParser:
    """Hydra's own parser of the command line (``-m``, ``--cfg``, ``--config-dir``, the overrides)."""
    return get_args_parser()


def basic_sweep_grid(overrides: List[Override]) -> list[list[str]]:
    """Each job's overrides, in job order, as Hydra's basic sweeper expands ``overrides``.

    Its batches only group the jobs for the launcher; the job numbers run on across them.
    """
    return [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]
