"""What rnnexp costs over the PyTorch a user would write by hand, measured side by side.

    python scripts/bench.py                      # every section, 5 repetitions
    python scripts/bench.py --only startup       # one section: startup, sweep or throughput
    python scripts/bench.py --repeat 9           # more repetitions: tighter medians
    python scripts/bench.py --quick              # 1 repetition of shrunken work: checks the harness runs

Each section runs its two sides (A: rnnexp, B: the hand-written baseline)
alternately, A B then B A, for ``--repeat`` rounds, so drifting load from
other processes hits both alike; it reports the median and the min-max of
each side and the ratio of the medians. Results go to the terminal as a table
and to ``bench.json``. The targets are read off here, never asserted in
tests:

    startup     ``python -m rnnexp model=embedding`` vs scripts/plain_embedding.py:
                wall time <= 1.10x and peak memory <= 1.10x (TensorBoard on)
    sweep       a 27-job multirun (3 models x 3 lr x 3 optimizers, basic launcher)
                vs scripts/plain_sweep.py: <= 40 ms per job beyond the training
    throughput  characters/s of ``train()`` on the text task (batch 32, window 64,
                hidden 128, model=rnn and model=cell) vs a hand-written loop: >= 0.95x
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
SWEEP_ARGS = ["-m", "model=cell,rnn,embedding", "lr=0.01,0.05,0.1", "optimizer=adam,sgd,rmsprop"]
# The throughput runs: the text task at batch 32, window 64, hidden 128, a
# linear head on h_t (hidden 128 != the vocabulary) and the one-hot input of
# the notebook's cell and rnn models, which the hand-written loop repeats.
TEXT_ARGS = ["task=text", "task.window=64", "batch_size=32", "model.hidden_size=128", "model.head=true", "device=cpu"]
SECTIONS = ("startup", "sweep", "throughput")


# --------------------------------------------------------------------------- measuring
def run_child(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak resident memory in MiB) of that child alone.

    Linux counts in a child's ru_maxrss the copy of this process it was
    forked from, so the peak is the child's own only while this process is
    the smaller: before the children run, this process loads torch alone
    (each child loads torch and more); rnnexp's training modules and the
    baselines are loaded only by the throughput section, which runs last.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if child.returncode != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed ({child.returncode}):\n{stderr}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def alternate(repeat: int, a: Callable[[], dict], b: Callable[[], dict]) -> tuple[list[dict], list[dict]]:
    """Run a and b ``repeat`` times each, in the order A B, B A, A B, ..."""
    results_a, results_b = [], []
    for i in range(repeat):
        order = [(a, results_a), (b, results_b)]
        for fn, results in order if i % 2 == 0 else reversed(order):
            results.append(fn())
    return results_a, results_b


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def compare(results_a: list[dict], results_b: list[dict], key: str) -> dict:
    a, b = summary([r[key] for r in results_a]), summary([r[key] for r in results_b])
    return {"rnnexp": a, "plain": b, "ratio": a["median"] / b["median"]}


# --------------------------------------------------------------------------- sections
def bench_startup(repeat: int, workdir: Path, quick: bool) -> dict:
    epochs = ["epochs=3"] if quick else []
    rnnexp = [sys.executable, "-m", "rnnexp", "model=embedding", *epochs]
    plain = [sys.executable, str(SCRIPTS / "plain_embedding.py"), *(["--epochs", "3"] if quick else [])]

    def measure(command: list[str]) -> Callable[[], dict]:
        def run() -> dict:
            seconds, mib = run_child(command, workdir)
            return {"seconds": seconds, "peak_mib": mib}

        return run

    if not quick:
        measure(rnnexp)(), measure(plain)()  # warm the file cache; not counted
    a, b = alternate(repeat, measure(rnnexp), measure(plain))
    return {
        "command": " ".join(["python", "-m", "rnnexp", "model=embedding", *epochs]),
        "baseline": "python scripts/plain_embedding.py",
        "wall": compare(a, b, "seconds"),
        "peak_memory": compare(a, b, "peak_mib"),
        "targets": {"wall_ratio": 1.10, "peak_memory_ratio": 1.10},
    }


def bench_sweep(repeat: int, workdir: Path, quick: bool) -> dict:
    args = ["-m", "model=cell,rnn", "lr=0.1", "optimizer=adam"] if quick else SWEEP_ARGS
    jobs = 2 if quick else 27
    rnnexp = [sys.executable, "-m", "rnnexp", *args]
    plain = [sys.executable, str(SCRIPTS / "plain_sweep.py"), *(["--quick"] if quick else [])]

    def measure(command: list[str]) -> Callable[[], dict]:
        return lambda: {"seconds": run_child(command, workdir)[0]}

    a, b = alternate(repeat, measure(rnnexp), measure(plain))
    wall = compare(a, b, "seconds")
    per_job = [(ra["seconds"] - rb["seconds"]) / jobs for ra, rb in zip(a, b)]
    return {
        "command": " ".join(["python", "-m", "rnnexp", *args]),
        "baseline": "python scripts/plain_sweep.py",
        "jobs": jobs,
        "wall": wall,
        # (sweep - plain) / jobs: what each job costs beyond its training.
        "overhead_per_job_ms": {
            "median": 1000 * (wall["rnnexp"]["median"] - wall["plain"]["median"]) / jobs,
            "min": 1000 * min(per_job),
            "max": 1000 * max(per_job),
        },
        "targets": {"overhead_per_job_ms": 40.0},
    }


def bench_throughput(repeat: int, workdir: Path, quick: bool) -> dict:
    """In one process: rnnexp's train() vs the hand-written loop of scripts/plain_text_loop.py, for rnn and cell."""
    import torch
    from hydra import compose, initialize_config_module

    import baselines
    from rnnexp.config import register_configs, register_resolvers
    from rnnexp.models import build_model
    from rnnexp.tasks import load_task
    from rnnexp.threads import choose_threads
    from rnnexp.trainer import train

    register_configs()
    register_resolvers()
    epochs = 1 if quick else 2
    results = {}
    for model in ("rnn", "cell"):
        with initialize_config_module("rnnexp.conf", version_base="1.3"):
            cfg = compose("config", overrides=[f"model={model}", f"epochs={epochs}", *TEXT_ARGS])
        data = load_task(cfg.task)
        chars = int(data.train.lengths.sum()) * epochs
        threads = choose_threads(cfg.threads, build_model(cfg, len(data.vocab)), cfg.batch_size)

        def framework() -> dict:
            started = time.perf_counter()
            result = train(cfg, tempfile.mkdtemp(dir=workdir))
            return {"seconds": time.perf_counter() - started, "chars": chars, "loss": result.losses[-1]}

        def hand_written() -> dict:
            # The same thread count as train() chose: the ratio is then the framework's own cost.
            torch.set_num_threads(threads)
            return baselines.train_text(model, epochs, seed=cfg.seed, lr=cfg.lr, batch_size=cfg.batch_size)

        if not quick:
            framework(), hand_written()  # first-use costs (lazy imports, allocator): not counted
        a, b = alternate(repeat, framework, hand_written)
        for r in a + b:
            r["chars_per_s"] = r["chars"] / r["seconds"]
        results[model] = {
            "threads": threads,
            "epochs": epochs,
            "chars_per_epoch": chars // epochs,
            "chars_per_s": compare(a, b, "chars_per_s"),
            # Same model, data order and optimizer: the two must agree to the bit.
            "same_losses": a[0]["loss"] == b[0]["loss"],
        }
    return {"config": " ".join(TEXT_ARGS), "models": results, "targets": {"chars_per_s_ratio": 0.95}}


def machine() -> dict:
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average": os.getloadavg(),
    }


# --------------------------------------------------------------------------- report
def fmt(s: dict, scale: float = 1.0, digits: int = 2) -> str:
    return f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}-{s['max'] * scale:.{digits}f})"


def table(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
        f"GPU: {m['gpu'] or 'none'}; load average {m['load_average'][0]:.2f} at start, "
        f"{report['load_average_end'][0]:.2f} at end; {report['repeat']} repetitions, median (min-max)",
        "",
        "| measure | rnnexp | plain PyTorch | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    if "startup" in report:
        s = report["startup"]
        w, p = s["wall"], s["peak_memory"]
        lines.append(f"| start-to-finish wall, s | {fmt(w['rnnexp'])} | {fmt(w['plain'])} | {w['ratio']:.2f}x | <= 1.10x | {yes(w['ratio'] <= 1.10)} |")
        lines.append(f"| start-to-finish peak memory, MiB | {fmt(p['rnnexp'], digits=0)} | {fmt(p['plain'], digits=0)} | {p['ratio']:.2f}x | <= 1.10x | {yes(p['ratio'] <= 1.10)} |")
    if "sweep" in report:
        s = report["sweep"]
        w, o = s["wall"], s["overhead_per_job_ms"]
        lines.append(f"| sweep of {s['jobs']} jobs, s | {fmt(w['rnnexp'])} | {fmt(w['plain'])} | {w['ratio']:.2f}x | | |")
        lines.append(f"| sweep overhead per job, ms | {fmt(o, digits=0)} | | | <= 40 ms | {yes(o['median'] <= 40)} |")
    if "throughput" in report:
        for model, t in report["throughput"]["models"].items():
            c = t["chars_per_s"]
            lines.append(
                f"| throughput model={model} ({t['threads']} thread{'s' if t['threads'] != 1 else ''}), chars/s | "
                f"{fmt(c['rnnexp'], digits=0)} | {fmt(c['plain'], digits=0)} | {c['ratio']:.2f}x | >= 0.95x | {yes(c['ratio'] >= 0.95)} |"
            )
    if not m["gpu"]:
        lines.append("| throughput on a GPU | not measured: no GPU on this machine | | | >= 0.95x | |")
    return "\n".join(lines)


def yes(ok: bool) -> str:
    return "yes" if ok else "no"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of A and B per section (default 5)")
    parser.add_argument("--quick", action="store_true", help="1 round of shrunken work: a check that the harness runs")
    parser.add_argument("--json", default="bench.json", help="where to write the results (default bench.json)")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    sections = args.only or list(SECTIONS)

    report: dict = {"machine": machine(), "repeat": repeat, "quick": args.quick}
    with tempfile.TemporaryDirectory(prefix="rnnexp-bench-") as workdir:
        for name, fn in (("startup", bench_startup), ("sweep", bench_sweep), ("throughput", bench_throughput)):
            if name in sections:
                started = time.perf_counter()
                report[name] = fn(repeat, Path(workdir), args.quick)
                report[name]["section_seconds"] = time.perf_counter() - started
                print(f"bench: {name} done in {report[name]['section_seconds']:.0f} s", file=sys.stderr)
    report["load_average_end"] = os.getloadavg()
    Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
