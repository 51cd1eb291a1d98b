"""The files a task reads: a text, or (source, target) pairs in the formats users keep them in.

The pairs' format is chosen by the file's extension:

    .tsv, .txt   one ``source<TAB>target`` per line (a .txt was read this way before the other formats came)
    .csv         two columns, source,target, in the csv module's dialect (quote a field that holds a comma);
                 a first row that reads exactly ``source,target`` is a header and skipped, any other is data
    .jsonl       JSON Lines, one pair a line: ``{"source": "abc", "target": "cba"}`` or ``["abc", "cba"]``

Blank lines are skipped in each. Every way a file can be wrong is one
UserError naming ``task.path``, the line and the problem. Nothing here
imports torch: a file is strings until rnnexp.data.loading encodes them.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Callable, Optional

from rnnexp.errors import UserError

Pairs = list[tuple[str, str]]

# The default text corpus, shipped in the package: the opening of Shakespeare's
# Coriolanus (public domain), about 100 kB.
DEFAULT_CORPUS = "coriolanus.txt"


def read_text(path_value: Optional[str], what: str, key: str = "task.path") -> tuple[str, str]:
    """(the name errors give it, the text) of the UTF-8 file ``key`` (task.path) names; None: the shipped corpus."""
    if path_value is None:
        return "(shipped corpus)", resources.files("rnnexp.data.corpora").joinpath(DEFAULT_CORPUS).read_text("utf-8")
    try:
        text = read_bytes(path_value, what, key).decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{key}={path_value}: not UTF-8 text (byte {error.start} cannot be decoded)") from None
    if not text.strip():
        raise UserError(f"{key}={path_value}: the file is empty; give {what}")
    return path_value, text


def read_bytes(path_value: str, what: str, key: str = "task.path") -> bytes:
    """The bytes of the file ``key`` names; UserError naming it when it cannot be read (``what``: what it should be)."""
    path = Path(path_value).expanduser()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{key}={path_value}: no such file (relative paths start from {Path.cwd()})") from None
    except IsADirectoryError:
        raise UserError(f"{key}={path_value}: is a directory; give {what}") from None
    except PermissionError:
        raise UserError(f"{key}={path_value}: not readable (permission denied)") from None
    except OSError as error:
        raise UserError(f"{key}={path_value}: cannot be read ({error.strerror})") from None


def read_pairs(path_value: str) -> Pairs:
    """The pairs of the file task.path names, read by its extension (see the module's docstring)."""
    extension = Path(path_value).suffix.lower()
    # The file first: a missing or unreadable file is named as such, whatever its extension.
    _, text = read_text(path_value, "a file of source,target pairs (.tsv, .csv or .jsonl)")
    reader = _READERS.get(extension)
    if reader is None:
        shown = extension or "(none)"
        raise UserError(
            f"task.path={path_value}: unknown extension {shown}; allowed: {', '.join(_READERS)} "
            "(source<TAB>target lines, source,target rows, or JSON Lines of pairs)"
        )
    pairs = []
    for number, source, target in reader(path_value, text):
        if not source or len(source) != len(target):
            raise UserError(
                f"task.path={path_value} line {number}: source {source!r} and target {target!r} must be non-empty "
                "and of the same length"
            )
        pairs.append((source, target))
    if not pairs:
        raise UserError(f"task.path={path_value}: the file has no pairs")
    return pairs


def _tsv(path: str, text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise UserError(
                f"task.path={path} line {number}: expected source<TAB>target, found {len(fields) - 1} tabs in {line!r}"
            )
        yield number, fields[0], fields[1]


CSV_HEADER = ["source", "target"]


def _csv(path: str, text: str):
    rows = csv.reader(text.splitlines())
    try:
        for row in rows:
            number = rows.line_num  # a quoted field may span lines: the row's last line
            if not row or not any(field.strip() for field in row):
                continue
            if number == 1 and row == CSV_HEADER:
                continue
            if len(row) != 2:
                raise UserError(
                    f"task.path={path} line {number}: expected two columns, source,target, found {len(row)} in "
                    f"{','.join(row)!r} (quote a field that holds a comma)"
                )
            yield number, row[0], row[1]
    except csv.Error as error:
        raise UserError(f"task.path={path} line {rows.line_num}: not CSV ({error})") from None


def _jsonl(path: str, text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"task.path={path} line {number}: not JSON ({error.msg} at column {error.colno})") from None
        if isinstance(value, dict) and set(value) == {"source", "target"}:
            pair = [value["source"], value["target"]]
        elif isinstance(value, list) and len(value) == 2:
            pair = value
        else:
            pair = None
        if pair is None or not all(isinstance(part, str) for part in pair):
            raise UserError(
                f'task.path={path} line {number}: expected {{"source": "...", "target": "..."}} or ["...", "..."] '
                f"(two strings), found {line.strip()[:80]}"
            )
        yield number, pair[0], pair[1]


_READERS: dict[str, Callable] = {".tsv": _tsv, ".txt": _tsv, ".csv": _csv, ".jsonl": _jsonl}
