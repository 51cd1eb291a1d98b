"""Copies of a run's event files for the run that resumes it, less what a run writes for itself alone."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.summary.writer.record_writer import RecordWriter

from rnnexp.files import write_atomically
from rnnexp.results import EVENT_FILES
from rnnexp.tracking.summaries import ALL_FINAL_METRICS, HPARAMS_TAGS, OLD_FINAL


def copy_events(source_dir: Path, run_dir: Path) -> None:
    """Copy the event files of ``source_dir`` into ``run_dir``, less their hparams session and final metrics.

    A resumed run carries the curves of the run it continues, and writes its
    own session and final metrics at its end. TensorBoard keeps the first
    session it reads in a run, so an old one left in the copies would stand
    for the resumed run. A run resumed in its own directory (a requeued
    sweep job) has its event files rewritten in place the same way.
    """
    for events in sorted(source_dir.glob(EVENT_FILES)):
        write_atomically(run_dir / events.name, lambda tmp, events=events: _write_without_sessions(events, tmp))


def _write_without_sessions(events: Path, destination: str) -> None:
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
    return tag.startswith((HPARAMS_TAGS, OLD_FINAL)) or tag in ALL_FINAL_METRICS
