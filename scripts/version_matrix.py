"""The test suite on the oldest and the newest libraries that pyproject.toml accepts.

    python3 scripts/version_matrix.py                        # both sets
    python3 scripts/version_matrix.py --sets oldest          # what .ci/run adds after the README's command
    python3 scripts/version_matrix.py -- -m "not slurm" -x   # arguments after -- go to pytest

Each set gets a fresh virtual environment, the pinned torch first (the one
build the tests run on), then rnnexp with its test and sweep extras:

- newest: what pip resolves today within the ranges;
- oldest: each direct dependency at the floor of its ``>=`` in pyproject.toml
  (pip has no "lowest" resolution of its own), numpy and the other
  transitive packages as pip resolves them around those pins.

A table at the end gives each set's versions and its suite's result and
time. The exit status is 1 if any set failed to install or to pass.
Python 3.11 or newer (tomllib) runs this script; the environments use the
same interpreter.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The one torch the suite runs on: its CPU build is what CI installs (README, "Tests").
TORCH = "2.13.0"
EXTRAS = ("test", "sweep")
# The table's columns: the libraries whose private or changing APIs rnnexp relies on, and numpy under them.
SHOWN = ("hydra-core", "omegaconf", "tensorboard", "optuna", "hydra-submitit-launcher", "submitit", "numpy", "torch")
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def direct_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings of the project and of the extras the suite installs."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    return [*project["dependencies"], *(line for extra in EXTRAS for line in extras[extra])]


def floor_pins(requirements: list[str]) -> list[str]:
    """``name==floor`` for each requirement's ``>=`` specifier; torch is left out, pinned at TORCH in every set."""
    pins = []
    for line in requirements:
        name, specifiers = REQUIREMENT.match(line.split(";")[0]).groups()
        if name.lower() == "torch":
            continue
        floors = [spec.strip()[2:].strip() for spec in specifiers.split(",") if spec.strip().startswith(">=")]
        if not floors:
            raise SystemExit(f"pyproject.toml: {line!r} has no >= floor to test")
        pins.append(f"{name}=={floors[0]}")
    return pins


def sets(requirements: list[str]) -> dict[str, list[str]]:
    """Each set's pins beyond rnnexp's own ranges."""
    return {"oldest": floor_pins(requirements), "newest": []}


def build(env: Path, pins: list[str], log: Path) -> bool:
    """A fresh environment at ``env``: the pinned torch, then rnnexp (editable) with its extras and ``pins``."""
    venv.create(env, with_pip=True, clear=True)
    python = str(env / "bin" / "python")
    steps = [
        [python, "-m", "pip", "install", "-q", f"torch=={TORCH}"],
        [python, "-m", "pip", "install", "-q", "-e", f".[{','.join(EXTRAS)}]", f"torch=={TORCH}", *pins],
    ]
    with log.open("w") as out:
        for step in steps:
            out.write("$ " + " ".join(step) + "\n")
            out.flush()
            if subprocess.run(step, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                return False
    return True


def installed(env: Path) -> dict[str, str]:
    listing = subprocess.run([env / "bin" / "python", "-m", "pip", "list", "--format=json"],
                             capture_output=True, text=True, check=True).stdout
    return {package["name"].lower(): package["version"] for package in json.loads(listing)}


def run_suite(env: Path, pytest_args: list[str], log: Path) -> tuple[bool, str]:
    """The suite in ``env``, from the repository root; whether it passed, and pytest's last line."""
    command = [str(env / "bin" / "python"), "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        last = ""
        for line in process.stdout:  # shown as it runs, and kept for the table
            sys.stdout.write(line)
            out.write(line)
            if line.strip():
                last = line.strip(" =\n")
    return process.wait() == 0, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="oldest,newest", help="comma-separated: oldest, newest (default: both)")
    parser.add_argument("--dir", type=Path, help="where the environments and logs go, kept (default: a temporary "
                                                  "directory, removed at the end)")
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest's arguments (default: none, the whole suite)")
    args = parser.parse_args()
    planned = sets(direct_requirements())
    chosen = [name.strip() for name in args.sets.split(",") if name.strip()]
    unknown = set(chosen) - set(planned)
    if unknown:
        parser.error(f"--sets: no set named {', '.join(sorted(unknown))} (oldest, newest)")

    base = args.dir or Path(tempfile.mkdtemp(prefix="rnnexp-matrix-"))
    base.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for name in chosen:
            env = base / name
            print(f"== {name}: {' '.join(planned[name]) or 'what pip resolves'} (in {env})", flush=True)
            started = time.monotonic()
            if not build(env, planned[name], base / f"{name}-install.log"):
                print((base / f"{name}-install.log").read_text()[-3000:])
                rows.append((name, {}, False, "install failed", time.monotonic() - started))
                continue
            versions = installed(env)
            started = time.monotonic()
            passed, last = run_suite(env, args.pytest_args, base / f"{name}-pytest.log")
            rows.append((name, versions, passed, last, time.monotonic() - started))
    finally:
        if args.dir is None:
            shutil.rmtree(base, ignore_errors=True)
    print(table(rows))
    return 0 if rows and all(passed for _, _, passed, _, _ in rows) else 1


def table(rows: list[tuple[str, dict[str, str], bool, str, float]]) -> str:
    header = ["set", *SHOWN, "suite", "seconds"]
    lines = [header]
    for name, versions, passed, last, seconds in rows:
        result = ("passed: " if passed else "FAILED: ") + last
        lines.append([name, *(versions.get(package, "-") for package in SHOWN), result, f"{seconds:.0f}"])
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


if __name__ == "__main__":
    sys.exit(main())
