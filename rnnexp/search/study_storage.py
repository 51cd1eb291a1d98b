"""Where an Optuna search keeps its study: one place that the sweeper and every job of it open alike.

The sweeper asks the study for trials and tells it their results; each job
reports its loss to its own trial after every epoch, from whatever process
runs it: the sweeper's own (basic launcher), a joblib worker, or a node of a
cluster (SLURM). So the study lives where all of them reach it, named by
``hydra.sweeper.storage``:

- null (the default): ``<sweep dir>/optuna.journal``, Optuna's JournalStorage
  with its file backend. Its lock is ``JournalFileOpenLock`` (a lock file
  created with O_EXCL), which NFS v3 and later honour, unlike the ``fcntl``
  locks SQLite relies on: jobs on other nodes append to it safely.
- a database URL (``sqlite:///optuna.db``, ``postgresql://...``): Optuna's RDB storage.
- any other value: the path of a journal file (``searches/lr.journal``).

Relative paths are read from the working directory, the one every job of a
sweep shares (Hydra does not change it, and SLURM starts jobs where they were
submitted). The functions that open a storage import optuna; the rest of this
module is read by the start checks, which run without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rnnexp.errors import UserError

JOURNAL_NAME = "optuna.journal"  # the default storage's file, in the sweep directory
DEFAULT_STUDY = "rnnexp"  # the study's name when hydra.sweeper.study_name is null
KEY = "hydra.sweeper.storage"
_SQLITE = "sqlite:///"


def is_url(setting: str) -> bool:
    """A database URL (``sqlite:///optuna.db``), as opposed to the path of a journal file."""
    return "://" in setting


def storage_file(setting: Optional[str], sweep_dir: str | Path) -> Optional[Path]:
    """The file the storage writes: the journal, or SQLite's database; None for a database server."""
    if setting is None:
        return Path(sweep_dir) / JOURNAL_NAME
    if not is_url(setting):
        return Path(setting)
    if setting.startswith(_SQLITE) and len(setting) > len(_SQLITE):
        return Path(setting[len(_SQLITE):].partition("?")[0])  # sqlite:////abs/path.db keeps its leading /
    return None


def resolved_study_name(setting: Optional[str]) -> str:
    """The study's name: ``hydra.sweeper.study_name``, or rnnexp's default where it is null.

    Never Optuna's generated name: every job must find the study by its name.
    """
    return setting or DEFAULT_STUDY


def check_storage(setting: Optional[str]) -> None:
    """Refuse a storage file that cannot be written, before any job runs; create its folder if it lacks one.

    The default journal lies in the sweep directory, which Hydra creates (and
    whose own failure it reports); a database server answers for itself.
    """
    if setting is None:
        return
    path = storage_file(setting, ".")
    if path is None:
        return
    try:
        if not path.parent.exists():  # a file in its place is answered by open(): Not a directory
            path.parent.mkdir(parents=True)
        with open(path, "ab"):  # an empty file is an empty journal, and an empty SQLite database
            pass
    except OSError as error:
        raise UserError(
            f"{KEY}={setting}: cannot write {path} ({error.strerror}); choose a writable place, "
            f"or leave it null for {JOURNAL_NAME} in the sweep directory"
        ) from None


def open_storage(setting: Optional[str], sweep_dir: str | Path) -> Any:
    """The Optuna storage that ``setting`` names (see the module's docstring); imports optuna."""
    import optuna

    if setting is not None and is_url(setting):
        return optuna.storages.RDBStorage(setting)
    path = str(storage_file(setting, sweep_dir))
    journal = optuna.storages.journal
    backend = journal.JournalFileBackend(path, lock_obj=journal.JournalFileOpenLock(path))
    return optuna.storages.JournalStorage(backend)


def shown_storage(setting: Optional[str], sweep_dir: str | Path) -> str:
    """The storage as a log line names it: the file, or a server's URL without its password."""
    path = storage_file(setting, sweep_dir)
    if path is not None:
        return f"sqlite:///{path}" if setting is not None and is_url(setting) else str(path)
    scheme, _, rest = setting.partition("://")
    credentials, at, place = rest.rpartition("@")
    return f"{scheme}://{credentials.partition(':')[0] + '@' if at else ''}{place}"
