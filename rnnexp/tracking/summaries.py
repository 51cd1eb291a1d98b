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

Each kind of task has its own (:class:`KindTags`): a task of characters its
characters' and sequences' accuracies, a classify task the share of
sequences classified right, a regress task its MSE and the share of
sequences within task.tolerance. The runs of a sweep are of one task, so
they log the same keys. A run's experiment summary lists its own kind's
metrics first (the page ticks them) and then the other kinds', so a
``--logdir`` that holds runs of several kinds has a column for every one.
"""

from __future__ import annotations

from pathlib import Path
from dataclasses import dataclass
from typing import Mapping, Optional

from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.text import metadata as text_metadata

from rnnexp.data.task import CLASSIFY, REGRESS
from rnnexp.results import Status
from rnnexp.tracking.experiment_file import shared_varied_keys, write_experiment
from rnnexp.tracking.hparams import HParamValue, varied_keys

@dataclass(frozen=True)
class KindTags:
    """The scalars a run of one kind of task logs: per epoch, and once at its end.

    ``train`` and ``val`` name the epoch's accuracies (None: the kind counts
    one only, ``char`` is then left out); ``final`` the end's scalars, named
    to sort after loss/* and lr (Scalars and Time Series draw the groups by
    name, and open on the loss curves). Every run that trains logs all of
    ``final``. ``columns``: the HParams table's metric columns, in the order
    shown: the page ticks the first five. A column a run has no data for
    (loss/val without a validation split) stays empty.
    """

    train: tuple[Optional[str], str]  # the epoch's accuracy of characters, and of sequences
    val: tuple[Optional[str], str]
    final: tuple[str, ...]
    columns: tuple[str, ...]


# A task of characters (tagging, text): characters right / characters, and the share of sequences entirely right.
CHARACTERS = KindTags(
    train=("train_accuracy/char", "train_accuracy/seq"),
    val=("val_accuracy/char", "val_accuracy/seq"),
    final=("result/loss", "result/accuracy_char", "result/accuracy_seq", "result/solved_epoch"),
    columns=(
        "loss/train", "loss/val", "val_accuracy/char", "val_accuracy/seq", "train_accuracy/char", "train_accuracy/seq", "lr",
    ),
)
# One class per sequence: the share of sequences classified right; the loss is the cross-entropy.
CLASSIFY_TAGS = KindTags(
    train=(None, "accuracy/train"),
    val=(None, "accuracy/val"),
    final=("result/accuracy", "result/loss", "result/solved_epoch"),
    columns=("loss/train", "loss/val", "accuracy/val", "accuracy/train", "lr"),
)
# Numbers per sequence: the loss is the MSE; a sequence is right when each number is within task.tolerance.
REGRESS_TAGS = KindTags(
    train=(None, "within_tolerance/train"),
    val=(None, "within_tolerance/val"),
    final=("result/mse", "result/within_tolerance", "result/solved_epoch"),
    columns=("loss/train", "loss/val", "within_tolerance/val", "within_tolerance/train", "lr"),
)
_KIND_TAGS = {CLASSIFY: CLASSIFY_TAGS, REGRESS: REGRESS_TAGS}


def tags_of(kind: Optional[str]) -> KindTags:
    """The scalars of a run of ``kind``; a task of characters' where the kind is not known (None)."""
    return _KIND_TAGS.get(kind, CHARACTERS)


def metric_columns(kind: Optional[str]) -> tuple[str, ...]:
    """The experiment's metric columns for a run of ``kind``: its own first, then every other kind's."""
    own = tags_of(kind)
    columns = [*own.final, *own.columns]
    for other in (CHARACTERS, CLASSIFY_TAGS, REGRESS_TAGS):
        columns += [tag for tag in (*other.final, *other.columns) if tag not in columns]
    return tuple(columns)


def final_metrics(
    kind: Optional[str], loss: float, char_accuracy: float, seq_accuracy: float, solved_epoch: float
) -> dict[str, float]:
    """The end's scalars of a run of ``kind``, by tag: the evaluation's loss and accuracies, and the solved epoch."""
    tags = tags_of(kind)
    if tags is CHARACTERS:
        values = (loss, char_accuracy, seq_accuracy, solved_epoch)
    else:  # one answer per sequence: the accuracy is of sequences
        values = (seq_accuracy, loss, solved_epoch) if tags is CLASSIFY_TAGS else (loss, seq_accuracy, solved_epoch)
    return dict(zip(tags.final, values))


# A task of characters' (the kind every run had before classify and regress, and the tests read).
FINAL_METRICS = CHARACTERS.final
METRICS = metric_columns(None)
# Every kind's end scalars: a resumed run's copied event files drop them all (rnnexp.tracking.events).
ALL_FINAL_METRICS = frozenset(CHARACTERS.final + CLASSIFY_TAGS.final + REGRESS_TAGS.final)


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


def experiment_summary(hparams: Mapping[str, HParamValue], varied: set[str], kind: Optional[str] = None):
    """The experiment summary: every hyperparameter, the ``varied`` ones marked to lead, and the metric columns of ``kind``.

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
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metric_columns(kind)]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    return _hparams_summary("experiment", plugin_data_pb2.HParamsPluginData(experiment=experiment))


def write_experiment_summary(run_dir: str | Path, hparams: Mapping[str, HParamValue], kind: Optional[str] = None) -> None:
    """The run's experiment file: its keys marked ``differs`` where varied by any run under its outputs folder;
    its kind's metrics first."""
    varied = shared_varied_keys(run_dir, varied_keys(run_dir) & set(hparams))
    write_experiment(run_dir, experiment_summary(hparams, varied, kind))


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
