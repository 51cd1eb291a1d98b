"""The supported versions: scripts/version_matrix.py's oldest set, what CI runs, and the table in docs/development.md."""

import re
import runpy
from pathlib import Path

import pytest

pytest.importorskip("tomllib")  # the script's, Python 3.11 on

ROOT = Path(__file__).resolve().parent.parent
matrix = runpy.run_path(str(ROOT / "scripts" / "version_matrix.py"))


def test_the_oldest_set_pins_each_requirement_at_its_floor_and_leaves_torch_to_the_pinned_build():
    pins = matrix["floor_pins"](["torch>=2.2,<3", "omegaconf>=2.3,<2.4", "hydra-core[extra] >= 1.3.2", "x<2,>=1.0"])
    assert pins == ["omegaconf==2.3", "hydra-core==1.3.2", "x==1.0"]
    with pytest.raises(SystemExit, match="no >= floor"):
        matrix["floor_pins"](["y<2"])


def test_the_oldest_set_covers_every_direct_requirement_of_the_suite():
    requirements = matrix["direct_requirements"]()
    pinned = {pin.split("==")[0] for pin in matrix["floor_pins"](requirements)}
    named = {re.match(r"[A-Za-z0-9._-]+", line).group(0) for line in requirements}
    assert pinned == named - {"torch"} and {"hydra-core", "tensorboard", "submitit", "optuna"} <= pinned


def test_ci_runs_the_suite_again_on_the_oldest_libraries_and_other_kernels_after_the_readme_command():
    script = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")  # continued lines joined
    lines = [line.strip() for line in script.splitlines() if line.strip() and not line.startswith("#")]
    readme_command = next(index for index, line in enumerate(lines) if "python -m pytest" in line)
    second = next(index for index, line in enumerate(lines) if "scripts/version_matrix.py --sets oldest" in line)
    assert second > readme_command
    # Kernels on other instruction sets than the first run's: a test on a float's last bits fails there.
    words = lines[second].split()
    assert {"ATEN_CPU_CAPABILITY=default", "MKL_ENABLE_INSTRUCTIONS=AVX2", "ONEDNN_MAX_CPU_ISA=AVX2"} <= set(words)


def test_the_documented_oldest_set_is_pyprojects_floors():
    page = (ROOT / "docs" / "development.md").read_text()
    header, _, *rows = [line for line in page[page.index("## Supported versions"):].splitlines() if line.startswith("|")]
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    oldest = next(dict(zip(columns, (cell.strip() for cell in row.strip("|").split("|")))) for row in rows
                  if row.strip("| ").startswith("oldest"))
    floors = dict(pin.split("==") for pin in matrix["floor_pins"](matrix["direct_requirements"]()))
    for package in ("hydra-core", "omegaconf", "tensorboard", "optuna", "hydra-submitit-launcher", "submitit"):
        assert release(oldest[package]) == release(floors[package]), package


def release(version: str) -> tuple[int, ...]:
    """2.3 and 2.3.0 alike."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
