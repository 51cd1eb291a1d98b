"""The command line: what a run prints and writes, sweeps, run directories, error reporting.

Most commands run in-process through rnnexp.cli.main.main (the ``run_main``
fixture); the tests marked e2e start ``python -m rnnexp`` itself, where the
process is what is under test.
"""

import logging
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

import rnnexp.run_dirs
from conftest import sweep_dir_of
from rnnexp.cli.main import main
from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status

EPOCH_LINE = re.compile(r"^Predicted string: [ehlo]{5}, Epoch \[(\d+)/15\] loss = (\d+\.\d{3})$")
SUMMARY_LINE = re.compile(r"^Final prediction: (\w+) \(target ohlol\), solved at epoch (\d+)\. Run directory: (.+)$")
# -N: started in the same millisecond; _...: the run's overrides, as a sweep job's directory has them.
RUN_DIR = re.compile(r"^outputs/runs/\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}\.\d{3}(-\d+)?(_.+)?$")


def check_hello_run(stdout, cwd):
    """A default 15-epoch hello run: one line per epoch, the summary, and the run directory's files."""
    lines = stdout.strip().splitlines()
    epochs = [EPOCH_LINE.match(line) for line in lines[:-1]]
    assert all(epochs), lines[:-1]
    assert [int(m.group(1)) for m in epochs] == list(range(1, 16))
    summary = SUMMARY_LINE.match(lines[-1])
    assert summary and summary.group(1) == "ohlol", lines[-1]
    assert RUN_DIR.match(summary.group(3)), summary.group(3)
    run_dir = cwd / summary.group(3)
    assert {".hydra", METRICS_NAME, "last.pt", "best.pt", "rnnexp.log"} <= {p.name for p in run_dir.iterdir()}
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert not (run_dir / "__main__.log").exists()  # the log is named after the app, not the module
    metrics = RunResult.read(run_dir / METRICS_NAME)
    assert (metrics.status, metrics.prediction, metrics.epochs) == (Status.OK, "ohlol", 15)
    assert metrics.solved_epoch == int(summary.group(2))
    assert [m.group(2) for m in epochs] == [f"{loss:.3f}" for loss in metrics.losses]  # the printed losses are the recorded ones
    log = (run_dir / "rnnexp.log").read_text()
    assert all(line in log for line in lines)  # the terminal's lines, stamped, in the log file


@pytest.mark.parametrize("model", ["cell", "rnn"])  # embedding: the end-to-end test below
def test_each_model_ends_with_ohlol(run_main, tmp_path, model):
    done = run_main([f"model={model}", "device=cpu"])
    assert done.status == 0, done.stderr
    assert done.stderr == ""
    check_hello_run(done.stdout, tmp_path)


def test_a_sweep_gives_each_job_its_own_directory(small_sweep):
    _, sweep_dir = small_sweep
    assert re.fullmatch(r"\d{2}-\d{2}-\d{2}\.\d{3}", sweep_dir.name)
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert jobs == [
        "0_device=cpu,epochs=4,model=cell,optimizer=adam",
        "1_device=cpu,epochs=4,model=cell,optimizer=sgd",
        "2_device=cpu,epochs=4,model=rnn,optimizer=adam",
        "3_device=cpu,epochs=4,model=rnn,optimizer=sgd",
    ]
    for job in jobs:
        metrics = RunResult.read(sweep_dir / job / METRICS_NAME)
        assert (metrics.status, metrics.epochs) == (Status.OK, 4)
    cwd = sweep_dir.parents[2]
    assert not (cwd / "outputs" / "runs").exists()  # a sweep writes no single-run directory


def test_runs_in_the_same_millisecond_get_their_own_directories(tmp_path, monkeypatch):
    frozen = datetime(2026, 11, 26, 14, 19, 35, 714000)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(rnnexp.run_dirs, "datetime", Clock)
    made = [rnnexp.run_dirs.unique_dir(str(tmp_path / "runs")) for _ in range(3)]
    assert [os.path.basename(d) for d in made] == ["14-19-35.714", "14-19-35.714-1", "14-19-35.714-2"]
    assert all(os.path.isdir(d) for d in made)


@pytest.mark.e2e
@pytest.mark.slow
def test_plain_runs_started_together_each_finish_in_a_directory_of_their_own(tmp_path):
    # Two processes at the same moment, as a user (or a script) starts them: each
    # run is complete, and neither writes into the other's directory.
    command = [sys.executable, "-m", "rnnexp", "model=embedding"]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert stderr == ""  # no warnings either
        check_hello_run(stdout, tmp_path)
    run_dirs = {stdout.splitlines()[-1].rpartition("Run directory: ")[2] for stdout, _ in outputs}
    assert len(run_dirs) == 2 and len(list((tmp_path / "outputs" / "runs").glob("*/*"))) == 2


@pytest.mark.e2e
def test_a_run_whose_output_reader_has_gone_finishes_quietly(tmp_path):
    # As `python -m rnnexp ... | head -1` once head has its line: here the reader is gone before the first.
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", "model=embedding", "epochs=3"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=180) == 0
    assert stderr == ""  # no traceback per line that could not be shown
    (metrics,) = (tmp_path / "outputs" / "runs").glob(f"*/*/{METRICS_NAME}")
    assert RunResult.read(metrics).status is Status.OK


@pytest.fixture
def hydra_cleared():
    """main() as a fresh process would run it: Hydra not yet initialised; its logging set-up undone afterwards."""
    GlobalHydra.instance().clear()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    GlobalHydra.instance().clear()


def test_hydra_full_error_raises_the_error_itself(hydra_cleared, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # read by main() when called, as at a process's start
    with pytest.raises(UserError, match=r"^lr=0\.0: must be a number > 0"):
        main(["lr=0", "device=cpu"])
    assert "rnnexp: error" not in capsys.readouterr().err  # the traceback instead of the one line
    assert os.environ["HYDRA_FULL_ERROR"] == "1"  # main() leaves the caller's setting as it found it


def test_a_refused_run_leaves_no_directory_unless_the_user_named_it(run_main, tmp_path):
    done = run_main(["epochs=0"])
    assert done.status == 2
    assert done.stderr.startswith("rnnexp: error: epochs=0: must be an integer >= 1") and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "outputs").exists()  # nothing for TensorBoard or run=last to list

    # A directory the user named is theirs: it keeps the reason, in the log and the record.
    named = run_main(["epochs=0", "hydra.run.dir=named"])
    assert named.status == 2 and named.stderr == done.stderr
    text = (tmp_path / "named" / "rnnexp.log").read_text()
    assert "run failed" in text and "Traceback" in text and "epochs=0: must be an integer >= 1" in text
    failed = RunResult.read(tmp_path / "named" / METRICS_NAME)
    assert failed.status is Status.FAILED and failed.error == done.stderr.strip().removeprefix("rnnexp: error: ")
    assert (failed.epochs, failed.losses, failed.final_loss) == (0, [], None)


def test_an_unexpected_error_keeps_its_traceback_and_leaves_a_record(run_main, tmp_path):
    # torch refuses a negative momentum when it builds the optimizer: not a check of ours.
    with pytest.raises(ValueError, match="Invalid momentum value"):
        run_main(["optimizer=sgd", "optimizer.momentum=-1", "device=cpu", "hydra.run.dir=run"])
    failed = RunResult.read(tmp_path / "run" / METRICS_NAME)
    assert failed.status is Status.FAILED and failed.error == "Invalid momentum value: -1.0"


@pytest.fixture
def without_plugin_configs(monkeypatch):
    """Hydra's config store as an installation without the sweep extra has it: no joblib, gpus, submitit or optuna."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()  # the installed plugins register their configs when first discovered
    repo = ConfigStore.instance().repo["hydra"]
    for group, name in [("launcher", "joblib.yaml"), ("launcher", "gpus.yaml"), ("launcher", "submitit_local.yaml"), ("launcher", "submitit_slurm.yaml"), ("launcher", "slurm.yaml"), ("sweeper", "optuna.yaml")]:
        monkeypatch.delitem(repo[group], name, raising=False)


EXTRA = "pip install 'rnnexp[sweep]' (or pip install -e '.[sweep]' in a clone)"


@pytest.mark.parametrize(
    "args, message",
    [
        # rnnexp's slurm launcher extends the plugin's submitit_slurm.
        (["-m", "hydra/launcher=slurm"], f"hydra/launcher=slurm: needs Hydra's submitit plugin, which comes with the sweep extra: {EXTRA}"),
        (["-m", "hydra/launcher=joblib"], f"hydra/launcher=joblib: no such option; choose one of basic; the joblib, submitit and optuna plugins come with {EXTRA}"),
    ],
)
def test_a_launcher_without_the_sweep_extra_names_the_extra(run_main, without_plugin_configs, args, message):
    done = run_main([*args, "device=cpu"])
    assert (done.status, done.stdout, done.stderr) == (2, "", f"rnnexp: error: {message}\n")


# --------------------------------------------------------------------------- Hydra's command line: +, ++, ~, --cfg, --version, completion
NO_SUCH_LRR = "rnnexp: error: lrr: no such config key; did you mean lr? (python -m rnnexp --cfg job lists the keys)\n"
NO_SUCH_HIDEN = (
    "rnnexp: error: model.hiden_size: no such config key; did you mean model.hidden_size? "
    "(python -m rnnexp --cfg job lists the keys)\n"
)


def refused_before_anything(done, tmp_path, line):
    """Exit status 2, ``line`` alone on stderr, nothing on stdout, no directory made."""
    assert (done.status, done.stdout, done.stderr) == (2, "", line)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "removal, line",
    [
        ("~lr", "~lr: lr cannot be removed, every run reads it; set it instead, for example lr=0.1"),
        ("~clip", "~clip: clip cannot be removed, every run reads it; clip=null turns clipping off"),
        ("~model.head", "~model.head: model.head cannot be removed, every run reads it; set it instead, for example model.head=false"),
        ("~task.source", "~task.source: task.source cannot be removed, every run reads it; set it instead, task.source=..."),
        ("~model", "~model: every run needs a model; choose an option instead, model=... (python -m rnnexp --help lists them)"),
    ],
    ids=lambda value: value if value.startswith("~") and ":" not in value else "",
)
def test_removing_a_key_every_run_reads_says_what_to_type(run_main, tmp_path, removal, line):
    refused_before_anything(run_main([removal, "device=cpu"]), tmp_path, f"rnnexp: error: {line}\n")


def test_removing_a_key_that_does_not_exist_names_the_nearest(run_main, tmp_path):
    refused_before_anything(run_main(["~lrr", "device=cpu"]), tmp_path, NO_SUCH_LRR)


@pytest.mark.parametrize(
    "args, line",
    [
        (["lrr=0.1"], NO_SUCH_LRR),  # the line a misspelled key always had
        (["+lrr=0.1"], NO_SUCH_LRR),
        (["++lrr=0.1"], NO_SUCH_LRR),
        (["+model.hiden_size=3"], NO_SUCH_HIDEN),
        (["++model.hiden_size=3"], NO_SUCH_HIDEN),
        (["+newsection.key=1"], "rnnexp: error: newsection: no such config key (python -m rnnexp --cfg job lists the keys)\n"),
        # Another task's key: the hint comes from this task's keys, not from caesar's.
        (["+task.shift=3"], "rnnexp: error: task.shift: not a key of this task; task.shift belongs to task=caesar (for example task=caesar task.shift=...)\n"),
        # A sweep is refused before its first job when no option of the swept group reads the key.
        (["-m", "lr=0.1,0.2", "+lrr=0.1"], NO_SUCH_LRR),
        (["-m", "model=cell,rnn", "+model.hiden_size=3"], NO_SUCH_HIDEN),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_a_key_nothing_reads_is_refused_whatever_prefix_added_it(run_main, tmp_path, args, line):
    refused_before_anything(run_main([*args, "device=cpu"]), tmp_path, line)


def test_a_sweep_job_refuses_a_key_that_its_option_does_not_read(run_main, tmp_path):
    # caesar reads task.shift, copy does not: the copy job fails on its own, the caesar job trains.
    done = run_main(["-m", "task=copy,caesar", "++task.shift=2", "++task.size=8", "epochs=1", "device=cpu"])
    assert done.status == 1, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    copy = RunResult.read(sweep_dir / "0_++task.shift=2,++task.size=8,device=cpu,epochs=1,task=copy" / METRICS_NAME)
    caesar = RunResult.read(sweep_dir / "1_++task.shift=2,++task.size=8,device=cpu,epochs=1,task=caesar" / METRICS_NAME)
    assert copy.status is Status.FAILED and copy.error.startswith("task.shift: not a key of this task; task.shift belongs to task=caesar"), copy.error
    assert caesar.status is Status.OK


def test_hydra_keys_and_optimizer_arguments_may_be_added(run_main):
    # hydra.* is Hydra's; amsgrad is an argument of torch.optim.Adam, which is what reads optimizer's keys.
    done = run_main(["++hydra.job.env_set.RNNEXP_UNUSED=1", "+optimizer.amsgrad=true", "epochs=1", "device=cpu"])
    assert done.status == 0, done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--cfg", "hydra", "--resolve"],
        ["--cfg", "all", "--resolve", "model=rnn"],
        ["--info"],
        ["--help"],
        ["--hydra-help"],
        ["--shell-completion", "install=bash"],
    ],
    ids=" ".join,
)
def test_commands_that_show_something_create_nothing(run_main, tmp_path, args):
    done = run_main(args)
    assert (done.status, done.stderr) == (0, ""), done.stderr
    assert list(tmp_path.iterdir()) == []
    if "--resolve" in args:
        assert re.search(r"^    dir: outputs/runs/\d{4}-\d{2}-\d{2}/<created when a job starts>$", done.stdout, re.M), done.stdout
    # A job after it creates its directory again.
    made = OmegaConf.create({"dir": f"${{rnnexp.unique_dir:{tmp_path / 'later'}}}"}).dir
    assert os.path.isdir(made)


def test_help_names_every_model_and_the_other_commands(run_main):
    import importlib.util

    done = run_main(["--help"])
    assert done.status == 0, done.stderr
    # The header, before Hydra's own lists: what a reader sees without scrolling.
    header = done.stdout.split("== Configuration groups ==")[0]
    models = sorted(path.stem for path in (Path(__file__).parent.parent / "conf" / "model").glob("*.yaml"))
    assert len(models) == 8, models
    for name in models:
        # Each model with what it is built from: "rnn (nn.RNN)", "model=cell (one nn.RNNCell, ...".
        assert re.search(rf"(^|[ =]){name} \(", header, re.M), (name, header)
    commands = re.findall(r"python -m (rnnexp\.\w+)", header)
    assert sorted(set(commands)) == ["rnnexp.predict", "rnnexp.shapes", "rnnexp.summarize"], commands
    assert all(importlib.util.find_spec(command) for command in commands)  # each one runs as written
    assert "python -m rnnexp continue=last" in header


def test_version_names_rnnexp_hydra_and_torch(run_main):
    import tomllib
    from importlib import metadata

    import hydra

    import rnnexp

    done = run_main(["--version"])
    assert (done.status, done.stderr) == (0, "")
    assert done.stdout == f"rnnexp {rnnexp.__version__} (Hydra {hydra.__version__}, torch {metadata.version('torch')})\n"
    pyproject = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert rnnexp.__version__ == pyproject["project"]["version"]


def test_shell_completion_is_set_up_for_the_rnnexp_command(run_main, monkeypatch):
    script = run_main(["--shell-completion", "install=bash"]).stdout
    assert script.rstrip().endswith("complete -o nospace -o default -F hydra_bash_completion rnnexp"), script
    hydra_help = run_main(["--hydra-help"]).stdout
    assert 'eval "$(rnnexp -sc install=bash)"' in hydra_help and "__main__.py" not in hydra_help
    # What the installed script asks the command for when Tab is pressed after "rnnexp model=".
    monkeypatch.setenv("COMP_LINE", "rnnexp model=")
    monkeypatch.setenv("COMP_POINT", str(len("rnnexp model=")))
    choices = run_main(["--shell-completion", "query=bash"]).stdout.split()
    assert {"model=cell", "model=rnn", "model=lstm"} <= set(choices), choices


def test_a_directory_that_holds_a_run_is_refused_and_left_as_it_was(run_main, tmp_path):
    assert run_main(["epochs=1", "device=cpu", "hydra.run.dir=mine"]).status == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir() if p.is_file()}
    done = run_main(["epochs=2", "device=cpu", "hydra.run.dir=mine"])
    assert (done.status, done.stdout) == (2, "")
    assert done.stderr == (
        "rnnexp: error: hydra.run.dir=mine: already holds a run (metrics.json); choose a new directory, "
        "hydra.run.dir=..., or continue that run with resume=mine\n"
    )
    assert {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir() if p.is_file()} == before
    # resume= writes a directory of its own: the run it continues keeps its one event file.
    resumed = run_main(["resume=mine", "epochs=2"])
    assert resumed.status == 0, resumed.stderr
    assert resumed.stdout.strip().splitlines()[-1].rpartition("Run directory: ")[2].startswith("outputs/runs/")
    assert len(list((tmp_path / "mine").glob("events.out.tfevents.*"))) == 1


def test_resume_last_without_a_run_says_what_to_give_as_predict_does(run_main):
    # The job's own new directory is no run to continue.
    done = run_main(["resume=last", "device=cpu"])
    assert done.status == 2 and done.stdout == ""
    assert done.stderr.startswith("rnnexp: error: resume=last: no run under outputs/runs here; give its directory, resume=outputs/runs/")


def test_a_directory_that_holds_a_sweep_is_refused_and_left_as_it_was(small_sweep, run_main):
    _, sweep_dir = small_sweep
    before = sorted(str(p.relative_to(sweep_dir)) for p in sweep_dir.rglob("*"))
    done = run_main(["-m", "epochs=1", "device=cpu", f"hydra.sweep.dir={sweep_dir}"])
    assert (done.status, done.stdout) == (2, "")
    assert done.stderr.startswith(f"rnnexp: error: hydra.sweep.dir={sweep_dir}: already holds another sweep (0_device=cpu"), done.stderr
    assert sorted(str(p.relative_to(sweep_dir)) for p in sweep_dir.rglob("*")) == before
