"""A real TensorBoard server over finished sweeps, asked through its HTTP API what a user sees:
every job a run, its curves with one point per epoch, its prediction text, and one HParams
session per job with the same hyperparameter keys, the final metrics and the run's status,
failed jobs included; the experiment lists the swept keys first (one sweep's for sweeps in folders of
their own, every sweep's under one outputs folder) and the final metrics first.

The sweeps are run in this process (conftest's small_sweep, and one with a diverged and a failed
job); the server is a process of its own, started on a free loopback port and stopped by its pid."""

import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from omegaconf import OmegaConf

from conftest import run_in_process
from rnnexp.results import METRICS_NAME, RunResult, Status
from rnnexp.tracking.experiment_file import EXPERIMENT_FILE, UNION_FILE
from rnnexp.tracking.hparams import OVERRIDES, hparams_of, overrides_of
from rnnexp.tracking.summaries import FINAL_METRICS, METRICS
from rnnexp.training.checkpoint import LAST, load_checkpoint

# The server is a process of its own.
pytestmark = pytest.mark.e2e

EPOCHS = 4  # conftest.SMALL_SWEEP
# Job 0 diverges in its second epoch (see test_reliability.DIVERGES_IN_EPOCH_2); job 1 fails on lr=-1.
TROUBLED_SWEEP = [
    "-m", "model=embedding", "optimizer=sgd", "model.init_scale=10", "model.hidden_size=32", "lr=3e38,-1", "epochs=2", "device=cpu",
]
ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str):
        self.url = url

    def get(self, path: str, **query: str):
        with urllib.request.urlopen(f"{self.url}{path}?{urllib.parse.urlencode(query)}", timeout=30) as response:
            return json.load(response)

    def post(self, path: str, body: dict):
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def session_groups(self) -> dict:
        answer = self.post(
            "/data/plugin/hparams/session_groups",
            {"experimentName": "", "allowedStatuses": ALL_STATUSES, "colParams": [], "startIndex": 0, "sliceSize": 100},
        )
        return {g["name"]: g for g in answer["sessionGroups"]}


def job_dirs(sweep_dir):
    return sorted(p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())


@pytest.fixture(scope="module")
def logdir(small_sweep, tmp_path_factory):
    """The small sweep (a copy, as ``small/``) and the troubled sweep (``troubled/``) in one logdir."""
    _, sweep_dir = small_sweep
    logdir = tmp_path_factory.mktemp("logdir")
    shutil.copytree(sweep_dir, logdir / "small")
    done = run_in_process([*TROUBLED_SWEEP, f"hydra.sweep.dir={logdir / 'troubled'}"], tmp_path_factory.mktemp("troubled"))
    assert done.status == 1, done.stderr  # a sweep with a failed job
    statuses = [RunResult.read(d / METRICS_NAME).status for d in job_dirs(logdir / "troubled")]
    assert statuses == [Status.DIVERGED, Status.FAILED]
    return logdir


@pytest.fixture(scope="module")
def server(logdir, tmp_path_factory):
    """``tensorboard --logdir <logdir>`` on a free loopback port; stopped by its pid afterwards."""
    jobs = sorted(str(d.relative_to(logdir)) for sweep in ("small", "troubled") for d in job_dirs(logdir / sweep))
    with tensorboard(logdir, jobs, tmp_path_factory.mktemp("tensorboard") / "tensorboard.log") as tb:
        yield tb, logdir, jobs


@contextlib.contextmanager
def tensorboard(logdir, jobs, log):
    """A TensorBoard server over ``logdir``, once it lists exactly the runs ``jobs``."""
    port = free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
             "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        tb = Server(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 90
        while True:  # until it answers and has loaded every run
            assert process.poll() is None, log.read_text()
            try:
                if sorted(tb.get("/data/runs")) == jobs:
                    break
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"TensorBoard did not list the runs in time:\n{log.read_text()}"
            time.sleep(0.5)
        yield tb
    finally:
        process.terminate()  # by its pid
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def small_jobs(jobs):
    return [run for run in jobs if run.startswith("small/")]


def troubled_job(jobs, num):
    (run,) = [run for run in jobs if run.startswith(f"troubled/{num}_")]
    return run


def test_every_job_is_a_run_with_its_curves_one_point_per_epoch(server):
    tb, _, jobs = server
    tags = tb.get("/data/plugin/scalars/tags")
    assert sorted(tags) == [run for run in jobs if run != troubled_job(jobs, 1)]  # the failed job has no curves
    for run in small_jobs(jobs):
        assert {"loss/train", "train_accuracy/char", "train_accuracy/seq", "lr", *FINAL_METRICS} <= set(tags[run])
        for tag in ("loss/train", "train_accuracy/char", "train_accuracy/seq"):
            points = tb.get("/data/plugin/scalars/scalars", run=run, tag=tag)  # [[wall time, step, value], ...]
            assert [step for _, step, _ in points] == list(range(1, EPOCHS + 1)), (run, tag)


def test_every_run_shows_its_prediction_per_epoch(server):
    tb, logdir, jobs = server
    for run in small_jobs(jobs):
        texts = tb.get("/data/plugin/text/text", run=run, tag="prediction/text_summary")
        assert [t["step"] for t in texts] == list(range(1, EPOCHS + 1))
        # The last epoch's prediction, as the job's log has it: "Predicted string: ohlll, Epoch [4/4] ..."
        logged = re.findall(r"Predicted string: (\w+), Epoch \[(\d+)/", (logdir / run / "rnnexp.log").read_text())
        assert [int(epoch) for _, epoch in logged] == list(range(1, EPOCHS + 1))
        last = texts[-1]["text"]  # rendered to HTML by the text plugin
        assert "<th>prediction</th>" in last
        assert f"<td><code>{logged[-1][0]}</code></td>\n<td><code>ohlol</code></td>" in last


def test_hparams_lists_one_session_per_job_with_the_same_keys_and_final_metrics(server):
    tb, logdir, jobs = server
    groups = tb.session_groups()
    assert sorted(groups) == jobs
    for run in small_jobs(jobs):
        group = groups[run]
        assert len(group["sessions"]) == 1 and group["sessions"][0]["name"] == run
        assert group["sessions"][0]["status"] == "STATUS_SUCCESS"
        # What the run logged: the hparams of its resolved config (the checkpoint's), every key set.
        logged = hparams_of(load_checkpoint(logdir / run / LAST)["config"], overrides_of(logdir / run))
        assert group["hparams"] == logged and None not in group["hparams"].values()
        overrides = dict(o.split("=") for o in OmegaConf.load(logdir / run / ".hydra" / "overrides.yaml"))
        assert logged["model"] == overrides["model"] and logged["optimizer"] == overrides["optimizer"]
        assert logged[OVERRIDES] == f"model={overrides['model']} optimizer={overrides['optimizer']} epochs={EPOCHS} device=cpu"
        assert logged["epochs"] == EPOCHS
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert set(FINAL_METRICS) <= set(metrics)
        final_loss = RunResult.read(logdir / run / METRICS_NAME).final_loss
        assert metrics["result/loss"] == pytest.approx(final_loss, rel=1e-6)  # stored as float32


def test_a_diverged_and_a_failed_job_are_rows_that_say_failure(server):
    tb, logdir, jobs = server
    groups = tb.session_groups()
    diverged, failed = groups[troubled_job(jobs, 0)], groups[troubled_job(jobs, 1)]
    assert [g["sessions"][0]["status"] for g in (diverged, failed)] == ["STATUS_FAILURE", "STATUS_FAILURE"]
    assert diverged["hparams"].keys() == failed["hparams"].keys() == groups[small_jobs(jobs)[0]]["hparams"].keys()
    # The failed job's values are its composed config's: the same types, so every column keeps its type.
    assert failed["hparams"]["lr"] == -1 and failed["hparams"]["model.hidden_size"] == 32
    assert failed["metricValues"] == []  # it never trained
    experiment = tb.post("/data/plugin/hparams/experiment", {"experimentName": ""})
    types = {info["name"]: info["type"] for info in experiment["hparamInfos"]}
    assert types["lr"] == types["model.hidden_size"] == types["encoder.dim"] == "DATA_TYPE_FLOAT64"


def test_the_experiment_lists_the_swept_keys_first_and_the_final_metrics_first(server):
    # What the HParams page ticks when it opens: the first five hyperparameters
    # and the first five metrics of the experiment. TensorBoard takes the
    # experiment summary of any one run (its default loader keeps the runs in a
    # hash map, so which can change from one server to the next): the small
    # sweep's, which swept model and optimizer, or the troubled one's, which swept lr.
    tb, _, _ = server
    experiment = tb.post("/data/plugin/hparams/experiment", {"experimentName": "", "hparamsLimit": 1000})
    hparams = [info["name"] for info in experiment["hparamInfos"]]
    marked = [info["name"] for info in experiment["hparamInfos"] if info.get("differs")]
    assert marked in (["model", "optimizer"], ["lr"]), marked
    assert hparams[: len(marked) + 1] == [*marked, OVERRIDES]  # the swept keys, then the words typed
    metrics = [info["name"]["tag"] for info in experiment["metricInfos"]]
    assert metrics == list(METRICS) and metrics[:5] == [*FINAL_METRICS, "loss/train"]
    # Every value of every job passes the page's opening filters: no string column lists its values.
    assert not any(info.get("domainDiscrete") for info in experiment["hparamInfos"] if info["type"] == "DATA_TYPE_STRING")


def test_scalars_open_on_the_loss_curves(server):
    # Scalars and Time Series draw the tag groups by name; the final metrics, one point each, come after.
    tb, _, jobs = server
    tags = tb.get("/data/plugin/scalars/tags")
    for run in small_jobs(jobs):
        groups = sorted({tag.split("/")[0] for tag in tags[run]})
        assert groups[0] == "loss" and groups.index("result") > groups.index("lr"), groups


def test_sweeps_under_one_outputs_folder_lead_with_every_sweeps_keys(run_main, tmp_path):
    # Two sweeps, one after the other, into tmp_path/outputs. TensorBoard shows one run's
    # experiment summary, any one: every run's must mark the keys of both sweeps.
    for sweep in (["-m", "model=cell,rnn"], ["-m", "seed=0,1"]):
        done = run_main([*sweep, "epochs=1", "device=cpu"])
        assert done.status == 0, done.stderr
    outputs = tmp_path / "outputs"
    job_paths = [job for sweep_dir in sorted(outputs.glob("multirun/*/*")) for job in job_dirs(sweep_dir)]
    assert len(job_paths) == 4
    # The first sweep's summaries were rewritten when the second added seed, each still alone in its file.
    for job in job_paths:
        marked = [info.name for info in experiment_in(job / EXPERIMENT_FILE).hparam_infos if info.differs]
        assert marked == ["model", "seed"], job
    assert json.loads((outputs / UNION_FILE).read_text()) == ["model", "seed"]
    # A sweep that adds no key rewrites only its own jobs' summaries.
    files = {job: (job / EXPERIMENT_FILE).stat().st_ino for job in job_paths}
    done = run_main(["-m", "seed=2,3", "epochs=1", "device=cpu"])
    assert done.status == 0, done.stderr
    assert {job: (job / EXPERIMENT_FILE).stat().st_ino for job in job_paths} == files
    job_paths = [job for sweep_dir in sorted(outputs.glob("multirun/*/*")) for job in job_dirs(sweep_dir)]
    assert len(job_paths) == 6

    jobs = sorted(str(job.relative_to(outputs)) for job in job_paths)  # no run besides the jobs
    with tensorboard(outputs, jobs, tmp_path / "tensorboard.log") as tb:
        experiment = tb.post("/data/plugin/hparams/experiment", {"experimentName": "", "hparamsLimit": 1000})
        assert sorted(tb.get("/data/runs")) == jobs
        assert len(tb.session_groups()) == 6  # one session per job: the summary files added none
    hparams = [info["name"] for info in experiment["hparamInfos"]]
    marked = [info["name"] for info in experiment["hparamInfos"] if info.get("differs")]
    assert marked == ["model", "seed"] and hparams[:3] == ["model", "seed", OVERRIDES], hparams


def experiment_in(path):
    """The experiment of an experiment file, read with tensorboard's own readers."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata

    (value,) = [v for event in EventFileLoader(str(path)).Load() for v in event.summary.value]
    assert value.tag == metadata.EXPERIMENT_TAG
    return metadata.parse_experiment_plugin_data(value.metadata.plugin_data.content)
