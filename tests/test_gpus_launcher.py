"""hydra/launcher=gpus: one worker process per GPU slot, each started with its own CUDA_VISIBLE_DEVICES.

There is no GPU here, so the sweeps run with device=cpu, where the launcher
does not look for the GPUs it is given: each job records the
CUDA_VISIBLE_DEVICES its worker was started with (metrics.json, rnnexp.log),
and a probe in its data callable records its slot, its process and the
other jobs running while it holds its slot.
"""

import json
from pathlib import Path

import pytest

from conftest import sweep_dir_of
from hydra_plugins.rnnexp_launchers.slots import plan_slots, slots
from rnnexp.cli.job import job_threads
from rnnexp.cli.command import GPUS_LAUNCHER
from rnnexp.errors import UserError
from rnnexp.results import METRICS_NAME, RunResult, Status

# A task=custom data callable that holds its worker's slot for a moment: it marks the slot busy
# (a file created exclusively, so a second job on a busy slot is seen), counts the jobs busy at
# once, and appends what it saw to probe/seen.jsonl. Each job calls it in its own worker process.
PROBE = """
import json
import os
import time
from pathlib import Path


def words(hold=0.4):
    slot = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    probe = Path("probe")
    probe.mkdir(exist_ok=True)
    mark = probe / f"{slot}.{os.getpid()}.busy"
    try:
        os.close(os.open(probe / f"slot-{slot}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        shared = False
    except FileExistsError:  # another job holds this slot now
        shared = True
    mark.write_text("")
    started = time.time()
    busy = 0
    while time.time() - started < hold:
        busy = max(busy, len(list(probe.glob("*.busy"))))
        time.sleep(0.02)
    mark.unlink()
    if not shared:
        (probe / f"slot-{slot}").unlink()
    line = json.dumps({"slot": slot, "pid": os.getpid(), "busy": busy, "shared": shared})
    with open(probe / "seen.jsonl", "a") as seen:
        seen.write(line + "\\n")
    return [("ab", "ba"), ("ba", "ab")]
"""


def sweep_with_probe(run_main, tmp_path, *args):
    pytest.importorskip("joblib", reason="the gpus launcher's workers are joblib's, from the sweep extra")
    (tmp_path / "slot_probe.py").write_text(PROBE)
    done = run_main(["-m", "hydra/launcher=gpus", "task=custom", "task.data._target_=slot_probe.words",
                     "epochs=2", "device=cpu", *args])
    assert done.status == 0, done.stdout + done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    jobs = {}
    for job_dir in sorted(p for p in sweep_dir.iterdir() if (p / METRICS_NAME).is_file()):
        jobs[job_dir] = RunResult.read(job_dir / METRICS_NAME)
    # The data callable runs where the job runs; a call in the launching process has no slot.
    seen = [json.loads(line) for line in (tmp_path / "probe" / "seen.jsonl").read_text().splitlines()]
    return done, sweep_dir, jobs, [s for s in seen if s["slot"] != "unset"]


@pytest.mark.e2e
def test_each_job_runs_on_its_own_gpu_slot_and_no_more_jobs_at_once_than_slots(run_main, tmp_path):
    done, sweep_dir, jobs, seen = sweep_with_probe(
        run_main, tmp_path, "hydra.launcher.gpus=[3,5]", "seed=0,1,2,3,4,5")
    assert len(jobs) == 6 and all(r.status is Status.OK for r in jobs.values())
    assert {r.device for r in jobs.values()} == {"cpu"}
    assert {r.cuda_visible_devices for r in jobs.values()} == {"3", "5"}  # both GPUs used, no other
    for job_dir, result in jobs.items():
        log = (job_dir / "rnnexp.log").read_text()
        assert f"Device: cpu (CUDA_VISIBLE_DEVICES={result.cuda_visible_devices})" in log
        assert "Threads: 1 " in log  # threads=auto under a parallel launcher
    # The probe saw six jobs: each slot one worker process, reused by the jobs that followed.
    assert len(seen) == 6
    workers = {s["slot"]: {t["pid"] for t in seen if t["slot"] == s["slot"]} for s in seen}
    assert sorted(workers) == ["3", "5"] and all(len(pids) == 1 for pids in workers.values()), workers
    assert max(s["busy"] for s in seen) <= 2, seen  # never more jobs at once than slots
    assert not any(s["shared"] for s in seen), seen  # never two jobs in one slot at once
    # The sweep's job numbers, directories and summary, as other launchers make them.
    rows = (sweep_dir / "summary.csv").read_text().splitlines()[1:]
    assert sorted(int(row.split(",")[1]) for row in rows) == list(range(6))
    assert "Ranked: solved first" in done.stdout


@pytest.mark.e2e
def test_jobs_per_gpu_puts_that_many_jobs_on_one_gpu(run_main, tmp_path):
    _, _, jobs, seen = sweep_with_probe(
        run_main, tmp_path, "hydra.launcher.gpus=[7]", "hydra.launcher.jobs_per_gpu=2", "seed=0,1,2")
    assert {r.cuda_visible_devices for r in jobs.values()} == {"7"} and len(jobs) == 3
    assert len({s["pid"] for s in seen}) == 2  # two workers share GPU 7
    assert max(s["busy"] for s in seen) <= 2, seen


def test_slots_spread_the_first_jobs_over_the_gpus():
    assert slots([0, 1], 2) == [0, 1, 0, 1]
    assert slots([2], 3) == [2, 2, 2]


def test_jobs_on_the_cpu_take_any_indices_and_others_are_checked_against_the_machine(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the launching process's GPUs: what the machine offers it
    assert plan_slots([5, 9], 1, ["cpu"]) == [5, 9]
    assert plan_slots(None, 2, ["auto"]) == [0, 1, 0, 1]
    with pytest.raises(UserError, match=r"^hydra\.launcher\.gpus=\[1,5\]: no GPU 5 on this machine \(it has GPU 0, 1\)$"):
        plan_slots([1, 5], 1, ["cpu", "cuda"])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(UserError, match=r"^hydra\.launcher\.gpus: this machine has no GPU"):
        plan_slots(None, 1, ["cpu"])


@pytest.mark.parametrize("gpus, jobs_per_gpu, line", [
    ([0], 0, "hydra.launcher.jobs_per_gpu=0: must be an integer >= 1"),
    ([0], -2, "hydra.launcher.jobs_per_gpu=-2: must be an integer >= 1"),
    ([], 1, "hydra.launcher.gpus=[]: name at least one GPU"),
    ([1, 1], 1, "hydra.launcher.gpus=[1,1]: GPU 1 given more than once; hydra.launcher.jobs_per_gpu=N runs N jobs on each GPU"),
])
def test_bad_launcher_keys(gpus, jobs_per_gpu, line):
    with pytest.raises(UserError) as refused:
        plan_slots(gpus, jobs_per_gpu, ["cpu"])
    assert str(refused.value).startswith(line)


def test_threads_auto_is_one_under_the_gpus_launcher():
    assert job_threads("auto", GPUS_LAUNCHER) == 1
    assert job_threads(4, GPUS_LAUNCHER) == 4  # a number typed is kept


@pytest.mark.e2e
def test_a_sweep_cut_in_its_workers_starts_no_further_job_and_names_the_command_that_finishes_it(run_main, tmp_path):
    pytest.importorskip("joblib", reason="the gpus launcher's workers are joblib's, from the sweep extra")
    from test_sweeps import INTERRUPTED_IN_WORKERS  # a recurrence that sends Ctrl-C to its own process

    (tmp_path / "ctrl_c.py").write_text(INTERRUPTED_IN_WORKERS)
    done = run_main(["-m", "hydra/launcher=gpus", "hydra.launcher.gpus=[0,1]", "model=custom",
                     "model.recurrence._target_=ctrl_c.CtrlC", "model.head=true", "model.hidden_size=8", "seed=0,1,2",
                     "epochs=3", "device=cpu"])
    assert done.status == 130, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    finish = ("To finish the sweep (jobs that ended are kept, the others resume or start): "
              f"python -m rnnexp continue={sweep_dir.relative_to(tmp_path)}")
    assert done.stdout.splitlines()[-1:] == [finish] and done.stdout.count("To finish the sweep") == 1
    # Both slots' jobs were cut and recorded it; the third job never started.
    statuses = {p.name.partition("_")[0]: RunResult.read(p / METRICS_NAME).status for p in sweep_dir.glob("*_*")}
    assert statuses == {"0": Status.INTERRUPTED, "1": Status.INTERRUPTED}, statuses
