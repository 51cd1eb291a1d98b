"""Each run's hparams experiment summary, in a file of its own, marking the keys varied across its outputs folder.

TensorBoard's HParams page shows the experiment summary of one run, any one
(see rnnexp.tracking.summaries's docstring), so ``tensorboard --logdir outputs`` over
several sweeps would tick the keys of whichever sweep that run belongs to.
Instead every run under one outputs folder (the folder holding ``runs/`` and
``multirun/``) marks the same keys: the union of the keys varied by every run
there. The union is kept in ``<root>/.rnnexp_varied_keys.json``; when a run
adds a key to it, the summary of every run under the root is rewritten, so
whichever one TensorBoard picks is the same. A run elsewhere (a custom
``hydra.run.dir`` or ``hydra.sweep.dir``) marks its own keys only.

The summary is alone in its file, so rewriting it leaves the run's curves and
session untouched. The file's name holds ``tfevents``, which is what makes
TensorBoard read a file as an event file, but not ``events.out.tfevents.``:
the run's event files (results.EVENT_FILES) stay its curves and session only,
so a resumed run's copies (tracking.copy_events) never carry a second summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.plugins.hparams import metadata, plugin_data_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

log = logging.getLogger(__name__)

EXPERIMENT_FILE = "experiment.tfevents"
UNION_FILE = ".rnnexp_varied_keys.json"
_EXPERIMENT_TAG = "_hparams_/experiment"  # tensorboard.plugins.hparams.metadata.EXPERIMENT_TAG


def outputs_root(run_dir: str | Path) -> Optional[Path]:
    """The folder holding ``runs/`` and ``multirun/`` above ``run_dir``, in conf/config.yaml's layout; else None.

    ``<root>/runs/<date>/<name>`` or ``<root>/multirun/<date>/<time>/<job>``.
    """
    parents = Path(run_dir).resolve().parents
    if len(parents) > 2 and parents[1].name == "runs":
        return parents[2]
    if len(parents) > 3 and parents[2].name == "multirun":
        return parents[3]
    return None


def shared_varied_keys(run_dir: str | Path, own: set[str]) -> set[str]:
    """The keys to mark in ``run_dir``'s summary: ``own`` with every key varied under its outputs root.

    When ``own`` adds a key to the root's union, every other run's summary
    under the root is rewritten to mark the new union; otherwise none is, so
    the jobs of a sweep rewrite the others once, not once each.
    """
    root = outputs_root(run_dir)
    if root is None:
        return set(own)
    with _locked(root):
        recorded = _read_union(root)
        union = recorded | own
        if union != recorded or not (root / UNION_FILE).is_file():
            _write_union(root, union)  # also when missing: the next run need not look through the summaries
        if union != recorded:
            for path in root.rglob(EXPERIMENT_FILE):
                if path.parent.resolve() != Path(run_dir).resolve():  # its own is written by its caller
                    _mark(path, union)
    return union


def write_experiment(run_dir: str | Path, summary) -> None:
    """Write ``summary`` (a Summary proto) as ``run_dir``'s experiment file, replacing it whole."""
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    _replace(Path(run_dir) / EXPERIMENT_FILE, Event(wall_time=time.time(), step=0, summary=summary))


def _mark(path: Path, union: set[str]) -> None:
    """Rewrite the experiment file ``path`` with ``differs`` set on exactly its keys in ``union``.

    A file that cannot be read (cut off, or not one of these) is left alone:
    its run's own start writes it again.
    """
    try:
        found = _experiment_in(path)
        if found is None:
            return
        event, value, experiment = found
        for info in experiment.hparam_infos:
            info.differs = info.name in union
        value.metadata.CopyFrom(metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(experiment=experiment)))
        _replace(path, event)
    except Exception as error:  # a broken or foreign file: never worth failing the run that found it
        log.debug(f"{path}: not rewritten ({error})")


def _experiment_in(path: Path):
    """The event of ``path`` that holds the experiment summary, its summary value and the Experiment; None without one."""
    for record in RawEventFileLoader(str(path)).Load():
        event = Event.FromString(record)
        for value in event.summary.value:
            if value.tag == _EXPERIMENT_TAG:
                return event, value, metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)
    return None


def _replace(path: Path, event) -> None:
    """An event file holding ``event``, written beside ``path`` and renamed onto it: never seen half-written.

    The temporary name lacks ``tfevents``, so a TensorBoard reading the folder meanwhile ignores it.
    """
    fd, tmp = tempfile.mkstemp(prefix=".rnnexp_experiment.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            writer = RecordWriter(out)
            writer.write(Event(wall_time=event.wall_time, file_version="brain.Event:2").SerializeToString())
            writer.write(event.SerializeToString())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_union(root: Path) -> set[str]:
    """The union recorded at ``root``; missing or unreadable, the keys marked in the summaries there."""
    try:
        keys = json.loads((root / UNION_FILE).read_text())
        if isinstance(keys, list) and all(isinstance(key, str) for key in keys):
            return set(keys)
    except (OSError, ValueError):
        pass
    return _marked_under(root)


def _marked_under(root: Path) -> set[str]:
    marked: set[str] = set()
    for path in root.rglob(EXPERIMENT_FILE):
        try:
            found = _experiment_in(path)
        except Exception:  # a broken file adds nothing
            continue
        if found is not None:
            marked |= {info.name for info in found[2].hparam_infos if info.differs}
    return marked


def _write_union(root: Path, union: set[str]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f"{UNION_FILE}.", dir=root)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(sorted(union), out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, root / UNION_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``root`` while its union is read, grown and spread.

    Jobs started together (joblib, a SLURM array) would otherwise each read
    the old union; jobs of different sweeps could lose each other's keys. A
    file system that refuses the lock only makes the race possible again:
    every file is still replaced whole.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # releases the lock
