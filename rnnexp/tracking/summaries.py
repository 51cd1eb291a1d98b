"""The summaries of an hparams session, written without torch: experiment, session start and end, texts.

How the HParams page chooses what it shows when it opens (tensorboard's
plugins/hparams/backend_context.py and the page's script): the server takes
the experiment summary of any one run (it merges none; its default loader keeps
the runs in a hash map, so not the first by name), and lists its
hyperparameters marked ``differs`` first, then the others, each part by name;
the metrics keep the summary's order. The page ticks the first five of each.
So every run writes an experiment summary (:func:`experiment_summary`) that
marks the keys the user varied (rnnexp.tracking.hparams.varied_keys) and lists
the final metrics, then the curves: the jobs of a sweep write the same one, so
``--logdir`` on a sweep ticks its keys. Under one outputs folder every run
marks the union of the keys varied there, so ``--logdir outputs`` ticks every
sweep's; the summary is a file of its own in the run's directory, rewritten
when that union grows (rnnexp.tracking.experiment_file).

The final metrics are ``result/*``: Scalars and Time Series draw tag groups
by name, so the loss curves (``loss/*``) come first, not single points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.text import metadata as text_metadata

from rnnexp.results import Status
from rnnexp.tracking.experiment_file import shared_varied_keys, write_experiment
from rnnexp.tracking.hparams import HParamValue, varied_keys

# Scalars logged once, at the run's end; every run that trains logs all of them. Named to sort after
# loss/* and lr: Scalars and Time Series draw the groups by name, and open on the loss curves.
FINAL_METRICS = ("result/loss", "result/accuracy_char", "result/accuracy_seq", "result/solved_epoch")


# The HParams table's metric columns, in the order shown: the page ticks the first five. A column
# a run has no data for (loss/val without a validation split) stays empty.
METRICS = (
    *FINAL_METRICS, "loss/train", "loss/val", "val_accuracy/char", "val_accuracy/seq",
    "train_accuracy/char", "train_accuracy/seq", "lr",
)


# Runs written before the final metrics were named result/*: their copies drop these too.
OLD_FINAL = "final/"


# The session's status on the HParams page (its Status filter). An interrupted
# run is not over, resume= finishes it: Unknown, neither a success nor a failure.
# A run a search pruned did not train to its end, nor did it fail: Unknown too,
# so the Success filter keeps only the runs that trained every epoch.
SESSION_STATUS = {
    Status.OK: "STATUS_SUCCESS",
    Status.DIVERGED: "STATUS_FAILURE",
    Status.FAILED: "STATUS_FAILURE",
    Status.INTERRUPTED: "STATUS_UNKNOWN",
    Status.PRUNED: "STATUS_UNKNOWN",
}


HPARAMS_TAGS = "_hparams_/"  # the session's summaries (tensorboard.plugins.hparams.metadata)


def experiment_summary(hparams: Mapping[str, HParamValue], varied: set[str]):
    """The experiment summary: every hyperparameter, the ``varied`` ones marked to lead, and METRICS.

    String hyperparameters get no list of values: the page would offer it as
    a filter with every value ticked and hide the runs whose value it lacks,
    the runs of other sweeps in the same ``--logdir``. Interval filters start
    open, so numbers need no range either.
    """
    infos = []
    for key, value in hparams.items():
        info = api_pb2.HParamInfo(name=key, differs=key in varied)
        if isinstance(value, bool):  # before int: a bool is an int
            info.type = api_pb2.DATA_TYPE_BOOL
            info.domain_discrete.extend([False, True])  # every value a bool can have
        elif isinstance(value, (int, float)):
            info.type = api_pb2.DATA_TYPE_FLOAT64
        else:
            info.type = api_pb2.DATA_TYPE_STRING
        infos.append(info)
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in METRICS]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    return _hparams_summary("experiment", plugin_data_pb2.HParamsPluginData(experiment=experiment))


def write_experiment_summary(run_dir: str | Path, hparams: Mapping[str, HParamValue]) -> None:
    """The run's experiment file: its keys marked ``differs`` where varied by any run under its outputs folder."""
    varied = shared_varied_keys(run_dir, varied_keys(run_dir) & set(hparams))
    write_experiment(run_dir, experiment_summary(hparams, varied))


def session_start(hparams: Mapping[str, HParamValue], started: float):
    """The summary that opens an hparams session: its hyperparameters and start time."""
    start = plugin_data_pb2.SessionStartInfo(start_time_secs=started)
    for key, value in hparams.items():
        if isinstance(value, bool):  # before int: a bool is an int
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = str(value)
    return _hparams_summary("session_start_info", plugin_data_pb2.HParamsPluginData(session_start_info=start))


def session_end(status: Status, ended: float):
    """The summary that closes an hparams session with the run's status."""
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(SESSION_STATUS[status]), end_time_secs=ended)
    return _hparams_summary("session_end_info", plugin_data_pb2.HParamsPluginData(session_end_info=end))


def _hparams_summary(name: str, data):
    return Summary(value=[Summary.Value(tag=HPARAMS_TAGS + name, metadata=hparams_metadata.create_summary_metadata(data))])


def text_summary(tag: str, text: str):
    """A text summary as SummaryWriter.add_text writes it, without torch."""
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)])
    tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode()], tensor_shape=shape)
    value = Summary.Value(tag=f"{tag}/text_summary", metadata=text_metadata.create_summary_metadata(tag, ""), tensor=tensor)
    return Summary(value=[value])
