"""The HParams columns, generated from the schemas' fields: the same keys and types as ever for the
built-in models, and the keyword arguments of a user's class (model.recurrence, task.data) besides.
A real TensorBoard server shows a run with such a column and a run without it side by side."""

import copy
import math

import pytest
from omegaconf import OmegaConf

from conftest import compose_unchecked
from rnnexp.results import Status
from rnnexp.tracking.hparams import NO_OVERRIDES, OVERRIDES, UNKNOWN_SIZE, hparams_of
from rnnexp.tracking.summaries import FINAL_METRICS

# The columns of every run, whatever its options: what hparams_of listed by hand before the fields said it.
COLUMNS = {
    OVERRIDES: str, "model": str, "encoder": str, "optimizer": str, "scheduler": str, "task": str,
    "lr": float, "epochs": int, "batch_size": int, "seed": int, "device": str, "clip": float,
    "model.hidden_size": int, "model.num_layers": int, "model.head": bool, "model.bidirectional": bool,
    "model.dropout": float, "model.init_scale": float, "model.readout": str, "encoder.dim": int,
    "optimizer.weight_decay": float,
}


def resolved(*overrides):
    return OmegaConf.to_container(compose_unchecked(*overrides), resolve=True)


def custom_model(config, alpha=0.5):
    """``config`` with model=custom's section, as a user's command line resolves it: no name, a class and its argument."""
    config = copy.deepcopy(config)
    config["model"].update(name=None, head=True, hidden_size=16)
    config["model"]["recurrence"] = {"_target_": "my_rnns.ElmanReLU", "alpha": alpha}
    return config


@pytest.mark.parametrize(
    "overrides",
    [["model=cell"], ["model=lstm", "optimizer=adamw", "scheduler=cosine", "clip=0.5"], ["optimizer=sgd", "task=text", "scheduler=plateau"]],
)
def test_every_built_in_run_has_the_same_columns_and_types(overrides):
    hparams = hparams_of(resolved(*overrides))
    assert set(COLUMNS) <= set(hparams)
    for key, kind in COLUMNS.items():
        assert type(hparams[key]) is kind, key
    extra = set(hparams) - set(COLUMNS)
    assert all(key.startswith("model.recurrence.") for key in extra), extra  # a built-in layer's own arguments


def test_null_and_classes_are_shown_as_one_type_per_column():
    config = resolved("model=rnn", "optimizer=adamw")
    assert (config["clip"], config["scheduler"]["_target_"], config["model"]["hidden_size"]) == (None, None, None)
    hparams = hparams_of(config)
    assert hparams["clip"] == 0.0  # no clipping
    assert hparams["scheduler"] == "none"
    assert hparams["model.hidden_size"] == hparams["encoder.dim"] == UNKNOWN_SIZE  # the data decides
    assert (hparams["optimizer"], hparams["optimizer.weight_decay"]) == ("adamw", 0.01)
    assert hparams[OVERRIDES] == NO_OVERRIDES
    # An optimizer of the user's without weight_decay still fills the column.
    config["optimizer"] = {"_target_": "my_optim.Lion", "beta": 0.9}
    assert (hparams_of(config)["optimizer"], hparams_of(config)["optimizer.weight_decay"]) == ("lion", 0.0)


def test_a_users_recurrence_shows_its_class_and_its_keyword_arguments():
    config = custom_model(resolved())
    hparams = hparams_of(config, "model=custom model.recurrence.alpha=0.5")
    assert hparams["model"] == "ElmanReLU"  # model.name is null: the class's name
    assert hparams["model.recurrence.alpha"] == 0.5
    assert "model.recurrence._target_" not in hparams  # the class is the model column
    assert hparams["model.hidden_size"] == 16 and hparams["model.head"] is True
    # Nested and list arguments become columns of one type; a null one is left out rather than a None.
    config["model"]["recurrence"].update(gates={"input": True}, sizes=[2, 3], bias=None)
    hparams = hparams_of(config)
    assert (hparams["model.recurrence.gates.input"], hparams["model.recurrence.sizes"]) == (True, "[2, 3]")
    assert "model.recurrence.bias" not in hparams


def test_a_users_data_shows_its_keyword_arguments():
    config = resolved("task=custom", "task.data._target_=my_data.reversed_words", "task.data.n=500")
    assert config["task"]["data"] == {"_target_": "my_data.reversed_words", "n": 500}
    hparams = hparams_of(config)
    assert hparams["task.data.n"] == 500 and hparams["task"] == "custom"
    assert not any(key.startswith("task.data._") for key in hparams)


# --------------------------------------------------------------------------- a real TensorBoard server
@pytest.mark.e2e
def test_a_run_with_a_users_argument_and_one_without_show_side_by_side(tmp_path):
    """A sweep comparing model=custom (with model.recurrence.alpha) and model=rnn (without): both are sessions.

    TensorBoard takes the experiment summary of any one run, so the alpha column
    may be listed or not; a session that lacks a listed column's value passes
    the page's filters, also when the user narrows that column.
    """
    from test_tensorboard_server import tensorboard

    from rnnexp.tracking.writer import RunTracker

    runs = {"sweep/0_model=custom": custom_model(resolved("model=rnn")), "sweep/1_model=rnn": resolved("model=rnn")}
    for run, config in runs.items():
        tracker = RunTracker(str(tmp_path / run))
        tracker.start_session(hparams_of(config, run.split("_", 1)[1]))
        tracker.log_epoch(1, 0.5, 1.0, 1.0, 0.1)
        tracker.end_session(Status.OK, dict.fromkeys(FINAL_METRICS, 0.5), step=1)
        tracker.close()
    with tensorboard(tmp_path, sorted(runs), tmp_path / "tensorboard.log") as tb:
        experiment = tb.post("/data/plugin/hparams/experiment", {"experimentName": "", "hparamsLimit": 1000})
        # The request the HParams page makes when it opens: every column, none narrowed.
        columns = [{"hparam": info["name"], "includeInResult": True} for info in experiment["hparamInfos"]]
        columns += [{"metric": info["name"], "includeInResult": True} for info in experiment["metricInfos"]]
        opened = page_sessions(tb, columns)
        # A user narrowing the alpha column to a range that holds 0.5.
        narrowed = page_sessions(tb, [{"hparam": "model.recurrence.alpha", "includeInResult": True, "filterInterval": {"minValue": 0, "maxValue": 1}}])
    assert sorted(opened) == sorted(narrowed) == sorted(runs)
    assert opened["sweep/0_model=custom"]["model"] == "ElmanReLU"
    assert opened["sweep/1_model=rnn"]["model"] == "rnn"
    listed = {info["name"] for info in experiment["hparamInfos"]}
    if "model.recurrence.alpha" in listed:  # the custom run's experiment summary was taken
        assert math.isclose(opened["sweep/0_model=custom"]["model.recurrence.alpha"], 0.5)
        assert "model.recurrence.alpha" not in opened["sweep/1_model=rnn"]


def page_sessions(tb, columns):
    """The sessions the HParams page lists for ``columns`` (its session_groups request): {run: its hparams}."""
    answer = tb.post(
        "/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            "colParams": columns,
            "startIndex": 0,
            "sliceSize": 100,
        },
    )
    return {group["name"]: group["hparams"] for group in answer["sessionGroups"]}
