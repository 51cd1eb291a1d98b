"""minGRU and minLSTM: the parallel scan computes the paper's recurrence, as one step at a time and windows do; each learns hello."""

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnexp.errors import UserError
from rnnexp.models.min_recurrences import MinGRU, MinLSTM
from rnnexp.models.tagger import build_model
from rnnexp.tools.predict import predict
from rnnexp.tools.shapes import main as shapes_main
from rnnexp.training.checkpoint import load_resume
from rnnexp.training.trainer import train

CLASSES = {"mingru": MinGRU, "minlstm": MinLSTM}


def paper_step(model, x_t, h):
    """One step of one layer as the paper writes it (Feng et al. 2024, algorithms 2 and 4): x_t (B, input), h (B, H)."""
    k = model.layers[0](x_t)  # (B, gates x H)
    if isinstance(model, MinGRU):
        k_z, k_h = k.chunk(2, dim=-1)
        z = torch.sigmoid(k_z)
        h_tilde = torch.where(k_h >= 0, k_h + 0.5, torch.sigmoid(k_h))
        return (1 - z) * h + z * h_tilde
    k_f, k_i, k_h = k.chunk(3, dim=-1)
    f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
    h_tilde = torch.where(k_h >= 0, k_h + 0.5, torch.sigmoid(k_h))
    return f / (f + i) * h + i / (f + i) * h_tilde


@pytest.mark.parametrize("name", CLASSES)
def test_the_scan_computes_the_papers_recurrence(name):
    torch.manual_seed(0)
    model = CLASSES[name](5, 8)
    x = torch.randn(3, 30, 5)  # (B, T, input)
    with torch.no_grad():
        out, state = model(x, parallel=True)  # the scan, from h_0 = 0
        h, expected = torch.zeros(3, 8), []
        for t in range(x.shape[1]):
            h = paper_step(model, x[:, t], h)
            expected.append(h)
    torch.testing.assert_close(out, torch.stack(expected, dim=1))
    torch.testing.assert_close(state, h.unsqueeze(0))  # (num_layers=1, B, H)


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("start", ["zeros", "given"])
def test_parallel_and_step_by_step_agree(name, start):
    torch.manual_seed(0)
    model = CLASSES[name](5, 8, num_layers=2)
    x = torch.randn(3, 40, 5, requires_grad=True)  # (B, T, input)
    h_0 = None if start == "zeros" else torch.rand(2, 3, 8) + 0.1  # (num_layers, B, H): a state is >= 0
    parallel, parallel_state = model(x, h_0, parallel=True)
    steps, steps_state = model(x, h_0, parallel=False)
    torch.testing.assert_close(parallel, steps)  # float32's tolerance
    torch.testing.assert_close(parallel_state, steps_state)
    # The gradients that train the model agree too, to float32's tolerance of sums over B x T terms.
    parallel_grad = torch.autograd.grad(parallel.sum(), [x, *model.parameters()])
    steps_grad = torch.autograd.grad(steps.sum(), [x, *model.parameters()])
    for a, b in zip(parallel_grad, steps_grad):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * b.abs().max().item())


@pytest.mark.parametrize("name", CLASSES)
def test_windows_with_the_state_carried_give_the_whole_sequence(make_cfg, name):
    torch.manual_seed(0)
    cfg = make_cfg(f"model={name}", "model.num_layers=2", "model.hidden_size=16", "model.recurrence.scan=parallel")
    net = build_model(cfg, 12).eval()
    ids = torch.randint(0, 12, (3, 10))  # (B, T)
    whole, _ = net(ids)
    first, _, state = net(ids[:, :6], state=net.initial_state(3))
    assert state.shape == (2, 3, 16)  # (num_layers, B, H), as nn.GRU's h_n
    one, _, state = net(ids[:, 6:7], state=state)  # a window of one step: the step-by-step path
    rest, _, _ = net(ids[:, 7:], state=state)  # and the scan again, from a given state
    torch.testing.assert_close(torch.cat([first, one, rest], dim=1), whole)


@pytest.mark.parametrize("name, seed", [("mingru", 0), ("minlstm", 0)])
def test_learns_hello_at_its_defaults(make_cfg, tmp_path, name, seed):
    assert train(make_cfg(f"model={name}", f"seed={seed}"), tmp_path).prediction == "ohlol"


@pytest.mark.parametrize("scan", ["auto", "parallel"])  # on the CPU: the steps, and the scan
def test_resume_ends_with_the_losses_of_an_uninterrupted_run(make_cfg, tmp_path, scan):
    overrides = ["task=copy", "task.size=32", "model=minlstm", "model.num_layers=2", "model.dropout=0.2",
                 "model.hidden_size=16", f"model.recurrence.scan={scan}"]
    whole = train(make_cfg(*overrides, "epochs=4"), tmp_path / "whole")
    train(make_cfg(*overrides, "epochs=2"), tmp_path / "first_half")
    cfg, resume = load_resume(str(tmp_path / "first_half"), epochs=4)
    resumed = train(cfg, tmp_path / "resumed", resume=resume)
    assert resumed.losses == whole.losses and resumed.val_losses == whole.val_losses  # bit for bit


def test_shapes_shows_the_scan_in_words(capsys):
    assert shapes_main(["model=mingru", "model.num_layers=2", "model.hidden_size=8"]) == 0
    printed = capsys.readouterr().out
    assert "z_t = sigmoid(W_z x_t), h~_t = g(W_h x_t); h_t = (1 - z_t) h_{t-1} + z_t h~_t" in printed
    assert "log-space parallel scan (Heinsen 2023)" in printed
    assert "h_n      (2, 1, 8)   (num_layers, batch, hidden_size)" in printed
    assert "recurrence.layers.1.weight  (16, 8)   (2 x hidden_size, hidden_size)" in printed


@pytest.mark.parametrize("name", CLASSES)
def test_one_direction_only(make_cfg, name):
    refusal = rf"^model.bidirectional=true: model={name} reads left to right only .* use model=gru or model=lstm"
    with pytest.raises(UserError, match=refusal):
        build_model(make_cfg(f"model={name}", "model.bidirectional=true"), 4)


def test_auto_scans_on_an_accelerator_and_steps_on_the_cpu():
    model = MinGRU(5, 8)
    assert not model.runs_parallel(torch.device("cpu"), 64)
    assert model.runs_parallel(torch.device("cuda"), 64) and not model.runs_parallel(torch.device("cuda"), 1)
    assert MinGRU(5, 8, scan="parallel").runs_parallel(torch.device("cpu"), 64)
    assert not MinGRU(5, 8, scan="steps").runs_parallel(torch.device("cuda"), 64)


def test_an_unknown_scan_is_refused_in_one_line(make_cfg):
    with pytest.raises(UserError, match=r"^model.recurrence.scan=sideways: allowed values are auto, parallel, steps$"):
        build_model(make_cfg("model=mingru", "model.recurrence.scan=sideways"), 4)


def test_a_text_trains_records_and_samples(make_cfg, tmp_path):
    """The text task's stateful windows, TensorBoard's curves and graph, and predict's sampling, one character at a time."""
    (tmp_path / "book.txt").write_text("the cat sat on the mat. " * 40)
    cfg = make_cfg("task=text", f"task.path={tmp_path / 'book.txt'}", "task.window=16", "model=minlstm",
                   "model.hidden_size=16", "model.num_layers=2", "epochs=2", "task.sample_every=1", "task.sample_length=20",
                   "task.prime=the")
    result = train(cfg, tmp_path / "run")
    assert result.losses[1] < result.losses[0] and len(result.val_losses) == 2
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    assert [p.step for p in events.Scalars("loss/val")] == [1, 2]
    assert any("MinLSTM[recurrence]" in node.name for node in events.Graph().node)
    sample = predict([f"run={tmp_path / 'run'}", "sample=30", "prime=the ", "seed=1"])
    assert sample.startswith("the ") and len(sample) == 34 and set(sample) <= set("the cat sat on the mat.")
