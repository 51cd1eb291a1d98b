"""Each composition done once: a sweep job's config comes from the sweeper's check, a command's mode from its line.

What Hydra leaves in each job's directory must be what it leaves when it
composes twice; the sweeps here run in this process, once each way.
"""

from pathlib import Path

import pytest
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.hydra import Hydra
from hydra._internal.utils import get_args_parser
from hydra.types import RunMode
from omegaconf import OmegaConf

from conftest import sweep_dir_of
from rnnexp.cli import start_checks
from rnnexp.internals import hydra_private as composing
from rnnexp.internals.hydra_private import (
    BASIC_LAUNCHER,
    ValidatedConfigs,
    compose_each_job_once,
    mode_from_command_line,
)

CONF = Path(__file__).resolve().parent.parent / "conf"
SWEEP = ["-m", "model=cell,embedding", "lr=0.05,0.1", "epochs=2", "device=cpu"]


@pytest.fixture
def compositions(monkeypatch) -> dict[str, int]:
    """Counts of Hydra's compositions: all of them, and those of a sweep's jobs."""
    counts = {"all": 0, "jobs": 0}
    load_configuration, load_sweep_config = ConfigLoaderImpl.load_configuration, ConfigLoaderImpl.load_sweep_config

    def counted_configuration(self, *args, **kwargs):
        counts["all"] += 1
        return load_configuration(self, *args, **kwargs)

    def counted_sweep_config(self, *args, **kwargs):
        counts["jobs"] += 1
        return load_sweep_config(self, *args, **kwargs)

    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counted_configuration)
    monkeypatch.setattr(ConfigLoaderImpl, "load_sweep_config", counted_sweep_config)
    return counts


def hydra_files(cwd: Path) -> dict[str, str]:
    """Every job's .hydra files of the sweep run in ``cwd``, with the sweep's directory and ``cwd`` taken out."""
    sweep_dir, files = sweep_dir_of(cwd), {}
    for path in sorted(sweep_dir.glob("*/.hydra/*.yaml")):
        text = path.read_text().replace(str(sweep_dir.relative_to(cwd)), "<sweep>").replace(str(cwd), "<cwd>")
        files[str(path.relative_to(sweep_dir))] = text
    return files


def test_a_sweep_composes_each_job_once_and_saves_what_hydra_composes_twice(run_main, tmp_path, compositions, monkeypatch):
    once, twice = tmp_path / "once", tmp_path / "twice"
    once.mkdir(), twice.mkdir()
    done = run_main(SWEEP, once)
    assert done.status == 0, done.stderr
    assert compositions["jobs"] == 4  # the sweeper's check of each job; the launcher takes those configs

    monkeypatch.setattr(start_checks, "compose_each_job_once", lambda config: None)  # Hydra's own way
    compositions["jobs"] = 0
    done = run_main(SWEEP, twice)
    assert done.status == 0, done.stderr
    assert compositions["jobs"] == 8
    saved = hydra_files(once)
    assert len(saved) == 4 * 3 and saved == hydra_files(twice)


def test_the_same_job_twice_in_a_sweep_runs_twice_with_a_config_each(run_main, tmp_path, compositions):
    done = run_main(["-m", "model=cell", "seed=1,1", "epochs=2", "device=cpu"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    jobs = sorted(p.name for p in sweep_dir.iterdir() if (p / "metrics.json").is_file())
    assert jobs == ["0_device=cpu,epochs=2,model=cell,seed=1", "1_device=cpu,epochs=2,model=cell,seed=1"]
    assert compositions["jobs"] == 3  # the second check took the first's config: the second launch composes


class HydrasLoader:
    """A stand-in for Hydra's loader: a fresh config per call, counted."""

    def __init__(self):
        self.composed = 0

    def load_sweep_config(self, master_config, sweep_overrides):
        self.composed += 1
        return OmegaConf.create({"hydra": {"job": {"id": "???"}}, "overrides": list(sweep_overrides)})


def launch(loader, master, overrides, job_id):
    config = loader.load_sweep_config(master, overrides)
    config.hydra.job.id = job_id  # what the basic launcher does first
    return config


def test_the_launcher_gets_each_checked_config_once_and_a_numbered_one_never():
    hydras, master = HydrasLoader(), OmegaConf.create({})
    loader = ValidatedConfigs(hydras)
    batch = [["lr=0.1"], ["lr=0.2"]]
    checked = [loader.load_sweep_config(master, overrides) for overrides in batch]
    launched = [launch(loader, master, overrides, i) for i, overrides in enumerate(batch)]
    assert hydras.composed == 2 and all(a is b for a, b in zip(checked, launched))
    again = launch(loader, master, ["lr=0.1"], 2)  # a job of a later batch with the same overrides
    assert hydras.composed == 3 and again is not launched[0]


def test_at_most_kept_configs_wait_for_the_launcher():
    hydras, master = HydrasLoader(), OmegaConf.create({})
    loader = ValidatedConfigs(hydras, kept=1)
    for overrides in (["lr=0.1"], ["lr=0.2"]):
        loader.load_sweep_config(master, overrides)
    for i, overrides in enumerate((["lr=0.1"], ["lr=0.2"])):
        launch(loader, master, overrides, i)
    assert hydras.composed == 3  # the second job was not kept: composed again, as Hydra does


def test_the_slurm_launcher_takes_a_kept_config_and_never_composes_one():
    hydras, master = HydrasLoader(), OmegaConf.create({})
    loader = ValidatedConfigs(hydras, kept=1)
    checked = [loader.load_sweep_config(master, overrides) for overrides in (["lr=0.1"], ["lr=0.2"])]
    assert loader.take_checked(master, ["lr=0.1"]) is checked[0]
    assert loader.take_checked(master, ["lr=0.2"]) is None  # not kept: its task composes it
    assert hydras.composed == 2


def test_a_copy_of_the_loader_for_another_process_is_hydras_own_without_the_kept_configs():
    """Hydra's Singleton state holds the loader, and launchers send that state to every worker."""
    import copy
    import pickle

    loader = ValidatedConfigs(HydrasLoader())
    loader.load_sweep_config(OmegaConf.create({}), ["lr=0.1"])
    for copied in (copy.deepcopy(loader), pickle.loads(pickle.dumps(loader))):
        assert isinstance(copied, HydrasLoader)
    assert ValidatedConfigs.unwrapped(loader) is loader.loader and ValidatedConfigs.unwrapped(loader.loader) is loader.loader


@pytest.mark.parametrize("launcher, wrapped", [
    (BASIC_LAUNCHER, True),
    ("hydra_plugins.rnnexp_launchers.slurm_launcher.SlurmLauncher", True),
    ("hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", False),
])
def test_only_the_basic_and_slurm_launchers_take_the_checked_configs(monkeypatch, launcher, wrapped):
    """The other launchers compose each job in their workers: nothing is kept for them."""

    class Global:
        class hydra:
            config_loader = object()

        def is_initialized(self):
            return True

    monkeypatch.setattr(composing.GlobalHydra, "instance", Global)
    compose_each_job_once(OmegaConf.create({"hydra": {"launcher": {"_target_": launcher}}}))
    assert isinstance(Global.hydra.config_loader, ValidatedConfigs) is wrapped


# --------------------------------------------------------------------------- the run mode
def flags(*args):
    return get_args_parser().parse_args(list(args))


@pytest.mark.parametrize("args, mode", [
    ((), None),
    (("-m", "lr=0.1,0.2"), None),
    (("hydra.mode=MULTIRUN", "lr=0.1,0.2"), RunMode.MULTIRUN),
    (("+hydra.mode=RUN",), RunMode.RUN),
    (("hydra.mode=RUN,MULTIRUN",), composing._ASK_HYDRA),
    (("~hydra.mode",), composing._ASK_HYDRA),
    (("hydra.mode=SOMETIMES",), composing._ASK_HYDRA),
    (("--config-dir", "elsewhere"), composing._ASK_HYDRA),
    (("-cn", "other"), composing._ASK_HYDRA),
    (("experiment=memory",), RunMode.MULTIRUN),  # read from the experiment's file
    (("experiment=seed_cell",), None),
    (("experiment=memory", "hydra.mode=RUN"), RunMode.RUN),
    (("experiment=memory,seed_cell",), composing._ASK_HYDRA),
])
def test_the_run_mode_is_read_from_the_command_line(args, mode):
    assert composing._typed_mode(flags(*args)) is mode


def test_no_config_but_an_experiment_sets_the_run_mode():
    """What lets mode_from_command_line answer without composing: hydra.mode comes from the command line or an experiment."""
    for path in sorted(CONF.rglob("*.yaml")):
        config = OmegaConf.load(path)
        if path.parent.name != "experiment":
            assert OmegaConf.select(config, "hydra.mode", default=None) is None, path


@pytest.mark.parametrize("args, composed", [(["model=cell", "epochs=1", "device=cpu"], 1), (["-m", "model=cell,rnn", "epochs=1", "device=cpu"], 3)])
def test_a_command_composes_once_for_its_mode_and_runs_as_before(run_main, compositions, args, composed):
    get_mode = Hydra.get_mode
    with mode_from_command_line(flags(*args)):
        done = run_main(args)
    assert done.status == 0, done.stderr
    assert compositions["all"] == composed  # a run: its config; a sweep: its own and one per job
    assert Hydra.get_mode is get_mode


# --------------------------------------------------------------------------- files read once
def test_a_job_takes_its_overrides_from_hydra_not_from_the_file_hydra_wrote(run_main, tmp_path, monkeypatch):
    """TensorBoard's Overrides column comes from the job's own config; the saved file is for runs read later."""
    from rnnexp.results import saved_overrides
    from rnnexp.tracking import hparams as tracking

    def unread(run_dir):
        raise AssertionError(f"read {run_dir}")

    monkeypatch.setattr(tracking, "saved_overrides", unread)
    done = run_main(["model=cell", "epochs=1", "device=cpu"])
    assert done.status == 0, done.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").glob("*/*")
    assert tracking._job_overrides(run_dir) is None  # the command is over: no job runs there now
    assert saved_overrides(run_dir) == ["model=cell", "epochs=1", "device=cpu"]
