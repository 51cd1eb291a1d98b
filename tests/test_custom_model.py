"""A user's own recurrence, named by ``model.recurrence._target_``: docs/extending.md's example, run as a user runs it.

The example module and model option are read from the docs page and written
into the test's working directory, so the page's code is what is tested. The
commands run in-process (``run_main``), as ``python -m rnnexp`` does; one
test starts the installed ``rnnexp`` command, which does not put the working
directory on ``sys.path`` itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import compose_config, signals_at_forward, sweep_dir_of
from rnnexp.config.pipeline import load_config
from rnnexp.data.loading import load_task
from rnnexp.errors import UserError
from rnnexp.models.recurrence import detach_state
from rnnexp.models.tagger import build_model
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.tools import predict, shapes
from rnnexp.training.checkpoint import BEST, LAST, load_checkpoint, load_resume
from rnnexp.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "extending.md"
ELMAN = ["model=custom", "model.recurrence._target_=my_rnns.ElmanReLU", "model.hidden_size=16", "model.head=true"]
QUICK = ["epochs=3", "device=cpu"]


def example(name: str) -> str:
    """The code block after ``<!-- example: name -->`` on docs/extending.md."""
    text = PAGE.read_text()
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```\w*\n(.*?)```", text, re.DOTALL)
    assert found, name
    return found.group(1)


# Classes that break the contract, each in its own way (docs/extending.md's table).
BROKEN = '''
import os
from collections import OrderedDict

import torch
from torch import nn

from my_rnns import ElmanReLU


class NoSizes(nn.Module):
    def __init__(self):
        super().__init__()


class OnlyOutputs(ElmanReLU):
    def forward(self, x, state=None):
        return super().forward(x, state)[0]


class Wide(ElmanReLU):
    output_size = 32  # says 32, returns 16


class Traced(ElmanReLU):
    """Keeps what it was given: a nested _target_ stays data."""

    def __init__(self, input_size, hidden_size, **options):
        super().__init__(input_size, hidden_size)
        self.options = options


def boom(*args, **kwargs):
    open("called", "w").close()  # the proof that it ran


class NotAModule:
    def __init__(self, *args, **kwargs):
        open("called", "w").close()
'''


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A user's directory: my_rnns.py, my_conf/model/elman_relu.yaml and broken_rnns.py; a fresh import of each."""
    (tmp_path / "my_rnns.py").write_text(example("my_rnns.py"))
    (tmp_path / "broken_rnns.py").write_text(BROKEN)
    (tmp_path / "my_conf" / "model").mkdir(parents=True)
    (tmp_path / "my_conf" / "model" / "elman_relu.yaml").write_text(example("my_conf/model/elman_relu.yaml"))
    for module in ("my_rnns", "broken_rnns"):  # another test's directory holds another my_rnns
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for module in ("my_rnns", "broken_rnns"):
        sys.modules.pop(module, None)


def run_dir_of(cwd: Path) -> Path:
    (run_dir,) = (cwd / "outputs" / "runs").glob("*/*")
    return run_dir


def losses(run_dir: Path) -> list[float]:
    return RunResult.read(run_dir / METRICS_NAME).losses


# --------------------------------------------------------------------------- it trains, and everything works with it
def test_the_documented_command_trains_the_users_class(run_main, workdir):
    done = run_main([*ELMAN, "model.recurrence.alpha=0.5", *QUICK], cwd=workdir)
    assert done.status == 0, done.stderr
    run_dir = run_dir_of(workdir)
    record = RunResult.read(run_dir / METRICS_NAME)
    assert record.status is Status.OK and len(record.losses) == 3 and record.losses[-1] < record.losses[0]
    state = load_checkpoint(run_dir / LAST)
    assert state["config"]["model"]["recurrence"] == {"_target_": "my_rnns.ElmanReLU", "alpha": 0.5}
    assert state["config"]["model"]["name"] is None  # its label is the class's name: ElmanReLU
    assert {"recurrence.w.weight", "recurrence.w.bias", "recurrence.u.weight", "head.weight"} <= set(state["state_dict"])
    # TensorBoard's Graphs tab holds the user's module, inside rnnexp's.
    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert any("ElmanReLU[recurrence]" in node.name for node in events.Graph().node)


def test_a_model_option_of_the_users_own_in_a_config_dir(run_main, workdir):
    done = run_main(["--config-dir", "my_conf", "model=elman_relu", *QUICK], cwd=workdir)
    assert done.status == 0, done.stderr
    run_dir = run_dir_of(workdir)
    model = load_checkpoint(run_dir / LAST)["config"]["model"]
    assert (model["recurrence"], model["hidden_size"], model["head"]) == ({"_target_": "my_rnns.ElmanReLU", "alpha": 0.5}, 16, True)


def test_a_sweep_over_the_users_own_argument(run_main, workdir):
    done = run_main(["-m", *ELMAN, "model.recurrence.alpha=0.1,0.5", "epochs=2", "device=cpu"], cwd=workdir)
    assert done.status == 0, done.stderr
    jobs = sorted(p for p in sweep_dir_of(workdir).iterdir() if (p / METRICS_NAME).is_file())
    alphas = [load_checkpoint(job / LAST)["config"]["model"]["recurrence"]["alpha"] for job in jobs]
    assert sorted(alphas) == [0.1, 0.5]
    assert losses(jobs[0]) != losses(jobs[1])
    # continue= finds both ended, and keeps them.
    again = run_main([f"continue={sweep_dir_of(workdir)}"], cwd=workdir)
    assert again.status == 0, again.stderr
    assert again.stdout.count("ended before, kept") == 2


def test_resume_continues_bit_for_bit_and_predict_reads_the_run(run_main, workdir):
    whole = run_main([*ELMAN, "model.recurrence.alpha=0.5", "epochs=6", "device=cpu", "hydra.run.dir=whole"], cwd=workdir)
    half = run_main([*ELMAN, "model.recurrence.alpha=0.5", "epochs=3", "device=cpu", "hydra.run.dir=half"], cwd=workdir)
    assert whole.status == half.status == 0, whole.stderr + half.stderr
    resumed = run_main(["resume=half", "epochs=6", "hydra.run.dir=resumed"], cwd=workdir)
    assert resumed.status == 0, resumed.stderr
    assert losses(workdir / "resumed") == losses(workdir / "whole")
    answer = predict.predict(["run=resumed", "input=hello"])
    assert len(answer) == 5 and set(answer) <= set("ehlo")


def test_shapes_describes_any_recurrence_from_its_call(workdir, capsys):
    assert shapes.main([*ELMAN, "model.recurrence.alpha=0.5"]) == 0
    printed = capsys.readouterr().out
    assert "model=ElmanReLU  encoder=one_hot  task=hello" in printed
    assert "recurrence: my_rnns.ElmanReLU, called once: forward(x, state=None) -> (outputs, state)" in printed
    for row in (
        r"  x +\(1, 5, 4\) +\(batch, seq_len, input_size\)",
        r"  outputs +\(1, 5, 16\) +\(batch, seq_len, output_size\)",
        r"  state +\(1, 16\) +\(batch, hidden_size\)",
        r"  recurrence.w.weight +\(16, 4\) +\(hidden_size, input_size\)",
        r"  head.weight +\(4, 16\) +\(classes, output_size\)",
    ):
        assert re.search(row, printed), (row, printed)
    # docs/shapes.md quotes these lines.
    page = (ROOT / "docs" / "shapes.md").read_text().split("## Your own recurrence")[1]
    quoted = page.split("```")[1].strip().splitlines()
    assert quoted[0] == f"python -m rnnexp.shapes {' '.join(ELMAN)}" and quoted[1] == "..."
    assert "\n".join(quoted[2:]) in printed


def test_a_users_state_of_several_tensors_is_carried_and_detached(workdir):
    (workdir / "pair_state.py").write_text(
        "from torch import nn\n"
        "class TwoStates(nn.Module):\n"
        "    def __init__(self, input_size, hidden_size):\n"
        "        super().__init__()\n"
        "        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)\n"
        "    def forward(self, x, state=None):\n"
        "        out, (h, c) = self.lstm(x, state)\n"
        "        return out, (h, c)\n"
    )
    cfg = {"model": {"name": None, "recurrence": {"_target_": "pair_state.TwoStates"}, "hidden_size": 6, "num_layers": 1,
                     "head": True, "init_scale": 1.0, "bidirectional": False, "dropout": 0.0, "cuda_graph": False},
           "encoder": {"name": "one_hot", "dim": None}}
    torch.manual_seed(0)
    net = build_model(cfg, 5)
    ids = torch.randint(0, 5, (3, 8))
    whole, _ = net(ids)
    first, _, state = net(ids[:, :4], state=net.initial_state(3))
    rest, _, _ = net(ids[:, 4:], state=detach_state(state))
    torch.testing.assert_close(torch.cat([first, rest], dim=1), whole)
    assert isinstance(state, tuple) and not any(part.requires_grad for part in detach_state(state))
    sys.modules.pop("pair_state", None)


def test_a_stateful_run_stopped_mid_epoch_keeps_a_nested_state_and_resumes_to_the_bit(workdir):
    """SIGTERM mid-epoch of a text run whose recurrence carries (h, [c]): last.pt keeps it, resume= goes on from it."""
    (workdir / "nested_state.py").write_text(
        "from torch import nn\n"
        "class Nested(nn.Module):\n"
        "    def __init__(self, input_size, hidden_size):\n"
        "        super().__init__()\n"
        "        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)\n"
        "    def forward(self, x, state=None):\n"
        "        out, (h, c) = self.lstm(x, None if state is None else (state[0], state[1][0]))\n"
        "        return out, (h, [c])\n"
    )
    (workdir / "text.txt").write_text(("the quick brown fox jumps over the lazy dog. " * 40)[:1500])
    overrides = ("model=custom", "model.recurrence._target_=nested_state.Nested", "model.head=true",
                 "model.hidden_size=8", "task=text", "task.path=text.txt", "task.window=8", "batch_size=4",
                 "task.sample_every=0", "task.prime=null", "epochs=2", "device=cpu")
    uninterrupted = train(compose_config(*overrides), workdir / "whole")
    steps = load_task(compose_config(*overrides).task).train.count_batches(4)
    val_steps = load_task(compose_config(*overrides).task).val.count_batches(10)
    with signals_at_forward((steps + val_steps + 3, signal.SIGTERM)) as sent:  # epoch 2, step 3
        stopped = train(compose_config(*overrides), workdir / "stopped")
    assert sent and stopped.status is Status.INTERRUPTED
    carried = load_checkpoint(workdir / "stopped" / LAST)["partial"]["carried"]
    assert isinstance(carried, tuple) and isinstance(carried[1], list) and carried[1][0].shape == (1, 4, 8)
    cfg, resume = load_resume(str(workdir / "stopped"), epochs=None)
    resumed = train(cfg, workdir / "resumed", resume=resume)
    assert (resumed.losses, resumed.val_losses) == (uninterrupted.losses, uninterrupted.val_losses)
    sys.modules.pop("nested_state", None)


# --------------------------------------------------------------------------- a broken class: one line, before training
BROKEN_CASES = [
    (["model=custom"], "model.recurrence._target_: no recurrence class named; model=custom runs your own nn.Module"),
    ([*ELMAN[:1], "model.recurrence._target_=nowhere_rnns.ElmanReLU"], "model.recurrence._target_=nowhere_rnns.ElmanReLU: cannot be imported (No module named 'nowhere_rnns')"),
    ([*ELMAN[:1], "model.recurrence._target_=my_rnns.Elman"], "model.recurrence._target_=my_rnns.Elman: module my_rnns has no Elman"),
    ([*ELMAN[:1], "model.recurrence._target_=os.system"], "model.recurrence._target_=os.system: not a class (builtin_function_or_method)"),
    ([*ELMAN[:1], "model.recurrence._target_=broken_rnns.boom"], "model.recurrence._target_=broken_rnns.boom: not a class (function)"),
    ([*ELMAN[:1], "model.recurrence._target_=broken_rnns.NotAModule"], "model.recurrence._target_=broken_rnns.NotAModule: not a subclass of torch.nn.Module"),
    ([*ELMAN, "model.recurrence.alpah=0.5"], "model.recurrence.alpah: my_rnns.ElmanReLU takes no argument alpah; it takes alpha"),
    ([*ELMAN[:1], "model.recurrence._target_=broken_rnns.NoSizes"], "model.recurrence._target_=broken_rnns.NoSizes: its constructor must take the two sizes rnnexp passes, NoSizes(input_size, hidden_size, ...); it takes ()"),
    ([*ELMAN, "model.num_layers=2"], "model.num_layers=2: my_rnns.ElmanReLU takes no num_layers argument, so model=ElmanReLU runs with model.num_layers=1 only"),
    ([*ELMAN, "model.bidirectional=true"], "model.bidirectional=true: my_rnns.ElmanReLU takes no bidirectional argument"),
    ([*ELMAN, "model.cuda_graph=true"], "model.cuda_graph=true: only model=cell is captured as a CUDA graph (my_rnns.ElmanReLU is not)"),
    ([*ELMAN[:1], "model.recurrence._target_=broken_rnns.OnlyOutputs", *ELMAN[2:]], "model.recurrence._target_=broken_rnns.OnlyOutputs: forward must return a pair (outputs, state), and it returned a Tensor"),
    ([*ELMAN[:1], "model.recurrence._target_=broken_rnns.Wide", *ELMAN[2:]], "model.recurrence._target_=broken_rnns.Wide: forward returned outputs of shape (2, 3, 16); expected (batch, time, output_size) = (2, 3, 32)"),
    ([*ELMAN[:1], "model.recurrence._target_=my_rnns.ElmanReLU", "model.hidden_size=16"], "model.hidden_size=16: without a head h_t is read as the class scores"),
]


# Through the command line: one line, exit status 2, no run directory. A class that
# cannot be imported, one whose signature refuses the sizes, one with outputs of the wrong shape.
ON_THE_COMMAND_LINE = {1, 7, 12}


@pytest.mark.parametrize(
    "overrides, message",
    [case for i, case in enumerate(BROKEN_CASES) if i in ON_THE_COMMAND_LINE],
    ids=[" ".join(o[1:2]) or o[0] for i, (o, _) in enumerate(BROKEN_CASES) if i in ON_THE_COMMAND_LINE],
)
def test_a_broken_class_is_refused_in_one_line_before_training(run_main, workdir, overrides, message):
    done = run_main([*overrides, *QUICK], cwd=workdir)
    assert (done.status, done.stdout) == (2, ""), done.stdout + done.stderr
    assert done.stderr.startswith(f"rnnexp: error: {message}") and done.stderr.count("\n") == 1, done.stderr
    assert not list(workdir.glob("outputs/runs/*/*")), "no run directory left behind"
    assert not (workdir / "called").exists(), "nothing but an nn.Module is called"


def test_every_broken_class_is_refused_by_the_checks_or_the_build(make_unchecked_cfg, workdir):
    """The same refusals as the command line's (rnnexp.config.pipeline, then build_model), each case in milliseconds."""
    for overrides, message in BROKEN_CASES:
        with pytest.raises(UserError) as refused:
            build_model(load_config([*overrides, *QUICK], compose_with=lambda words: make_unchecked_cfg(*words)), 5)
        assert str(refused.value).startswith(message) and "\n" not in str(refused.value), (overrides, str(refused.value))
        assert not (workdir / "called").exists(), "nothing but an nn.Module is called"


def test_the_docs_table_quotes_the_lines(workdir):
    table = PAGE.read_text().split("### What is checked, and when")[1].split("###")[0]
    quoted = re.findall(r"^\| [^|]+ \| `(.+)` \|$", table, re.MULTILINE)
    assert len(quoted) == 9
    said = [message for _, message in BROKEN_CASES]
    for line in quoted:
        # The table's example class names stand for the ones the tests break.
        line = line.replace("my_rnns.NoSizes", "broken_rnns.NoSizes").replace("my_rnns.OnlyOutputs", "broken_rnns.OnlyOutputs")
        line = line.replace("my_rnns.Wide: forward returned outputs of shape (2, 3, 32); expected (batch, time, output_size) = (2, 3, 16)",
                            "broken_rnns.Wide: forward returned outputs of shape (2, 3, 16); expected (batch, time, output_size) = (2, 3, 32)")
        line = line.replace("_target_=my_rnns.ElmanReLU: cannot be imported (No module named 'my_rnns')",
                            "_target_=nowhere_rnns.ElmanReLU: cannot be imported (No module named 'nowhere_rnns')")
        line = line.replace("collections.OrderedDict", "broken_rnns.NotAModule")
        assert any(message.startswith(line) or line.startswith(message) for message in said), line


# --------------------------------------------------------------------------- a run directory cannot run code by being read
@pytest.mark.parametrize("target, why", [("broken_rnns.boom", "not a class (function)"), ("broken_rnns.NotAModule", "not a subclass of torch.nn.Module")])
def test_resume_and_predict_refuse_a_saved_target_that_is_no_module(run_main, workdir, target, why):
    done = run_main([*ELMAN, *QUICK, "hydra.run.dir=run"], cwd=workdir)
    assert done.status == 0, done.stderr
    for name in (LAST, BEST):  # a run directory someone else wrote
        state = torch.load(workdir / "run" / name, weights_only=True)
        state["config"]["model"]["recurrence"]["_target_"] = target
        torch.save(state, workdir / "run" / name)
    resumed = run_main(["resume=run", "epochs=5"], cwd=workdir)
    assert resumed.status == 2 and resumed.stderr.startswith(f"rnnexp: error: model.recurrence._target_={target}: {why}")
    with pytest.raises(UserError, match=f"^model.recurrence._target_={re.escape(target)}: {re.escape(why)}"):
        predict.predict(["run=run", "input=hello"])
    assert not (workdir / "called").exists()


def test_a_nested_target_is_handed_over_as_data(workdir):
    cfg = {"model": {"name": None, "recurrence": {"_target_": "broken_rnns.Traced", "inner": {"_target_": "broken_rnns.boom"}},
                     "hidden_size": 4, "num_layers": 1, "head": True, "init_scale": 1.0, "bidirectional": False,
                     "dropout": 0.0, "cuda_graph": False},
           "encoder": {"name": "one_hot", "dim": None}}
    model = build_model(cfg, 4)
    assert model.recurrence.options == {"inner": {"_target_": "broken_rnns.boom"}}
    assert not (workdir / "called").exists()


# --------------------------------------------------------------------------- checkpoints from before model.recurrence
def old_layout(path: Path) -> None:
    """Rewrite a checkpoint as rnnexp wrote it before model.recurrence: no such key, the recurrent module's keys at the top."""
    state = torch.load(path, weights_only=True)
    del state["config"]["model"]["recurrence"]
    state["state_dict"] = {key.removeprefix("recurrence."): value for key, value in state["state_dict"].items()}
    torch.save(state, path)


@pytest.mark.parametrize("model", ["cell", "lstm"])
def test_an_old_checkpoint_resumes_bit_for_bit_and_predicts(run_main, tmp_path, model):
    common = [f"model={model}", "device=cpu"]
    whole = run_main([*common, "epochs=6", "hydra.run.dir=whole"])
    half = run_main([*common, "epochs=3", "hydra.run.dir=half"])
    assert whole.status == half.status == 0, whole.stderr + half.stderr
    for name in (LAST, BEST):
        old_layout(tmp_path / "half" / name)
    saved = torch.load(tmp_path / "half" / LAST, weights_only=True)
    assert "recurrence" not in saved["config"]["model"] and not any(k.startswith("recurrence.") for k in saved["state_dict"])
    resumed = run_main(["resume=half", "epochs=6", "hydra.run.dir=resumed"])
    assert resumed.status == 0, resumed.stderr
    assert losses(tmp_path / "resumed") == losses(tmp_path / "whole")
    os.chdir(tmp_path)
    assert predict.predict(["run=half", "input=hello"]) == predict.predict(["run=half", "input=hello"])
    assert len(predict.predict(["run=half", "input=hello"])) == 5


# --------------------------------------------------------------------------- the installed command
@pytest.mark.e2e
def test_the_installed_rnnexp_command_finds_my_rnns_in_the_working_directory(workdir):
    command = shutil.which("rnnexp", path=str(Path(sys.executable).parent))
    assert command, "the rnnexp console script is installed beside this Python"
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "PYTHONPATH")}
    done = subprocess.run(
        [command, *ELMAN, "model.recurrence.alpha=0.5", "epochs=2", "device=cpu", "hydra.run.dir=run"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((workdir / "run" / METRICS_NAME).read_text())["status"] == "ok"
