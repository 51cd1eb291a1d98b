"""The package's layers (docs/architecture.md): nothing low imports anything above it.

Read from the source with ast, so the test sees every import, at the top of
a module or inside a function, without running any of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rnnexp"

# From the bottom up. The modules at the package's top are used by every layer;
# the commands' names (predict.py, shapes.py, summarize.py, __main__.py) sit above all.
LAYERS = ["internals", "data", "config", "models", "tracking", "training", "search", "sweep", "tools", "cli"]
SHARED = {"errors", "results", "files", "interrupt", "run_dirs", "targets", "testing", "__init__"}
COMMANDS = {"predict", "shapes", "summarize", "__main__"}


def rank(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in SHARED:
        return -1
    if parts[1] in COMMANDS:
        return len(LAYERS)
    return LAYERS.index(parts[1])


def module_name(path: Path, package: Path = PACKAGE) -> str:
    return ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")


MODULES = {module_name(path) for path in PACKAGE.rglob("*.py")} | {"rnnexp"}


def imported_names(path: Path, package_dir: Path = PACKAGE) -> set[str]:
    """Every dotted name ``path`` imports, wherever the import stands (a function's body, an if).

    ``from rnnexp import config`` gives ``rnnexp.config`` as well as ``rnnexp``, and a
    relative import is read against the module's own package.
    """
    module = module_name(path, package_dir)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            source = ".".join(part for part in (base, node.module) if part)
            found.add(source)
            found |= {f"{source}.{alias.name}" for alias in node.names}  # a module's name, or a function's: filtered below
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


def imports(path: Path, package_dir: Path = PACKAGE) -> set[str]:
    """Every rnnexp module ``path`` imports."""
    return {name for name in imported_names(path, package_dir) if name in MODULES}


def test_every_subpackage_is_a_layer():
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(LAYERS), packages ^ set(LAYERS)


def test_every_module_at_the_top_has_a_place():
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top == SHARED | COMMANDS, top ^ (SHARED | COMMANDS)


def test_nothing_low_imports_anything_above_it():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for imported in imports(path):
            if rank(imported) > rank(module):
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_search_plugin_is_imported_by_nothing_of_rnnexp_and_imports_only_the_search():
    # Hydra finds sweepers only under hydra_plugins: the plugin holds the class Hydra
    # instantiates, and the search itself lives in rnnexp.search. rnnexp names the class
    # by its dotted path (rnnexp.search.config.SWEEPER_TARGET), as a config's _target_ does.
    plugin = PACKAGE.parent / "hydra_plugins" / "rnnexp_sweepers"
    into_plugin = [
        str(path.relative_to(PACKAGE.parent)) for path in PACKAGE.rglob("*.py")
        if any(name.startswith("hydra_plugins") for name in imported_names(path))
    ]
    assert into_plugin == []
    from_plugin = set().union(*(imports(path, plugin.parent) for path in plugin.glob("*.py")))
    assert from_plugin and all(name.startswith("rnnexp.search") for name in from_plugin), from_plugin


def test_the_launcher_plugin_imports_only_the_shared_errors_where_hydra_scans_it():
    # The gpus and slurm launchers live where Hydra looks for launchers; rnnexp names their classes by
    # their dotted paths (the test above finds no import of hydra_plugins in rnnexp). Hydra's plugin scan
    # imports every module there but those named _*: they need only UserError, for their key checks.
    plugin = PACKAGE.parent / "hydra_plugins" / "rnnexp_launchers"
    scanned = [path for path in plugin.glob("*.py") if not path.name.startswith("_") or path.name == "__init__.py"]
    assert set().union(*(imports(path, plugin.parent) for path in scanned)) == {"rnnexp.errors"}
    # What a SLURM sweep imports once it launches: a job's status, the command that finishes a sweep,
    # the configs kept from the sweep's check.
    launched = set().union(*(imports(path, plugin.parent) for path in plugin.glob("_*.py")))
    assert launched == {"rnnexp.results", "rnnexp.sweep.continuation", "rnnexp.internals.hydra_private", "rnnexp.errors"}


def test_an_upward_import_is_found():
    assert rank("rnnexp.config.checks") > rank("rnnexp.data.task") and rank("rnnexp.cli.job") > rank("rnnexp.training.trainer")
    assert rank("rnnexp.errors") < rank("rnnexp.internals.hydra_private") < rank("rnnexp.shapes")


def test_every_kind_of_import_is_read(tmp_path):
    """An import inside a function, ``from rnnexp import <package>`` and a relative import all count."""
    sources = {
        "in_a_function": "def hint():\n    from rnnexp.config.keys import options_defining\n",
        "a_package": "from rnnexp import cli\n",
        "relative": "from .tools import shapes\n",
    }
    package_dir = tmp_path / "rnnexp"
    package_dir.mkdir()
    read = {}
    for name, text in sources.items():
        (package_dir / f"{name}.py").write_text(text)
        read[name] = imports(package_dir / f"{name}.py", package_dir)
    assert read == {
        "in_a_function": {"rnnexp.config.keys"},
        "a_package": {"rnnexp", "rnnexp.cli"},
        "relative": {"rnnexp.tools", "rnnexp.tools.shapes"},
    }
