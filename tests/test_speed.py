"""Threads, device choice, the CUDA-graph switch and the benchmark harness (timings are never asserted)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnexp.config import validate
from rnnexp.cuda_graph import capture_cell
from rnnexp.device import resolve_device
from rnnexp.errors import UserError
from rnnexp.models import build_model
from rnnexp.tasks import load_task
from rnnexp.threads import AVAILABLE, choose_threads, step_work

ROOT = Path(__file__).resolve().parent.parent


def model_and_rows(cfg):
    data = load_task(cfg.task)
    return build_model(cfg, len(data.vocab)), min(cfg.batch_size, len(data.train))


@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_auto_gives_the_notebook_models_one_thread(make_cfg, model):
    cfg = make_cfg(f"model={model}")
    assert cfg.threads == "auto"
    assert choose_threads(cfg.threads, *model_and_rows(cfg)) == 1


def test_auto_gives_a_large_model_every_thread(make_cfg):
    cfg = make_cfg("task=text", "model=lstm", "model.hidden_size=512", "batch_size=64")
    assert choose_threads("auto", *model_and_rows(cfg)) == AVAILABLE


def test_a_number_is_taken_as_given(make_cfg):
    cfg = make_cfg("threads=3")
    assert choose_threads(cfg.threads, *model_and_rows(cfg)) == 3


def test_train_applies_the_thread_count(make_cfg, tmp_path):
    from rnnexp.train import train

    before = torch.get_num_threads()
    try:
        train(make_cfg("threads=1", "epochs=1"), tmp_path)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "true"])
def test_bad_thread_counts_are_refused(make_cfg, value):
    with pytest.raises(UserError, match=r"^threads=\S+: allowed values are auto or an integer >= 1"):
        validate(make_cfg(f"threads={value}"))


def test_auto_device_keeps_small_models_on_the_cpu(make_cfg):
    model, rows = model_and_rows(make_cfg())
    assert resolve_device("auto", step_work(model, rows)) == torch.device("cpu")


def test_cuda_graph_is_only_for_the_cell_model(make_cfg):
    with pytest.raises(UserError, match=r"^model.cuda_graph=true: only model=cell"):
        validate(make_cfg("model=rnn", "model.cuda_graph=true"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_cuda_graph_is_refused_without_cuda(run_cli, device):
    done = run_cli(["model=cell", "model.cuda_graph=true", f"device={device}"])
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()], "exactly one line"
    assert done.stderr.startswith("rnnexp: error: model.cuda_graph=true: CUDA graphs need device=cuda")
    assert "set model.cuda_graph=false" in done.stderr


def test_captured_cell_replays_per_shape_in_training_and_runs_eagerly_otherwise(make_cfg):
    """The routing around torch.cuda.make_graphed_callables, with a stand-in that records its calls."""
    cfg = make_cfg("model=cell")
    model, _ = model_and_rows(cfg)
    ids = torch.tensor([[1, 0, 2, 2, 3]])
    expected, _ = model(ids)
    captured = []

    def make_graphed(module, sample_args):
        captured.append(tuple(sample_args[0].shape))
        return module  # eager stand-in: same function, no graph

    capture_cell(model, make_graphed)
    logits, _ = model(ids)  # training mode: captured for shape (1, 5, 4)
    model(ids)  # same shape: replayed, not captured again
    model(torch.cat([ids, ids]))  # a new batch size: a second graph
    model.eval()
    model(ids)  # evaluation: the ordinary loop
    assert captured == [(1, 5, 4), (2, 5, 4)]
    torch.testing.assert_close(logits, expected)


@pytest.mark.slow
def test_bench_runs_end_to_end_and_writes_its_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--quick", "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert {"machine", "startup", "sweep", "throughput", "repeat"} <= set(report)
    assert {"ratio", "rnnexp", "plain"} <= set(report["startup"]["wall"])
    assert {"ratio", "rnnexp", "plain"} <= set(report["startup"]["peak_memory"])
    assert "median" in report["sweep"]["overhead_per_job_ms"]
    assert set(report["throughput"]["models"]) == {"rnn", "cell"}
    assert all(m["same_losses"] for m in report["throughput"]["models"].values())
    assert {"cpu", "cores", "torch", "gpu"} <= set(report["machine"])
    assert "| start-to-finish wall, s |" in done.stdout


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_threads_on_the_command_line_give_one_line_and_exit_2(run_cli, value):
    done = run_cli([f"threads={value}"])
    assert done.returncode == 2
    assert done.stderr.strip() == f"rnnexp: error: threads={value}: allowed values are auto or an integer >= 1 (torch's intra-op threads), for example threads=1"
