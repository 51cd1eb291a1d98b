"""Run and sweep directory names: the time to the millisecond and the overrides, created exclusively."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from datetime import datetime
from typing import Optional

from omegaconf import OmegaConf

from rnnexp.errors import UserError

# A label keeps letters, digits and . , = + ~ : @ % - _; anything else (the "/" of
# task.path=/a/b.txt, a space, a quote) becomes "_", so a label never nests
# directories and a run directory needs no quoting in a shell (Hydra's grammar still
# needs its = and , quoted: rnnexp.config.command_words.typed_override writes a resume= for it).
_UNSAFE_IN_LABEL = re.compile(r"[^\w.,=+~:@%-]")
# A directory name may hold 255 bytes; a label longer than this keeps a readable
# start and a hash of the whole, so two long labels stay apart.
_LABEL_BYTES = 120
# What unique_dir names: HH-MM-SS.mmm, -N when another run took that millisecond, _label.
_RUN_NAME = re.compile(r"(\d{2}-\d{2}-\d{2}\.\d{3})(?:-(\d+))?(?:_|$)")
_DATE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}$")
RUNS = "outputs/runs"  # where single runs go, below the working directory (conf/config.yaml's hydra.run.dir)
SWEEPS = "outputs/multirun"  # where sweeps go (hydra.sweep.dir), named the same way
NEWEST = ("last", "latest")  # resume=last, run=last: the newest run under RUNS


def dir_label(text: str) -> str:
    """``text`` (a job's override_dirname) made safe as one directory name's part: no ``/``, at most 120 bytes.

    The full overrides stay in ``.hydra/overrides.yaml``, the summary and
    TensorBoard's HParams page; the name only has to be readable and distinct.
    """
    label = _UNSAFE_IN_LABEL.sub("_", text)
    if len(label.encode()) > _LABEL_BYTES:
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        start = label.encode()[: _LABEL_BYTES - len(digest) - 1].decode(errors="ignore")
        label = f"{start}-{digest}"
    return label


def unique_dir(parent: str, label: str = "") -> str:
    """Create and return ``parent/<HH-MM-SS.mmm>_<label>``, a directory no other run has.

    ``label`` is the job's overrides (``${hydra.job.override_dirname}``), so a
    run is named by what it changed (``14-19-35.714_model=cell,task=text``); an
    empty one leaves the time alone. ``${now:%H-%M-%S}`` collides when two runs
    start in the same second; the exclusive ``mkdir`` makes the name unique
    even for runs started in the same millisecond (``-1``, ``-2`` ... after
    the time). Registered as the ``rnnexp.unique_dir`` resolver with caching,
    so Hydra's sweep jobs, which copy the resolver cache of the sweep config,
    all see the same value.
    """
    new_parents = _missing_parents(parent)
    os.makedirs(parent, exist_ok=True)
    stamp = datetime.now().strftime("%H-%M-%S.%f")[:-3]
    suffix = f"_{dir_label(label)}" if label else ""
    n = 0
    while True:
        path = os.path.join(parent, f"{stamp}-{n}{suffix}" if n else f"{stamp}{suffix}")
        try:
            os.mkdir(path)
            _made_here[os.path.realpath(path)] = new_parents
            return path
        except FileExistsError:
            n += 1


# The directories unique_dir made in this process: each run's, with the parents
# it created for it (outputs/, outputs/runs/<date>/), innermost first.
_made_here: dict[str, list[str]] = {}


def _missing_parents(parent: str) -> list[str]:
    missing, path = [], os.path.abspath(parent)
    while not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def discard_new_run_dir(path: str) -> bool:
    """Remove ``path`` when unique_dir made it in this process, and the parents made for it that are left empty.

    For a command refused before training began: its directory holds only
    what Hydra wrote at the start (.hydra/, the log), and left in place it
    would be one more failed run in TensorBoard and in ``run=last``. A
    directory the user named (``hydra.run.dir=...``) is never removed.
    Returns whether it was removed.
    """
    new_parents = _made_here.pop(os.path.realpath(path), None)
    if new_parents is None:
        return False
    shutil.rmtree(path, ignore_errors=True)
    for parent in new_parents:
        try:
            os.rmdir(parent)  # only when empty: another run may have started there since
        except OSError:
            break
    return True


def newest_run(root: str = RUNS, exclude: Optional[str] = None) -> Optional[str]:
    """The newest directory that unique_dir made in ``root/<YYYY-MM-DD>/``, by the date and time in its name.

    What ``run=last`` names. A symbolic link to it would serve as well, but
    TensorBoard follows links inside its ``--logdir`` and would list the run
    twice. ``exclude`` leaves out one directory (a run that is about to
    resume the newest one has already made its own). None when there is none.
    """
    if not os.path.isdir(root):
        return None
    skip = os.path.realpath(exclude) if exclude else None
    runs = {}  # (date, time, n, name) -> path; the name only orders runs of the same millisecond
    for day in os.listdir(root):
        if _DATE_NAME.match(day) and os.path.isdir(os.path.join(root, day)):
            for name in os.listdir(os.path.join(root, day)):
                path, stamp = os.path.join(root, day, name), _RUN_NAME.match(name)
                if stamp and os.path.isdir(path) and os.path.realpath(path) != skip:
                    runs[(day, stamp.group(1), int(stamp.group(2) or 0), name)] = path
    return runs[max(runs)] if runs else None


def named_run(value: str, key: str, exclude: Optional[str] = None, root: str = RUNS) -> str:
    """The run directory that ``key=value`` names: ``last`` or ``latest`` is the newest run, else ``value`` itself.

    ``exclude`` is as for :func:`newest_run`; ``root`` is SWEEPS for a sweep.
    """
    if value not in NEWEST:
        return value
    newest = newest_run(root, exclude=exclude)
    if newest is None:
        what, start = ("sweep", "python -m rnnexp -m ...") if root == SWEEPS else ("run", "python -m rnnexp")
        raise UserError(
            f"{key}={value}: no {what} under {root} here; give its directory, {key}={root}/<date>/<time>..., "
            f"or start one ({start})"
        )
    return newest


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("rnnexp.unique_dir"):
        OmegaConf.register_new_resolver("rnnexp.unique_dir", unique_dir, use_cache=True)
    if not OmegaConf.has_resolver("rnnexp.dir_label"):
        # For a sweep job's subdirectory: ${hydra.job.num}_${rnnexp.dir_label:${hydra.job.override_dirname}}.
        OmegaConf.register_new_resolver("rnnexp.dir_label", dir_label)




def resumed_run_place(run: str, overrides: list[str], today: str) -> tuple[str, str]:
    """Where ``resume=<run>`` trains, as (parent, label): beside the run it continues, under its overrides.

    The label is the resumed run's own (the part of its name after the time)
    with the command's overrides laid over it (``epochs=15``), less
    ``resume=`` itself: ``07-49-50.987_epochs=6,model=rnn`` continues as
    ``<time>_epochs=15,model=rnn``, and a run resumed again keeps them still.
    A run in ``<root>/<YYYY-MM-DD>/`` continues in ``<root>/<today>/``, whatever
    the working directory (``resume=.`` inside a run directory); elsewhere, in RUNS.
    """
    path = os.path.abspath(run)
    stamp = _RUN_NAME.match(os.path.basename(path))
    label = os.path.basename(path)[stamp.end():] if stamp else ""
    by_key = {item.partition("=")[0]: item for item in _LABEL_ITEM.split(label) if item}
    for override in overrides:
        by_key[override.partition("=")[0].lstrip("+~")] = override
    by_key.pop("resume", None)
    label = ",".join(sorted(by_key.values()))  # sorted, as Hydra sorts override_dirname
    if _DATE_NAME.match(os.path.basename(os.path.dirname(path))):
        parent = os.path.join(os.path.dirname(os.path.dirname(path)), today)
        inside = os.path.relpath(parent)
        parent = parent if inside.startswith(os.pardir) else inside  # relative when under the working directory
    else:
        parent = os.path.join(RUNS, today)
    return parent, label


# Between two items of a label: a comma before the next key= (a value may hold commas).
_LABEL_ITEM = re.compile(r",(?=[\w.+~-]+=)")
