"""Where a run computes: threads, device, the CUDA-graph switch, and the benchmark harness.

The thread and device choices depend on a model's size, so each rule is
checked on both sides of its threshold. Where only the choice is under test,
the number of threads and the presence of CUDA are stood in for, so that
every check can fail on any machine. The benchmark's sections are run in this
process where they can be, and through ``python scripts/bench.py`` once.
Timings are never asserted.
"""

import contextlib
import importlib.util
import io
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest
import torch
from torch import nn

from conftest import overlapped_result
from rnnexp.config.checks import validate
from rnnexp.data.loading import load_task
from rnnexp.data.sequences import Batch
from rnnexp.errors import UserError
from rnnexp.models.tagger import build_model
from rnnexp.training import threads
from rnnexp.training.cuda_graph import capture_recurrence
from rnnexp.training.device import ACCELERATOR_WORK, resolve_device
from rnnexp.training import placement, thread_memory
from rnnexp.training.threads import choose_threads, step_work
from rnnexp.training.trainer import train

ROOT = Path(__file__).resolve().parent.parent
NO_CUDA = not torch.cuda.is_available()
CPU = torch.device("cpu")
# The text task as the threads threshold was measured on: nn.RNN, a linear head, one-hot input.
TEXT_RNN = ["task=text", "model=rnn", "model.head=true", "batch_size=32"]


def load_script(name: str):
    """A module of scripts/ (a folder of scripts, not a package), loaded from its path."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_and_rows(cfg) -> tuple[nn.Module, int]:
    """The run's model and its sequences per step, as a run computes them."""
    data = load_task(cfg.task)
    return build_model(cfg, len(data.vocab)), min(cfg.batch_size, len(data.train))


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """Choosing threads sets them for the whole process: put the count back after each test."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def all_threads(monkeypatch) -> int:
    """A count of "all threads" that differs from 1 on any machine, a one-core one included."""
    monkeypatch.setattr(threads, "AVAILABLE", 7)
    return 7


def pretend_cuda(monkeypatch, present: bool = True, mps: bool = False) -> None:
    """Let resolve_device see one CUDA device (or none) and MPS (or not), whatever this machine has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: int(present))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


# --------------------------------------------------------------------------- threads
def first_batch(cfg) -> Batch:
    """The training batch threads=auto times steps on, as a run takes it."""
    return placement.first_batch(cfg, load_task(cfg.task))


@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_auto_gives_the_notebook_models_one_thread_without_timing(make_cfg, all_threads, model, monkeypatch):
    monkeypatch.setattr(threads, "seconds_per_step", lambda *args: pytest.fail("a step this small is not timed"))
    cfg = make_cfg(f"model={model}")
    model_, _ = model_and_rows(cfg)
    choice = choose_threads(cfg.threads, model_, first_batch(cfg), CPU)
    assert choice.count == 1 and "too few to split over threads" in choice.why


@pytest.mark.parametrize("timed, expected", [
    ({1: 10.0, 2: 9.5}, 1),  # within the margin: one thread, the safer choice on busy cores
    ({1: 10.0, 2: 8.0}, 2),
    ({1: 10.0, 2: 8.0, 4: 7.5}, 2),  # 4 is not 10% faster than 2
    ({1: 10.0, 2: 8.0, 4: 6.0, 6: 5.9}, 4),
    ({1: 10.0, 2: 12.0, 4: 8.0}, 4),  # a slower middle count does not stop the search
])
def test_more_threads_are_taken_only_when_they_beat_fewer_by_the_margin(timed, expected):
    assert threads.fastest(timed) == expected


def test_the_counts_timed_are_powers_of_two_and_all_of_torchs_threads():
    assert threads.candidate_counts(1) == [1]
    assert threads.candidate_counts(2) == [1, 2]
    assert threads.candidate_counts(6) == [1, 2, 4, 6]
    assert threads.candidate_counts(8) == [1, 2, 4, 8]


def test_auto_times_a_larger_model_once_and_keeps_its_choice(make_cfg, monkeypatch, tmp_path):
    """Timed on this machine the first time, read back the second: the same command, the same count."""
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(threads, "AVAILABLE", 2)
    cfg = make_cfg(*TEXT_RNN, "model.hidden_size=64")
    model, _ = model_and_rows(cfg)
    batch = first_batch(cfg)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    torch.set_num_threads(1)

    first = choose_threads("auto", model, batch, CPU)
    assert first.count in (1, 2) and "timed now on" in first.why and "kept in" in first.why, first.why
    assert torch.get_num_threads() == 1  # put back: the caller applies the choice
    assert torch.equal(torch.get_rng_state(), rng)  # the run draws as if nothing had been timed
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items()) and model.training
    kept = json.loads((tmp_path / "threads.json").read_text())
    [machine] = kept
    assert machine.startswith(thread_memory.cpu_model()) and "2 threads" in machine
    [entry] = kept[machine].values()
    assert entry["threads"] == first.count and set(entry["ms_per_step"]) == {"1", "2"}

    monkeypatch.setattr(threads, "seconds_per_step", lambda *args: pytest.fail("timed again"))
    again = choose_threads("auto", model, batch, CPU)
    assert again.count == first.count and "as timed on" in again.why


def test_a_choice_that_cannot_be_kept_still_runs_and_says_so(make_cfg, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path / "a-file"))  # no folder can be made there
    monkeypatch.setattr(threads, "AVAILABLE", 2)
    cfg = make_cfg(*TEXT_RNN, "model.hidden_size=64")
    choice = choose_threads("auto", model_and_rows(cfg)[0], first_batch(cfg), CPU)
    assert choice.count in (1, 2) and "not kept" in choice.why and "the next run times it again" in choice.why


def test_a_run_records_its_thread_choice_and_why_in_its_log_only(run_main, tmp_path):
    done = run_main(["threads=1", "model=rnn", "epochs=1", "device=cpu", "hydra.run.dir=run"])
    assert done.status == 0 and "Threads" not in done.stdout + done.stderr
    assert "Threads: 1 (threads=1)" in (tmp_path / "run" / "rnnexp.log").read_text()


def test_a_number_is_taken_as_given(make_cfg, all_threads):
    cfg = make_cfg()
    model, _ = model_and_rows(cfg)
    assert choose_threads(1, model, first_batch(cfg), CPU).count == 1
    assert choose_threads(threads.machine_cores(), model, first_batch(cfg), CPU).count == threads.machine_cores()


def test_more_threads_than_the_machine_gives_are_refused_in_one_line(run_main, tmp_path):
    cores = threads.machine_cores()
    done = run_main([f"threads={cores + 1}", "device=cpu"])
    assert done.status == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"rnnexp: error: threads={cores + 1}: more than the {cores} core(s) this machine gives the run; "
        f"allowed values are auto or an integer from 1 to {cores}"
    ], done.stderr
    assert not list(tmp_path.glob("outputs/runs/*/*"))  # refused before training: no run directory left


def test_train_sets_the_thread_count(make_cfg, tmp_path):
    torch.set_num_threads(2)
    train(make_cfg("threads=1", "epochs=1"), tmp_path)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("value, shown", [("0", "0"), ("-2", "-2"), ("two", "two"), ("1.5", "1.5"), ("true", "True")])
def test_bad_thread_counts_are_refused(make_cfg, value, shown):
    with pytest.raises(UserError) as refused:
        validate(make_cfg(f"threads={value}"))
    assert str(refused.value) == (
        f"threads={shown}: allowed values are auto or an integer >= 1 (torch's intra-op threads), for example threads=1"
    )


# --------------------------------------------------------------------------- device
def test_auto_device_leaves_the_cpu_at_accelerator_work(monkeypatch):
    pretend_cuda(monkeypatch)
    assert resolve_device("auto", ACCELERATOR_WORK - 1) == torch.device("cpu")
    assert resolve_device("auto", ACCELERATOR_WORK) == torch.device("cuda")
    assert resolve_device("auto") == torch.device("cuda")  # size unknown: the accelerator


@pytest.mark.parametrize("overrides, expected", [
    (["model=cell"], "cpu"),
    (["model=rnn"], "cpu"),
    (["model=embedding"], "cpu"),
    ([*TEXT_RNN, "model.hidden_size=32"], "cuda"),
])
def test_auto_device_for_real_models(make_cfg, monkeypatch, overrides, expected):
    """Every notebook model stays on the CPU; the text task at hidden 32, batch 32 is worth a GPU."""
    model, rows = model_and_rows(make_cfg(*overrides))
    pretend_cuda(monkeypatch)
    assert resolve_device("auto", step_work(model, rows)) == torch.device(expected)


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_device_prefers_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    pretend_cuda(monkeypatch, present=cuda, mps=mps)
    assert resolve_device("auto", ACCELERATOR_WORK) == torch.device(expected)


@pytest.mark.parametrize("spec, message", [
    ("cuda", "device=cuda: CUDA is not available on this machine; use device=cpu or device=auto"),
    ("cuda:0", "device=cuda:0: CUDA is not available on this machine; use device=cpu or device=auto"),
    ("mps", "device=mps: Apple's MPS backend is not available on this machine; use device=cpu or device=auto"),
])
def test_an_absent_device_is_refused(monkeypatch, spec, message):
    pretend_cuda(monkeypatch, present=False, mps=False)
    with pytest.raises(UserError) as refused:
        resolve_device(spec)
    assert str(refused.value) == message


def test_a_cuda_index_past_the_last_device_is_refused(monkeypatch):
    pretend_cuda(monkeypatch)  # one device: cuda:0
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(UserError) as refused:
        resolve_device("cuda:1")
    assert str(refused.value) == "device=cuda:1: this machine has 1 CUDA device(s), cuda:0 to cuda:0"


@pytest.mark.skipif(NO_CUDA, reason="needs a CUDA device")
def test_auto_device_on_a_real_gpu():
    assert resolve_device("auto", ACCELERATOR_WORK) == torch.device("cuda")
    assert resolve_device("auto", ACCELERATOR_WORK - 1) == torch.device("cpu")
    with pytest.raises(UserError, match=r"^device=cuda:\d+: this machine has \d+ CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


# --------------------------------------------------------------------------- CUDA graphs
def test_cuda_graph_is_only_for_the_cell_model(make_cfg):
    # The class refuses it (its check_config) as the model is built, before any weight is drawn.
    with pytest.raises(UserError, match=r"^model.cuda_graph=true: only model=cell"):
        build_model(make_cfg("model=rnn", "model.cuda_graph=true"), 4)


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_cuda_graph_is_refused_off_cuda(make_cfg, tmp_path, device):
    """device=auto keeps the notebook's cell model on the CPU, so it is refused there too, GPU or not."""
    cfg = make_cfg("model=cell", "model.cuda_graph=true", f"device={device}")
    with pytest.raises(UserError) as refused:
        train(cfg, tmp_path)
    absent = "; CUDA is not available on this machine" if NO_CUDA else ""
    assert str(refused.value) == (
        f"model.cuda_graph=true: CUDA graphs need device=cuda, and this run is on cpu{absent}; set model.cuda_graph=false"
    )


def test_captured_cell_replays_per_shape_in_training_and_runs_eagerly_otherwise(make_cfg):
    """The routing around torch.cuda.make_graphed_callables, with a stand-in that records its calls."""
    model, _ = model_and_rows(make_cfg("model=cell"))
    ids = torch.tensor([[1, 0, 2, 2, 3]])
    expected, _ = model(ids)
    captured = []

    def make_graphed(module, sample_args):
        captured.append(tuple(sample_args[0].shape))
        return module  # eager stand-in: same function, no graph

    capture_recurrence(model, make_graphed)
    logits, _ = model(ids)  # training mode: captured for shape (1, 5, 4)
    model(ids)  # same shape: replayed, not captured again
    model(torch.cat([ids, ids]))  # a new batch size: a second graph
    model.eval()
    model(ids)  # evaluation: the ordinary loop
    assert captured == [(1, 5, 4), (2, 5, 4)]
    torch.testing.assert_close(logits, expected)


@pytest.mark.skipif(NO_CUDA, reason="needs a CUDA device")
def test_cuda_graph_training_matches_the_eager_loop(make_cfg, tmp_path):
    losses = {
        graph: train(make_cfg("model=cell", "device=cuda", "epochs=5", f"model.cuda_graph={graph}"), tmp_path / graph).losses
        for graph in ("false", "true")
    }
    assert losses["true"] == pytest.approx(losses["false"], rel=1e-5)


# --------------------------------------------------------------------------- benchmark harness
@pytest.fixture(scope="module")
def bench():
    return load_script("bench")


def test_the_start_up_baseline_computes_rnnexps_losses_to_the_bit(make_cfg, tmp_path):
    """scripts/plain_embedding.py at its defaults (15 epochs, seed 0, lr 0.1) against ``rnnexp model=embedding``."""
    baselines = load_script("baselines")  # torch only: it imports nothing else from scripts/
    plain = [loss.item() for _, loss in baselines.embedding_example(epochs=15, seed=0, lr=0.1)]
    assert train(make_cfg("model=embedding"), tmp_path).losses == plain


@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_the_sweep_baseline_trains_on_the_threads_rnnexps_jobs_get(make_cfg, model, monkeypatch, capsys):
    """scripts/plain_sweep.py trains on one thread, as threads=auto gives each job of the benchmark's sweep."""
    cfg = make_cfg(f"model={model}")
    assert choose_threads(cfg.threads, model_and_rows(cfg)[0], first_batch(cfg), CPU).count == 1
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    monkeypatch.setattr(sys, "argv", ["plain_sweep.py", "--quick"])
    torch.set_num_threads(2)
    load_script("plain_sweep").main()
    assert torch.get_num_threads() == 1 and len(capsys.readouterr().out.splitlines()) == 2


def test_the_slurm_sections_cpu_count_takes_the_work_below_a_slurmstepd_and_nothing_else(tmp_path):
    """A shell named slurmstepd runs a busy child, as slurmstepd runs a task; a busy process beside it is another's load."""
    slurm_work = load_script("slurm_work")
    stepd = tmp_path / "slurmstepd"
    shutil.copy("/bin/sh", stepd)
    busy = [sys.executable, "-c", "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass"]
    work = slurm_work.SlurmWork(period=0.05).start()
    # The shell's child: "exec" would replace the shell itself and the task would not be below it.
    task = subprocess.Popen([str(stepd), "-c", " ".join(busy[:2]) + ' "$0"; true', busy[2]])
    other = subprocess.Popen(busy)
    task.wait(), other.wait()
    counted = work.seconds()
    assert 0.45 <= counted <= 1.0, counted  # the task's 0.6 s less its last read's fraction, and never the other's
    # A busy process outside the benchmark's tree (a shell's orphan, as another user's job) is another's load.
    work.mark()
    subprocess.run(["/bin/sh", "-c", " ".join(busy[:2]) + ' "$0" & true', busy[2]], check=True)
    time.sleep(0.7)
    assert work.others_load() >= 0.3, work.others_load()


@pytest.mark.e2e
def test_run_child_reports_each_childs_own_peak_in_mib(bench, tmp_path):
    """From a parent as small as bench.py's when its children run (see run_child): a 256 MiB child, then an empty one."""
    probe = (
        f"import sys; sys.path.insert(0, {str(ROOT / 'scripts')!r}); from bench import run_child; "
        "print(run_child([sys.executable, '-c', 'data = bytes(range(256)) * (1 << 20)'], '.')[1], "
        "run_child([sys.executable, '-c', 'pass'], '.')[1])"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    large, small = map(float, done.stdout.split())
    assert 256 <= large < 256 + 64
    assert small < 64, "the empty child's own peak, not the largest of all children"
    with pytest.raises(SystemExit, match=r"failed \(1\):\nno luck$"):
        bench.run_child([sys.executable, "-c", "import sys; sys.exit('no luck')"], tmp_path)


def test_rounds_alternate_the_sides(bench):
    order = []
    bench.alternate(3, lambda: order.append("A") or {}, lambda: order.append("B") or {})
    assert "".join(order) == "ABBAAB"
    order.clear()
    bench.alternate(2, *(lambda side=side: order.append(side) or {} for side in "ABC"))
    assert "".join(order) == "ABCCBA"


def verdicts(table: str) -> dict[str, str]:
    """Each row's verdict cell, by its measure."""
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ") and not line.startswith("| measure")]
    return {cells[1].strip(): cells[6].strip() for cells in rows}


def children_in_process(monkeypatch, run_main, started: list, lines: Optional[list] = None):
    """bench.run_child's stand-in: rnnexp through run_main and a baseline script's main(), in this process.

    Each command's arguments go to ``started`` and the lines a script printed
    to ``lines``; the times and memory are set: rnnexp 2.0 s and 320 MiB, the
    baseline 1.5 s and 300 MiB.
    """

    def run_here(command: list[str], cwd: Path) -> tuple[float, float]:
        started.append(command[1:])
        if command[1:3] == ["-m", "rnnexp"]:
            done = run_main(command[3:], cwd)
            assert done.status == 0, done.stderr
            return 2.0, 320.0
        monkeypatch.setattr(sys, "argv", command[1:])
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            load_script(Path(command[1]).stem).main()
        if lines is not None:
            lines.append(len(printed.getvalue().splitlines()))
        return 1.5, 300.0

    return run_here


def test_quick_runs_every_command_says_it_is_a_smoke_run_and_gives_no_verdicts(bench, monkeypatch, tmp_path, run_main, capsys):
    """``bench.py --quick`` for the two sections that start processes, in-process, with set times, memory and load."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))  # where a script run as a file finds its sibling modules
    started, lines = [], []
    run_here = children_in_process(monkeypatch, run_main, started, lines)
    monkeypatch.setattr(bench, "run_child", run_here)
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.25, 0.5, 0.75))
    out = tmp_path / "bench.json"
    bench.main(["--quick", "--only", "startup", "--only", "sweep", "--json", str(out)])
    scripts = ROOT / "scripts"
    assert started == [
        ["-m", "rnnexp", "model=embedding", "epochs=3"], [str(scripts / "plain_embedding.py"), "--epochs", "3"],
        ["-m", "rnnexp", "-m", "model=cell,rnn", "lr=0.1", "optimizer=adam"], [str(scripts / "plain_sweep.py"), "--quick"],
    ]
    assert lines == [3, 2]  # a line per epoch of plain_embedding.py, a line per job of plain_sweep.py

    printed = capsys.readouterr()
    table = printed.out.strip().splitlines()
    assert table[0] == table[-1] == bench.SMOKE
    assert printed.err.startswith(bench.SMOKE)
    assert verdicts(printed.out) == {
        "start-to-finish wall, s": "",
        "start-to-finish peak memory, MiB": "",
        "sweep of 2 jobs, s": "",
        "sweep overhead per job, ms": "",
    }  # and no row of the GPU section, which was not asked for
    assert "| sweep overhead per job, ms | 250 (250-250) | | | <= 150 ms | |" in printed.out  # (2.0 - 1.5) s / 2 jobs

    report = json.loads(out.read_text())
    assert report["quick"] is True and report["repeat"] == 1
    assert {"date", "cpu", "cores", "torch", "torch_build", "python", "gpu"} <= set(report["machine"])
    assert {"git", "cuda", "debug"} <= set(report["machine"]["torch_build"])
    assert report["machine"]["date"] in table[2]  # the header names the date and the machine
    assert report["machine"]["cpu"] in table[2]
    for reading in [report["load_start"], report["load_end"]] + [
        report[name]["load"][edge] for name in ("startup", "sweep") for edge in ("start", "end")
    ]:
        assert reading["load_average"] == [0.25, 0.5, 0.75]
        assert reading["others"] == pytest.approx(max(0.0, 0.25 - reading["harness_share"]))
    assert report["sweep"]["pairs"] == 1 and report["sweep"]["jobs"] == 2


def fixed_report(bench, others: tuple[float, float], quick: bool = False) -> dict:
    """A report of the start-up and sweep sections with set figures, measured at the given load of other processes."""
    def side(value: float) -> dict:
        return {"median": value, "min": value, "max": value, "n": 5}

    def reading(load: float) -> dict:
        return {"load_average": [load + 0.4, 1.0, 1.0], "harness_share": 0.4, "others": load}

    load = {"load": {"start": reading(others[0]), "end": reading(others[1])}}
    return {
        "machine": {**bench.machine(), "gpu": "a GPU"}, "repeat": 5, "quick": quick,
        "startup": {
            "wall": {"rnnexp": side(2.0), "plain": side(1.5), "ratio": 2.0 / 1.5},
            "peak_memory": {"rnnexp": side(320.0), "plain": side(300.0), "ratio": 320.0 / 300.0}, **load,
        },
        "sweep": {
            "jobs": 27, "wall": {"rnnexp": side(20.0), "plain": side(15.0), "ratio": 20.0 / 15.0},
            "overhead_per_job_ms": side(30.0), **load,
        },
    }


@pytest.mark.parametrize("others, expected", [
    ((0.1, 0.5), None),  # at the limit: still comparable
    ((0.0, 0.51), "not comparable (load 0.00-0.51)"),
    ((0.73, 0.2), "not comparable (load 0.73-0.20)"),
])
def test_verdicts_hold_only_below_the_load_limit(bench, others, expected):
    table = bench.table(fixed_report(bench, others))
    assert verdicts(table) == {
        "start-to-finish wall, s": expected or "missed",  # 1.33x against <= 1.10x
        "start-to-finish peak memory, MiB": expected or "met",  # 1.07x against <= 1.10x
        "sweep of 27 jobs, s": "",
        "sweep overhead per job, ms": expected or "met",  # 30 ms against <= 150 ms
    }
    load = f"{others[0]:.2f}-{others[1]:.2f}"
    assert f"| sweep overhead per job, ms | 30 (30-30) | | | <= 150 ms | {expected or 'met'} | {load} |" in table
    assert "median (min-max) of 5 alternated pairs per section" in table
    assert bench.SMOKE not in table
    assert bench.SMOKE in bench.table(fixed_report(bench, others, quick=True))


def test_a_throughput_whose_losses_differ_gets_no_verdict(bench):
    """Timings of two loops that did different work (another lr schedule, say) say nothing of the framework's cost."""
    def model(same_losses: bool) -> dict:
        chars = {"rnnexp": {"median": 99.0, "min": 99.0, "max": 99.0, "n": 5}, "plain": {"median": 100.0, "min": 100.0, "max": 100.0, "n": 5}}
        return {"threads": 1, "epochs": 2, "chars_per_epoch": 1000, "chars_per_s": {**chars, "ratio": 0.99}, "same_losses": same_losses}

    report = fixed_report(bench, (0.1, 0.1))
    report["throughput"] = {"models": {"rnn": model(True), "cell": model(False)}, "load": report["sweep"]["load"]}
    found = verdicts(bench.table(report))
    assert found["throughput model=rnn (1 thread), chars/s"] == "met"
    assert found["throughput model=cell (1 thread), chars/s"] == "not comparable (the losses differ: not the same work)"


def test_the_gpu_section_times_each_model_against_a_loop_that_computes_its_losses(bench, monkeypatch, tmp_path):
    """The GPU section's work on the CPU, at a small size: every hand-written model gives rnnexp's losses to the bit."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))  # bench.py's own folder, where it finds baselines.py
    import baselines

    text = tmp_path / "text.txt"  # the shipped text's first 4000 characters: both sides read it
    text.write_text(baselines.CORPUS.read_text("utf-8")[:4000], "utf-8")
    monkeypatch.setattr(baselines, "CORPUS", text)
    small = {"task.window": "16", "batch_size": "32", "model.hidden_size": "16", "task.path": str(text)}
    sized = [arg for arg in bench.GPU_ARGS if arg.partition("=")[0] not in small]
    monkeypatch.setattr(bench, "GPU_ARGS", sized + [f"{key}={value}" for key, value in small.items()])
    section = bench.bench_gpu(1, tmp_path, quick=True, device="cpu")
    models = section["models"]
    assert {name: m["same_losses"] for name, m in models.items()} == {"rnn": True, "lstm": True, "gru": True, "cell": True}
    assert all(m["epochs"] == 1 and m["chars_per_s"]["rnnexp"]["median"] > 0 for m in models.values())

    # The CUDA-graph row, as a GPU gives it: measured against rnnexp's own cell loop.
    models["cell_graph"] = {"epochs": 1, "chars_per_epoch": 1, "chars_per_s": {"median": 4.0 * models["cell"]["chars_per_s"]["rnnexp"]["median"], "min": 0, "max": 0, "n": 1}}
    report = fixed_report(bench, (0.1, 0.1))
    report["gpu"] = {**section, "load": report["sweep"]["load"]}
    table = bench.table(report)
    found = verdicts(table)
    assert {name: found[f"GPU throughput model={name}, chars/s"] for name in ("rnn", "lstm", "gru", "cell")} == {
        name: "met" if m["chars_per_s"]["ratio"] >= 0.95 else "missed" for name, m in models.items() if name != "cell_graph"
    }
    assert "| 4.00x model=cell |" in table
    assert "throughput on a GPU" not in table


def test_without_a_gpu_the_gpu_section_says_so(bench, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert bench.bench_gpu(1, tmp_path, quick=False) == {"skipped": "no GPU on this machine"}
    report = fixed_report(bench, (0.1, 0.1))
    report["machine"]["gpu"] = None
    report["gpu"] = {"skipped": "no GPU on this machine"}
    assert verdicts(bench.table(report))["throughput on a GPU"] == ""
    assert "| throughput on a GPU | not measured: no GPU on this machine |" in bench.table(report)


def test_the_search_section_counts_epochs_and_pruned_trials_and_judges_them_under_load_too(bench, tmp_path):
    """What a search cost, read from its jobs' metrics.json; the epoch and loss targets keep their verdicts under load."""
    for num, (status, epochs, loss) in enumerate([("ok", 20, 0.5), ("pruned", 3, 2.1), ("ok", 20, 0.25), ("diverged", 4, None)]):
        (tmp_path / f"{num}_lr={num}").mkdir()
        record = {"status": status, "epochs": epochs, "final_loss": loss}
        (tmp_path / f"{num}_lr={num}" / "metrics.json").write_text(json.dumps(record))
    cost = bench.search_cost(tmp_path)
    assert cost == {"trials": 4, "epochs": 47, "pruned": 1, "best_loss": 0.25}  # a pruned trial's loss is no final one

    def side(value: float) -> dict:
        return {"median": value, "min": value, "max": value, "n": 5}

    def measured(a: float, b: float) -> dict:
        return {"rnnexp": side(a), "plain": side(b), "ratio": a / b}

    launcher = {"wall": measured(15.0, 22.0), "epochs": measured(276, 480), "best_loss": measured(2e-4, 4e-4),
                "pruned_trials": side(11)}
    busy = {"start": {"load_average": [1.4, 1, 1], "harness_share": 0.4, "others": 1.0}}
    report = {"launchers": {"basic": launcher}, "targets": bench.SEARCH_TARGETS, "load": {**busy, "end": busy["start"]}}
    lines = bench.search_lines(report, quick=False)
    assert lines[0].startswith("| search basic: epochs trained in all (11 trials pruned) | 276 (276-276) | 480 (480-480) | 0.57x |")
    assert [line.split("|")[6].strip() for line in lines] == ["met", "met", ""]  # under load: epochs and losses still judged


def test_the_recurrences_section_gives_each_min_models_speed_up_over_its_classic_layer(bench, tmp_path):
    """The section at its --quick sizes, its GPU rows' code run on the CPU: every row, on one thread, put back after."""
    torch.set_num_threads(2)
    section = bench.bench_recurrences(1, tmp_path, quick=True, gpu="cpu")
    assert torch.get_num_threads() == 2
    expected = [
        (length, f"{family} {way}", classic)
        for length in (8, 16) for family, classic in (("mingru", "nn.GRU"), ("minlstm", "nn.LSTM")) for way in ("scan", "steps")
    ]
    for where in ("cpu", "gpu"):
        assert section[where]["threads"] == 1
        rows = section[where]["rows"]
        assert [(r["T"], r["model"], r["classic"]) for r in rows] == expected
        for r in rows:
            ms = r["ms_per_step"]
            assert ms["min"]["median"] > 0 and ms["classic"]["median"] > 0 and r["steps"] == 2
            assert r["speedup"] == pytest.approx(ms["classic"]["median"] / ms["min"]["median"])  # > 1: the min model is faster
        # A family's scan and steps rows share one timed classic side.
        assert rows[0]["ms_per_step"]["classic"] == rows[1]["ms_per_step"]["classic"]

    for others, quick, expected_verdict in [((0.1, 0.1), False, "measured"), ((0.73, 0.2), False, "not comparable (load 0.73-0.20)"), ((0.1, 0.1), True, "")]:
        report = fixed_report(bench, others, quick=quick)
        report["recurrences"] = {**section, "load": report["sweep"]["load"]}
        table = bench.table(report)
        found = {measure: v for measure, v in verdicts(table).items() if measure.startswith("recurrences")}
        assert len(found) == 16 and set(found.values()) == {expected_verdict}
        assert "| recurrences CPU (1 thread) T=16: minlstm steps vs nn.LSTM, ms per training step |" in table
        assert "| recurrences GPU (cpu, 1 thread) T=16: minlstm steps vs nn.LSTM, ms per training step |" in table
        assert bench.RECURRENCE_NOTE in table


def test_without_a_gpu_the_recurrences_section_skips_its_gpu_rows(bench, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(bench, "recurrence_rows", lambda repeat, quick, lengths, device: {"device": str(device), "threads": 1, "rows": []})
    section = bench.bench_recurrences(1, tmp_path, quick=False)
    assert section["gpu"] == {"skipped": "no GPU on this machine"} and section["lengths"] == [64, 512]
    report = fixed_report(bench, (0.1, 0.1))
    report["recurrences"] = {**section, "load": report["sweep"]["load"]}
    assert "| recurrences on a GPU | not measured: no GPU on this machine | | | | | |" in bench.table(report)


def test_the_harness_takes_its_own_share_out_of_the_load_average(bench, monkeypatch):
    """One busy core adds 1 - e^-1 to the 1-minute load average in a minute, and that much decays by e^-1 in the next."""
    now, used = [0.0], [0.0]
    share = bench.HarnessShare(clock=lambda: now[0], cpu=lambda: used[0])
    now[0], used[0] = 60.0, 60.0  # a minute of one busy core
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.9, 0.5, 0.2))
    busy = bench.read_load(share)
    assert busy["harness_share"] == pytest.approx(1 - math.exp(-1))
    assert busy["others"] == pytest.approx(0.9 - (1 - math.exp(-1)))  # 0.27: other processes, below the limit
    now[0] = 120.0  # a minute idle
    assert share.update() == pytest.approx((1 - math.exp(-1)) * math.exp(-1))
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.5, 0.5, 0.5))
    assert bench.read_load(share)["others"] == pytest.approx(0.5 - (1 - math.exp(-1)) * math.exp(-1))
    now[0], used[0] = 180.0, 120.0  # another busy minute: the harness's own work alone, never "others" below 0
    assert bench.read_load(share)["others"] == 0.0


@pytest.mark.e2e
@pytest.mark.slow
def quick_bench(tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--only", "throughput", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    return done, out


@pytest.mark.overlapped(work=quick_bench)
def test_bench_quick_throughput_runs_as_a_script_and_writes_its_json():
    """``python scripts/bench.py --quick``, its in-process section only (the others start four interpreters)."""
    done, out = overlapped_result(quick_bench)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert {"machine", "repeat", "quick", "throughput", "load_start", "load_end"} <= set(report)
    assert {"date", "cpu", "cores", "torch", "torch_build", "gpu"} <= set(report["machine"])
    assert report["repeat"] == 1 and report["quick"] is True
    assert {"load_average", "harness_share", "others"} <= set(report["throughput"]["load"]["end"])
    models = report["throughput"]["models"]
    assert set(models) == {"rnn", "cell", "rnn train_accuracy=true"}
    for m in models.values():
        assert {"ratio", "rnnexp", "plain"} <= set(m["chars_per_s"])
        assert m["epochs"] == 1 and m["chars_per_epoch"] > 0
    # The text task's default counts no training accuracy; the third run counts it.
    assert {model: m["train_accuracy"] for model, m in models.items()} == {"rnn": False, "cell": False, "rnn train_accuracy=true": True}
    # rnnexp's train() and the hand-written loop: the same last-epoch loss to the bit, accuracy counted or not.
    assert all(m["same_losses"] for m in models.values()), models
    assert "| throughput model=rnn (" in done.stdout and "| throughput model=cell (" in done.stdout
    # Counting the accuracy is not the default: its row shows the cost, with no target.
    (accuracy_row,) = [line for line in done.stdout.splitlines() if line.startswith("| throughput model=rnn train_accuracy=true (")]
    assert ">= 0.95x" not in accuracy_row
    assert set(verdicts(done.stdout).values()) == {""}  # a smoke run: no verdicts


def test_the_benchmark_text_section_runs_and_its_loop_gives_rnnexps_losses(bench, monkeypatch, tmp_path, run_main, capsys):
    """``bench.py --quick --only text`` in-process: the three sides run one epoch, rnnexp's recipe to the same losses."""
    started = []
    run_here = children_in_process(monkeypatch, run_main, started)
    monkeypatch.setattr(bench, "run_child", run_here)
    monkeypatch.setattr(bench.os, "getloadavg", lambda: (0.25, 0.5, 0.75))
    out = tmp_path / "bench.json"
    bench.main(["--quick", "--only", "text", "--json", str(out)])
    loop = str(ROOT / "scripts" / "plain_text_loop.py")
    assert [c[:3] for c in started] == [["-m", "rnnexp", "task=text"], [loop, "--epochs", "1"], [loop, "--epochs", "1"]]
    assert "--example" in started[2] and "--example" not in started[1]
    report = json.loads(out.read_text())["text"]
    assert report["same_losses"] and report["epochs"] == 1 and report["wall"]["ratio"] == pytest.approx(2.0 / 1.5)
    assert report["wall_example"]["ratio"] == pytest.approx(2.0 / 1.5)
    # The example's update is another recipe: another loss.
    assert report["val_loss"]["example"] != report["val_loss"]["rnnexp"] == report["val_loss"]["plain"]
    table = capsys.readouterr().out
    # The written-out loop trains on the count rnnexp's threads=auto took: the same losses, the framework's time.
    count = report["threads"]
    given = started[1][started[1].index("--threads") + 1]
    assert given == str(count) and 1 <= count <= threads.AVAILABLE
    on = f"{count} thread{'s' if count != 1 else ''}"
    assert f"| text: validation loss after 1 epoch, {on} |" in table and "| same losses | <= 1.64 | |" in table
    assert "| text: start-to-finish wall vs the same recipe written out, s | 2.00 (2.00-2.00) | 1.50 (1.50-1.50) | 1.33x | | |" in table
    assert (
        "| text: start-to-finish wall vs word_language_model's update (--example), s | 2.00 (2.00-2.00) | 1.50 (1.50-1.50) "
        "| 1.33x | | |" in table
    )
    # After one epoch rnnexp's validation loss is below the example's: reached at its first validation,
    # whose time the run's own events give (real seconds here, against the example's set 1.5 s).
    reach = report["reach_example"]
    assert 0 < reach["rnnexp"]["median"] < math.inf and reach["plain"]["median"] == 1.5
    assert "| text: from start to the example's final validation loss vs the example's whole run, s |" in table
