"""The command's process ends without the interpreter's teardown, and loses nothing on the way (rnnexp.cli.quick_exit).

Each test starts a small Python process of its own: how that process ends is
what is tested. The programs import neither torch nor Hydra, so each takes a
few tens of milliseconds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

# A command whose every kind of output must survive the quick exit: a log file,
# buffered standard output, an exit handler registered while it ran, and a
# thread still working when main() returns. A module-level object reports its
# own teardown, which the quick exit skips.
PROGRAM = """
import atexit, logging, sys, threading, time
from pathlib import Path
from rnnexp.cli.quick_exit import run_command

out = Path(sys.argv[1])

class Torn:
    def __del__(self):
        sys.stderr.write("torn down\\n")

torn = Torn()

def main():
    handler = logging.FileHandler(out / "command.log")
    logging.getLogger("demo").addHandler(handler)
    logging.getLogger("demo").warning("logged")
    sys.stdout.write("printed without a newline")
    atexit.register(lambda: (out / "handler.txt").write_text("ran"))
    threading.Thread(target=lambda: (time.sleep(0.2), (out / "thread.txt").write_text("done"))).start()
    if sys.argv[2] == "raise":
        raise RuntimeError("the command failed")
    return int(sys.argv[2])
"""


def run_program(tmp_path: Path, how: str) -> subprocess.CompletedProcess:
    script = tmp_path / "command.py"
    script.write_text(textwrap.dedent(PROGRAM) + "\nrun_command(main)\n")
    return subprocess.run([sys.executable, str(script), str(tmp_path), how], capture_output=True, text=True, timeout=60)


def outputs(tmp_path: Path) -> dict[str, str]:
    return {name: (tmp_path / name).read_text() for name in ("command.log", "handler.txt", "thread.txt")}


def test_a_command_ends_with_its_status_and_every_output_written(tmp_path):
    done = run_program(tmp_path, "3")
    assert done.returncode == 3
    assert done.stdout == "printed without a newline"
    assert outputs(tmp_path) == {"command.log": "logged\n", "handler.txt": "ran", "thread.txt": "done"}
    assert "torn down" not in done.stderr  # the teardown was skipped


def test_a_command_that_raises_exits_as_python_does(tmp_path):
    done = run_program(tmp_path, "raise")
    assert done.returncode == 1
    assert "RuntimeError: the command failed" in done.stderr
    assert outputs(tmp_path) == {"command.log": "logged\n", "handler.txt": "ran", "thread.txt": "done"}
    assert "torn down" in done.stderr  # Python's own exit, teardown included


def test_a_command_whose_reader_has_gone_ends_quietly(tmp_path):
    # python -m rnnexp.predict --help | head -2: the help is longer than head reads.
    reader = subprocess.Popen(["head", "-c", "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    done = subprocess.run(
        [sys.executable, "-c", "from rnnexp.cli.quick_exit import run_command\n"
         "def main():\n    print('x' * 1_000_000)\n    return 0\nrun_command(main)"],
        stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=60,
    )
    reader.stdin.close()
    assert reader.stdout.read() == b"x" * 10
    reader.wait(timeout=10)
    assert done.stderr == ""  # no BrokenPipeError traceback
    assert done.returncode == 141  # 128 + SIGPIPE, as a process that the signal ended
