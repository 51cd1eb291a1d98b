"""The user-facing error type and its one-line rendering.

A user who mistypes an option should read one line that names the key and what
is allowed, not a stack trace. ``UserError`` is raised by our own checks;
:func:`one_line` also turns Hydra's and OmegaConf's composition errors (an
unknown group option, a misspelled key, a value of the wrong type) into such a
line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Collection, Optional, Sequence

# Exit statuses of the command line (a signal gives 128 + its number, see rnnexp.results).
JOBS_FAILED = 1  # a sweep finished, but some of its jobs failed
USAGE_ERROR = 2  # bad input: a config value, a file, an option

# How to get the launcher and sweeper plugins, worded for a user who installed
# the package and for one working in a clone.
SWEEP_EXTRA = "pip install 'rnnexp[sweep]' (or pip install -e '.[sweep]' in a clone)"
_PLUGIN_GROUPS = ("hydra/launcher", "hydra/sweeper")  # Hydra's groups whose options beyond basic are plugins
# rnnexp's options that extend a plugin's config, stored only where the plugin is installed.
_OPTIONS_OF_PLUGINS = {"hydra/launcher/slurm": "submitit"}


class UserError(Exception):
    """Bad input: the message is one line that names the key and what is allowed."""


class ExitWith(SystemExit):
    """End rnnexp with exit status ``code``; :func:`rnnexp.cli.main.main` prints ``error`` as one line.

    Raised from inside Hydra (a job, a callback) to end the process there. A
    SystemExit, because Hydra reports any Exception a job raises with lines of
    its own, and turns one raised in a callback into a warning and exit status 0.
    ``note``: a line the command prints as it ends, what to do next. A parallel
    launcher's workers each raise their own, and the command that launched them
    gets one of them: the line is printed once, however many jobs ended so.
    """

    def __init__(self, status: int, error: Optional[BaseException | str] = None, note: Optional[str] = None):
        super().__init__(status)
        self.error = error
        self.note = note

    @property
    def status(self) -> int:
        """The exit status: SystemExit's ``code``."""
        return self.code


def _no_options(key: str) -> Sequence[str]:
    return ()


@dataclass(frozen=True)
class KeyHints:
    """What the one-line errors know of the config's keys, given by the layer that knows the config.

    ``keys``: every dotted key, for the "did you mean" hint on a misspelled
    one. ``options_defining``: a dotted key -> the options of its group whose
    schema has it (``task.path`` -> ``["pairs", "text"]``), to send a key
    typed under the wrong option to the ones that read it.
    rnnexp.config.keys.key_hints() gives the schemas' own; without hints a
    key's line names neither.
    """

    keys: Collection[str] = ()
    options_defining: Callable[[str], Sequence[str]] = _no_options


NO_HINTS = KeyHints()


def _suggest(word: str, candidates: Collection[str]) -> str:
    # The word itself is never the hint: a key that another option of its group
    # defines (task.shift under task=hello) is as absent as a typo.
    close = difflib.get_close_matches(word, [c for c in candidates if c != word], n=1)
    return f"; did you mean {close[0]}?" if close else ""


def no_such_key(key: str, hints: KeyHints) -> str:
    """The line for a key that the composed config does not have, however it was typed.

    A key that other options of its group read (``task.path`` under the
    default task) is sent to them rather than to a look-alike key.
    """
    owners = list(hints.options_defining(key))
    if owners:
        # A launcher's key (hydra.launcher.jobs_per_gpu) belongs to an option of Hydra's group hydra/launcher.
        group = "hydra/launcher" if key.startswith("hydra.launcher.") else key.partition(".")[0]
        choices = [f"{group}={owner}" for owner in owners]
        listed = choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} and {choices[-1]}"
        this = group.rpartition("/")[2]
        return f"{key}: not a key of this {this}; {key} belongs to {listed} (for example {choices[-1]} {key}=...)"
    return f"{key}: no such config key{_suggest(key, hints.keys)} (python -m rnnexp --cfg job lists the keys)"


def _os_error_in(error: BaseException) -> Optional[OSError]:
    """An OSError naming a file in ``error``'s chain (Hydra and OmegaConf wrap them)."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, OSError) and error.filename:
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())


# Hydra's words for a function given an argument of a type it does not take: range(a, b).
_MISTYPED = re.compile(
    r"while evaluating '(?P<call>.*)': mismatch type argument (?P<arg>\S+): (?P<given>\w+) is incompatible with "
    r"(?:Union\[(?P<union>.*)\]|(?P<single>.*))$"
)


def parse_reason(message: str) -> str:
    """Why Hydra's override parser refused an override, from its message, in one line.

    Its first line only repeats the override; the next says why: a grammar
    error, or a function given an argument of a type it does not take.
    """
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.startswith("See https://")]
    reasons = [line for line in lines if not line.startswith("Error parsing override")]
    if not reasons:
        return _first_line(message)
    mistyped = _MISTYPED.search(reasons[0])
    if mistyped is None:
        return reasons[0]
    allowed = [t.strip() for t in (mistyped["union"] or mistyped["single"]).split(", ")]
    allowed_text = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} or {allowed[-1]}"
    return f"{mistyped['call']}: its {mistyped['arg']} must be {allowed_text}, not {mistyped['given']}"


def one_line(error: BaseException, hints: KeyHints = NO_HINTS) -> str:
    """Render ``error`` as a single line for the terminal.

    ``hints`` (the config's keys, and the options that define each) feed the
    line for a key the config does not have.
    """
    # Imported here: this module sits at the bottom of the package and must not
    # pull Hydra in for callers that only raise UserError.
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(error, UserError):
        return str(error)
    os_error = _os_error_in(error)
    if os_error is not None:
        # Hydra creating the run directory, or a run writing into it.
        return (
            f"cannot write {os_error.filename}: {os_error.strerror}; choose a writable place "
            "with hydra.run.dir=... (hydra.sweep.dir=... for a sweep)"
        )
    if isinstance(error, MissingConfigException) and error.options is not None:
        return _unknown_option(error.missing_cfg_file or "", sorted(error.options))
    if isinstance(error, MissingConfigException) and (error.missing_cfg_file or "").startswith(_PLUGIN_GROUPS):
        return _missing_plugin(error)
    if isinstance(error, OverrideParseException):
        return f"cannot parse the override '{error.override}': {parse_reason(error.message)}"
    misused = _plus_or_tilde(str(error), hints)
    if misused:
        return misused
    cause = error if isinstance(error, OmegaConfBaseException) else error.__cause__
    if isinstance(cause, OmegaConfBaseException):
        return _bad_key_or_value(cause, hints)
    return _first_line(str(error))


def _unknown_option(missing_file: str, options: list[str]) -> str:
    """``model/foo`` (Hydra's "Could not find 'model/foo'") -> the group, the option and the choices."""
    if missing_file in _OPTIONS_OF_PLUGINS:
        return _needs_plugin(missing_file, _OPTIONS_OF_PLUGINS[missing_file])
    group, _, option = missing_file.rpartition("/")
    # The launchers and sweepers beyond Hydra's basic ones are plugins from the optional extra.
    plugin = group in _PLUGIN_GROUPS and "optuna" not in options and "joblib" not in options
    return (
        f"{group}={option}: no such option; choose one of {', '.join(options)}"
        f"{_suggest(option, options)}"
        + (f"; the joblib, submitit and optuna plugins come with {SWEEP_EXTRA}" if plugin else "")
    )


def _missing_plugin(error: BaseException) -> str:
    """An option of ours whose defaults list names a plugin's option (``experiment=mnist1d`` names ``hydra/launcher: joblib``), run without the plugin.

    Hydra says "In 'experiment/mnist1d': Could not load
    'hydra/launcher/joblib'", which names neither the plugin nor the
    extra that brings it.
    """
    missing = error.missing_cfg_file  # hydra/launcher/joblib
    parent = re.match(r"In '([^']+)'", str(error))  # experiment/mnist1d: the option given
    return _needs_plugin(parent.group(1) if parent else missing, missing.rpartition("/")[2].split("_")[0])


def _needs_plugin(option_file: str, plugin: str) -> str:
    group, _, option = option_file.rpartition("/")
    return f"{group}={option}: needs Hydra's {plugin} plugin, which comes with the sweep extra: {SWEEP_EXTRA}"


# Hydra's answers to a + or ~ that does not fit, which quote its own syntax
# (a defaults list's "override experiment: seed_cell") or hold several lines.
_GROUP_WITH_PLUS = re.compile(r"Multiple values for (\S+)\. To override a value use 'override \S+: (\S+)'")
_KEY_WITH_PLUS = re.compile(r"Could not append to config\. An item is already at '([^']+)'\.\s*Either remove \+ prefix: '([^']*)'")
_NO_KEY_TO_DELETE = re.compile(r"Could not delete from config\. '([^']+)' does not exist")


def _plus_or_tilde(message: str, hints: KeyHints) -> Optional[str]:
    """The command line to type instead of a + on something that is already there, or a ~ of nothing."""
    group = _GROUP_WITH_PLUS.search(message)
    if group:
        name, option = group.groups()
        return f"+{name}={option}: {name} is already in the defaults list, so it takes no +; type {name}={option}"
    key = _KEY_WITH_PLUS.search(message)
    if key:
        name, without_plus = key.groups()
        return f"+{without_plus}: {name} already has a value, so it takes no +; type {without_plus}"
    deleted = _NO_KEY_TO_DELETE.search(message)
    if deleted:
        return no_such_key(deleted.group(1), hints)
    return None


def _bad_key_or_value(cause: BaseException, hints: KeyHints) -> str:
    """OmegaConf's errors: a misspelled key, a missing value, a value of the wrong type."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue

    key = getattr(cause, "full_key", None) or ""
    reason = _first_line(getattr(cause, "msg", None) or str(cause))
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        # A misspelled key: "Key 'lrr' not in 'Config'"
        return no_such_key(key, hints)
    if isinstance(cause, MissingMandatoryValue):
        return f"{key}: no value given; set it on the command line, for example {key}=..."
    converted = re.search(r"Value '(.*)' of type '\w+' could not be converted to (\w+)", reason)
    if converted:
        expected = _EXPECTED.get(converted.group(2), converted.group(2))
        return f"{key}={converted.group(1)}: expected {expected}"
    not_bool = re.search(r"Value '(.*)' is not a valid bool", reason)
    if not_bool:
        return f"{key}={not_bool.group(1)}: expected true or false"
    return f"{key}: {reason}" if key else reason


_EXPECTED = {"Float": "a number", "Integer": "an integer", "String": "a string"}
