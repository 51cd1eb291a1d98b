"""rnnexp: config-driven experiments with recurrent neural networks."""

from typing import Any


def __getattr__(name: str) -> Any:
    # __version__ is read from the installed package's metadata when asked for
    # (--version), not by every command that imports rnnexp.
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("rnnexp")  # pyproject.toml's version: its one home
        except metadata.PackageNotFoundError:  # the sources on sys.path without an install
            return "unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
