"""Training: the notebook's three models learn hello -> ohlol with exactly the losses of a
hand-written PyTorch loop, deterministically, and leave their records."""

import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.training.checkpoint import LAST, load_checkpoint, restore_model
from rnnexp.training.trainer import train

# The notebook's task with the vocabulary e, h, l, o -> 0, 1, 2, 3.
CHARS = "ehlo"
HELLO = torch.tensor([[1, 0, 2, 2, 3]])  # (1, 5)
OHLOL = torch.tensor([[3, 1, 2, 3, 2]])  # (1, 5)
EPOCHS = 15  # the default
LR = 0.1  # the default, with Adam


class NotebookModel(nn.Module):
    """The notebook's models at rnnexp's default sizes, with no rnnexp code.

    Modules are created in the order rnnexp creates them (input embedding,
    head, recurrence), so one seed draws the same weights.
    """

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        if name == "embedding":
            self.emb = nn.Embedding(4, 10)
            self.fc = nn.Linear(8, 4)
            self.rnn = nn.RNN(10, 8, num_layers=2, batch_first=True)
        else:
            # No head: h_t is read as the class scores, so the hidden size is 4.
            self.recurrence = nn.RNNCell(4, 4) if name == "cell" else nn.RNN(4, 4)
            with torch.no_grad():  # the cell and rnn options' init_scale
                for parameter in self.recurrence.parameters():
                    parameter.mul_(0.3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if self.name == "embedding":
            out, _ = self.rnn(self.emb(ids))
            return self.fc(out)
        x = F.one_hot(ids, 4).float()  # (B, T, 4)
        if self.name == "cell":
            h = x.new_zeros(x.shape[0], 4)
            steps = []
            for t in range(x.shape[1]):
                h = self.recurrence(x[:, t], h)
                steps.append(h)
            return torch.stack(steps, dim=1)
        out, _ = self.recurrence(x.transpose(0, 1))  # time-first, as in the notebook
        return out.transpose(0, 1)


def decode(logits: torch.Tensor) -> str:
    return "".join(CHARS[i] for i in logits.argmax(-1).view(-1).tolist())


def notebook_run(name: str, seed: int, epochs: int = EPOCHS) -> dict:
    """What the notebook's loop gives: each epoch's loss (before its step), then the trained model's output."""
    torch.manual_seed(seed)
    model = NotebookModel(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    losses, solved = [], None
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad()
        logits = model(HELLO)
        loss = F.cross_entropy(logits.view(-1, 4), OHLOL.view(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if solved is None and decode(logits) == "ohlol":
            solved = epoch
    model.eval()
    with torch.no_grad():
        logits = model(HELLO)
        final_loss = F.cross_entropy(logits.view(-1, 4), OHLOL.view(-1)).item()
    prediction = decode(logits)
    if solved is None and prediction == "ohlol":
        solved = epochs  # right only after the last step
    accuracy = sum(p == t for p, t in zip(prediction, "ohlol")) / 5
    return {"losses": losses, "final_loss": final_loss, "prediction": prediction, "solved_epoch": solved,
            "accuracy": accuracy}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_each_model_learns_hello_with_the_notebook_loops_losses_bit_for_bit(make_cfg, tmp_path, model, seed):
    result = train(make_cfg(f"model={model}", f"seed={seed}"), tmp_path)
    expected = notebook_run(model, seed)
    assert result.losses == expected["losses"]  # exact float equality
    assert result.final_loss == expected["final_loss"]
    assert (result.prediction, result.solved_epoch, result.accuracy) == (
        expected["prediction"], expected["solved_epoch"], expected["accuracy"]
    )
    # At its defaults every model solves the task from each of these seeds.
    assert result.prediction == "ohlol" and result.solved_epoch is not None
    assert result.status is Status.OK and result.epochs == EPOCHS


def test_the_same_seed_gives_the_same_losses_bit_for_bit(make_cfg, tmp_path):
    first = train(make_cfg("model=cell", "seed=3"), tmp_path / "a")
    second = train(make_cfg("model=cell", "seed=3"), tmp_path / "b")
    other = train(make_cfg("model=cell", "seed=4"), tmp_path / "c")
    assert first.losses == second.losses  # exact float equality
    assert first.losses != other.losses


def test_seed_zero_is_honoured(make_cfg, tmp_path):
    torch.manual_seed(1234)  # whatever state the process is in
    first = train(make_cfg("seed=0"), tmp_path / "a")
    torch.manual_seed(99)
    second = train(make_cfg("seed=0"), tmp_path / "b")
    assert first.losses == second.losses == notebook_run("embedding", 0)["losses"]


def test_metrics_json_holds_the_run_result(make_cfg, tmp_path):
    result = train(make_cfg("model=rnn", "epochs=4"), tmp_path)
    metrics = json.loads((tmp_path / METRICS_NAME).read_text())
    assert set(metrics) == {f.name for f in dataclasses.fields(RunResult)}
    assert RunResult.read(tmp_path / METRICS_NAME) == result
    expected = notebook_run("rnn", 0, epochs=4)
    assert metrics["status"] == "ok" and metrics["target"] == "ohlol" and metrics["run_dir"] == str(tmp_path)
    assert (metrics["epochs"], metrics["losses"], metrics["val_losses"]) == (4, expected["losses"], [])
    assert (metrics["prediction"], metrics["final_loss"], metrics["accuracy"], metrics["solved_epoch"]) == (
        expected["prediction"], expected["final_loss"], expected["accuracy"], expected["solved_epoch"]
    )
    # No validation split: the training loss is monitored, and it fell every epoch.
    assert expected["losses"] == sorted(expected["losses"], reverse=True) and metrics["best_epoch"] == 4
    assert metrics["stopped_early"] is False and metrics["signal"] is None and metrics["error"] is None
    assert metrics["seconds"] > 0


def test_a_diverging_run_reports_the_epochs_it_finished(make_cfg, tmp_path):
    # The largest float32 step, on recurrent weights started ten times larger: after the first step the
    # weights are so large that epoch 2's forward pass overflows, so its loss is not finite.
    result = train(make_cfg("model=embedding", "optimizer=sgd", "lr=3e38", "model.init_scale=10", "model.hidden_size=32", "epochs=5"), tmp_path)
    assert result.status is Status.DIVERGED and result.epochs == 1
    assert result.final_loss is None and len(result.losses) == 1
    metrics = json.loads((tmp_path / METRICS_NAME).read_text())
    assert (metrics["status"], metrics["epochs"], metrics["final_loss"]) == ("diverged", 1, None)
    assert load_checkpoint(tmp_path / LAST)["epoch"] == 1  # the last finite weights


def test_checkpoint_reloads_safely_and_reproduces_the_prediction(make_cfg, tmp_path):
    result = train(make_cfg("model=embedding"), tmp_path)
    state = load_checkpoint(tmp_path / LAST)  # weights_only=True inside
    assert state["vocabulary"] == ["e", "h", "l", "o"] and state["epoch"] == EPOCHS
    config = state["config"]
    assert config["model"]["hidden_size"] == 8 and config["encoder"]["dim"] == 10

    model, vocab = restore_model(state)
    model.eval()
    logits, _ = model(vocab.encode("hello").unsqueeze(0))
    assert vocab.decode(logits.argmax(-1)[0]) == result.prediction == "ohlol"


def test_data_sizes_are_filled_in_by_code(make_cfg, tmp_path):
    train(make_cfg("model=cell", "task=inline", "task.source=abcab", "task.target=bcabc", "epochs=1"), tmp_path)
    config = load_checkpoint(tmp_path / LAST)["config"]
    assert config["model"]["hidden_size"] == 3  # classes a, b, c
    assert config["encoder"]["dim"] == 3


def test_hidden_size_must_match_the_classes_without_a_head(make_cfg, tmp_path):
    with pytest.raises(UserError, match=r"^model.hidden_size=8: .* set model.head=true or model.hidden_size=4"):
        train(make_cfg("model=rnn", "model.hidden_size=8"), tmp_path)
    result = train(make_cfg("model=rnn", "model.hidden_size=8", "model.head=true"), tmp_path / "head")
    assert result.prediction == "ohlol"


@pytest.mark.parametrize(
    "source, target, message",
    [
        ("abc", "ab", "task.source='abc' has 3 characters but task.target='ab' has 2"),
        ("''", "''", "task.source is empty"),
        ("abc", "''", "task.target is empty"),
    ],
)
def test_inline_strings_are_checked(make_cfg, tmp_path, source, target, message):
    with pytest.raises(UserError, match="^" + message):
        train(make_cfg("task=inline", f"task.source={source}", f"task.target={target}"), tmp_path)


def test_a_missing_device_is_refused(make_cfg, tmp_path, monkeypatch):
    # Whether or not this machine has CUDA: the check asks torch.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="^device=cuda: CUDA is not available"):
        train(make_cfg("device=cuda"), tmp_path)
    with pytest.raises(UserError, match="^device=cuda:1: CUDA is not available"):
        train(make_cfg("device=cuda:1"), tmp_path)
