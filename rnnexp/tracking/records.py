"""TensorBoard records of one run, all inside the run's own directory.

Scalars and texts go through a SummaryWriter on the run directory. The hparams
session is written through the same writer's file (not
``SummaryWriter.add_hparams``, which opens a separate sub-folder run detached
from the curves), so the HParams dashboard links each session to its curves.

How the HParams page chooses what it shows when it opens (tensorboard's
plugins/hparams/backend_context.py and the page's script): the server takes
the experiment summary of any one run (it merges none; its default loader keeps
the runs in a hash map, so not the first by name), and lists its
hyperparameters marked ``differs`` first, then the others, each part by name;
the metrics keep the summary's order. The page ticks the first five of each.
So every run writes an experiment summary (:func:`_experiment`) that marks the
keys the user varied (:func:`varied_keys`: a sweep's swept keys, a single
run's overridden ones) and lists the final metrics, then the curves: the jobs
of a sweep write the same one, so ``--logdir`` on a sweep ticks its keys. Under
one outputs folder every run marks the union of the keys varied there, so
``--logdir outputs`` ticks every sweep's; the summary is a file of its own in
the run's directory, rewritten when that union grows (rnnexp.tracking.experiment_file).
Hence two choices of names:

- ``Overrides``, the run's command-line overrides, is capitalised: Python's
  order puts capitals first, so it is the first column after the varied keys.
- the final metrics are ``result/*``: Scalars and Time Series draw tag groups
  by name, so the loss curves (``loss/*``) come first, not single points.

This module imports neither torch nor the writer until a run opens its
records: :func:`record_failure` runs while a bad value is answered, before
torch is loaded.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional, Union

from rnnexp.results import EVENT_FILES, Status, saved_overrides, sweep_task_overrides

if TYPE_CHECKING:
    import torch
    from omegaconf import DictConfig
    from torch import nn

    from rnnexp.data.tasks import TaskData

log = logging.getLogger(__name__)

HParamValue = Union[int, float, str, bool]

# The hyperparameter holding the run's command-line overrides (see the module's docstring).
OVERRIDES = "Overrides"
NO_OVERRIDES = "(none)"  # a run with none, or trained by calling train() directly
# Stands for a size the data decides, in a run that failed before it read the data:
# a number, so the column stays numeric for every run.
UNKNOWN_SIZE = -1

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
_OLD_FINAL = "final/"

# The session's status on the HParams page (its Status filter). An interrupted
# run is not over, resume= finishes it: Unknown, neither a success nor a failure.
SESSION_STATUS = {
    Status.OK: "STATUS_SUCCESS",
    Status.DIVERGED: "STATUS_FAILURE",
    Status.FAILED: "STATUS_FAILURE",
    Status.INTERRUPTED: "STATUS_UNKNOWN",
}

_HPARAMS_TAGS = "_hparams_/"  # the session's summaries (tensorboard.plugins.hparams.metadata)


def short_name(target: str) -> str:
    """``torch.optim.AdamW`` -> ``adamw``: a class's name as its YAML option spells it."""
    return target.rsplit(".", 1)[-1].lower()


def overrides_of(run_dir: str | Path) -> str:
    """The run's command-line overrides as typed (``model=cell seed=1``), from what Hydra saved beside it."""
    overrides = _job_overrides(run_dir)
    if overrides is None:
        overrides = saved_overrides(run_dir)
    return " ".join(overrides or []) or NO_OVERRIDES


def _job_overrides(run_dir: str | Path) -> Optional[list[str]]:
    """The overrides of the Hydra job running in ``run_dir``, from Hydra's config: what it has just saved there.

    None outside such a job (train() called directly, a run read later).
    """
    job = _running_job(run_dir)
    return None if job is None else [str(override) for override in job.overrides.task]


def _running_job(run_dir: str | Path):
    """The Hydra config of the job running in ``run_dir`` in this process (what it saves as .hydra/hydra.yaml); else None."""
    if "hydra" not in sys.modules:  # no Hydra job in this process
        return None
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    job = HydraConfig.get()
    output_dir = job.runtime.get("output_dir")
    if output_dir is None or Path(output_dir).resolve() != Path(run_dir).resolve():
        return None
    return job


def hparams_of(resolved: dict, overrides: str = NO_OVERRIDES) -> dict[str, HParamValue]:
    """The flat hyperparameters of a run (its resolved config), with the same keys in every run.

    Optimizer-specific keys (betas, momentum, ...) differ between optimizers,
    so only weight_decay, which all of them have, joins the table. A size the
    data decides and the config leaves null (model.hidden_size, encoder.dim)
    is UNKNOWN_SIZE: it is null only in the config of a run that failed
    before it read the data.
    """
    model, encoder, optimizer = resolved["model"], resolved["encoder"], resolved["optimizer"]
    scheduler = resolved["scheduler"]["_target_"]
    return {
        OVERRIDES: overrides,
        "model": model["name"],
        "encoder": encoder["name"],
        "optimizer": short_name(optimizer["_target_"]),
        "scheduler": short_name(scheduler) if scheduler else "none",
        "task": resolved["task"]["name"],
        "lr": float(resolved["lr"]),
        "epochs": int(resolved["epochs"]),
        "batch_size": int(resolved["batch_size"]),
        "seed": int(resolved["seed"]),
        "device": str(resolved["device"]),
        "clip": float(resolved["clip"] or 0.0),  # 0: no clipping
        "model.hidden_size": _size(model["hidden_size"]),
        "model.num_layers": int(model["num_layers"]),
        "model.head": bool(model["head"]),
        "model.bidirectional": bool(model["bidirectional"]),
        "model.dropout": float(model["dropout"]),
        "model.init_scale": float(model["init_scale"]),
        "encoder.dim": _size(encoder["dim"]),
        "optimizer.weight_decay": float(optimizer.get("weight_decay", 0.0)),
    }


def _size(value: Optional[int]) -> int:
    return UNKNOWN_SIZE if value is None else int(value)


def varied_keys(run_dir: str | Path) -> set[str]:
    """The keys the user varied: a sweep job's swept keys, or a single run's overridden keys.

    A job's sweep is read from the files Hydra saved: the job's
    ``.hydra/hydra.yaml`` (its sweeper's params, an Optuna search's) and the
    sweep directory's ``multirun.yaml`` above it (the overrides as typed, where
    ``seed=0,1`` sweeps and ``epochs=3`` does not). Empty for a run trained by
    calling train() directly. Keys that are no hyperparameter column
    (``task.shift``, ``hydra.*``) are returned too; they mark nothing.
    """
    from omegaconf import OmegaConf

    run_dir = Path(run_dir)
    hydra = _job_hydra_config(run_dir)
    mode = None if hydra is None else hydra.get("mode")
    if getattr(mode, "name", mode) != "MULTIRUN":  # a RunMode in memory, its name once saved
        words = _job_overrides(run_dir) or saved_overrides(run_dir) or []
        return {_override_key(word) for word in words}
    keys = {_override_key(str(key)) for key in OmegaConf.select(hydra, "sweeper.params", default=None) or {}}
    # The sweep directory holds its jobs (conf/config.yaml's hydra.sweep.subdir). Not
    # hydra.sweep.dir as saved: resolving it again would name (and make) a new directory.
    typed = sweep_task_overrides(run_dir.parent)
    if typed:
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parsed = OverridesParser.create().parse_overrides(typed)
        keys |= {_override_key(override.key_or_group) for override in parsed if override.is_sweep_override()}
    return keys


def _job_hydra_config(run_dir: Path):
    """The Hydra config of the job in ``run_dir``: the running job's own, else its saved ``.hydra/hydra.yaml``; None without one.

    The running job's is in memory: reading it saves every job of a sweep
    parsing the whole saved file again.
    """
    from omegaconf import OmegaConf

    running = _running_job(run_dir)
    if running is not None:
        return running
    hydra_yaml = run_dir / ".hydra" / "hydra.yaml"
    return OmegaConf.load(hydra_yaml).hydra if hydra_yaml.is_file() else None


def _override_key(word: str) -> str:
    """``+model.dropout=0.1`` -> ``model.dropout``: the config key an override sets."""
    return word.split("=", 1)[0].lstrip("+~")


def _experiment(hparams: Mapping[str, HParamValue], varied: set[str]):
    """The experiment summary: every hyperparameter, the ``varied`` ones marked to lead, and METRICS.

    String hyperparameters get no list of values: the page would offer it as
    a filter with every value ticked and hide the runs whose value it lacks,
    the runs of other sweeps in the same ``--logdir``. Interval filters start
    open, so numbers need no range either.
    """
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

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


def _write_experiment(run_dir: str | Path, hparams: Mapping[str, HParamValue]) -> None:
    """The run's experiment file: its keys marked ``differs`` where varied by any run under its outputs folder."""
    from rnnexp.tracking.experiment_file import shared_varied_keys, write_experiment

    varied = shared_varied_keys(run_dir, varied_keys(run_dir) & set(hparams))
    write_experiment(run_dir, _experiment(hparams, varied))


def _session_start(hparams: Mapping[str, HParamValue], started: float):
    """The summary that opens an hparams session: its hyperparameters and start time."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo(start_time_secs=started)
    for key, value in hparams.items():
        if isinstance(value, bool):  # before int: a bool is an int
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = str(value)
    return _hparams_summary("session_start_info", plugin_data_pb2.HParamsPluginData(session_start_info=start))


def _session_end(status: Status, ended: float):
    """The summary that closes an hparams session with the run's status."""
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.Status.Value(SESSION_STATUS[status]), end_time_secs=ended)
    return _hparams_summary("session_end_info", plugin_data_pb2.HParamsPluginData(session_end_info=end))


def _hparams_summary(name: str, data):
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata

    return Summary(value=[Summary.Value(tag=_HPARAMS_TAGS + name, metadata=metadata.create_summary_metadata(data))])


def _text_summary(tag: str, text: str):
    """A text summary as SummaryWriter.add_text writes it, without torch."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.plugins.text import metadata

    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)])
    tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode()], tensor_shape=shape)
    value = Summary.Value(tag=f"{tag}/text_summary", metadata=metadata.create_summary_metadata(tag, ""), tensor=tensor)
    return Summary(value=[value])


def record_failure(run_dir: str | Path, cfg: DictConfig, reason: str) -> None:
    """An event file for a run that failed before it opened its records: its session, ended as a failure.

    The hyperparameters are the composed config's (``cfg``), the same keys as
    every run's, so the failed run is a row of the HParams table like the
    others; the reason is its ``error`` text. A run directory that already
    holds an event file is left as it is: the trainer opened its records and
    ended their session itself (with the sizes it had read from the data).
    """
    from omegaconf import OmegaConf
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    if any(Path(run_dir).glob(EVENT_FILES)):
        return
    hparams = hparams_of(OmegaConf.to_container(cfg, resolve=True), overrides_of(run_dir))
    _write_experiment(run_dir, hparams)
    now = time.time()
    summaries = (
        _session_start(hparams, now),
        _text_summary("error", reason),
        _session_end(Status.FAILED, now),
    )
    writer = EventFileWriter(str(run_dir))
    try:
        for summary in summaries:
            writer.add_event(Event(wall_time=now, summary=summary))
    finally:
        writer.close()


def copy_events(source_dir: Path, run_dir: Path) -> None:
    """Copy the event files of ``source_dir`` into ``run_dir``, less their hparams session and final metrics.

    A resumed run carries the curves of the run it continues, and writes its
    own session and final metrics at its end. TensorBoard keeps the first
    session it reads in a run, so an old one left in the copies would stand
    for the resumed run. A run resumed in its own directory (a requeued
    sweep job) has its event files rewritten in place the same way.
    """
    from rnnexp.files import write_atomically

    for events in sorted(source_dir.glob(EVENT_FILES)):
        write_atomically(run_dir / events.name, lambda tmp, events=events: _write_without_sessions(events, tmp))


def _write_without_sessions(events: Path, destination: str) -> None:
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    with open(destination, "wb") as copy:
        writer = RecordWriter(copy)
        for record in RawEventFileLoader(str(events)).Load():
            event = Event.FromString(record)
            if event.HasField("summary"):
                kept = [v for v in event.summary.value if not _run_end_tag(v.tag)]
                if not kept:
                    continue
                if len(kept) < len(event.summary.value):
                    del event.summary.value[:]
                    event.summary.value.extend(kept)
                    record = event.SerializeToString()
            writer.write(record)


def _run_end_tag(tag: str) -> bool:
    """Whether ``tag`` is one a run writes for itself alone: its hparams summaries and final metrics."""
    return tag.startswith((_HPARAMS_TAGS, _OLD_FINAL)) or tag in FINAL_METRICS


def graph_example(data: TaskData, device: torch.device) -> torch.Tensor:
    """The first training sequence as a batch of one, on ``device``: (1, T) int64, the graph's example input."""
    import torch

    return data.train.batch(torch.arange(1)).source.to(device)


def _logits_only(model: nn.Module) -> nn.Module:
    """The model with the logits as its one output: the tracer takes only tensors (forward returns (logits, None))."""
    from torch import nn

    class Logits(nn.Module):
        def __init__(self, model: nn.Module):
            super().__init__()
            self.model = model

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.model(ids)[0]  # (1, T) -> (1, T, C)

    return Logits(model)


# Traced graphs by (model structure, input shape, device): see RunTracker.log_graph.
_graphs: dict[tuple, Optional[tuple]] = {}


def _trace_graph(model: nn.Module, example_ids: torch.Tensor) -> Optional[tuple]:
    """TensorBoard's graph of ``model`` (a GraphDef and its run metadata), or None when it cannot be traced.

    Traced in eval mode, so dropout draws no random numbers and the run's
    random stream is untouched. torch.jit.trace's check is left out: it runs
    the traced graph once more, the costliest part of a trace (figures in
    docs/performance.md).
    """
    import torch
    from torch.utils.tensorboard._pytorch_graph import graph  # what SummaryWriter.add_graph writes

    from rnnexp.models.sampling import eval_mode

    try:
        with eval_mode(model), warnings.catch_warnings():
            # These concern running the trace again, and it is only drawn:
            # TracerWarnings (Python values read from tensors) and the
            # notices that torch.jit.trace is deprecated and that tracing a
            # traced module does nothing.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            warnings.filterwarnings("ignore", message=r"`torch\.jit\.trace", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message="The input to trace is already a ScriptModule")
            traced = torch.jit.trace(_logits_only(model), (example_ids,), check_trace=False)
            return graph(traced, (example_ids,))  # tracing a traced module returns it as it is
    except Exception as error:  # any failure of the tracer: the graph is a view, never worth a run
        reason = next(iter(str(error).splitlines()), "") or type(error).__name__
        log.info(f"No graph in TensorBoard's Graphs tab: the tracer cannot follow this model ({reason})")
        return None


class RunTracker:
    def __init__(self, run_dir: str, purge_step: Optional[int] = None):
        """``purge_step``: a resumed run's first epoch; TensorBoard drops what earlier files hold from it on.

        A run killed between writing an epoch's curves and its checkpoint
        trains that epoch again: without the purge its points would be drawn twice.
        """
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=run_dir, purge_step=purge_step)
        self.started = time.time()
        self.ended = False  # whether the hparams session has its end

    def log_config(self, config_yaml: str) -> None:
        # add_text renders Markdown; indenting by four spaces keeps the YAML a code block.
        block = "\n".join("    " + line for line in config_yaml.splitlines())
        self.writer.add_text("config", block, 0)

    def log_graph(self, model: nn.Module, example_ids: torch.Tensor) -> None:
        """Draw ``model`` in the Graphs tab, traced on ``example_ids`` (1, T) and written into this run's event file.

        The graph holds the model's structure and shapes, not its weights, so
        it is traced once per structure in a process and written again for
        every run of that structure: the jobs of a sweep over lr, seed or
        optimizer share one trace. A model the tracer cannot follow is
        skipped with one log line.
        """
        key = (repr(model), tuple(example_ids.shape), str(example_ids.device))
        if key not in _graphs:
            _graphs[key] = _trace_graph(model, example_ids)
        if _graphs[key] is not None:
            self.writer.file_writer.add_graph(_graphs[key])

    def log_epoch(
        self, epoch: int, loss: float, char_accuracy: Optional[float], seq_accuracy: Optional[float], lr: float
    ) -> None:
        """The epoch's training curves; the accuracies are None when training counted none (train_accuracy=false)."""
        self.writer.add_scalar("loss/train", loss, epoch)
        if char_accuracy is not None:
            self.writer.add_scalar("train_accuracy/char", char_accuracy, epoch)
        if seq_accuracy is not None:
            self.writer.add_scalar("train_accuracy/seq", seq_accuracy, epoch)
        self.writer.add_scalar("lr", lr, epoch)

    def log_validation(self, epoch: int, loss: float, char_accuracy: float, seq_accuracy: float) -> None:
        # Beside the training loss: TensorBoard groups tags by their first part.
        self.writer.add_scalar("loss/val", loss, epoch)
        self.writer.add_scalar("val_accuracy/char", char_accuracy, epoch)
        self.writer.add_scalar("val_accuracy/seq", seq_accuracy, epoch)

    def log_predictions(self, epoch: int, rows: list[tuple[str, str, str]]) -> None:
        """A Markdown table of (source, prediction, target): plain newlines would collapse."""
        lines = ["| source | prediction | target | per character |", "|---|---|---|---|"]
        for source, prediction, target in rows:
            marks = "".join("✓" if p == t else "✗" for p, t in zip(prediction, target))
            lines.append(f"| `{source}` | `{prediction}` | `{target}` | {marks} |")
        self.writer.add_text("prediction", "\n".join(lines), epoch)

    def log_sample(self, epoch: int, text: str) -> None:
        # Indented four spaces: a Markdown code block keeps the sample's line breaks.
        self.writer.add_text("sample", "\n".join("    " + line for line in text.splitlines()), epoch)

    def start_session(self, hparams: Mapping[str, HParamValue]) -> None:
        """Open this run's hparams session: until its end, the HParams page shows it as running.

        ``hparams`` must have the same keys, all set, in every run: a missing
        or None value makes the dashboard hide runs of a sweep. The experiment
        summary, in a file of its own beside the event file, marks the keys
        the user varied, so the table opens on them (see the module's
        docstring); the jobs of a sweep write the same one.
        """
        _write_experiment(self.writer.log_dir, hparams)
        self.writer.file_writer.add_summary(_session_start(hparams, self.started))

    def end_session(self, status: Status, final: Optional[Mapping[str, float]] = None, step: int = 0) -> None:
        """Close the session with the run's status; with ``final``, write the final metrics as scalars at ``step``.

        ``final`` holds exactly FINAL_METRICS, all set, when the run trained
        to its end (ok or diverged). Only the first end counts.
        """
        if self.ended:
            return
        self.ended = True
        if final is not None:
            assert set(final) == set(FINAL_METRICS), sorted(final)
            for tag, value in final.items():
                self.writer.add_scalar(tag, value, step)
        self.writer.file_writer.add_summary(_session_end(status, time.time()))

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
