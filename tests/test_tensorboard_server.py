"""A real TensorBoard server over a finished sweep, asked through its HTTP API what a user sees:
every job a run, its curves with one point per epoch, its prediction text, and one HParams
session per job with the same hyperparameter keys and the final metrics.

The sweep is run in this process (conftest's small_sweep); the server is a process of its own,
started on a free loopback port and stopped by its pid."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from omegaconf import OmegaConf

from rnnexp.checkpoint import LAST, load_checkpoint
from rnnexp.results import METRICS_NAME, RunResult
from rnnexp.tracking import FINAL_METRICS, hparams_of

# The server is a process of its own.
pytestmark = pytest.mark.e2e

EPOCHS = 4  # conftest.SMALL_SWEEP


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


@pytest.fixture(scope="module")
def server(small_sweep, tmp_path_factory):
    """``tensorboard --logdir <sweep dir>`` on a free loopback port; stopped by its pid afterwards."""
    _, sweep_dir = small_sweep
    jobs = sorted(p.name for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
    port = free_port()
    log = tmp_path_factory.mktemp("tensorboard") / "tensorboard.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(sweep_dir), "--host", "127.0.0.1",
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
        yield tb, sweep_dir, jobs
    finally:
        process.terminate()  # by its pid
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_every_job_is_a_run_with_its_curves_one_point_per_epoch(server):
    tb, _, jobs = server
    tags = tb.get("/data/plugin/scalars/tags")
    assert sorted(tags) == jobs
    for run in jobs:
        assert {"loss/train", "accuracy/char", "accuracy/seq", "lr", *FINAL_METRICS} <= set(tags[run])
        for tag in ("loss/train", "accuracy/char", "accuracy/seq"):
            points = tb.get("/data/plugin/scalars/scalars", run=run, tag=tag)  # [[wall time, step, value], ...]
            assert [step for _, step, _ in points] == list(range(1, EPOCHS + 1)), (run, tag)


def test_every_run_shows_its_prediction_per_epoch(server):
    tb, sweep_dir, jobs = server
    for run in jobs:
        texts = tb.get("/data/plugin/text/text", run=run, tag="prediction/text_summary")
        assert [t["step"] for t in texts] == list(range(1, EPOCHS + 1))
        # The last epoch's prediction, as the job's log has it: "Predicted string: ohlll, Epoch [4/4] ..."
        logged = re.findall(r"Predicted string: (\w+), Epoch \[(\d+)/", (sweep_dir / run / "rnnexp.log").read_text())
        assert [int(epoch) for _, epoch in logged] == list(range(1, EPOCHS + 1))
        last = texts[-1]["text"]  # rendered to HTML by the text plugin
        assert "<th>prediction</th>" in last
        assert f"<td><code>{logged[-1][0]}</code></td>\n<td><code>ohlol</code></td>" in last


def test_hparams_lists_one_session_per_job_with_the_same_keys_and_final_metrics(server):
    tb, sweep_dir, jobs = server
    answer = tb.post(
        "/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            "colParams": [],
            "startIndex": 0,
            "sliceSize": 100,
        },
    )
    groups = {g["name"]: g for g in answer["sessionGroups"]}
    assert sorted(groups) == jobs and answer["totalSize"] == len(jobs)
    for run, group in groups.items():
        assert len(group["sessions"]) == 1 and group["sessions"][0]["name"] == run
        # What the run logged: the hparams of its resolved config (the checkpoint's), every key set.
        logged = hparams_of(load_checkpoint(sweep_dir / run / LAST)["config"])
        assert group["hparams"] == logged and None not in group["hparams"].values()
        overrides = dict(o.split("=") for o in OmegaConf.load(sweep_dir / run / ".hydra" / "overrides.yaml"))
        assert logged["model"] == overrides["model"] and logged["optimizer"] == overrides["optimizer"]
        assert logged["epochs"] == EPOCHS
        metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert set(FINAL_METRICS) <= set(metrics)
        final_loss = RunResult.read(sweep_dir / run / METRICS_NAME).final_loss
        assert metrics["final/loss"] == pytest.approx(final_loss, rel=1e-6)  # stored as float32
