"""The key table of docs/configuration.md, written from the schemas' fields: check it, or write it anew.

    python scripts/config_table.py            # rewrite the table between its markers
    python scripts/config_table.py --check    # exit 1 if the table is not what the schemas say

Each row is one key of rnnexp/config/schemas.py: its default (and the
options that set another), what it allows (its field's ``check``, else its
type), what null does (its field's ``null``) and what it does (its ``doc``).
The table sits between ``<!-- key table: python scripts/config_table.py -->``
and ``<!-- end key table -->``; nothing else in the page is touched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING as NO_DEFAULT
from dataclasses import Field
from importlib import resources
from pathlib import Path

from omegaconf import OmegaConf

from rnnexp.config.compose import compose
from rnnexp.config.fields import KEYWORDS, doc_of, null_of, ranges_of
from rnnexp.config.keys import options_defining, schema_fields

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
START = "<!-- key table: python scripts/config_table.py -->"
END = "<!-- end key table -->"
GROUPS = ("model", "encoder", "optimizer", "scheduler", "task")
# What a key of each type allows when its field has no range of its own.
_TYPE_WORDS = {"bool": "`true`, `false`", "int": "an integer", "float": "a number", "str": "a string", "Tuple[float, float]": "two numbers"}


def shown(value) -> str:
    """A value as it is typed on the command line, in code quotes."""
    return f"`{_flow(value)}`"


def _flow(value) -> str:
    """YAML's flow style, as the command line and the YAML files write a value: null, {_target_: null}, [0.9, 0.999]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value if value.strip() == value and value else f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flow(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return str(value)


def default_of(field: Field):
    return field.default_factory() if field.default is NO_DEFAULT else field.default


def option_values(compose_with=compose) -> dict[str, dict[str, object]]:
    """Each option's own values, unresolved: ``{"model.init_scale": {"cell": 0.3, "rnn": 0.3}, ...}``.

    Composed, not read from the option's file: a data task's values include
    what conf/data_task.yaml gives it. ``compose_with`` composes a list of
    overrides (the tests pass the composer they cache).
    """
    values: dict[str, dict[str, object]] = {}
    for group in GROUPS:
        folder = resources.files("rnnexp.conf") / group
        for option in sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")):
            node = OmegaConf.to_container(compose_with([f"{group}={option}"])[group], resolve=False)
            for key, value in node.items():
                values.setdefault(f"{group}.{key}", {})[option] = value
    return values


def row(key: str, field: Field, chosen: dict[str, object]) -> str:
    default = default_of(field)
    # A keywords node's class comes with its option (model=lstm: its LSTM layer): no list of them.
    differ = {} if field.metadata.get(KEYWORDS) else {o: v for o, v in chosen.items() if shown(v) != shown(default)}
    others = ", ".join(f"{option} {shown(value)}" for option, value in differ.items())
    default_cell = shown(default) + (f" ({others})" if others else "")
    if field.metadata.get(KEYWORDS):
        allowed = "`_target_` (a class) and its own keyword arguments, without `+`"
    elif ranges_of(field):
        allowed = "; ".join(each.allowed for each in ranges_of(field))
    else:
        allowed = _TYPE_WORDS.get(str(field.type).removeprefix("Optional[").removesuffix("]"), "")
    doc = doc_of(field)
    group = key.split(".")[0]
    options = options_defining(key) if group in ("optimizer", "task") else []
    if options and set(options) != set(_options(group)):
        doc = f"{', '.join(f'`{o}`' for o in options)}: {doc}"
    null = null_of(field)
    return f"| `{key}` | {default_cell} | {allowed} | {null or ''} | {doc} |"


def _options(group: str) -> list[str]:
    folder = resources.files("rnnexp.conf") / group
    return [p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")]


def table(compose_with=compose) -> list[str]:
    """The table's lines: every key of the schemas but the ones an option picks (``_target_``)."""
    chosen = option_values(compose_with)
    lines = [
        "| key | default | allowed | `null` | what it does |",
        "|---|---|---|---|---|",
    ]
    for key, field in schema_fields().items():
        if field.name.startswith("_") or key in GROUPS or key.endswith(".name"):
            continue
        lines.append(row(key, field, chosen.get(key, {})))
    return lines


def written(page: str, lines: list[str] | None = None) -> str:
    """``page`` with its table replaced by ``lines`` (default: :func:`table`)."""
    head, rest = page.split(START + "\n", 1)
    _, tail = rest.split(END, 1)
    return head + START + "\n" + "\n".join(table() if lines is None else lines) + "\n" + END + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page's table is not what the schemas say")
    args = parser.parse_args(argv)
    page = PAGE.read_text(encoding="utf-8")
    new = written(page)
    if args.check:
        if new != page:
            print(f"{PAGE.relative_to(ROOT)}: the key table differs from the schemas; python scripts/config_table.py writes it")
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
