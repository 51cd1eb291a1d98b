"""The docs against the code: the README's test command is the command CI runs, word for word;
the metrics.json example names the fields RunResult writes; every sample output is what the code prints."""

import dataclasses
import re
import runpy
from pathlib import Path

from conftest import compose_unchecked
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


def test_the_metrics_json_example_names_only_real_fields():
    page = (ROOT / "docs" / "outputs.md").read_text()
    example = re.search(r"`metrics.json`:\n\n```json\n(.+?)\n```", page, re.S).group(1)
    keys = re.findall(r'"(\w+)":', example)
    fields = {f.name for f in dataclasses.fields(RunResult)}
    assert keys and set(keys) <= fields, sorted(set(keys) - fields)
    # The fields it leaves out are the ones set only for an interrupted or failed run.
    assert fields - set(keys) == {"signal", "error"}


def test_the_key_table_is_what_the_schemas_say():
    config_table = runpy.run_path(str(ROOT / "scripts" / "config_table.py"))
    page = (ROOT / "docs" / "configuration.md").read_text()
    lines = config_table["table"](lambda overrides: compose_unchecked(*overrides))  # the session's compositions
    assert config_table["written"](page, lines) == page, "python scripts/config_table.py writes the table anew"
    rows = {line.split(" | ")[0].strip("|` "): line for line in lines[2:]}
    # Each key's null meaning and range come from its field, the one place they are written.
    assert "| turns clipping off |" in rows["clip"] and "or null for no clipping" in rows["clip"]
    assert "| sizes h_t from the number of classes |" in rows["model.hidden_size"]
    assert "auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps" in rows["device"]
    assert rows["model.init_scale"].startswith("| `model.init_scale` | `1.0` (cell `0.3`, rnn `0.3`) |")  # the options' own


def test_the_sample_outputs_in_the_docs_are_what_the_code_prints():
    docs_outputs = runpy.run_path(str(ROOT / "scripts" / "docs_outputs.py"))
    checked = 0
    for path in docs_outputs["DOCUMENTS"]:
        for block in docs_outputs["blocks"](path):
            output = docs_outputs["run"](block.command)
            assert docs_outputs["matches"](block.lines, output), (
                f"{path.name}: `{block.command}` prints something else now; "
                "python scripts/docs_outputs.py writes the samples anew:\n" + "\n".join(output)
            )
            checked += 1
    assert checked >= 4  # the README's run and sweep, the sweep page's tables


def test_a_sample_with_elided_lines_matches_only_its_own_output():
    matches = runpy.run_path(str(ROOT / "scripts" / "docs_outputs.py"))["matches"]
    output = ["a", "b", "Run directory: outputs/runs/2026-11-26/22-25-50.474", "c"]
    assert matches(["a", "...", "Run directory: outputs/runs/2000-01-01/00-00-00.000", "c"], output)
    assert matches(["...", "b", "..."], output)
    assert not matches(["a", "...", "b"], output)  # b is not the last line
    assert not matches(["...", "x", "..."], output)
    assert not matches(["a", "b"], output)


def test_a_printed_number_may_differ_by_one_in_its_last_digit_and_no_more():
    """Another CPU's kernels give losses other last bits: printed to four decimals, one can round either way."""
    same_line = runpy.run_path(str(ROOT / "scripts" / "docs_outputs.py"))["same_line"]
    assert same_line("final loss 0.6721, 0.06 s", "final loss 0.6722, 0.06 s")
    assert same_line("loss 1.707e-05", "loss 1.706e-05")
    assert not same_line("final loss 0.6721", "final loss 0.6723")
    assert not same_line("loss 1.707e-05", "loss 1.707e-04")
    assert not same_line("final loss 0.6721", "final loss 0.67210")  # another format
    assert not same_line("rank 1 job 4", "rank 1 job 5")  # whole numbers (ranks, job numbers, epochs) are exact


# A measured figure: a duration, or a count of tests (which grows).
_FIGURE = re.compile(
    r"\b(?:\d+(?:\.\d+)?(?: to \d+(?:\.\d+)?)? ?(?:ms|s|seconds?|minutes?|min|tests)|a minute|an hour)\b"
)
_DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def undated_figures(text: str) -> list[str]:
    """Prose lines with a measured figure whose section, and whose page's opening, carry no date.

    Sample outputs (fenced blocks) are checked against the code instead; a
    setting's value ("30 s by default") is no measurement.
    """
    opening = text.split("\n## ", 1)[0]
    found, fenced = [], False
    for section in re.split(r"\n(?=#)", text):
        dated = _DATE.search(section) or _DATE.search(opening)
        for line in section.splitlines():
            fenced ^= line.startswith("```")
            if not dated and not fenced and _FIGURE.search(line) and "by default" not in line:
                found.append(line.strip())
    return found


def test_every_figure_in_the_docs_carries_its_date():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert undated_figures(path.read_text()) == [], path.name


def test_an_undated_figure_is_found():
    assert undated_figures("# Page\n\nIt takes 24 to 35 s.\n") == ["It takes 24 to 35 s."]
    assert undated_figures("# Page\n\nAbout a minute on two cores.\n") == ["About a minute on two cores."]
    assert undated_figures("# Page\n\n## A\n\nMeasured 2026-12-05: 4.4 s.\n") == []
    assert undated_figures("# Page\n\n```\nepoch 3 s\n```\n") == []
