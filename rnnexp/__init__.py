"""rnnexp: config-driven experiments with recurrent neural networks."""

from importlib import metadata

try:
    __version__ = metadata.version("rnnexp")  # pyproject.toml's version: its one home
except metadata.PackageNotFoundError:  # the sources on sys.path without an install
    __version__ = "unknown"
