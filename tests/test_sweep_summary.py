"""The sweep summary from hand-made job directories: ranking, seed groups, the files it writes."""

import csv
import json
import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from rnnexp.__main__ import job_threads
from rnnexp.errors import SweepFailed
from rnnexp.sweep import (
    METRICS_NAME,
    SUMMARY_CSV,
    SUMMARY_MD,
    group_by_setting,
    read_jobs,
    SweepSummary,
    record_failure,
    summarize,
    write_summary,
)
from rnnexp.train import METRICS_NAME as TRAIN_METRICS_NAME


def make_job(sweep_dir: Path, num: int, overrides: list[str], **metrics) -> Path:
    """A job directory as Hydra and rnnexp.train leave it: .hydra/overrides.yaml and metrics.json."""
    job_dir = sweep_dir / f"{num}_{','.join(sorted(overrides))}"
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics:
        record = {"prediction": "ohlol", "target": "ohlol", "final_loss": 0.5, "accuracy": 1.0,
                  "solved_epoch": 5, "epochs": 15, "seconds": 0.3, "status": "ok", "run_dir": str(job_dir),
                  "losses": []}
        record.update(metrics)
        (job_dir / METRICS_NAME).write_text(json.dumps(record))  # Python's json: NaN allowed, as train writes it
    return job_dir


def unsolved(loss: float) -> dict:
    return {"prediction": "ohlll", "final_loss": loss, "accuracy": 0.8, "solved_epoch": None}


def test_the_summary_reads_the_file_that_training_writes():
    assert METRICS_NAME == TRAIN_METRICS_NAME


def test_ranking_solved_by_epoch_then_loss_then_diverged_and_failed(tmp_path):
    make_job(tmp_path, 0, ["lr=0.01"], **unsolved(0.9))
    make_job(tmp_path, 1, ["lr=0.05"], solved_epoch=8, final_loss=0.02)
    make_job(tmp_path, 2, ["lr=0.1"], solved_epoch=5, final_loss=0.3)
    make_job(tmp_path, 3, ["lr=0.2"], solved_epoch=5, final_loss=0.1)
    make_job(tmp_path, 4, ["lr=1e30"], status="diverged", final_loss=math.nan, prediction="eeeee", accuracy=0.0,
             solved_epoch=None)
    make_job(tmp_path, 5, ["lr=-1"])  # no metrics.json: a job that never finished
    record_failure(make_job(tmp_path, 6, ["lr=-2"]), "lr=-2.0: must be a number > 0", 0.01)
    make_job(tmp_path, 7, ["lr=0.3"], **unsolved(0.4))
    # Solved at epoch 3 but lost again by the end: ranked by its final loss among the unsolved.
    make_job(tmp_path, 8, ["lr=0.4"], solved_epoch=3, prediction="ohlll", final_loss=0.6, accuracy=0.8)

    summary = summarize(tmp_path)
    assert [j.num for j in summary.ranked] == [3, 2, 1, 7, 8, 0, 4, 6, 5]
    assert [j.status for j in summary.ranked][-3:] == ["diverged", "failed", "missing"]
    assert [j.num for j in summary.failed] == [6, 5]  # diverged is not failed
    assert summary.counts() == "9 jobs: 3 solved, 1 diverged, 2 failed"
    assert summary.groups == []  # no seeds repeated

    text = summary.text().splitlines()
    header = text.index(next(line for line in text if line.startswith("rank")))
    first, diverged = text[header + 2], text[header + 8]
    assert first.split() == ["1", "3", "lr=0.2", "ok", "0.1000", "1.00", "5", "0.30"]
    assert diverged.split()[2:5] == ["lr=1e30", "diverged", "nan"]
    assert "Job 6 failed: lr=-2.0: must be a number > 0" in text
    assert "Job 5 failed: no metrics.json: the job did not finish" in text


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

    groups = summarize(tmp_path).groups
    assert [g.setting for g in groups] == [("model=rnn", "lr=0.5"), ("model=rnn", "lr=0.1")]
    best, worse = groups
    assert best.solved_share == 1.0 and worse.solved_share == pytest.approx(2 / 3)
    assert best.mean_loss == pytest.approx(0.3) and best.std_loss == pytest.approx(0.1)  # sample std (n - 1)
    assert worse.mean_loss == pytest.approx(0.4) and worse.std_loss == pytest.approx(math.sqrt(0.13))
    assert best.mean_solved_epoch == 8 and worse.mean_solved_epoch == 5  # over the solved seeds only

    text = summarize(tmp_path).text()
    assert "By setting, over seeds:" in text
    rows = text.split("By setting, over seeds:")[1].strip().splitlines()[2:]
    assert rows[0].split() == ["lr=0.5", "3", "3/3", "0.3000", "0.1000", "8.0"]  # model=rnn is common, not shown
    assert rows[1].split() == ["lr=0.1", "3", "2/3", "0.4000", "0.3606", "5.0"]


def test_seed_groups_leave_out_failed_losses_and_need_a_repeat(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1", "seed=0"], final_loss=0.2)
    record_failure(make_job(tmp_path, 1, ["lr=0.1", "seed=1"]), "boom", 0.0)
    (group,) = group_by_setting(read_jobs(tmp_path))
    assert group.solved_share == 0.5 and group.mean_loss == 0.2 and group.std_loss is None

    other = tmp_path / "other"
    make_job(other, 0, ["lr=0.1", "seed=0"], final_loss=0.2)
    make_job(other, 1, ["lr=0.2", "seed=0"], final_loss=0.2)
    assert group_by_setting(read_jobs(other)) == []  # each setting once: nothing to group


def test_summary_files_are_written_whole(tmp_path):
    make_job(tmp_path, 0, ["model=cell", "lr=0.1"], **unsolved(0.7))
    make_job(tmp_path, 1, ["model=rnn", "lr=0.1"], solved_epoch=9, final_loss=0.05)
    (tmp_path / "multirun.yaml").write_text("hydra: {}\n")  # Hydra's own file beside the jobs
    write_summary(summarize(tmp_path))

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
    assert not list(tmp_path.glob(".summary*")), "no temporary files left behind"


def test_failure_record_has_status_failed_and_the_error(tmp_path):
    record_failure(tmp_path, "lr=-1.0: must be a number > 0", 0.25)
    metrics = json.loads((tmp_path / METRICS_NAME).read_text())
    assert metrics["status"] == "failed" and metrics["error"] == "lr=-1.0: must be a number > 0"
    assert metrics["final_loss"] is None and metrics["seconds"] == 0.25


def test_one_torch_thread_per_job_under_a_parallel_launcher():
    basic = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"
    joblib = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"
    assert job_threads("auto", basic) == "auto"  # chosen by model size (rnnexp.threads)
    assert job_threads("auto", joblib) == 1
    assert job_threads(3, joblib) == 3 and job_threads(2, basic) == 2


def test_the_callback_fails_the_multirun_for_failed_jobs_not_for_diverged_ones(tmp_path, capsys):
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    make_job(tmp_path, 0, ["lr=0.1"], solved_epoch=5, final_loss=0.1)
    make_job(tmp_path, 1, ["lr=1e30"], status="diverged", final_loss=math.nan, prediction="eeeee", solved_epoch=None)
    SweepSummary().on_multirun_end(config)  # no exception: a diverged job is a result, not a failure
    assert "2 jobs: 1 solved, 1 diverged, 0 failed" in capsys.readouterr().out
    assert (tmp_path / SUMMARY_MD).exists() and (tmp_path / SUMMARY_CSV).exists()

    record_failure(make_job(tmp_path, 2, ["lr=-1"]), "lr=-1.0: must be a number > 0", 0.0)
    with pytest.raises(SweepFailed, match=r"^1 of 3 jobs failed \(job 2: lr=-1.0: must be a number > 0\); see "):
        SweepSummary().on_multirun_end(config)
    assert "failed" in (tmp_path / SUMMARY_CSV).read_text()  # the summary is written before the failure


def test_the_sweep_directory_is_resolved_once_before_the_jobs(tmp_path):
    made = []
    OmegaConf.register_new_resolver("test.counter", lambda: made.append(1) or f"{tmp_path}/{len(made)}", use_cache=False)
    config = OmegaConf.create({"hydra": {"sweep": {"dir": "${test.counter:}"}}})
    OmegaConf.set_readonly(config.hydra, True)  # as Hydra hands it over
    SweepSummary().on_multirun_start(config)
    assert config.hydra.sweep.dir == config.hydra.sweep.dir == f"{tmp_path}/1"  # a plain string now
    assert len(made) == 1


def test_a_missing_launcher_or_sweeper_points_to_the_extra():
    from hydra.errors import MissingConfigException

    from rnnexp.errors import one_line

    missing = MissingConfigException("", missing_cfg_file="hydra/sweeper/optuna", options=["basic"])
    assert one_line(missing) == (
        "hydra/sweeper=optuna: no such option; choose one of basic; "
        "the joblib, submitit and optuna plugins come with pip install -e '.[sweep]'"
    )
    typo = MissingConfigException("", missing_cfg_file="hydra/launcher/joblb", options=["basic", "joblib"])
    assert one_line(typo) == "hydra/launcher=joblb: no such option; choose one of basic, joblib; did you mean joblib?"


def test_the_launcher_and_search_configs_compose(tmp_path, monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    from hydra import compose, initialize_config_module

    monkeypatch.chdir(tmp_path)  # resolving the sweep dir creates it
    with initialize_config_module("rnnexp.conf", version_base="1.3"):
        slurm = compose("config", ["hydra/launcher=slurm", "hydra.launcher.partition=cpu"], return_hydra_config=True)
        search = compose("config", ["hparams_search=optuna"], return_hydra_config=True)
    launcher = slurm.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "cpu"
    assert launcher.cpus_per_task == 1 and launcher.submitit_folder.startswith("outputs/multirun/")
    sweeper = search.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.direction == "minimize"
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler" and sweeper.sampler.n_startup_trials == 10
    assert sweeper.max_failure_rate * sweeper.n_jobs >= 1  # one failed trial in a batch does not end the study
    assert sweeper.storage is None  # in memory
    assert set(sweeper.params) == {"lr", "model.hidden_size", "optimizer"}
    assert search.model.head is True  # hidden_size is free only with a head
