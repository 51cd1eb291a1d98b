"""Each task's data, with the checks that need it.

A task is a set of (source, target) string pairs of equal length: the models
are taggers that emit one target character per source character. The text
task is the same thing cut from a corpus: each window of characters is a
source and the window shifted by one character is its target (next-character
prediction). With ``task.stateful`` (its default) the windows follow each
other in contiguous streams instead (rnnexp.data.sequences.Streams), and the model
carries its state from one to the next.

Every task gets one vocabulary for input and output: the sorted characters of
all its strings, so hello -> ohlol has e, h, l, o as in the notebook.

The task's keys are checked by rnnexp.config.checks.validate before anything here
runs; this module checks only what needs the data: the files and their
lines, and whether a split leaves data to train on.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import torch
from omegaconf import DictConfig

from rnnexp.data.sequences import SequenceSet, Streams
from rnnexp.errors import UserError
from rnnexp.data.vocab import Vocabulary

# The default text corpus, shipped in the package: the opening of Shakespeare's
# Coriolanus (public domain), about 100 kB.
DEFAULT_CORPUS = "coriolanus.txt"


@dataclass
class TaskData:
    vocab: Vocabulary
    train: SequenceSet | Streams
    val: Optional[SequenceSet | Streams]  # None when the task has no validation split
    language_model: bool = False  # the text task: sampled, never "solved"
    # Streams read in order, the model's state carried from batch to batch
    # (task.stateful); otherwise independent sequences from zeros.
    stateful: bool = False
    val_streams: int = 0  # stateful only: the streams evaluation reads in parallel

    @property
    def eval_set(self) -> SequenceSet | Streams:
        """Where predictions and final metrics come from: validation if there is one."""
        return self.val if self.val is not None else self.train


Pairs = list[tuple[str, str]]


# --------------------------------------------------------------------------- pair tasks
def _pair_from_strings(task: DictConfig) -> Pairs:
    return [(task.source, task.target)]


def _pairs_from_tsv(task: DictConfig) -> Pairs:
    path, text = _read_text(task.path, "a TSV file of source<TAB>target lines")
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"task.path={path} line {number}"
        if len(fields) != 2:
            raise UserError(f"{where}: expected source<TAB>target, found {len(fields) - 1} tabs in {line!r}")
        source, target = fields
        if not source or len(source) != len(target):
            raise UserError(
                f"{where}: source {source!r} and target {target!r} must be non-empty and of the same length"
            )
        pairs.append((source, target))
    if not pairs:
        raise UserError(f"task.path={path}: the file has no source<TAB>target lines")
    return pairs


# --------------------------------------------------------------------------- generated tasks
def _random_strings(task: DictConfig, alphabet: str) -> list[str]:
    """``task.size`` strings over ``alphabet``, lengths in [min_length, length], seeded by task.seed."""
    rng = random.Random(task.seed)
    low = task.min_length if task.min_length is not None else task.length
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(low, task.length))) for _ in range(task.size)
    ]


def _copy_pairs(task: DictConfig) -> Pairs:
    # Delayed copy: target[t] = source[t - delay]; the first `delay` steps show ".".
    strings = _random_strings(task, string.ascii_lowercase[: task.symbols])
    return [(s, "." * task.delay + s[: len(s) - task.delay]) for s in strings]


def _parity_pairs(task: DictConfig) -> Pairs:
    # Running parity: target[t] is the parity of the ones in source[0..t].
    pairs = []
    for bits in _random_strings(task, "01"):
        parity, target = 0, []
        for bit in bits:
            parity ^= bit == "1"
            target.append(str(parity))
        pairs.append((bits, "".join(target)))
    return pairs


def _caesar_pairs(task: DictConfig) -> Pairs:
    letters = string.ascii_lowercase
    shifted = {c: letters[(i + task.shift) % 26] for i, c in enumerate(letters)}
    return [(s, "".join(shifted[c] for c in s)) for s in _random_strings(task, letters)]


def _reverse_pairs(task: DictConfig) -> Pairs:
    # The output at step t is the input at step T-1-t: a left-to-right model
    # cannot see it yet, a bidirectional one can.
    return [(s, s[::-1]) for s in _random_strings(task, string.ascii_lowercase[: task.symbols])]


PAIR_TASKS: dict[str, Callable[[DictConfig], Pairs]] = {
    "hello": _pair_from_strings,
    "inline": _pair_from_strings,
    "pairs": _pairs_from_tsv,
    "copy": _copy_pairs,
    "parity": _parity_pairs,
    "caesar": _caesar_pairs,
    "reverse": _reverse_pairs,
}


# --------------------------------------------------------------------------- files
def _read_text(path_value: Optional[str], what: str) -> tuple[str, str]:
    """Read a UTF-8 file named by task.path; every way it can fail is a UserError."""
    if path_value is None:
        return "(shipped corpus)", resources.files("rnnexp.data.corpora").joinpath(DEFAULT_CORPUS).read_text("utf-8")
    path = Path(path_value).expanduser()
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"task.path={path_value}: no such file (relative paths start from {Path.cwd()})") from None
    except IsADirectoryError:
        raise UserError(f"task.path={path_value}: is a directory; give {what}") from None
    except PermissionError:
        raise UserError(f"task.path={path_value}: not readable (permission denied)") from None
    except OSError as error:
        raise UserError(f"task.path={path_value}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise UserError(f"task.path={path_value}: not UTF-8 text (byte {error.start} cannot be decoded)") from None
    if not text.strip():
        raise UserError(f"task.path={path_value}: the file is empty; give {what}")
    return path_value, text


# --------------------------------------------------------------------------- loading
def _split(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Shuffle indices with ``seed`` and hold out ``fraction`` of them (at least one when > 0)."""
    if fraction == 0:
        return list(range(count)), []  # nothing held out: keep the task's order
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held_out = max(1, round(count * fraction))
    if held_out >= count:
        raise UserError(
            f"task.val_fraction={fraction}: leaves no training data out of {count} example(s); lower it or add data"
        )
    return order[held_out:], order[:held_out]


def _load_pairs(task: DictConfig) -> TaskData:
    pairs = PAIR_TASKS[task.name](task)
    vocab = Vocabulary("".join(s + t for s, t in pairs))
    train_idx, val_idx = _split(len(pairs), task.val_fraction, task.get("seed", 0))

    def subset(indices: list[int]) -> SequenceSet:
        return SequenceSet([vocab.encode(pairs[i][0]) for i in indices], [vocab.encode(pairs[i][1]) for i in indices])

    return TaskData(vocab, subset(train_idx), subset(val_idx) if val_idx else None)


def _load_text(task: DictConfig) -> TaskData:
    path, text = _read_text(task.path, "a UTF-8 text file")
    vocab = Vocabulary(text)
    ids = vocab.encode(text)  # (N,)
    # The last val_fraction of the text is held out whole, so no validation
    # window overlaps a training one.
    split = int(len(ids) * (1 - task.val_fraction))
    # A checkpoint saved before task.stateful existed trained on independent windows.
    stateful = task.get("stateful", False)
    cut = Streams if stateful else SequenceSet.windows
    train = cut(ids[:split], task.window)
    val = cut(ids[split:], task.window) if task.val_fraction > 0 else None
    if len(train) == 0 or (val is not None and len(val) == 0):
        raise UserError(
            f"task.path={path}: {len(text)} characters are too few for task.window={task.window} "
            f"with task.val_fraction={task.val_fraction}; use a longer text or a shorter window"
        )
    return TaskData(vocab, train, val, language_model=True, stateful=stateful, val_streams=task.val_streams if stateful else 0)


def is_language_model(task: Mapping[str, Any]) -> bool:
    """Whether ``task`` (a config, or the plain dict a checkpoint holds) trains a language model:
    one that predicts each next character, so its run samples text rather than mapping an input."""
    return task["name"] == "text"


def load_task(task: DictConfig) -> TaskData:
    """Build ``cfg.task``'s data (validated by rnnexp.config.checks.validate); raises UserError on bad files."""
    if is_language_model(task):
        return _load_text(task)
    return _load_pairs(task)


def unigram_entropy(data: SequenceSet | Streams, vocab_size: int) -> float:
    """Cross-entropy (nats per character) of always predicting the training targets' frequencies.

    The loss a model reaches by learning only how common each character is: a
    language model is learning context once it goes below this.
    """
    targets = data.all_targets()
    counts = torch.bincount(targets, minlength=vocab_size).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())
