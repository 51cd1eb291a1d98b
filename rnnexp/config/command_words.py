"""The command line's words, made ready for Hydra's override grammar before it reads them.

rnnexp prints run and sweep directories whose names hold their overrides
(``outputs/runs/2026-12-05/07-49-50.987_epochs=6,model=rnn``). Hydra's grammar
reads that ``=`` and ``,`` as its own, so a printed directory pasted back as
``resume=<dir>`` would not parse. Every key that takes a path takes it here as
one string, exactly as printed; a value already in quotes is left as typed.

Also here: ``model = rnn``, typed with spaces, which the shell splits into
three words and Hydra answers with "missing EQUAL".
"""

from __future__ import annotations

import os
from typing import Sequence

from rnnexp.errors import UserError
from rnnexp.results import PATH_KEYS, hydra_value

# Hydra's flags that take the next word as their value (--cfg job, -cd my_conf).
_FLAGS_WITH_VALUE = frozenset({
    "--cfg", "-c", "--package", "-p", "--info", "-i", "--config-path", "-cp", "--config-name", "-cn",
    "--config-dir", "-cd", "--experimental-rerun", "--shell-completion", "-sc",
})
_QUOTES = ("'", '"')


def path_words(args: Sequence[str]) -> list[str]:
    """``args`` with each path key's value quoted for Hydra where its grammar would split or refuse it.

    A value is a path, and not a sweep (``task.path=a.txt,b.txt`` under
    ``-m``), when it holds an ``=`` (no override value does) or names a file
    or directory that exists as written.
    """
    return [_path_word(arg) for arg in args]


def _path_word(arg: str) -> str:
    key, sep, value = arg.partition("=")
    if not sep or key.lstrip("+") not in PATH_KEYS or not value or value.startswith(_QUOTES):
        return arg
    if "=" in value or os.path.exists(value):
        return f"{key}={hydra_value(value)}"
    return arg


def unquoted(value: str) -> str:
    """A path typed in Hydra's quotes (``run='a=b'``), as rnnexp's own ``key=value`` parsers read it: without them."""
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        return value[1:-1].replace(f"\\{value[0]}", value[0])
    return value


def check_spacing(args: Sequence[str]) -> None:
    """Refuse ``key = value`` (three words, or two: ``key= value``, ``key =value``), saying what to type."""
    for i, word in enumerate(args):
        before = args[i - 1] if i > 0 else None
        after = args[i + 1] if i + 1 < len(args) else None
        if word == "=" and _bare(before, args[i - 2] if i > 1 else None) and after is not None and "=" not in after:
            typed, meant = f"{before} = {after}", f"{before}={after}"
        elif word.startswith("=") and len(word) > 1 and _bare(before, args[i - 2] if i > 1 else None):
            typed, meant = f"{before} {word}", f"{before}{word}"
        elif (
            word.endswith("=") and word.count("=") == 1 and len(word) > 1 and after is not None
            and "=" not in after and not after.startswith("-") and before not in _FLAGS_WITH_VALUE
        ):
            typed, meant = f"{word} {after}", f"{word}{after}"
        else:
            continue
        raise UserError(f"'{typed}': an override is one word, with no spaces around its =; type {meant}")


def _bare(word: str | None, before: str | None) -> bool:
    """``word`` is a key typed alone: no ``=``, not a flag, not a flag's value."""
    return bool(word) and "=" not in word and not word.startswith("-") and before not in _FLAGS_WITH_VALUE
