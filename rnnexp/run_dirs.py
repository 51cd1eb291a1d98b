"""Run and sweep directory names: the time to the millisecond and the overrides, created exclusively."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime
from typing import Optional

from omegaconf import OmegaConf

from rnnexp.errors import UserError

# A label keeps letters, digits and . , = + ~ : @ % - _; anything else (the "/" of
# task.path=/a/b.txt, a space, a quote) becomes "_", so a label never nests
# directories and a run directory needs no quoting in a shell (Hydra's grammar still
# needs its = and , quoted: rnnexp.results.typed_override writes a resume= for it).
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
    os.makedirs(parent, exist_ok=True)
    stamp = datetime.now().strftime("%H-%M-%S.%f")[:-3]
    suffix = f"_{dir_label(label)}" if label else ""
    n = 0
    while True:
        path = os.path.join(parent, f"{stamp}-{n}{suffix}" if n else f"{stamp}{suffix}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1


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


