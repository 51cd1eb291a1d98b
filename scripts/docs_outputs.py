"""The sample outputs in README.md and docs/, produced by the code: check them, or write them anew.

    python scripts/docs_outputs.py            # rewrite every marked block from a fresh run
    python scripts/docs_outputs.py --check    # exit 1 and show the difference if a block drifted

A block is the fenced code block right after a marker line naming the command:

    <!-- output: python -m rnnexp model=embedding -->
    ```
    Predicted string: ...
    ```

The command runs in-process, in a temporary directory. A line ``...`` in a
block stands for any number of lines, so a sample can show the head and the
tail of a long output (rewriting keeps their lengths) or a part from its
middle (between two ``...``, edited by hand).
What changes from run to run is masked before comparing: the date and time in
run directories and the seconds of a sweep's jobs (its table's last column, the end of each job's line).
A printed number may differ from the sample by one in its last digit: a loss
printed to four decimals can round either way on another CPU, whose kernels
give other last bits.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rnnexp.testing import run_command

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- output: (.+) -->$")
ELLIPSIS = "..."
_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}\.\d{3}(-\d+)?")
_CLOCK = re.compile(r"^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}\]")
_SECONDS = re.compile(r"(\s)\d+\.\d{2}( s)?$")  # the last column of a sweep table's row; a job's line's end
_DECIMAL = re.compile(r"\d+\.\d+(?:e[+-]\d+)?")


@dataclass
class Block:
    path: Path
    command: str
    start: int  # index of the block's first line inside the fence
    end: int  # index of the closing fence
    lines: list[str]


def blocks(path: Path) -> list[Block]:
    """Every marked block of ``path``."""
    text = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(text):
        marker = MARKER.match(line.strip())
        if marker and i + 1 < len(text) and text[i + 1].startswith("```"):
            end = next(j for j in range(i + 2, len(text)) if text[j].startswith("```"))
            found.append(Block(path, marker.group(1), i + 2, end, text[i + 2 : end]))
    return found


def run(command: str) -> list[str]:
    """What ``command`` prints (stdout, then stderr), run in-process in an empty directory."""
    words = shlex.split(command)
    if words[:2] != ["python", "-m"]:
        raise ValueError(f"{command}: only python -m commands are run")
    with tempfile.TemporaryDirectory() as empty:
        done = run_command(_entry_point(words[2]), words[3:], Path(empty))
    return (done.stdout + done.stderr).splitlines()


def masked(line: str) -> str:
    line = _STAMP.sub("<date>/<time>", line)
    line = _CLOCK.sub("[<clock>]", line)
    return _SECONDS.sub(r"\1<s>", line)


def same_line(sample: str, output: str) -> bool:
    """The lines are equal, but that each decimal number may differ by one unit of its last printed digit."""
    if _DECIMAL.split(sample) != _DECIMAL.split(output):  # the text around the numbers, and their formats
        return False
    for a, b in zip(_DECIMAL.findall(sample), _DECIMAL.findall(output)):
        if re.sub(r"\d", "0", a) != re.sub(r"\d", "0", b):  # 0.6721 against 0.67210: another format
            return False
        mantissa, _, exponent = a.partition("e")
        unit = 10.0 ** (int(exponent or 0) - len(mantissa.split(".")[1]))  # 0.6721: 1e-4; 1.707e-05: 1e-8
        if abs(float(a) - float(b)) > 1.5 * unit:
            return False
    return True


def _same(sample: list[str], output: list[str]) -> bool:
    return len(sample) == len(output) and all(same_line(a, b) for a, b in zip(sample, output))


def matches(sample: list[str], output: list[str]) -> bool:
    """``output`` agrees with ``sample``, where a ``...`` line in the sample stands for any lines."""
    sample, output = [masked(line) for line in sample], [masked(line) for line in output]
    parts = _split(sample)
    if len(parts) == 1:
        return _same(sample, output)
    head, *middle, tail = parts
    if not _same(head, output[: len(head)]) or (tail and not _same(tail, output[-len(tail) :])):
        return False
    rest = output[len(head) : len(output) - len(tail)]
    for part in middle:  # each in order, anywhere in between
        found = next((i for i in range(len(rest) - len(part) + 1) if _same(part, rest[i : i + len(part)])), None)
        if found is None:
            return False
        rest = rest[found + len(part) :]
    return True


def rewritten(sample: list[str], output: list[str]) -> list[str] | None:
    """``output`` cut as ``sample`` is: the same number of lines before and after its ``...``.

    None for a sample with more than one ``...``: where its middle parts
    belong is a reader's choice, so it is edited by hand.
    """
    parts = _split(sample)
    if len(parts) == 1:
        return output
    if len(parts) > 2:
        return None
    head, tail = len(parts[0]), len(parts[-1])
    return output[:head] + [ELLIPSIS] + (output[-tail:] if tail else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    drifted = 0
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8").splitlines()
        for block in reversed(blocks(path)):  # from the end, so earlier line numbers stay valid
            output = run(block.command)
            if matches(block.lines, output):
                continue
            drifted += 1
            where = f"{path.relative_to(ROOT)}:{block.start}"
            if args.check:
                print(f"{where}: `{block.command}` now prints:", *output, sep="\n", file=sys.stderr)
            elif (new := rewritten(block.lines, output)) is None:
                print(f"{where}: more than one ... in the sample: edit it by hand; `{block.command}` now prints:", *output, sep="\n")
            else:
                text[block.start : block.end] = new
                print(f"{where}: rewritten")
        if drifted and not args.check:
            path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return 1 if drifted and args.check else 0


def _split(lines: list[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == ELLIPSIS:
            parts.append([])
        else:
            parts[-1].append(line)
    return parts


def _entry_point(module: str) -> Callable[[list[str]], int]:
    if module == "rnnexp":
        from rnnexp.cli.main import main as entry
    elif module == "rnnexp.shapes":
        from rnnexp.tools.shapes import main as entry
    else:
        raise ValueError(f"python -m {module}: no in-process entry point for it here")
    return entry


if __name__ == "__main__":
    sys.exit(main())
