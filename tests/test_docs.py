"""The README against the code: its test command is the command CI runs, word for word, and its
metrics.json example names the fields RunResult writes."""

import dataclasses
import re
from pathlib import Path

from rnnexp.results import RunResult

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    tests_section = readme[readme.index("## Tests"):]
    command = re.search(r"```bash\n(.+?)\n```", tests_section).group(1)
    assert "'.[test,sweep]'" in command  # the sweep extra, so no sweep test is skipped in CI
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert command in ci_lines
    assert readme.count(command) == 2  # "Set up and run" gives the same command


def test_readmes_metrics_json_example_names_only_real_fields():
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"`metrics.json`:\n\n```json\n(.+?)\n```", readme, re.S).group(1)
    keys = re.findall(r'"(\w+)":', example)
    fields = {f.name for f in dataclasses.fields(RunResult)}
    assert keys and set(keys) <= fields, sorted(set(keys) - fields)
    # The fields it leaves out are the ones set only for an interrupted or failed run.
    assert fields - set(keys) == {"signal", "error"}
