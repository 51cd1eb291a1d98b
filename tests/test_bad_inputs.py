"""Every bad input is answered with one line naming the key or value and what is
allowed, a non-zero exit status and no traceback. The README lists this table."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Files the table refers to, and one finished hello run to predict from."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "empty.txt").write_text("")
    (root / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (root / "bad.tsv").write_text("ab\tba\nabc ab\n")
    (root / "a_file").write_text("not a directory")
    done = subprocess.run([sys.executable, "-m", "rnnexp", "epochs=2", "device=cpu", "hydra.run.dir=run"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # A checkpoint whose weights belong to another model: the config says hidden 16.
    other = root / "other_model"
    other.mkdir()
    state = torch.load(root / "run" / "best.pt", weights_only=True)
    state["config"]["model"]["hidden_size"] = 16
    torch.save(state, other / "best.pt")
    # A checkpoint cut short, as by a crash while copying it.
    cut = root / "truncated"
    cut.mkdir()
    (cut / "best.pt").write_bytes((root / "run" / "best.pt").read_bytes()[:1500])
    return root


NO_CUDA = not torch.cuda.is_available()
MAIN, PREDICT = "rnnexp", "rnnexp.predict"

# (what is wrong, module, arguments, the start of the one line)
TABLE = [
    ("unknown group option", MAIN, ["model=lsmt"], "model=lsmt: no such option; choose one of cell, embedding, gru, lstm, rnn; did you mean lstm?"),
    ("misspelled key", MAIN, ["lrr=0.1"], "lrr: no such config key; did you mean lr?"),
    ("misspelled nested key", MAIN, ["model.hiden_size=8"], "model.hiden_size: no such config key; did you mean model.hidden_size?"),
    ("wrong type", MAIN, ["lr=fast"], "lr=fast: expected a number"),
    ("wrong type (integer)", MAIN, ["epochs=2.5"], "epochs=2.5: expected an integer"),
    ("out of range: lr", MAIN, ["lr=0"], "lr=0.0: must be a number > 0"),
    ("out of range: epochs", MAIN, ["epochs=0"], "epochs=0: must be an integer >= 1"),
    ("out of range: size", MAIN, ["model.hidden_size=0"], "model.hidden_size=0: must be an integer >= 1"),
    ("hidden size without a head", MAIN, ["model=rnn", "model.hidden_size=8"], "model.hidden_size=8: without a head h_t is read as the class scores"),
    ("source and target lengths differ", MAIN, ["task=inline", "task.source=abc", "task.target=ab"], "task.source='abc' has 3 characters but task.target='ab' has 2"),
    ("empty source", MAIN, ["task=inline", "task.source=''", "task.target=''"], "task.source is empty"),
    ("missing task file", MAIN, ["task=text", "task.path=nowhere.txt"], "task.path=nowhere.txt: no such file"),
    ("unreadable task file (a directory)", MAIN, ["task=text", "task.path=run"], "task.path=run: is a directory"),
    ("empty task file", MAIN, ["task=text", "task.path=empty.txt"], "task.path=empty.txt: the file is empty"),
    ("non-UTF-8 task file", MAIN, ["task=text", "task.path=latin1.txt"], "task.path=latin1.txt: not UTF-8 text (byte 3 cannot be decoded)"),
    ("malformed pairs line", MAIN, ["task=pairs", "task.path=bad.tsv"], "task.path=bad.tsv line 2: expected source<TAB>target, found 0 tabs"),
    ("device that is not a device", MAIN, ["device=gpu"], "device=gpu: allowed values are auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps"),
    ("optimizer that is not a torch optimizer", MAIN, ["optimizer._target_=os.system"], "optimizer._target_=os.system: not a subclass of torch.optim.Optimizer"),
    ("scheduler that is not a torch scheduler", MAIN, ["scheduler=step", "scheduler._target_=builtins.print"], "scheduler._target_=builtins.print: not a subclass of a torch.optim.lr_scheduler class"),
    ("output directory that cannot be written", MAIN, ["hydra.run.dir=a_file/run"], "cannot write a_file/run: Not a directory"),
    ("resume from a directory without a run", MAIN, ["resume=empty.txt"], "resume=empty.txt: no such run directory"),
    ("characters outside the vocabulary", PREDICT, ["run=run", "input=help!"], "input='help!': characters not in the run's vocabulary: '!', 'p'"),
    ("checkpoint from another model", PREDICT, ["run=other_model", "input=hello"], "checkpoint other_model/best.pt: its weights do not fit its model and vocabulary"),
    ("truncated checkpoint", PREDICT, ["run=truncated", "input=hello"], "checkpoint truncated/best.pt: truncated or corrupted"),
    ("predict without a run", PREDICT, ["input=hello"], "run: missing"),
]
if NO_CUDA:
    TABLE += [
        ("device not present: cuda", MAIN, ["device=cuda"], "device=cuda: CUDA is not available on this machine; use device=cpu or device=auto"),
        ("device not present: cuda:N", MAIN, ["device=cuda:3"], "device=cuda:3: CUDA is not available on this machine"),
    ]
if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
    TABLE.append(("device not present: mps", MAIN, ["device=mps"], "device=mps: Apple's MPS backend is not available on this machine"))


@pytest.mark.slow
@pytest.mark.parametrize("what, module, args, message", TABLE, ids=[row[0] for row in TABLE])
def test_bad_input_is_one_line_and_a_non_zero_exit(workdir, what, module, args, message):
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"{module}: error: {message}"), done.stderr
    assert "Traceback" not in done.stdout + done.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_task_file(make_cfg, tmp_path):
    from rnnexp.errors import UserError
    from rnnexp.tasks import load_task

    path = tmp_path / "secret.txt"
    path.write_text("some text " * 50)
    path.chmod(0)
    with pytest.raises(UserError, match="not readable"):
        load_task(make_cfg("task=text", f"task.path={path}").task)


def test_readme_lists_the_table():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for what, _, _, _ in TABLE:
        assert f"| {what} |" in readme, what
