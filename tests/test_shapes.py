"""``python -m rnnexp.shapes`` prints the shapes of real tensors, and each run draws its model's graph.

The traced shapes are compared with a forward pass of their own (the model,
its encoder and its recurrent module called directly); the notebook's two
shape cells are run as the notebook writes them; docs/shapes.md is
regenerated and must not differ; the graph is read back with TensorBoard's
own event reader.
"""

from __future__ import annotations

import logging
import re
import runpy
import warnings
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from rnnexp.data.loading import load_task
from rnnexp.models.builtin_recurrences import RNNCellLoop
from rnnexp.models.tagger import build_model
from rnnexp.testing import run_command
from rnnexp.tools.shapes import compose_config, main, render, trace_shapes
from rnnexp.tracking.graph import graph_example
from rnnexp.tracking.writer import RunTracker

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "shapes.md"

MODELS = {
    "cell": ("model=cell",),
    "rnn": ("model=rnn",),
    "embedding": ("model=embedding",),
    "lstm": ("model=lstm", "task=copy", "batch_size=4", "model.hidden_size=8"),
    "gru": ("model=gru", "task=parity", "batch_size=3", "model.hidden_size=8"),
    "bidirectional gru": ("model=gru", "model.bidirectional=true", "task=reverse", "batch_size=2", "model.hidden_size=8"),
    "2-layer rnn": ("model=rnn", "model.num_layers=2"),
    "2-layer lstm with dropout": ("model=lstm", "model.num_layers=2", "model.dropout=0.5", "model.hidden_size=8"),
    "packed lstm": ("model=lstm", "model.bidirectional=true", "task=copy", "task.min_length=4", "batch_size=5", "model.hidden_size=8"),
}

# The notebook's first shape cell, as a config: "hel" -> "elo" has the
# vocabulary e, h, l, o (input size 4) and 3 steps. As the notebook writes it
# there is no head; hidden size 2 is not the number of classes (4), so only a
# head (model.head=true) makes it a model that can be trained.
NOTEBOOK_CELL_AS_WRITTEN = ("task=inline", "task.source=hel", "task.target=elo", "model=cell", "model.hidden_size=2")
NOTEBOOK_CELL = (*NOTEBOOK_CELL_AS_WRITTEN, "model.head=true")
# Its second: nn.RNN with 3 layers on "hello" (5 steps), time-first.
NOTEBOOK_RNN_AS_WRITTEN = ("model=rnn", "model.num_layers=3", "model.hidden_size=2")
NOTEBOOK_RNN = (*NOTEBOOK_RNN_AS_WRITTEN, "model.head=true")


def own_forward(cfg):
    """The model and the first batch, as trace_shapes builds them, and the tensors of a forward pass done here."""
    data = load_task(cfg.task)
    model = build_model(cfg, len(data.vocab))
    batch = next(data.train.batches(cfg.batch_size))
    with torch.no_grad():
        logits, _ = model(batch.source, batch.target, batch.lengths)
        x = model.encoder(batch.source)  # (B, T, input)
    return model, batch, x, logits


@pytest.mark.parametrize("overrides", MODELS.values(), ids=MODELS.keys())
def test_traced_shapes_are_those_of_a_forward_pass(make_cfg, overrides):
    cfg = make_cfg(*overrides)
    trace = trace_shapes(cfg)
    model, batch, x, logits = own_forward(cfg)

    assert trace.shape("ids") == batch.source.shape
    assert trace.shape("x") == x.shape
    assert trace.shape("logits") == logits.shape == (*batch.source.shape, len(load_task(cfg.task).vocab))
    assert trace.shape("loss input") == logits.reshape(-1, logits.shape[-1]).shape
    assert trace.shape("loss target") == batch.target.reshape(-1).shape
    assert {p.name: p.shape for p in trace.parameters} == {name: p.shape for name, p in model.named_parameters()}
    assert trace.parameter_count == sum(p.numel() for p in model.parameters())

    recurrence = model.recurrence
    with torch.no_grad():
        if isinstance(recurrence, RNNCellLoop):
            h = torch.zeros(x.shape[0], model.hidden_size)  # h_0
            assert len(trace.steps) == x.shape[1]
            for t, step in enumerate(trace.steps):
                assert step.h_prev.shape == h.shape
                h = recurrence.cell(x[:, t], h)
                assert (step.x_t.shape, step.h_t.shape) == (x[:, t].shape, h.shape)
            return
        layer_input = x.transpose(0, 1) if recurrence.time_first else x
        if batch.lengths is not None:
            layer_input = pack_padded_sequence(layer_input, batch.lengths, batch_first=not recurrence.time_first, enforce_sorted=False)
        out, last = recurrence.rnn(layer_input)
    finals = last if isinstance(last, tuple) else (last,)
    if batch.lengths is not None:
        assert trace.shape("inputs") == layer_input.data.shape
        assert trace.shape("out") == out.data.shape
    else:
        assert trace.shape("inputs") == layer_input.shape
        assert trace.shape("out") == out.shape
    assert trace.shape("h_n") == trace.shape("h_0") == finals[0].shape
    if isinstance(recurrence.rnn, nn.LSTM):
        assert trace.shape("c_n") == trace.shape("c_0") == finals[1].shape


def test_the_layout_is_said_in_words(make_cfg):
    time_first = render(trace_shapes(make_cfg("model=rnn")))
    batch_first = render(trace_shapes(make_cfg("model=embedding")))
    assert "time-first (batch_first=False" in time_first and "(seq_len, batch, input_size)" in time_first
    assert "batch-first (batch_first=True" in batch_first and "(seq_len, batch" not in batch_first


def test_the_notebooks_rnncell_cell(make_cfg):
    trace = trace_shapes(make_cfg(*NOTEBOOK_CELL))
    sizes = trace.sizes
    assert (sizes["seq_len"], sizes["batch"], sizes["input_size"], sizes["hidden_size"]) == (3, 1, 4, 2)
    # The notebook's cell, as it writes it.
    cell = torch.nn.RNNCell(input_size=4, hidden_size=2)
    dataset = torch.randn(3, 1, 4)  # (seq_len, batch, input_size)
    hidden = torch.zeros(1, 2)  # (batch, hidden_size)
    assert len(trace.steps) == len(dataset)
    for step, input in zip(trace.steps, dataset):
        assert step.x_t.shape == input.shape == (1, 4)  # "Input size: torch.Size([1, 4])"
        assert step.h_prev.shape == hidden.shape
        hidden = cell(input, hidden)
        assert step.h_t.shape == hidden.shape == (1, 2)  # "outputs size: torch.Size([1, 2])"
    assert trace.shape("recurrence.cell.weight_ih") == cell.weight_ih.shape


def test_the_notebooks_rnn_cell(make_cfg):
    trace = trace_shapes(make_cfg(*NOTEBOOK_RNN))
    # The notebook's cell, as it writes it.
    cell = torch.nn.RNN(input_size=4, hidden_size=2, num_layers=3)
    inputs = torch.randn(5, 1, 4)  # (seq_len, batch, input_size)
    hidden = torch.zeros(3, 1, 2)  # (num_layers, batch, hidden_size)
    out, hidden_n = cell(inputs, hidden)
    assert trace.shape("inputs") == inputs.shape
    assert trace.shape("h_0") == hidden.shape
    assert trace.shape("out") == out.shape == (5, 1, 2)  # "Output size: torch.Size([5, 1, 2])"
    assert trace.shape("h_n") == hidden_n.shape == (3, 1, 2)  # "Hidden size: torch.Size([3, 1, 2])"
    assert {p.name.removeprefix("recurrence.rnn."): p.shape for p in trace.parameters if p.name.startswith("recurrence.")} == {
        name: p.shape for name, p in cell.named_parameters()
    }


@pytest.mark.parametrize(
    "overrides, shown",
    [
        (NOTEBOOK_CELL_AS_WRITTEN, {"x_t": "(1, 4)", "h_t": "(1, 2)"}),  # "Input size: torch.Size([1, 4])", "outputs size: ..."
        (NOTEBOOK_RNN_AS_WRITTEN, {"h_0": "(3, 1, 2)", "out": "(5, 1, 2)", "h_n": "(3, 1, 2)"}),
        # Two directions' states (B, T, 2 x hidden) are never class scores without a head, whatever the hidden size.
        (("model=gru", "model.head=false", "model.bidirectional=true", "model.hidden_size=2"), {"out": "(1, 5, 4)"}),
    ],
    ids=["notebook cell", "notebook rnn", "bidirectional"],
)
def test_a_config_training_refuses_for_want_of_a_head_is_shown_up_to_h_t(run_main, tmp_path, overrides, shown):
    (tmp_path / "shapes").mkdir()
    shapes = run_command(main, overrides, tmp_path / "shapes")
    assert (shapes.status, shapes.stderr) == (0, ""), shapes.stderr
    assert list((tmp_path / "shapes").iterdir()) == [], "no output directory"
    lines = shapes.stdout.splitlines()
    for name, shape in shown.items():
        row = re.compile(rf"^  (t=\d+ +)? *{re.escape(name)} +{re.escape(shape)} ")  # "  t=1  x_t      (1, 4)  (batch, ..."
        assert any(row.match(line) for line in lines), (name, shapes.stdout)
    # No head, so no scores and no loss: the trace ends at h_t, and the weights.
    assert not any(line.startswith(("head:", "loss:")) for line in lines), shapes.stdout
    assert lines[-2] == "" and lines[-3].startswith("  ")  # the last parameter row, then the one line
    # That line quotes what training says, and training still refuses the config.
    trained = run_main(list(overrides), cwd=tmp_path)
    assert trained.status == 2 and trained.stdout == ""
    refusal = trained.stderr.removeprefix("rnnexp: error: ").rstrip("\n")
    assert lines[-1] == f"training this config needs model.head=true; python -m rnnexp refuses it as it is: {refusal}"
    assert "model.head=true" in refusal
    # With the head it asks for, the same recurrence goes on to the scores and the loss.
    trace = trace_shapes(compose_config([*overrides, "model.head=true"]))
    assert trace.refusal == "" and trace.loss and trace.shape("logits")[-1] == trace.sizes["classes"]


def test_the_notebooks_rnncell_cell_as_written_has_the_notebooks_shapes():
    trace = trace_shapes(compose_config(NOTEBOOK_CELL_AS_WRITTEN))
    cell = torch.nn.RNNCell(input_size=4, hidden_size=2)  # the notebook's cell, no head
    assert [(step.x_t.shape, step.h_t.shape) for step in trace.steps] == [((1, 4), (1, 2))] * 3
    assert {p.name: p.shape for p in trace.parameters} == {f"recurrence.cell.{name}": p.shape for name, p in cell.named_parameters()}
    assert (trace.outputs, trace.loss) == ([], [])
    assert trace.refusal.startswith("model.hidden_size=2: without a head h_t is read as the class scores")


def test_the_command_prints_the_trace_and_writes_nothing(make_cfg, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(list(NOTEBOOK_CELL)) == 0
    printed = capsys.readouterr()
    assert printed.out == render(trace_shapes(make_cfg(*NOTEBOOK_CELL))) and printed.err == ""
    assert list(tmp_path.iterdir()) == [], "no output directory"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model=foo"], "model=foo: no such option; choose one of cell, custom, embedding, gru, lstm, mingru, minlstm, rnn"),
        (["lrr=0.1"], "lrr: no such config key; did you mean lr?"),
        # Only the checks that ask for a head are left to the trace: the others refuse as in a run.
        (["model=cell", "model.bidirectional=true"], "model.bidirectional=true: model=cell unrolls one left-to-right nn.RNNCell"),
        (["task=inline"], "task.source, task.target: no value given"),
        (["-m", "model=cell,rnn"], "-m: rnnexp.shapes takes overrides only"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, monkeypatch, capsys, overrides, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    assert main(overrides) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.startswith(f"rnnexp.shapes: error: {message}") and printed.err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "overrides",
    [["+model.foo=1"], ["++task.shift=3"], ["~lr"], ["~model"], ["model=rnn", "~model.num_layers"]],
    ids=" ".join,
)
def test_the_start_checks_refuse_what_the_command_line_refuses(run_main, tmp_path, overrides):
    shapes = run_command(main, overrides, tmp_path)
    rnnexp = run_main(overrides)
    assert (shapes.status, rnnexp.status) == (2, 2)
    assert shapes.stdout == ""
    assert shapes.stderr.removeprefix("rnnexp.shapes: ") == rnnexp.stderr.removeprefix("rnnexp: "), shapes.stderr
    assert shapes.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_docs_page_holds_the_commands_output_exactly():
    docs_outputs = runpy.run_path(str(ROOT / "scripts" / "docs_outputs.py"))
    blocks = docs_outputs["blocks"](PAGE)
    examples = (NOTEBOOK_CELL_AS_WRITTEN, NOTEBOOK_CELL, NOTEBOOK_RNN_AS_WRITTEN, ("model=embedding",))
    expected = [f"python -m rnnexp.shapes {' '.join(example)}" for example in examples]
    assert [block.command for block in blocks] == expected
    for block in blocks:
        # A "..." line stands for lines the page shows in an earlier block.
        assert docs_outputs["matches"](block.lines, docs_outputs["run"](block.command)), (
            f"docs/shapes.md: `{block.command}` prints something else now; python scripts/docs_outputs.py writes it anew"
        )


# --------------------------------------------------------------------------- the Graphs tab
@pytest.mark.parametrize("model_name", ["cell", "rnn", "embedding"])
def test_the_graph_lands_in_the_runs_event_file(make_cfg, tmp_path, model_name):
    cfg = make_cfg(f"model={model_name}")
    data = load_task(cfg.task)
    model = build_model(cfg, len(data.vocab))
    ids = graph_example(data, torch.device("cpu"))
    assert ids.shape == (1, 5) and ids.dtype == torch.int64
    before = {name: p.clone() for name, p in model.state_dict().items()}
    rng = torch.get_rng_state()

    tracker = RunTracker(str(tmp_path))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        tracker.log_graph(model, ids)
    tracker.close()

    assert [str(w.message) for w in shown] == [], "the tracer's warnings stay out of the run's output"
    assert model.training, "back in train mode"
    assert torch.equal(torch.get_rng_state(), rng), "the run's random stream is untouched"
    assert all(torch.equal(before[name], p) for name, p in model.state_dict().items())
    (events,) = tmp_path.glob("events.out.tfevents.*")
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    graph = accumulator.Graph()
    names = [node.name for node in graph.node]
    recurrent = {"cell": "RNNCell[cell]", "rnn": "RNN[rnn]", "embedding": "RNN[rnn]"}[model_name]
    assert any(recurrent in name for name in names), names
    (output,) = [node for node in graph.node if node.name.startswith("output/")]
    assert [d.size for d in output.attr["_output_shapes"].list.shape[0].dim] == [1, 5, 4]  # logits (1, T, C)


class Untraceable(nn.Module):
    def forward(self, ids, targets=None, lengths=None):
        return ids.tolist(), None  # a list of ints: the tracer takes tensors only


def test_an_untraceable_model_is_skipped_with_one_log_line(tmp_path, caplog):
    tracker = RunTracker(str(tmp_path))
    with caplog.at_level(logging.INFO, logger="rnnexp.tracking.graph"):
        tracker.log_graph(Untraceable(), torch.zeros(1, 3, dtype=torch.long))
    tracker.close()
    records = [r for r in caplog.records if r.name == "rnnexp.tracking.graph"]
    assert len(records) == 1 and "No graph in TensorBoard's Graphs tab" in records[0].getMessage()
    assert "\n" not in records[0].getMessage()
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert not accumulator.Tags()["graph"]


def test_the_graph_example_of_a_variable_length_task_is_unpadded(make_cfg):
    data = load_task(make_cfg("task=copy", "task.min_length=3").task)
    ids = graph_example(data, torch.device("cpu"))
    assert ids.shape == (1, int(data.train.lengths[0]))
