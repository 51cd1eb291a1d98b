"""A directory rnnexp printed, pasted back unquoted, is read as one path by every key that takes one."""

import json
import os
from pathlib import Path

import pytest

from rnnexp.config.command_words import path_words, unquoted
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.run_dirs import resumed_run_place
from rnnexp.tools.predict import predict


def printed_run_dir(stdout: str) -> str:
    """The directory of a run's last line: ``... Run directory: outputs/runs/<date>/<time>_<overrides>``."""
    return stdout.splitlines()[-1].rpartition("Run directory: ")[2]


def epochs_trained(stdout: str) -> list[str]:
    return [line.split("Epoch [")[1].split("]")[0] for line in stdout.splitlines() if "Epoch [" in line]


def test_a_printed_run_directory_resumes_unquoted_and_keeps_its_overrides(run_main, tmp_path):
    first = run_main(["model=rnn", "epochs=3", "device=cpu"])
    assert first.status == 0, first.stderr
    run_dir = printed_run_dir(first.stdout)
    assert run_dir.endswith("_device=cpu,epochs=3,model=rnn")  # the = and , Hydra's grammar reads as its own

    resumed = run_main(["model=rnn", "epochs=5", f"resume={run_dir}"])
    assert resumed.status == 0, resumed.stderr
    assert epochs_trained(resumed.stdout) == ["4/5", "5/5"]
    # Named by the run it continues, with the new epochs: not by "resume=...".
    again = printed_run_dir(resumed.stdout)
    assert again.startswith(f"outputs/runs/{Path(run_dir).parent.name}/"), again
    assert again.endswith("_device=cpu,epochs=5,model=rnn"), again

    # Resumed once more by run=last: the overrides of the first run are kept still.
    last = run_main(["resume=last", "epochs=6"])
    assert last.status == 0, last.stderr
    assert epochs_trained(last.stdout) == ["6/6"]
    assert printed_run_dir(last.stdout).endswith("_device=cpu,epochs=6,model=rnn")

    # The quoted forms keep working: Hydra's quotes, as a shell passes them on.
    quoted = run_main(["epochs=4", f"resume='{run_dir}'"])
    assert quoted.status == 0, quoted.stderr
    assert epochs_trained(quoted.stdout) == ["4/4"]
    assert predict([f"run={tmp_path / run_dir}", "input=hello"]) == predict([f"run='{tmp_path / run_dir}'", "input=hello"])


def test_resume_dot_inside_a_run_directory_continues_that_run_beside_it(run_main, tmp_path):
    first = run_main(["epochs=2", "device=cpu"])
    assert first.status == 0, first.stderr
    run_dir = tmp_path / printed_run_dir(first.stdout)
    resumed = run_main(["resume=.", "epochs=3"], cwd=run_dir)
    assert resumed.status == 0, resumed.stderr
    assert epochs_trained(resumed.stdout) == ["3/3"]
    assert not (run_dir / "outputs").exists()  # not a new tree inside the run
    (new,) = [p for p in run_dir.parent.iterdir() if p != run_dir]
    assert new.name.endswith("_device=cpu,epochs=3")
    assert RunResult.read(new / METRICS_NAME).status is Status.OK


def test_a_printed_sweep_directory_continues_unquoted(run_main, tmp_path):
    sweep = tmp_path / "outputs" / "multirun" / "2026-12-05" / "07-49-50.987_model=rnn,lr=0.1"
    done = run_main(["-m", "model=cell", "epochs=1", "device=cpu", f"hydra.sweep.dir={sweep}"])
    assert done.status == 0, done.stderr
    (job,) = [p for p in sweep.iterdir() if p.is_dir() and p.name[0].isdigit()]
    os.remove(job / METRICS_NAME)  # as if the job were cut short before it ended
    again = run_main([f"continue={sweep}"])
    assert again.status == 0, again.stderr
    assert json.loads((job / METRICS_NAME).read_text())["status"] == "ok"


@pytest.mark.parametrize(
    "word, expected",
    [
        ("resume=outputs/runs/d/07-49-50.987_epochs=6,model=rnn", "resume='outputs/runs/d/07-49-50.987_epochs=6,model=rnn'"),
        ("task.path=data/a,b.txt", "task.path='data/a,b.txt'"),  # exists: one file, not a sweep of two
        ("task.path=a.txt,b.txt", "task.path=a.txt,b.txt"),  # neither exists: a sweep over two files
        ("task.test_path=data/a,b.txt", "task.test_path='data/a,b.txt'"),
        ("resume='quoted=already'", "resume='quoted=already'"),
        ("lr=0.1", "lr=0.1"),
        ("hydra.run.dir=runs/x=1", "hydra.run.dir='runs/x=1'"),
    ],
)
def test_path_values_are_quoted_for_hydra_only_where_they_are_paths(tmp_path, monkeypatch, word, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a,b.txt").write_text("x")
    assert path_words([word]) == [expected]


def test_unquoted_reads_hydras_quotes():
    assert unquoted("'a=b,c'") == "a=b,c"
    assert unquoted('"a=b"') == "a=b"
    assert unquoted("plain") == "plain"
    assert unquoted("'it\\'s'") == "it's"


def test_a_resumed_run_is_placed_beside_the_run_it_continues(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "elsewhere" / "outputs" / "runs" / "2026-12-01" / "10-00-00.000_model=rnn,task.path=a,b.txt"
    parent, label = resumed_run_place(str(run), ["epochs=9", "resume=x"], "2026-12-05")
    assert parent == os.path.join("elsewhere", "outputs", "runs", "2026-12-05")
    assert label == "epochs=9,model=rnn,task.path=a,b.txt"
    # Outside a dated folder (hydra.run.dir=first): in outputs/runs, as any run.
    parent, label = resumed_run_place(str(tmp_path / "first"), ["epochs=9"], "2026-12-05")
    assert (parent, label) == (os.path.join("outputs", "runs", "2026-12-05"), "epochs=9")
