"""Training: every model learns hello -> ohlol, deterministically, and leaves its records."""

import json

import pytest
import torch

from rnnexp.checkpoint import LAST, load_checkpoint, restore_model
from rnnexp.errors import UserError
from rnnexp.train import METRICS_NAME, train


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("model", ["cell", "rnn", "embedding"])
def test_each_model_learns_hello_at_its_defaults(make_cfg, tmp_path, model, seed):
    result = train(make_cfg(f"model={model}", f"seed={seed}"), tmp_path)
    assert result.prediction == "ohlol"
    assert result.solved_epoch is not None and result.solved_epoch <= 15
    assert result.accuracy == 1.0 and result.status == "ok"


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
    assert first.losses == second.losses


def test_metrics_json_has_the_documented_fields(make_cfg, tmp_path):
    result = train(make_cfg("model=rnn", "epochs=4"), tmp_path)
    metrics = json.loads((tmp_path / METRICS_NAME).read_text())
    assert metrics["target"] == "ohlol" and metrics["status"] == "ok" and metrics["epochs"] == 4
    assert isinstance(metrics["prediction"], str) and len(metrics["prediction"]) == 5
    assert metrics["final_loss"] == pytest.approx(result.final_loss) and metrics["final_loss"] > 0
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["accuracy"] == sum(p == t for p, t in zip(metrics["prediction"], "ohlol")) / 5
    assert metrics["solved_epoch"] is None or 1 <= metrics["solved_epoch"] <= 4
    assert metrics["seconds"] > 0 and len(metrics["losses"]) == 4


def test_checkpoint_reloads_safely_and_reproduces_the_prediction(make_cfg, tmp_path):
    result = train(make_cfg("model=embedding"), tmp_path)
    state = load_checkpoint(tmp_path / LAST)  # weights_only=True inside
    assert state["vocabulary"] == ["e", "h", "l", "o"]
    config = state["config"]
    assert config["model"]["hidden_size"] == 8 and config["encoder"]["dim"] == 10

    model, vocab = restore_model(state)
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


def test_a_missing_device_is_refused(make_cfg, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(UserError, match="^device=cuda: CUDA is not available"):
        train(make_cfg("device=cuda"), tmp_path)
    with pytest.raises(UserError, match="^device=cuda:1: CUDA is not available"):
        train(make_cfg("device=cuda:1"), tmp_path)
