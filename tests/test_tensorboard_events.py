"""The event file holds the curves, the texts and the hparams session, read back with
tensorboard's own event reader; the session ends with the run's status, a resumed run is one
session, and a run that failed before training has an event file with its session too."""

import re
import signal
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from test_reliability import DIVERGES_IN_EPOCH_2

import rnnexp.training.trainer
from conftest import cli, compose_config, compose_unchecked, signals_at_forward
from rnnexp.results import Status
from rnnexp.sweep.job_dir import earlier_attempt
from rnnexp.tracking.experiment_file import EXPERIMENT_FILE
from rnnexp.tracking.failure import record_failure
from rnnexp.tracking.hparams import NO_OVERRIDES, OVERRIDES, UNKNOWN_SIZE, hparams_of, varied_keys
from rnnexp.tracking.summaries import FINAL_METRICS, METRICS
from rnnexp.training.checkpoint import LAST, Resume, load_checkpoint, load_resume
from rnnexp.training.trainer import train

EPOCHS = 6


def read(run_dir):
    accumulator = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    result = train(compose_config("model=rnn", f"epochs={EPOCHS}"), run_dir)
    files = list(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1, "one event file, in the run directory itself (no sub-folder run)"
    return read(run_dir), result


def float32(values):
    """``values`` as the event file stores scalars: rounded to float32."""
    return torch.tensor(values, dtype=torch.float32).tolist()


def experiment(accumulator):
    """(hyperparameters marked as varied, metric tags) of the run's experiment summary, in its order."""
    content = accumulator.PluginTagToContent("hparams")["_hparams_/experiment"]
    summary = plugin_data_pb2.HParamsPluginData.FromString(content).experiment
    return [i.name for i in summary.hparam_infos if i.differs], [m.name.tag for m in summary.metric_infos]


def session(accumulator):
    """(hyperparameters, status name) of the run's hparams session."""
    content = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info
    values = {k: getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}
    return values, api_pb2.Status.Name(end.status)


@pytest.mark.parametrize("tag", ["loss/train", "train_accuracy/char", "train_accuracy/seq", "lr"])
def test_scalars_have_one_point_per_epoch(events, tag):
    accumulator, _ = events
    points = accumulator.Scalars(tag)
    assert [p.step for p in points] == list(range(1, EPOCHS + 1))


def test_loss_curve_is_the_runs_losses(events):
    accumulator, result = events
    logged = [p.value for p in accumulator.Scalars("loss/train")]
    assert logged == float32(result.losses)
    assert [p.value for p in accumulator.Scalars("lr")] == float32([0.1] * EPOCHS)


def test_the_loss_curves_sort_first_and_the_final_metrics_lead_the_hparams_metrics(events):
    # Scalars and Time Series draw the tag groups by name: the loss curves come
    # first. The HParams page ticks the first five metrics of the experiment
    # summary: the four final values, then the training loss.
    accumulator, _ = events
    tags = sorted(accumulator.Tags()["scalars"])
    assert tags[0] == "loss/train" and set(FINAL_METRICS) <= set(tags)
    assert all(tag > "lr" for tag in FINAL_METRICS)
    varied, metrics = experiment(accumulator)
    assert metrics[:5] == [*FINAL_METRICS, "loss/train"] and set(tags) <= set(metrics) == set(METRICS)
    assert varied == []  # train() called directly: the user varied nothing


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
    assert set(hparams) == {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    values, status = session(accumulator)
    assert status == "STATUS_SUCCESS"
    assert values["model"] == "rnn" and values["optimizer"] == "adam" and values["encoder"] == "one_hot"
    assert values["lr"] == 0.1 and values["model.hidden_size"] == 4 and values["device"] == "cpu"
    assert values[OVERRIDES] == NO_OVERRIDES  # train() called directly: no command line
    # Every key and value of the run's resolved config's hparams (numbers arrive as doubles).
    assert values == hparams_of(load_checkpoint(Path(result.run_dir) / LAST)["config"])
    for tag in FINAL_METRICS:
        assert [p.step for p in accumulator.Scalars(tag)] == [EPOCHS]
    final = {tag: accumulator.Scalars(tag)[0].value for tag in FINAL_METRICS}
    sequences_right = float(result.prediction == result.target)  # hello is one sequence
    solved = result.solved_epoch or EPOCHS + 1  # unsolved runs rank last when sorted ascending
    assert final == dict(zip(FINAL_METRICS, float32([result.final_loss, result.accuracy, sequences_right, solved])))


def test_the_overrides_are_the_command_lines(tmp_path):
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- model=cell\n- seed=1\n")  # as Hydra saves them
    train(compose_config("model=cell", "seed=1", "epochs=1"), tmp_path)
    values, _ = session(read(tmp_path))
    assert values[OVERRIDES] == "model=cell seed=1"
    assert experiment(read(tmp_path))[0] == ["model", "seed"]  # a single run's varied keys: the ones it set


def test_a_diverged_run_ends_its_session_as_a_failure(tmp_path):
    result = train(compose_config(*DIVERGES_IN_EPOCH_2), tmp_path)
    assert result.status is Status.DIVERGED
    accumulator = read(tmp_path)
    _, status = session(accumulator)
    assert status == "STATUS_FAILURE"
    assert str(accumulator.Scalars("result/loss")[0].value) == "nan"


def test_an_interrupted_run_ends_unknown_and_its_resumed_run_is_one_session_of_its_own(tmp_path):
    with signals_at_forward((3, signal.SIGINT)) as sent:  # hello: one step per epoch, so in epoch 3
        stopped = train(compose_config("model=rnn", f"epochs={EPOCHS}"), tmp_path / "stopped")
    assert sent and stopped.status is Status.INTERRUPTED
    values, status = session(read(tmp_path / "stopped"))
    assert status == "STATUS_UNKNOWN"  # not over: resume= finishes it
    assert not set(FINAL_METRICS) & set(read(tmp_path / "stopped").Tags()["scalars"])

    cfg, resume = load_resume(str(tmp_path / "stopped"), epochs=EPOCHS + 2)
    train(cfg, tmp_path / "resumed", resume=resume)
    resumed = read(tmp_path / "resumed")
    # The copied curves came along; the session and the final metrics are the resumed run's alone.
    assert [p.step for p in resumed.Scalars("loss/train")] == list(range(1, EPOCHS + 3))
    values, status = session(resumed)
    assert status == "STATUS_SUCCESS" and values["epochs"] == EPOCHS + 2
    # One experiment summary, its own: the copied event files carry none (its experiment file stays behind).
    names = [p.name for p in (tmp_path / "resumed").iterdir() if "tfevents" in p.name]
    assert [name for name in names if not name.startswith("events.out.tfevents.")] == [EXPERIMENT_FILE], names
    for tag in FINAL_METRICS:
        assert [p.step for p in resumed.Scalars(tag)] == [EPOCHS + 2]


def test_a_run_resumed_in_its_own_directory_is_one_curve_and_one_session(tmp_path):
    # What a requeued sweep job does (rnnexp.sweep.job_dir): resume from the last.pt beside it.
    with signals_at_forward((3, signal.SIGINT)) as sent:
        train(compose_config("model=rnn", f"epochs={EPOCHS}"), tmp_path)
    assert sent
    earlier = earlier_attempt(tmp_path, compose_config("model=rnn", f"epochs={EPOCHS}"))
    train(compose_config("model=rnn", f"epochs={EPOCHS}"), tmp_path, resume=Resume(earlier.checkpoint, tmp_path))
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2  # the first attempt's and the second's
    resumed = read(tmp_path)
    assert [p.step for p in resumed.Scalars("loss/train")] == list(range(1, EPOCHS + 1))
    _, status = session(resumed)
    assert status == "STATUS_SUCCESS"  # the second attempt's session, not the first's


def test_a_run_that_failed_before_training_has_its_session_with_the_same_keys(tmp_path, events):
    accumulator, _ = events
    trained, _ = session(accumulator)
    record_failure(tmp_path, compose_unchecked("model=rnn", "epochs=0"), "epochs=0: must be an integer >= 1")
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    assert (tmp_path / EXPERIMENT_FILE).is_file()  # its summary, beside the event file as a trained run's
    failed = read(tmp_path)
    values, status = session(failed)
    assert status == "STATUS_FAILURE"
    assert values.keys() == trained.keys()
    # Sizes the data would have decided: a number, so the column stays numeric for every run.
    assert values["model.hidden_size"] == values["encoder.dim"] == UNKNOWN_SIZE
    assert values["epochs"] == 0 and values["model"] == "rnn"
    error = failed.Tensors("error/text_summary")[0].tensor_proto.string_val[0].decode()
    assert error == "epochs=0: must be an integer >= 1"
    # A run directory whose trainer opened its event file keeps that one alone.
    record_failure(Path(events[1].run_dir), compose_config("model=rnn"), "later")
    assert len(list(Path(events[1].run_dir).glob("events.out.tfevents.*"))) == 1


def test_a_run_that_raises_while_training_ends_its_own_session_as_a_failure(tmp_path, monkeypatch):
    def broken(self, epoch, stats):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(rnnexp.training.trainer.Trainer, "end_epoch", broken)
    with pytest.raises(RuntimeError):
        train(compose_config("model=rnn", "epochs=2"), tmp_path)
    record_failure(tmp_path, compose_config("model=rnn", "epochs=2"), "out of memory")  # as the command line does
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1  # the trainer's, with its resolved sizes
    values, status = session(read(tmp_path))
    assert status == "STATUS_FAILURE" and values["model.hidden_size"] == 4


@pytest.mark.e2e
def test_a_bad_value_is_refused_without_loading_torch_or_leaving_a_run(tmp_path):
    # A single run refused before training leaves no directory for TensorBoard to list,
    # and the one-line answer does not wait for torch to load.
    done = cli(["epochs=0"], tmp_path, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 2 and "rnnexp: error: epochs=0" in done.stderr
    imported = re.findall(r"^import time:.*\|\s*(\S+)$", done.stderr, re.M)
    assert "torch" not in imported and "rnnexp.config.schemas" in imported
    assert not (tmp_path / "outputs").exists()


def test_a_sweep_jobs_varied_keys_are_the_swept_ones(small_sweep):
    # -m model=cell,rnn optimizer=adam,sgd epochs=4 device=cpu: epochs and device are set, not swept.
    _, sweep_dir = small_sweep
    jobs = sorted(d for d in sweep_dir.iterdir() if (d / ".hydra").is_dir())
    assert len(jobs) == 4
    for job in jobs:
        assert varied_keys(job) == {"model", "optimizer"}
        varied, _ = experiment(read(job))
        assert varied == ["model", "optimizer"]
    assert [d.name for d in sweep_dir.parent.iterdir()] == [sweep_dir.name]  # reading the sweep made no directory
