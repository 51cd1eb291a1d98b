"""The TensorBoard record of a run that failed before it opened its records: a row of the HParams table.

Runs while a bad value is answered, so it imports no torch.
"""

from __future__ import annotations

import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from rnnexp.data.task_registry import task_kind
from rnnexp.results import EVENT_FILES, Status
from rnnexp.tracking.hparams import hparams_of, overrides_of
from rnnexp.tracking.summaries import session_end, session_start, text_summary, write_experiment_summary


def record_failure(run_dir: str | Path, cfg: DictConfig, reason: str) -> None:
    """An event file for a run that failed before it opened its records: its session, ended as a failure.

    The hyperparameters are the composed config's (``cfg``), the same keys as
    every run's, so the failed run is a row of the HParams table like the
    others; the reason is its ``error`` text. A run directory that already
    holds an event file is left as it is: the trainer opened its records and
    ended their session itself (with the sizes it had read from the data).
    """
    if any(Path(run_dir).glob(EVENT_FILES)):
        return
    resolved = OmegaConf.to_container(cfg, resolve=True)
    hparams = hparams_of(resolved, overrides_of(run_dir))
    write_experiment_summary(run_dir, hparams, task_kind(resolved["task"]))  # None for task=custom: its data was not read
    now = time.time()
    summaries = (
        session_start(hparams, now),
        text_summary("error", reason),
        session_end(Status.FAILED, now),
    )
    writer = EventFileWriter(str(run_dir))
    try:
        for summary in summaries:
            writer.add_event(Event(wall_time=now, summary=summary))
    finally:
        writer.close()
