"""The command line's words: made ready for Hydra's override grammar before it reads them, and written for a user to type.

rnnexp prints run and sweep directories whose names hold their overrides
(``outputs/runs/2026-12-05/07-49-50.987_epochs=6,model=rnn``). Hydra's grammar
reads that ``=`` and ``,`` as its own, so a printed directory pasted back as
``resume=<dir>`` would not parse. Every key that takes a path takes it here as
one string, exactly as printed; a value already in quotes is left as typed.

Also here: ``model = rnn``, typed with spaces, which the shell splits into
three words and Hydra answers with "missing EQUAL"; and the other way, the
words rnnexp prints for a user to type (``resume=<dir>``, a job's command):
quoted for Hydra where its grammar needs it, and for a POSIX shell.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any, Sequence

from rnnexp.errors import UserError

# The keys whose value is a file or directory, taken as one string however it
# reads in Hydra's grammar (path_words); continue= is rnnexp's own.
PATH_KEYS = frozenset({"resume", "continue", "task.path", "task.test_path", "hydra.run.dir", "hydra.sweep.dir"})

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


# --------------------------------------------------------------------------- words to type
def start_command(overrides: Sequence[str]) -> str:
    """The command that starts a run with ``overrides`` (a job's, from .hydra/overrides.yaml), quoted for the shell."""
    return " ".join(["python", "-m", "rnnexp", *map(shell_word, overrides)])


def typed_override(key: str, value: Any) -> str:
    """``key=value`` as it is typed in a shell, so that Hydra reads ``value`` back.

    A run directory's name holds its overrides (``..._device=cpu,model=cell``),
    whose ``=`` and ``,`` Hydra's grammar reads as its own: such a value is
    quoted for Hydra, and the whole word for the shell.
    """
    if isinstance(value, str) and value.startswith("${"):
        return shell_word(f"{key}={value}")  # an interpolation: left unquoted for Hydra to resolve
    if key in PATH_KEYS and isinstance(value, str) and value and not _SHELL_UNSAFE.search(value):
        return f"{key}={value}"  # a path as printed: path_words quotes it for Hydra
    if isinstance(value, str) and not _PLAIN_VALUE.fullmatch(value):
        return shell_word(f"{key}={_hydra_quoted(value)}")
    return f"{key}={_value_typed(value)}"


def hydra_value(value: str) -> str:
    """A string as Hydra's override grammar reads it back: as it is when plain, else in Hydra's quotes."""
    return value if _PLAIN_VALUE.fullmatch(value) else _hydra_quoted(value)


def shell_word(word: str) -> str:
    """``word`` quoted for a POSIX shell: as it is when it needs nothing, else in double quotes where they suffice."""
    if not word or _SHELL_UNSAFE.search(word):
        if word and not _UNSAFE_IN_DOUBLE_QUOTES.search(word):
            return f'"{word}"'  # reads better than shlex's '"'"' around Hydra's own quotes
        return shlex.quote(word)
    return word


# What Hydra reads as a plain string and a shell leaves alone.
_PLAIN_VALUE = re.compile(r"[\w./:+-]*")
_SHELL_UNSAFE = re.compile(r"[^\w@%+=:,./-]", re.ASCII)  # shlex.quote's test
_UNSAFE_IN_DOUBLE_QUOTES = re.compile(r'["$`\\!]')  # what a shell still expands, or ends the quotes on


def _hydra_quoted(value: str) -> str:
    """``value`` in Hydra's single quotes: a quote inside is escaped, and so are backslashes before one or at the end."""
    escaped = re.sub(r"(\\*)('|\Z)", lambda m: m.group(1) * 2 + ("\\'" if m.group(2) else ""), value)
    return f"'{escaped}'"


def _value_typed(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return f"[{','.join(_value_typed(item) for item in value)}]"
    return str(value)
