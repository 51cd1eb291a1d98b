"""The event file holds the curves, the texts and the hparams session, read back with
tensorboard's own event reader."""

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from rnnexp.checkpoint import LAST, load_checkpoint
from rnnexp.tracking import FINAL_METRICS
from rnnexp.train import hparams_of, train

EPOCHS = 6


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    from hydra import compose, initialize_config_module

    run_dir = tmp_path_factory.mktemp("run")
    with initialize_config_module("rnnexp.conf", version_base="1.3"):
        cfg = compose("config", overrides=["device=cpu", "model=rnn", f"epochs={EPOCHS}"])
    result = train(cfg, run_dir)
    files = list(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1, "one event file, in the run directory itself (no sub-folder run)"
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator, result


@pytest.mark.parametrize("tag", ["loss/train", "accuracy/char", "accuracy/seq", "lr"])
def test_scalars_have_one_point_per_epoch(events, tag):
    accumulator, _ = events
    points = accumulator.Scalars(tag)
    assert [p.step for p in points] == list(range(1, EPOCHS + 1))


def test_loss_curve_is_the_runs_losses(events):
    accumulator, result = events
    logged = [p.value for p in accumulator.Scalars("loss/train")]
    assert logged == pytest.approx(result.losses)
    assert accumulator.Scalars("lr")[0].value == pytest.approx(0.1)


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
    assert values["lr"] == pytest.approx(0.1) and values["model.hidden_size"] == 4 and values["device"] == "cpu"
    assert set(values) == set(hparams_of(load_checkpoint(Path(result.run_dir) / LAST)["config"]))
    end = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_end_info"])
    assert end.session_end_info.status == api_pb2.STATUS_SUCCESS
    for tag in FINAL_METRICS:
        assert [p.step for p in accumulator.Scalars(tag)] == [EPOCHS]
    assert accumulator.Scalars("final/loss")[0].value == pytest.approx(result.final_loss)
    assert accumulator.Scalars("final/accuracy_char")[0].value == pytest.approx(result.accuracy)
