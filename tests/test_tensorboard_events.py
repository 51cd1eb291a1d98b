"""The event file holds the curves, the texts and the hparams session, read back with
tensorboard's own event reader."""

from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from conftest import compose_config
from rnnexp.checkpoint import LAST, load_checkpoint
from rnnexp.tracking import FINAL_METRICS, hparams_of
from rnnexp.trainer import train

EPOCHS = 6


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    result = train(compose_config("model=rnn", f"epochs={EPOCHS}"), run_dir)
    files = list(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1, "one event file, in the run directory itself (no sub-folder run)"
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator, result


def float32(values):
    """``values`` as the event file stores scalars: rounded to float32."""
    return torch.tensor(values, dtype=torch.float32).tolist()


@pytest.mark.parametrize("tag", ["loss/train", "accuracy/char", "accuracy/seq", "lr"])
def test_scalars_have_one_point_per_epoch(events, tag):
    accumulator, _ = events
    points = accumulator.Scalars(tag)
    assert [p.step for p in points] == list(range(1, EPOCHS + 1))


def test_loss_curve_is_the_runs_losses(events):
    accumulator, result = events
    logged = [p.value for p in accumulator.Scalars("loss/train")]
    assert logged == float32(result.losses)
    assert [p.value for p in accumulator.Scalars("lr")] == float32([0.1] * EPOCHS)


def test_prediction_text_per_epoch_and_config_text(events):
    accumulator, result = events
    texts = accumulator.PluginTagToContent("text")
    assert {"prediction/text_summary", "config/text_summary"} <= set(texts)
    predictions = accumulator.Tensors("prediction/text_summary")
    assert [e.step for e in predictions] == list(range(1, EPOCHS + 1))
    last = predictions[-1].tensor_proto.string_val[0].decode()
    assert "| prediction | target |" in last and "`ohlol`" in last
    config = accumulator.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "    model:" in config and "hidden_size: 4" in config  # the resolved size, as a code block


def test_hparams_session_lives_in_the_run_with_final_metrics(events):
    accumulator, result = events
    hparams = accumulator.PluginTagToContent("hparams")
    # No per-run experiment summary: TensorBoard derives the experiment from all sessions.
    assert set(hparams) == {"_hparams_/session_start_info", "_hparams_/session_end_info"}
    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.session_start_info.hparams.items()}
    assert values["model"] == "rnn" and values["optimizer"] == "adam" and values["encoder"] == "one_hot"
    assert values["lr"] == 0.1 and values["model.hidden_size"] == 4 and values["device"] == "cpu"
    # Every key and value of the run's resolved config's hparams (numbers arrive as doubles).
    assert values == hparams_of(load_checkpoint(Path(result.run_dir) / LAST)["config"])
    end = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_end_info"])
    assert end.session_end_info.status == api_pb2.STATUS_SUCCESS
    for tag in FINAL_METRICS:
        assert [p.step for p in accumulator.Scalars(tag)] == [EPOCHS]
    final = {tag: accumulator.Scalars(tag)[0].value for tag in FINAL_METRICS}
    sequences_right = float(result.prediction == result.target)  # hello is one sequence
    solved = result.solved_epoch or EPOCHS + 1  # unsolved runs rank last when sorted ascending
    assert final == dict(zip(FINAL_METRICS, float32([result.final_loss, result.accuracy, sequences_right, solved])))
