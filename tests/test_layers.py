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
# rnnexp.errors' "did you mean" hint asks the config which options define a key,
# inside the function that needs it (its comment says why).
ALLOWED = {("rnnexp.errors", "rnnexp.config.keys")}


def rank(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in SHARED:
        return -1
    if parts[1] in COMMANDS:
        return len(LAYERS)
    return LAYERS.index(parts[1])


def imports(path: Path, package: str = "rnnexp") -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name == package or name.startswith(f"{package}.")}


def test_every_subpackage_is_a_layer():
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages == set(LAYERS), packages ^ set(LAYERS)


def test_nothing_low_imports_anything_above_it():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        for imported in imports(path):
            if rank(imported) > rank(module) and (module, imported) not in ALLOWED:
                upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_search_plugin_is_imported_by_nothing_of_rnnexp_and_imports_only_the_search():
    # Hydra finds sweepers only under hydra_plugins: the plugin holds the class Hydra
    # instantiates, and the search itself lives in rnnexp.search. rnnexp names the class
    # by its dotted path (rnnexp.search.config.SWEEPER_TARGET), as a config's _target_ does.
    plugin = PACKAGE.parent / "hydra_plugins" / "rnnexp_sweepers"
    into_plugin = [str(path.relative_to(PACKAGE.parent)) for path in PACKAGE.rglob("*.py") if imports(path, "hydra_plugins")]
    assert into_plugin == []
    from_plugin = set().union(*(imports(path) for path in plugin.glob("*.py")))
    assert from_plugin and all(name.startswith("rnnexp.search") for name in from_plugin), from_plugin


def test_an_upward_import_is_found():
    assert rank("rnnexp.config.checks") > rank("rnnexp.data.task") and rank("rnnexp.cli.job") > rank("rnnexp.training.trainer")
    assert rank("rnnexp.errors") < rank("rnnexp.internals.hydra_private") < rank("rnnexp.shapes")
