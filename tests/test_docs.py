"""The README's test command is the command CI runs, word for word."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    tests_section = readme[readme.index("## Tests"):]
    command = re.search(r"```bash\n(.+?)\n```", tests_section).group(1)
    assert "'.[test,sweep]'" in command  # the sweep extra, so no sweep test is skipped in CI
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert command in ci_lines
    assert readme.count(command) == 2  # "Set up and run" gives the same command
