"""The sweep summary: ranking, seed groups, the tables and the files it writes, from hand-made job directories;
the jobs of a sweep cut short (interrupted, running or killed, never started), from real sweeps cut in-process;
and python -m rnnexp.summarize."""

import csv
import importlib.util
import json
import math
import os
import runpy
import shutil
import signal
from dataclasses import fields, replace
from enum import Enum
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import run_in_process, sweep_dir_of
from rnnexp.errors import JOBS_FAILED, USAGE_ERROR, ExitWith
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.sweep import SUMMARY_CSV, SUMMARY_MD, Summary, SweepSummary
from rnnexp.sweep.jobs import MULTIRUN_NAME, RANKING_NAME, Job, Ranking, group_by_setting, planned_jobs, rank, read_jobs
from rnnexp.sweep.report import job_line, loss_column, markdown_table, shorten, text_table
from rnnexp.sweep.summarize import main as summarize_main
from rnnexp.testing import run_command


def make_job(sweep_dir: Path, num: int, overrides: list[str], **metrics) -> Path:
    """A job directory as Hydra and training leave it: .hydra/overrides.yaml and, given metrics, metrics.json."""
    job_dir = sweep_dir / f"{num}_{','.join(sorted(overrides))}"
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics:
        record = {"prediction": "ohlol", "target": "ohlol", "final_loss": 0.5, "accuracy": 1.0,
                  "solved_epoch": 5, "epochs": 15, "seconds": 0.3, "status": Status.OK}
        RunResult(run_dir=str(job_dir), **(record | metrics)).write(job_dir)  # NaN allowed, as training writes it
    return job_dir


def failed_job(sweep_dir: Path, num: int, overrides: list[str], error: str, seconds: float = 0.01) -> Path:
    """A job that raised: its record is written by the entry point, as here."""
    job_dir = make_job(sweep_dir, num, overrides)
    RunResult.failed(job_dir, error, seconds).write(job_dir)
    return job_dir


def unsolved(loss: float) -> dict:
    return {"prediction": "ohlll", "final_loss": loss, "accuracy": 0.8, "solved_epoch": None}


DIVERGED = {"status": Status.DIVERGED, "final_loss": None, "prediction": "eeeee", "accuracy": 0.0, "solved_epoch": None}


def test_ranking_solved_by_epoch_then_loss_then_diverged_and_failed(tmp_path):
    make_job(tmp_path, 0, ["lr=0.01"], **unsolved(0.9))
    make_job(tmp_path, 1, ["lr=0.05"], solved_epoch=8, final_loss=0.02)
    make_job(tmp_path, 2, ["lr=0.1"], solved_epoch=5, final_loss=0.3)
    make_job(tmp_path, 3, ["lr=0.2"], solved_epoch=5, final_loss=0.1)
    make_job(tmp_path, 4, ["lr=1e30"], **DIVERGED | {"final_loss": math.nan})
    make_job(tmp_path, 5, ["lr=-1"])  # no metrics.json: a job still running, or killed
    failed_job(tmp_path, 6, ["lr=-2"], "lr=-2.0: must be a number > 0")
    make_job(tmp_path, 7, ["lr=0.3"], **unsolved(0.4))
    # Solved at epoch 3 but lost again by the end: ranked by its final loss among the unsolved.
    make_job(tmp_path, 8, ["lr=0.4"], solved_epoch=3, prediction="ohlll", final_loss=0.6, accuracy=0.8)

    summary = Summary.read(tmp_path)
    assert [j.num for j in summary.ranked] == [3, 2, 1, 7, 8, 0, 4, 6, 5]
    assert [j.status for j in summary.ranked][-3:] == [Status.DIVERGED, Status.FAILED, Status.RUNNING]
    assert [j.num for j in summary.failed] == [6]  # diverged is not failed, nor is a job that has not ended
    assert [j.num for j in summary.unfinished] == [5]
    assert summary.counts() == "9 jobs: 3 solved, 1 diverged, 1 failed, 1 running"
    assert summary.groups == []  # no seeds repeated

    text = summary.text().splitlines()
    header = text.index(next(line for line in text if line.startswith("rank")))
    first, diverged = text[header + 2], text[header + 8]
    assert first.split() == ["1", "3", "lr=0.2", "ok", "0.1000", "1.00", "5", "0.30"]
    assert diverged.split()[2:5] == ["lr=1e30", "diverged", "nan"]
    assert "Job 6 failed: lr=-2.0: must be a number > 0" in text
    assert text[-2:] == [
        "Job 5 running or killed: no metrics.json yet, no last.pt yet",
        f"To finish the sweep: python -m rnnexp continue={tmp_path}",
    ]


def test_ties_go_to_the_status_that_got_further_then_to_the_lower_job_number(tmp_path):
    make_job(tmp_path, 0, ["lr=0.6"], status=Status.INTERRUPTED, signal="SIGINT", final_loss=None, solved_epoch=None)
    make_job(tmp_path, 1, ["lr=0.5"])  # running, or killed
    failed_job(tmp_path, 2, ["lr=0.4"], "boom")
    make_job(tmp_path, 3, ["lr=0.3"], **DIVERGED)
    make_job(tmp_path, 4, ["lr=0.2"], **unsolved(math.inf))  # no finite loss either, but it finished
    make_job(tmp_path, 5, ["lr=0.1"], solved_epoch=4, final_loss=0.2)
    make_job(tmp_path, 6, ["lr=0.7"], solved_epoch=4, final_loss=0.2)
    # A diverged job whose last prediction was right is still not solved.
    make_job(tmp_path, 7, ["lr=0.8"], **DIVERGED | {"prediction": "ohlol", "solved_epoch": 2})

    ranked = Summary.read(tmp_path).ranked
    assert [j.num for j in ranked] == [5, 6, 4, 3, 7, 2, 0, 1]  # the jobs that have not ended last
    assert [j.solved for j in ranked] == [True, True] + [False] * 6


@pytest.mark.parametrize("direction", [None, "minimize", "maximize"])
def test_losses_that_print_the_same_rank_by_job_number_whatever_their_last_bits(tmp_path, direction):
    """The same sweep on another CPU gives losses other last bits: the table must not reorder for that."""
    make_job(tmp_path, 0, ["model=cell"], **unsolved(0.67210001))
    make_job(tmp_path, 1, ["model=rnn"], **unsolved(0.67209999))
    make_job(tmp_path, 2, ["model=embedding"], **unsolved(0.6722))
    make_job(tmp_path, 3, ["model=gru"], **unsolved(1.2340001e-06))
    make_job(tmp_path, 4, ["model=lstm"], **unsolved(1.2339999e-06))
    ranked = [j.num for j in rank(read_jobs(tmp_path), Ranking(direction))]
    assert ranked == ([2, 0, 1, 3, 4] if direction == "maximize" else [3, 4, 0, 1, 2])


def test_jobs_are_read_in_numeric_order_and_other_entries_are_skipped(tmp_path):
    for num in (10, 9, 2):
        make_job(tmp_path, num, [f"lr={num}"], final_loss=0.1)
    (tmp_path / "multirun.yaml").write_text("hydra: {}\n")  # Hydra's own file beside the jobs
    (tmp_path / ".submitit" / "1").mkdir(parents=True)  # a launcher's folder: no .hydra/overrides.yaml
    stray = tmp_path / "copied_by_hand"  # a job directory without a number
    (stray / ".hydra").mkdir(parents=True)
    (stray / ".hydra" / "overrides.yaml").write_text("- lr=1\n")

    jobs = read_jobs(tmp_path)
    assert [(j.num, j.status) for j in jobs] == [(-1, Status.RUNNING), (2, Status.OK), (9, Status.OK), (10, Status.OK)]
    assert jobs[1].overrides == ["lr=2"] and jobs[1].dir == tmp_path / "2_lr=2"


def test_a_failed_job_reads_back_with_its_status_and_reason(tmp_path):
    job_dir = failed_job(tmp_path, 0, ["lr=-1"], "lr=-1.0: must be a number > 0", seconds=0.25)
    assert json.loads((job_dir / METRICS_NAME).read_text())["status"] == "failed"  # the plain word on disk
    job = Job.read(job_dir)
    assert job.status is Status.FAILED and job.failed and not job.solved
    assert job.error == "lr=-1.0: must be a number > 0"
    assert job.final_loss is None and job.seconds == 0.25 and job.loss == math.inf


def test_an_older_failure_record_still_reads(tmp_path):
    # Written before the record carried every RunResult field: epochs null, fewer keys, one unknown.
    job_dir = make_job(tmp_path, 0, ["lr=-1"])
    (job_dir / METRICS_NAME).write_text(json.dumps({
        "prediction": None, "target": None, "final_loss": None, "accuracy": None, "solved_epoch": None,
        "epochs": None, "seconds": 0.5, "status": "failed", "run_dir": str(job_dir), "losses": [],
        "error": "boom", "written_by": "an older version"}))
    job = Job.read(job_dir)
    assert job.status is Status.FAILED and job.error == "boom" and job.seconds == 0.5


def test_seed_groups_mean_std_share_solved_and_mean_solved_epoch(tmp_path):
    num = 0
    for lr, outcomes in (
        ("0.1", [(4, 0.1), (6, 0.3), (None, 0.8)]),  # two of three seeds solve
        ("0.5", [(7, 0.2), (9, 0.4), (8, 0.3)]),  # all three solve, later
    ):
        for seed, (epoch, loss) in enumerate(outcomes):
            metrics = {"solved_epoch": epoch, "final_loss": loss} if epoch else unsolved(loss)
            make_job(tmp_path, num, ["model=rnn", f"lr={lr}", f"seed={seed}"], **metrics)
            num += 1

    groups = Summary.read(tmp_path).groups
    assert [g.setting for g in groups] == [("model=rnn", "lr=0.5"), ("model=rnn", "lr=0.1")]
    best, worse = groups
    assert best.solved_share == 1.0 and worse.solved_share == pytest.approx(2 / 3)
    assert best.mean_loss == pytest.approx(0.3) and best.std_loss == pytest.approx(0.1)  # sample std (n - 1)
    assert worse.mean_loss == pytest.approx(0.4) and worse.std_loss == pytest.approx(math.sqrt(0.13))
    assert best.mean_solved_epoch == 8 and worse.mean_solved_epoch == 5  # over the solved seeds only

    text = Summary.read(tmp_path).text()
    assert "By setting, over seeds:" in text
    rows = text.split("By setting, over seeds:")[1].strip().splitlines()[2:]
    assert rows[0].split() == ["lr=0.5", "3", "3/3", "0.3000", "0.1000", "8.0"]  # model=rnn is common, not shown
    assert rows[1].split() == ["lr=0.1", "3", "2/3", "0.4000", "0.3606", "5.0"]


def test_seed_groups_leave_out_failed_losses_and_need_a_repeat(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1", "seed=0"], final_loss=0.2)
    failed_job(tmp_path, 1, ["lr=0.1", "seed=1"], "boom")
    (group,) = group_by_setting(read_jobs(tmp_path))
    assert group.solved_share == 0.5 and group.mean_loss == 0.2 and group.std_loss is None

    other = tmp_path / "other"
    make_job(other, 0, ["lr=0.1", "seed=0"], final_loss=0.2)
    make_job(other, 1, ["lr=0.2", "seed=0"], final_loss=0.2)
    assert group_by_setting(read_jobs(other)) == []  # each setting once: nothing to group


def test_seed_groups_order_equal_shares_by_solved_epoch_then_loss_and_count_an_appended_seed(tmp_path):
    outcomes = {
        "lr=0.1": [dict(solved_epoch=6, final_loss=0.01), unsolved(0.5)],
        "lr=0.2": [dict(solved_epoch=4, final_loss=0.3), unsolved(0.6)],  # same share, solved earlier
        "lr=0.3": [unsolved(0.2), unsolved(0.4)],
        "lr=0.4": [unsolved(0.1), DIVERGED],  # nothing solved, lowest mean loss of the finite ones
    }
    num = 0
    for lr, results in outcomes.items():
        for seed, metrics in enumerate(results):
            make_job(tmp_path, num, [lr, f"+seed={seed}" if seed else f"seed={seed}"], **metrics)
            num += 1
    groups = Summary.read(tmp_path).groups
    assert [g.setting for g in groups] == [("lr=0.2",), ("lr=0.1",), ("lr=0.4",), ("lr=0.3",)]
    assert [len(g.jobs) for g in groups] == [2, 2, 2, 2]  # +seed= is a seed like seed=


def hand_made_sweep(sweep_dir: Path) -> None:
    """Four jobs: solved, unsolved, diverged, failed; a repeated setting, so the seed table shows too."""
    make_job(sweep_dir, 0, ["task=copy", "lr=0.1", "seed=0"], final_loss=0.1)
    make_job(sweep_dir, 1, ["task=copy", "lr=0.1", "seed=1"], **unsolved(0.25))
    make_job(sweep_dir, 2, ["task=copy", "lr=1e30", "seed=0"], **DIVERGED | {"seconds": 12.5})
    failed_job(sweep_dir, 3, ["task=copy", "lr=-1", "seed=0"], "model.kind: expected a|b")


def test_the_terminal_table_whole(tmp_path):
    hand_made_sweep(tmp_path)
    assert Summary.read(tmp_path).text() == "\n".join([
        f"Sweep {tmp_path} (4 jobs: 1 solved, 1 diverged, 1 failed)",
        "Ranked: solved first by solved epoch, then by final loss",
        "Every job: task=copy",
        "",
        "rank  job  overrides       status    final loss  accuracy  solved epoch  seconds",
        "----  ---  --------------  --------  ----------  --------  ------------  -------",
        "   1    0  lr=0.1 seed=0   ok            0.1000      1.00             5     0.30",
        "   2    1  lr=0.1 seed=1   ok            0.2500      0.80             -     0.30",
        "   3    2  lr=1e30 seed=0  diverged           -      0.00             -    12.50",
        "   4    3  lr=-1 seed=0    failed             -         -             -     0.01",
        "",
        "By setting, over seeds:",
        "setting  seeds  solved  mean loss  std loss  mean solved epoch",
        "-------  -----  ------  ---------  --------  -----------------",
        "lr=0.1       2     1/2     0.1750    0.1061                5.0",
        "lr=1e30      1     0/1          -         -                  -",
        "lr=-1        1     0/1          -         -                  -",
        "Job 3 failed: model.kind: expected a|b",
    ])


def test_the_markdown_file_whole(tmp_path):
    hand_made_sweep(tmp_path)
    Summary.read(tmp_path).write()
    assert (tmp_path / SUMMARY_MD).read_text() == "\n".join([
        f"# Sweep `{tmp_path.name}`",
        "",
        "4 jobs: 1 solved, 1 diverged, 1 failed. Ranked: solved first by solved epoch, then by final loss.",
        "",
        "Every job: `task=copy`",
        "",
        "| rank | job | overrides | status | final loss | accuracy | solved epoch | seconds |",
        "|---|---|---|---|---|---|---|---|",
        "| 1 | 0 | lr=0.1 seed=0 | ok | 0.1000 | 1.00 | 5 | 0.30 |",
        "| 2 | 1 | lr=0.1 seed=1 | ok | 0.2500 | 0.80 | - | 0.30 |",
        "| 3 | 2 | lr=1e30 seed=0 | diverged | - | 0.00 | - | 12.50 |",
        "| 4 | 3 | lr=-1 seed=0 | failed | - | - | - | 0.01 |",
        "",
        "## By setting, over seeds",
        "",
        "Mean and standard deviation (n - 1) of the final loss, share of seeds solved, mean solved epoch of the solved seeds.",
        "",
        "| setting | seeds | solved | mean loss | std loss | mean solved epoch |",
        "|---|---|---|---|---|---|",
        "| lr=0.1 | 2 | 1/2 | 0.1750 | 0.1061 | 5.0 |",
        "| lr=1e30 | 1 | 0/1 | - | - | - |",
        "| lr=-1 | 1 | 0/1 | - | - | - |",
        "",
        "## Failed jobs",
        "",
        "- 3 `3_lr=-1,seed=0,task=copy`: model.kind: expected a|b",
        "",
    ])


def test_summary_files_are_written_whole(tmp_path):
    make_job(tmp_path, 0, ["model=cell", "lr=0.1"], **unsolved(0.7))
    make_job(tmp_path, 1, ["model=rnn", "lr=0.1"], solved_epoch=9, final_loss=0.05)
    (tmp_path / "multirun.yaml").write_text("hydra: {}\n")  # Hydra's own file beside the jobs
    Summary.read(tmp_path).write()

    with open(tmp_path / SUMMARY_CSV, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["rank"], r["job"], r["overrides"], r["status"], r["solved"]) for r in rows] == [
        ("1", "1", "model=rnn lr=0.1", "ok", "True"),
        ("2", "0", "model=cell lr=0.1", "ok", "False"),
    ]
    assert float(rows[0]["final_loss"]) == 0.05 and rows[1]["solved_epoch"] == ""
    markdown = (tmp_path / SUMMARY_MD).read_text()
    assert "| rank | job | overrides | status | final loss | accuracy | solved epoch | seconds |" in markdown
    assert "| 1 | 1 | model=rnn | ok | 0.0500 | 1.00 | 9 | 0.30 |" in markdown
    assert "Every job: `lr=0.1`" in markdown
    assert "By setting" not in markdown and "Failed jobs" not in markdown  # no repeats, no failures
    assert not list(tmp_path.glob(".summary*")), "no temporary files left behind"


def test_the_csv_keeps_every_override_and_the_unrounded_numbers(tmp_path):
    hand_made_sweep(tmp_path)
    make_job(tmp_path, 4, ["task=copy", "lr=0.2", "seed=0"], **unsolved(1.23456789))
    make_job(tmp_path, 5, ["task=copy", "lr=0.3", "seed=0"], **DIVERGED | {"final_loss": math.nan})
    make_job(tmp_path, 6, ["task=copy", "lr=0.4", "seed=0"])  # running, or killed
    Summary.read(tmp_path).write()
    with open(tmp_path / SUMMARY_CSV, newline="") as f:
        rows = {r["job"]: r for r in csv.DictReader(f)}
    assert list(rows["0"]) == ["rank", "job", "dir", "overrides", "status", "epochs", "solved", "final_loss", "accuracy",
                               "sequences_right", "sequences", "solved_epoch", "seconds", "prediction", "error", "kind"]
    assert rows["0"]["epochs"] == "15" and rows["6"]["epochs"] == ""  # trained; none known for a job without a record
    assert rows["0"]["overrides"] == "task=copy lr=0.1 seed=0"  # the common override too
    assert rows["4"]["final_loss"] == "1.23456789" and rows["5"]["final_loss"] == "nan"
    assert rows["2"]["final_loss"] == "" and rows["2"]["seconds"] == "12.5"
    assert (rows["3"]["status"], rows["3"]["error"]) == ("failed", "model.kind: expected a|b")
    assert (rows["6"]["status"], rows["6"]["seconds"], rows["6"]["error"]) == ("running", "", "")


def test_an_empty_sweep_writes_a_header_only_csv(tmp_path):
    summary = Summary.read(tmp_path)
    summary.write()
    assert (tmp_path / SUMMARY_CSV).read_bytes() == b"rank\r\n"
    assert summary.counts() == "0 jobs: 0 solved, 0 diverged, 0 failed"


def test_table_cells_align_and_escape():
    table = text_table(["setting", "seeds", "mean loss"], [["lr=0.1", "3", "inf"], ["(defaults)", "12", "0.1000"]])
    assert table.splitlines() == [
        "setting     seeds  mean loss",
        "----------  -----  ---------",
        "lr=0.1          3        inf",  # numbers to the right, text to the left
        "(defaults)     12     0.1000",
    ]
    assert markdown_table(["overrides"], [["a|b"]]).splitlines()[-1] == "| a\\|b |"


def test_a_job_with_only_the_shared_overrides_shows_defaults(tmp_path):
    make_job(tmp_path, 0, ["task=copy"], final_loss=0.1)
    make_job(tmp_path, 1, ["task=copy", "lr=0.5"], final_loss=0.2)
    make_job(tmp_path, 2, ["task=copy", "lr=0.5"], final_loss=0.3)
    jobs_table, seed_table = Summary.read(tmp_path).text().split("By setting, over seeds:")
    assert "Every job: task=copy" in jobs_table
    assert jobs_table.splitlines()[6].split()[:3] == ["1", "0", "(defaults)"]
    assert [row.split()[0] for row in seed_table.strip().splitlines()[2:]] == ["(defaults)", "lr=0.5"]


def test_the_callback_fails_the_multirun_for_failed_jobs_not_for_diverged_ones(tmp_path, capsys):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    make_job(tmp_path, 0, ["lr=0.1"], solved_epoch=5, final_loss=0.1)
    make_job(tmp_path, 1, ["lr=1e30"], **DIVERGED | {"final_loss": math.nan})
    SweepSummary().on_multirun_end(config)  # no exception: a diverged job is a result, not a failure
    out = capsys.readouterr().out
    assert "2 jobs: 1 solved, 1 diverged, 0 failed" in out
    assert out.splitlines()[-1] == f"Summary: {tmp_path / SUMMARY_MD}, {tmp_path / SUMMARY_CSV}"
    assert (tmp_path / SUMMARY_MD).exists() and (tmp_path / SUMMARY_CSV).exists()

    failed_job(tmp_path, 2, ["lr=-1"], "lr=-1.0: must be a number > 0")
    with pytest.raises(ExitWith) as raised:
        SweepSummary().on_multirun_end(config)
    assert raised.value.status == raised.value.code == JOBS_FAILED
    assert raised.value.error == f"1 of 3 jobs failed (job 2: lr=-1.0: must be a number > 0); see {tmp_path / SUMMARY_MD}"
    assert "failed" in (tmp_path / SUMMARY_CSV).read_text()  # the summary is written before the failure

    # By the end of the multirun every job has returned: one without its record was killed, and fails it too.
    make_job(tmp_path, 3, ["lr=-2"])
    with pytest.raises(ExitWith) as raised:
        SweepSummary().on_multirun_end(config)
    assert raised.value.error == (
        "1 of 4 jobs failed (job 2: lr=-1.0: must be a number > 0) and 1 did not finish "
        f"(job 3 running or killed: no metrics.json yet, no last.pt yet); see {tmp_path / SUMMARY_MD}"
    )
    (tmp_path / "2_lr=-1" / METRICS_NAME).unlink()
    with pytest.raises(ExitWith) as raised:
        SweepSummary().on_multirun_end(config)
    assert raised.value.error.startswith("2 of 4 jobs did not finish (job 2 running or killed: ")


def test_the_sweep_directory_is_resolved_once_before_the_jobs(tmp_path):
    made = []
    OmegaConf.register_new_resolver("test.counter", lambda: made.append(1) or f"{tmp_path}/{len(made)}", use_cache=False)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": "${test.counter:}"}}})
    OmegaConf.set_readonly(config.hydra, True)  # as Hydra hands it over
    SweepSummary().on_multirun_start(config)
    assert config.hydra.sweep.dir == config.hydra.sweep.dir == f"{tmp_path}/1"  # a plain string now
    assert len(made) == 1


def summarize(cwd: Path, *args: str):
    """``python -m rnnexp.summarize ARGS`` in ``cwd``, in this process: its exit status and output."""
    return run_command(summarize_main, args, cwd)


def test_summarize_rebuilds_the_tables(tmp_path):
    hand_made_sweep(tmp_path)
    done = summarize(tmp_path, str(tmp_path))
    assert (done.status, done.stderr) == (0, "")
    assert done.stdout == Summary.read(tmp_path).text() + f"\nWritten into {tmp_path}: summary.csv, summary.md\n"
    assert (tmp_path / SUMMARY_CSV).is_file() and (tmp_path / SUMMARY_MD).is_file()
    assert not (tmp_path / "loss_curves.png").exists()  # only with --plot


SWEEP = "outputs/multirun/2026-11-26/14-54-15.397"
AS_TYPED = "type python -m rnnexp.summarize outputs/multirun/<date>/<time> (a sweep's directory), or last for the newest"


@pytest.mark.parametrize("args, error", [
    ([], f"no sweep given; {AS_TYPED}"),
    (["nowhere"], f"nowhere: no such directory; {AS_TYPED}"),
    (["notes.txt"], f"notes.txt: not a directory; {AS_TYPED}"),
    (["empty"], f"empty: not a sweep directory (no multirun.yaml, no job directories with .hydra/overrides.yaml); {AS_TYPED}"),
    ([f"{SWEEP}/0_lr=0.1"], f"{SWEEP}/0_lr=0.1: one job of a sweep; summarize the sweep: python -m rnnexp.summarize {SWEEP}"),
    (["outputs/multirun/2026-11-26"],
     f"outputs/multirun/2026-11-26: a folder of sweeps, not a sweep; give one of them: python -m rnnexp.summarize {SWEEP}"),
    (["run"], f"run: a single run, not a sweep (its result is its metrics.json); {AS_TYPED}"),
    (["--no-plot", SWEEP], "--no-plot: no such option; the options are --plot and --help"),
    ([SWEEP, "empty"], f"{SWEEP} empty: one sweep at a time; {AS_TYPED}"),
])
def test_summarize_says_in_one_line_what_is_wrong_and_what_to_type(tmp_path, args, error):
    make_job(tmp_path / SWEEP, 0, ["lr=0.1"], final_loss=0.1)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "run" / ".hydra").mkdir(parents=True)
    (tmp_path / "run" / ".hydra" / "overrides.yaml").write_text("- lr=0.1\n")
    done = summarize(tmp_path, *args)
    assert (done.status, done.stdout, done.stderr) == (USAGE_ERROR, "", f"rnnexp.summarize: error: {error}\n")
    assert not (tmp_path / SWEEP / SUMMARY_CSV).exists()


def test_summarize_last_is_the_newest_sweep_here(tmp_path):
    done = summarize(tmp_path, "last")
    assert (done.status, done.stderr) == (USAGE_ERROR, (
        "rnnexp.summarize: error: last: no sweep under outputs/multirun here; give a sweep's directory, "
        "or start one (python -m rnnexp -m ...)\n"))
    make_job(tmp_path / "outputs/multirun/2026-11-26/09-00-00.000", 0, ["lr=0.1"], final_loss=0.1)
    make_job(tmp_path / SWEEP, 0, ["lr=0.2"], final_loss=0.2)
    make_job(tmp_path / "outputs/multirun/2026-11-25/23-00-00.000", 0, ["lr=0.3"], final_loss=0.3)
    done = summarize(tmp_path, "last")
    assert done.status == 0 and done.stdout.splitlines()[0].startswith(f"Sweep {SWEEP} (1 jobs: ")
    assert (tmp_path / SWEEP / SUMMARY_MD).is_file()


# --------------------------------------------------------------------------- sweeps cut short, from real sweeps
def test_the_planned_jobs_are_the_jobs_hydra_ran(small_sweep):
    _, sweep_dir = small_sweep
    ran = [job.overrides for job in read_jobs(sweep_dir)]
    assert len(ran) == 4 and planned_jobs(sweep_dir) == ran  # each job's .hydra/overrides.yaml, in job order


# Six jobs, stopped by a SIGTERM after job 3's second epoch: jobs 0 to 2 ended, 3 interrupted, 4 and 5 never started.
CUT_SWEEP = ["-m", "model=cell,rnn,embedding", "seed=range(2)", "epochs=4", "device=cpu"]


@pytest.fixture(scope="module")
def cut_sweep(tmp_path_factory):
    """CUT_SWEEP as the signal left it: (the directory it ran in, its sweep directory)."""
    from rnnexp.training.trainer import Trainer

    end_epoch = Trainer.end_epoch

    def signalled(trainer, epoch, stats):
        stop = end_epoch(trainer, epoch, stats)
        if Path(trainer.run_dir).name.startswith("3_") and epoch == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # CPython runs the handler before os.kill returns
        return stop

    cwd = tmp_path_factory.mktemp("cut_sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "end_epoch", signalled)
        done = run_in_process(CUT_SWEEP, cwd)
    assert done.status == 128 + signal.SIGTERM, done.stderr  # the sweep stopped with its job
    return cwd, sweep_dir_of(cwd)


ROOT = Path(__file__).resolve().parents[1]


def copy_of(cut_sweep, tmp_path: Path) -> Path:
    """The cut sweep copied to the same place under ``tmp_path``: each test alters its own."""
    cwd, sweep_dir = cut_sweep
    copy = tmp_path / sweep_dir.relative_to(cwd)
    shutil.copytree(sweep_dir, copy)
    return copy


def test_a_cut_sweep_lists_every_planned_job_with_its_state(cut_sweep, tmp_path):
    sweep_dir = copy_of(cut_sweep, tmp_path)
    killed = next(sweep_dir.glob("2_*"))
    (killed / METRICS_NAME).unlink()  # as a job killed hard leaves it: no record, its last checkpoint

    done = summarize(tmp_path, "last")
    assert (done.status, done.stderr) == (0, "")
    shown = sweep_dir.relative_to(tmp_path)  # last: the newest sweep under outputs/multirun, from here
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Sweep {shown} (6 jobs: ")
    assert lines[0].endswith(" 0 diverged, 0 failed, 1 interrupted, 1 running, 2 missing)")
    assert lines[2] == "Every job: epochs=4 device=cpu"
    rows = [line.split()[1:5] for line in lines[6:12]]
    assert sorted(rows[:2]) == [["0", "model=cell", "seed=0", "ok"], ["1", "model=cell", "seed=1", "ok"]]
    assert rows[2:] == [
        ["3", "model=rnn", "seed=1", "interrupted"],  # ranked after the ended jobs, with no loss
        ["2", "model=rnn", "seed=0", "running"],
        ["4", "model=embedding", "seed=0", "missing"],
        ["5", "model=embedding", "seed=1", "missing"],
    ]
    assert [line.split()[5] for line in lines[8:12]] == ["-"] * 4
    # Over the seeds that ended: model=rnn has one, model=embedding none.
    groups = lines[lines.index("By setting, over seeds:") + 3 : -5]
    assert [(row.split()[:2]) for row in groups] == [["model=cell", "2"]]
    assert lines[-5:] == [
        "Job 3 interrupted: SIGTERM after 2 of 4 epochs",
        "Job 2 running or killed: no metrics.json yet, its last.pt holds 4 of 4 epochs",
        "Jobs 4, 5 missing: never started",
        f"To finish the sweep: python -m rnnexp continue={shown}",
        f"Written into {shown}: summary.csv, summary.md",
    ]
    docs_outputs = runpy.run_path(str(ROOT / "scripts" / "docs_outputs.py"))
    assert docs_outputs["matches"](docs_sample(), lines), "docs/sweeps.md shows another summary of this sweep"

    with open(sweep_dir / SUMMARY_CSV, newline="") as f:
        rows = {r["job"]: r for r in csv.DictReader(f)}
    assert [rows[n]["status"] for n in "012345"] == ["ok", "ok", "running", "interrupted", "missing", "missing"]
    assert (rows["4"]["dir"], rows["4"]["overrides"]) == ("", "model=embedding seed=0 epochs=4 device=cpu")
    markdown = (sweep_dir / SUMMARY_MD).read_text()
    assert "## Jobs that have not ended" in markdown
    assert f"- 3 `{next(sweep_dir.glob('3_*')).name}`: interrupted, SIGTERM after 2 of 4 epochs" in markdown
    assert "- 5 (no directory): missing, never started" in markdown

    if importlib.util.find_spec("matplotlib") is not None:
        done = summarize(tmp_path, str(sweep_dir), "--plot")
        assert done.stdout.endswith(f"Written into {sweep_dir}: summary.csv, summary.md, loss_curves.png\n")
        assert (sweep_dir / "loss_curves.png").read_bytes().startswith(b"\x89PNG")


def docs_sample() -> list[str]:
    """The cut sweep's summary as docs/sweeps.md shows it."""
    page = (ROOT / "docs" / "sweeps.md").read_text().splitlines()
    start = next(i for i, line in enumerate(page) if line.startswith("<!-- sample: a cut sweep's summary")) + 2
    return page[start : page.index("```", start)]


def test_a_continued_sweep_lists_each_job_once(cut_sweep, tmp_path, run_main):
    sweep_dir = copy_of(cut_sweep, tmp_path)
    (next(sweep_dir.glob("2_*")) / METRICS_NAME).unlink()
    done = run_main(["continue=last"])  # into the same directory: the interrupted job resumes, the missing ones run
    assert done.status == 0, done.stderr
    summary = Summary.read(sweep_dir)
    assert sorted(j.num for j in summary.ranked) == [0, 1, 2, 3, 4, 5] and summary.unfinished == []
    assert summary.counts().endswith(" 0 diverged, 0 failed") and "To finish the sweep" not in done.stdout
    assert [len(g.jobs) for g in summary.groups] == [2, 2, 2]


def test_a_sweep_whose_jobs_never_started_lists_them_all(cut_sweep, tmp_path):
    sweep_dir = copy_of(cut_sweep, tmp_path)
    for job_dir in sweep_dir.glob("*_*"):
        shutil.rmtree(job_dir)  # killed before any job made its directory: multirun.yaml alone
    summary = Summary.read(sweep_dir)
    assert summary.counts() == "6 jobs: 0 solved, 0 diverged, 0 failed, 6 missing"
    assert summary.common == ["epochs=4", "device=cpu"] and summary.groups == []
    assert summary.text().splitlines()[-2] == "Jobs 0, 1, 2, 3, 4, 5 missing: never started"
    assert summarize(tmp_path, str(sweep_dir)).status == 0


def test_directories_that_disagree_with_multirun_yaml_list_no_missing_job(cut_sweep, tmp_path):
    sweep_dir = copy_of(cut_sweep, tmp_path)
    (sweep_dir / MULTIRUN_NAME).write_text((sweep_dir / MULTIRUN_NAME).read_text().replace("- seed=range(2)", "- seed=7"))
    assert [j.status for j in read_jobs(sweep_dir)] == [Status.OK, Status.OK, Status.OK, Status.INTERRUPTED]


def test_a_search_cut_short_counts_its_trials_and_names_none_it_never_drew(run_main, tmp_path):
    pytest.importorskip("optuna")
    done = run_main(["-m", "hparams_search=optuna", "hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=1", "epochs=2",
                     "device=cpu"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    assert planned_jobs(sweep_dir) == [None, None, None]  # multirun.yaml, saved by the summary's callback
    shutil.rmtree(next(sweep_dir.glob("2_*")))  # the last trial never started

    summary = Summary.read(sweep_dir)
    assert summary.counts().endswith(", 1 missing")
    assert [(j.num, j.status) for j in summary.ranked][-1] == (2, Status.MISSING)
    lines = summary.text().splitlines()
    assert lines[1] == "Ranked by final loss, the search's objective (minimize: lowest first)"
    assert lines[-3].split()[1:6] == ["2", "(not", "drawn", "yet)", "missing"]  # its values were never drawn
    assert lines[-2:] == ["Job 2 missing: never started", f"To finish the sweep: python -m rnnexp continue={sweep_dir}"]
    assert summary.common and all(o in j.overrides for o in summary.common for j in summary.ranked[:2])


# --------------------------------------------------------------------------- a search's objective
OPTUNA = {"_target_": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper", "direction": "minimize"}
BASIC = {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper", "max_batch_size": None}


def search_sweep(sweep_dir: Path) -> None:
    """Trials of a search on the hello task: the lowest loss solved late, one unsolved with a low loss, one diverged."""
    make_job(sweep_dir, 0, ["lr=0.014135935551752304", "optimizer=rmsprop"], solved_epoch=2,
             final_loss=0.0008324150112457573)
    make_job(sweep_dir, 1, ["lr=0.7932305377159535", "optimizer=sgd"], solved_epoch=3, final_loss=0.0)
    make_job(sweep_dir, 2, ["lr=0.615065071790268", "optimizer=sgd"], solved_epoch=5, final_loss=1.2874593267042655e-06)
    make_job(sweep_dir, 3, ["lr=0.0015070262608728228", "optimizer=adamw"], **unsolved(0.0004685132298618555))
    make_job(sweep_dir, 4, ["lr=0.9", "optimizer=adam"], **DIVERGED)


def test_a_search_ranks_by_its_objective_and_says_so(tmp_path):
    search_sweep(tmp_path)
    minimised = Summary.read(tmp_path, Ranking.of_sweeper(OPTUNA))
    assert [j.num for j in minimised.ranked] == [1, 2, 3, 0, 4]  # the search's best trial first, solved or not
    assert minimised.text() == "\n".join([
        f"Sweep {tmp_path} (5 jobs: 3 solved, 1 diverged, 0 failed)",
        "Ranked by final loss, the search's objective (minimize: lowest first)",
        "",
        "rank  job  overrides                     status    final loss  accuracy  solved epoch  seconds",
        "----  ---  ----------------------------  --------  ----------  --------  ------------  -------",
        # One notation in the column: a loss below 0.001 would show one digit or none with four decimals.
        "   1    1  lr=0.7932 optimizer=sgd       ok         0.000e+00      1.00             3     0.30",
        "   2    2  lr=0.6151 optimizer=sgd       ok         1.287e-06      1.00             5     0.30",  # not 0.0000
        "   3    3  lr=0.001507 optimizer=adamw   ok         4.685e-04      0.80             -     0.30",
        "   4    0  lr=0.01414 optimizer=rmsprop  ok         8.324e-04      1.00             2     0.30",
        "   5    4  lr=0.9 optimizer=adam         diverged           -      0.00             -     0.30",
    ])
    assert "0 failed. Ranked by final loss, the search's objective (minimize: lowest first).\n" in minimised.markdown()

    # A search that maximises, maximises the accuracy: ties by final loss; no finite loss stays last either way.
    maximised = Summary.read(tmp_path, Ranking.of_sweeper(OPTUNA | {"direction": "maximize"}))
    assert [j.num for j in maximised.ranked] == [1, 2, 0, 3, 4]
    assert maximised.text().splitlines()[1] == "Ranked by accuracy, the search's objective (maximize: highest first)"
    basic = Summary.read(tmp_path, Ranking.of_sweeper(BASIC))
    assert [j.num for j in basic.ranked] == [0, 1, 2, 3, 4]  # solved first, by solved epoch
    assert basic.text().splitlines()[1] == "Ranked: solved first by solved epoch, then by final loss"


def test_a_pruned_trial_ranks_after_the_finished_ones_by_the_loss_it_stopped_at(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1"], **unsolved(0.9))
    make_job(tmp_path, 1, ["lr=0.2"], **unsolved(0.4), status=Status.PRUNED, epochs=2)  # lower, but at epoch 2
    make_job(tmp_path, 2, ["lr=0.3"], **unsolved(0.6), status=Status.PRUNED, epochs=3)
    make_job(tmp_path, 3, ["lr=0.4"], **DIVERGED)
    make_job(tmp_path, 4, ["lr=0.5"], final_loss=0.7)
    summary = Summary.read(tmp_path, Ranking.of_sweeper(OPTUNA))
    assert [j.num for j in summary.ranked] == [4, 0, 1, 2, 3]
    assert summary.counts() == "5 jobs: 1 solved, 1 diverged, 0 failed, 2 pruned"
    assert summary.problem() is None  # pruned is an end, not a failure: the multirun exits 0
    rows = summary.text().splitlines()[5:]  # below the header and its rule
    assert [row.split()[1:6] for row in rows[2:4]] == [["1", "lr=0.2", "pruned", "at", "2"], ["2", "lr=0.3", "pruned", "at", "3"]]
    assert [r["status"] for r in summary.csv_rows()] == ["ok", "ok", "pruned", "pruned", "diverged"]
    assert [r["epochs"] for r in summary.csv_rows()] == [15, 15, 2, 3, 15]
    basic = Summary.read(tmp_path, Ranking.of_sweeper(BASIC))
    assert [j.num for j in basic.ranked] == [4, 0, 1, 2, 3]  # solved first, then by loss; pruned after those that ended
    job = next(j for j in summary.ranked if j.num == 1)
    assert job_line(job) == "Job 1 (lr=0.2): pruned after epoch 2, loss 0.4000, 0.30 s"


class Direction(Enum):  # as the Optuna plugin's schema holds its default
    minimize = 1
    maximize = 2


@pytest.mark.parametrize("sweeper, direction", [
    (OPTUNA, "minimize"),
    (OPTUNA | {"direction": Direction.maximize}, "maximize"),
    ({"_target_": OPTUNA["_target_"]}, "minimize"),  # no direction: the task's kind, the final loss for hello
    (OPTUNA | {"direction": None}, "minimize"),
    (OPTUNA | {"direction": ["minimize", "maximize"]}, None),  # several objectives: a job returns one number
    (BASIC, None),
    (None, None),  # a config without hydra.sweeper
])
def test_the_ranking_follows_the_sweepers_config(sweeper, direction):
    config = OmegaConf.create({"sweeper": sweeper})  # as the callback receives it
    metric = "accuracy" if direction == "maximize" else "final_loss"  # maximize: the accuracy
    assert Ranking.of_sweeper(config.sweeper) == Ranking(direction, metric)


def test_the_ranking_is_recorded_as_the_multirun_starts_and_a_rebuilt_summary_follows_it(tmp_path, capsys):
    sweep_dir = tmp_path / "sweep"
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep_dir)}, "sweeper": OPTUNA}})
    SweepSummary().on_multirun_start(config)
    assert OmegaConf.load(sweep_dir / RANKING_NAME) == {"objective": "final loss", "direction": "minimize"}
    search_sweep(sweep_dir)
    SweepSummary().on_multirun_end(config)
    at_the_end = capsys.readouterr().out
    assert "Ranked by final loss, the search's objective" in at_the_end

    (sweep_dir / SUMMARY_CSV).unlink()
    done = summarize(tmp_path, str(sweep_dir))
    assert done.status == 0 and done.stdout.splitlines()[:-1] == at_the_end.splitlines()[:-1]  # all but the files line
    with open(sweep_dir / SUMMARY_CSV, newline="") as f:
        assert [r["job"] for r in csv.DictReader(f)] == ["1", "2", "3", "0", "4"]

    basic_dir = tmp_path / "basic"
    SweepSummary().on_multirun_start(OmegaConf.create({"hydra": {"sweep": {"dir": str(basic_dir)}, "sweeper": BASIC}}))
    assert OmegaConf.load(basic_dir / RANKING_NAME) == {"objective": None, "direction": None}
    search_sweep(basic_dir)
    assert [j.num for j in Summary.read(basic_dir).ranked] == [0, 1, 2, 3, 4]
    (basic_dir / RANKING_NAME).unlink()  # a sweep from before the record: the default ranking
    assert Summary.read(basic_dir).ranking == Ranking()


def test_seed_groups_of_a_search_rank_by_mean_loss(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1", "seed=0"], solved_epoch=2, final_loss=0.3)
    make_job(tmp_path, 1, ["lr=0.1", "seed=1"], solved_epoch=2, final_loss=0.5)
    make_job(tmp_path, 2, ["lr=0.2", "seed=0"], **unsolved(0.1))
    make_job(tmp_path, 3, ["lr=0.2", "seed=1"], **unsolved(0.2))
    make_job(tmp_path, 4, ["lr=0.3", "seed=0"], **DIVERGED)
    make_job(tmp_path, 5, ["lr=0.3", "seed=1"], **DIVERGED)
    by_objective = [g.setting for g in Summary.read(tmp_path, Ranking("minimize")).groups]
    assert by_objective == [("lr=0.2",), ("lr=0.1",), ("lr=0.3",)]
    assert [g.setting for g in Summary.read(tmp_path).groups] == [("lr=0.1",), ("lr=0.2",), ("lr=0.3",)]


# --------------------------------------------------------------------------- short numbers
@pytest.mark.parametrize("override, shown", [
    ("lr=0.014135935551752304", "lr=0.01414"),
    ("+lr=0.7932305377159535", "+lr=0.7932"),
    ("lr=0.0015070262608728228", "lr=0.001507"),
    ("lr=1.2874593267042655e-06", "lr=1.287e-06"),
    ("lr=0.1", "lr=0.1"),
    ("lr=1e30", "lr=1e30"),  # as typed: 1e+30 is no shorter
    ("lr=-1", "lr=-1"),
    ("epochs=100000", "epochs=100000"),  # an integer stays whole
    ("model.hidden_size=32", "model.hidden_size=32"),
    ("task.path=data/poem.txt", "task.path=data/poem.txt"),
    ("model=gru", "model=gru"),
    ("~clip", "~clip"),
])
def test_overrides_show_four_significant_digits(override, shown):
    assert shorten(override) == shown


def test_the_tables_shorten_numbers_and_the_csv_keeps_them_whole(tmp_path):
    make_job(tmp_path, 0, ["clip=0.123456789", "lr=0.014135935551752304", "seed=0"], final_loss=2.5e-05)
    make_job(tmp_path, 1, ["clip=0.123456789", "lr=0.014135935551752304", "seed=1"], **unsolved(0.123456789))
    make_job(tmp_path, 2, ["clip=0.123456789", "lr=0.7932305377159535", "seed=0"], final_loss=0.0)
    summary = Summary.read(tmp_path)
    summary.write()
    text = summary.text()
    assert "Every job: clip=0.1235" in text and "`clip=0.1235`" in (tmp_path / SUMMARY_MD).read_text()
    assert "| 2 | 0 | lr=0.01414 seed=0 | ok | 2.500e-05 | 1.00 | 5 | 0.30 |" in (tmp_path / SUMMARY_MD).read_text()
    assert "| 3 | 1 | lr=0.01414 seed=1 | ok | 1.235e-01 | 0.80 | - | 0.30 |" in (tmp_path / SUMMARY_MD).read_text()
    groups = text.split("By setting, over seeds:")[1].strip().splitlines()[2:]
    assert groups[0].split() == ["lr=0.7932", "1", "1/1", "0.0000", "-", "5.0"]
    assert groups[1].split() == ["lr=0.01414", "2", "1/2", "0.0617", "0.0873", "5.0"]  # four decimals above 0.001
    with open(tmp_path / SUMMARY_CSV, newline="") as f:
        rows = {r["job"]: r for r in csv.DictReader(f)}
    assert rows["0"]["overrides"] == "clip=0.123456789 lr=0.014135935551752304 seed=0"
    assert rows["0"]["final_loss"] == "2.5e-05" and rows["1"]["final_loss"] == "0.123456789"


# --------------------------------------------------------------------------- tasks of many sequences
def counted_job(num: int, overrides: list[str], right: int, sequences: int, **fields) -> Job:
    """A job whose record counts its evaluation sequences (its first one right, as in a task=reverse run)."""
    values = dict(final_loss=0.05, accuracy=0.98, solved_epoch=None, seconds=1.5, prediction="cfbccfdg",
                  target="cfbccfdg", sequences_right=right, sequences=sequences) | fields
    return Job(num, Path(f"{num}_{','.join(overrides)}"), overrides, Status.OK, **values)


def test_solved_means_every_evaluation_sequence_right():
    almost = counted_job(0, ["lr=0.01"], 402, 410)
    assert not almost.solved  # the first sequence right is not enough
    assert counted_job(1, ["lr=0.02"], 410, 410, solved_epoch=12).solved
    assert not counted_job(2, ["lr=0.03"], 405, 410, solved_epoch=9).solved  # right once, lost again by the end
    # A record without the counts: the first sequence right but no solved epoch is not solved either.
    older = counted_job(3, ["lr=0.04"], None, None)
    assert not older.counted and not older.solved
    assert counted_job(4, ["lr=0.05"], None, None, solved_epoch=7).solved
    ranked = rank([almost, older, counted_job(1, ["lr=0.02"], 410, 410, solved_epoch=12)])
    assert [j.num for j in ranked] == [1, 0, 3]


def test_a_task_of_many_sequences_counts_the_right_ones_in_its_tables(tmp_path):
    jobs = [
        counted_job(0, ["task=reverse", "lr=0.01"], 402, 410, final_loss=0.0712),
        counted_job(1, ["task=reverse", "lr=0.05"], 410, 410, solved_epoch=12, final_loss=0.0031, accuracy=1.0),
        replace(counted_job(2, ["task=reverse", "lr=-1"], None, None), status=Status.FAILED, final_loss=None,
                accuracy=None, prediction=None, error="lr=-1.0: must be a number > 0"),
    ]
    summary = Summary(tmp_path, rank(jobs), [], ["task=reverse"])
    assert summary.text().splitlines()[4:] == [
        "rank  job  overrides  status  final loss  accuracy  sequences right  solved epoch  seconds",
        "----  ---  ---------  ------  ----------  --------  ---------------  ------------  -------",
        "   1    1  lr=0.05    ok          0.0031      1.00          410/410            12     1.50",
        "   2    0  lr=0.01    ok          0.0712      0.98          402/410             -     1.50",
        "   3    2  lr=-1      failed           -         -                -             -     1.50",
        "Job 2 failed: lr=-1.0: must be a number > 0",
    ]
    markdown = summary.markdown()
    assert ('3 jobs: 1 solved, 0 diverged, 1 failed. Ranked: solved first by solved epoch, then by final loss. '
            'Solved: every evaluation sequence right at the end ("sequences right" counts them).') in markdown
    assert "| 2 | 0 | lr=0.01 | ok | 0.0712 | 0.98 | 402/410 | - | 1.50 |" in markdown
    counts = [(r["sequences_right"], r["sequences"]) for r in summary.csv_rows()]
    assert counts == [(410, 410), (402, 410), (None, None)]

    one_each = Summary(tmp_path, rank([counted_job(0, ["lr=0.1"], 1, 1, solved_epoch=5)]), [], [])
    assert "sequences right" not in one_each.text() + one_each.markdown()  # hello: solved says it all


@pytest.mark.skipif(not {"sequences", "sequences_right"} <= {f.name for f in fields(RunResult)},
                    reason="RunResult does not record the sequence counts yet")
def test_the_sequence_counts_are_read_from_metrics_json(tmp_path):
    job_dir = make_job(tmp_path, 0, ["task=reverse"], **unsolved(0.07) | {"sequences_right": 402, "sequences": 410})
    job = Job.read(job_dir)
    assert (job.sequences_right, job.sequences, job.solved) == (402, 410, False)
    older = make_job(tmp_path, 1, ["task=hello"], final_loss=0.1)
    assert Job.read(older).counted is False  # written before the counts: read as None


def test_the_plot_reads_each_jobs_curve_from_metrics_json_else_from_its_event_file(tmp_path):
    pytest.importorskip("matplotlib")
    from torch.utils.tensorboard import SummaryWriter

    from rnnexp.sweep.plot import job_loss_curve, loss_curve, plot_loss_curves

    hand_made_sweep(tmp_path)
    make_job(tmp_path, 4, ["task=copy", "lr=0.2", "seed=0"])  # no metrics.json: still running, or killed
    failed_job(tmp_path, 5, ["task=copy", "lr=0.3", "seed=0"], "out of memory")  # after some epochs: in its events only
    for job in read_jobs(tmp_path):
        if job.num in (0, 1):  # finished: metrics.json holds a curve other than the event file's
            replace(RunResult.read(job.dir / METRICS_NAME), losses=[2.0, 1.0 / (job.num + 1)]).write(job.dir)
        if job.num != 3:  # job 3 failed before training: no event file
            with SummaryWriter(str(job.dir)) as writer:
                for epoch, loss in enumerate([1.0, 0.5, 0.25 * job.num], start=1):
                    writer.add_scalar("loss/train", loss, epoch)
    jobs = read_jobs(tmp_path)
    assert loss_curve(jobs[2].dir) == ([1, 2, 3], [1.0, 0.5, 0.5])
    assert loss_curve(jobs[3].dir) == ([], [])
    assert job_loss_curve(jobs[0]) == ([1, 2], [2.0, 1.0])  # metrics.json, not the event file
    assert job_loss_curve(jobs[1]) == ([1, 2], [2.0, 0.5])
    assert jobs[4].status is Status.RUNNING and job_loss_curve(jobs[4]) == ([1, 2, 3], [1.0, 0.5, 1.0])
    assert jobs[5].status is Status.FAILED and job_loss_curve(jobs[5]) == ([1, 2, 3], [1.0, 0.5, 1.25])
    assert job_loss_curve(jobs[3]) == ([], [])  # failed before its first epoch: nothing to draw
    path = plot_loss_curves(Summary.read(tmp_path))
    assert path == tmp_path / "loss_curves.png" and path.read_bytes().startswith(b"\x89PNG")


def test_one_torch_thread_per_job_under_a_parallel_launcher():
    from rnnexp.cli.job import job_threads

    basic = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert job_threads("auto", basic) == "auto"  # chosen by model size (rnnexp.training.threads)
    assert job_threads("auto", joblib) == 1
    assert job_threads(3, joblib) == 3 and job_threads(2, basic) == 2


def test_a_missing_launcher_or_sweeper_points_to_the_extra():
    from hydra.errors import MissingConfigException

    from rnnexp.errors import one_line

    missing = MissingConfigException("", missing_cfg_file="hydra/sweeper/optuna", options=["basic"])
    assert one_line(missing) == (
        "hydra/sweeper=optuna: no such option; choose one of basic; "
        "the joblib, submitit and optuna plugins come with pip install 'rnnexp[sweep]' (or pip install -e '.[sweep]' in a clone)"
    )
    typo = MissingConfigException("", missing_cfg_file="hydra/launcher/joblb", options=["basic", "joblib"])
    assert one_line(typo) == "hydra/launcher=joblb: no such option; choose one of basic, joblib; did you mean joblib?"


def test_the_launcher_and_search_configs_compose(tmp_path, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    pytest.importorskip("optuna")
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from rnnexp.config.schemas import register_configs
    from rnnexp.run_dirs import register_resolvers

    register_configs()  # the schemas and resolvers the command line registers (this test may run alone)
    register_resolvers()
    monkeypatch.chdir(tmp_path)  # resolving the sweep dir creates it
    GlobalHydra.instance().clear()  # another test's compositions may hold it (conftest re-opens it)
    with initialize_config_module("rnnexp.conf", version_base="1.3"):
        slurm = compose("config", ["hydra/launcher=slurm", "hydra.launcher.partition=cpu"], return_hydra_config=True)
        search = compose("config", ["hparams_search=optuna"], return_hydra_config=True)
    launcher = slurm.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "cpu"
    assert launcher.cpus_per_task == 1 and launcher.submitit_folder.startswith("outputs/multirun/")
    sweeper = search.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSearch") and sweeper.direction is None  # the task's kind chooses
    assert Ranking.of_sweeper(sweeper, search.task) == Ranking("minimize")  # the summary ranks its trials by the objective
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.sampler.n_startup_trials == 10
    assert sweeper.max_failure_rate * sweeper.n_jobs >= 1  # one failed trial in a batch does not end the study
    assert sweeper.storage is None  # a journal file in the sweep directory
    assert sweeper.pruner == "none" and sweeper.pruner_args == {}  # every trial trains to its end
    assert set(sweeper.params) == {"lr", "model.hidden_size", "optimizer"}
    assert search.model.head is True  # hidden_size is free only with a head


# --------------------------------------------------------------------------- one notation per column, the job's line
def test_a_column_of_losses_keeps_one_notation():
    # Four decimals while they show every loss; else all in scientific notation, four significant digits.
    assert loss_column([0.4856, 41.549, None, 0.0]) == ["0.4856", "41.5490", "-", "0.0000"]
    assert loss_column([1.707e-05, 0.0001515, 0.4856, None, math.inf]) == [
        "1.707e-05", "1.515e-04", "4.856e-01", "-", "inf"]
    mean_std = Summary(Path("s"), [], group_by_setting([
        Job(n, Path(f"{n}_x"), [f"lr={lr}", f"seed={n % 2}"], Status.OK, final_loss=loss, solved_epoch=3)
        for n, (lr, loss) in enumerate([(0.1, 0.00095), (0.1, 0.00102), (0.2, 0.47), (0.2, 0.52)])
    ]), []).text().split("By setting, over seeds:")[1].splitlines()[3:]
    means = [row.split()[3] for row in mean_std]
    assert means == ["9.850e-04", "4.950e-01"]  # not 0.000985 above 0.495


def test_a_jobs_line_names_its_own_overrides_status_loss_and_seconds(tmp_path):
    make_job(tmp_path, 3, ["model=rnn", "lr=0.014135935551752304", "epochs=4"], solved_epoch=2, final_loss=1.707e-05)
    make_job(tmp_path, 4, ["model=rnn", "lr=0.5", "epochs=4"], **(DIVERGED | {"epochs": 0}))  # in its first epoch
    solved, diverged = sorted(read_jobs(tmp_path), key=lambda j: j.num)
    assert job_line(solved, ["epochs=4", "model=cell,rnn"]) == (
        "Job 3 (model=rnn lr=0.01414): ok, final loss 1.707e-05, solved at epoch 2, 0.30 s")
    assert job_line(diverged, ["epochs=4"]) == "Job 4 (model=rnn lr=0.5): diverged in epoch 1, 0.30 s"


# --------------------------------------------------------------------------- a ladder of difficulty
def ladder_sweep(sweep_dir: Path, solved: dict[tuple[str, str], list[bool]]) -> None:
    """Jobs of model=... task.length=... seed=..., solved or not as ``solved[(model, length)]`` says per seed."""
    num = 0
    for (model, length), seeds in solved.items():
        for seed, right in enumerate(seeds):
            outcome = {"sequences": 10, "sequences_right": 10} if right else {"sequences": 10, "sequences_right": 7,
                                                                               "solved_epoch": None}
            make_job(sweep_dir, num, [f"model={model}", f"task.length={length}", f"seed={seed}"], **outcome)
            num += 1


def test_the_ladder_states_the_hardest_rung_every_seed_and_any_seed_solved(tmp_path):
    ladder_sweep(tmp_path, {
        # Rungs met in the order 16, 8, 32: ordered by value, not as "16" < "32" < "8".
        ("gru", "16"): [True, True], ("gru", "8"): [True, True], ("gru", "32"): [True, False],
        ("rnn", "16"): [False, True], ("rnn", "8"): [True, True], ("rnn", "32"): [False, False],
        ("mingru", "8"): [False, False],  # no rung solved; and two rungs never run
    })
    summary = Summary.read(tmp_path, ladder="task.length")
    header, rows = summary.ladder_table()
    assert header == ["setting", "task.length=8", "16", "32", "every seed", "any seed"]
    assert rows == [
        ["model=gru", "2/2", "2/2", "1/2", "16", "32"],
        ["model=rnn", "2/2", "1/2", "0/2", "8", "16"],
        ["model=mingru", "0/2", "-", "-", "none", "none"],
    ]
    assert "Seeds solved (every evaluation sequence right) at each task.length, and the hardest task.length that every seed and that any seed solved:" in summary.text()
    assert "| model=gru | 2/2 | 2/2 | 1/2 | 16 | 32 |" in summary.markdown()


def test_the_ladder_key_is_read_back_from_the_sweeps_config(tmp_path, capsys):
    ladder_sweep(tmp_path, {("gru", "8"): [True], ("gru", "16"): [False]})
    assert "Ladder" not in Summary.read(tmp_path).markdown()  # no ladder recorded: no table
    OmegaConf.save(OmegaConf.create({"ladder": "task.length", "hydra": {"sweeper": {}}}), tmp_path / MULTIRUN_NAME)
    assert summarize_main([str(tmp_path)]) == 0
    assert "## Ladder of difficulty: `task.length`" in (tmp_path / SUMMARY_MD).read_text()
    # model=gru is common to every job, shown once above the tables: the row is the defaults.
    assert "(defaults)            1/1  0/1           8         8" in capsys.readouterr().out
