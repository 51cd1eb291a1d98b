"""The MNIST-1D paper's GRU, trained by the paper's own train.py and models.py, unchanged.

    python scripts/plain_mnist1d.py --fetch                      # once: clone the peer, pinned
    python scripts/plain_mnist1d.py [--repo DIR] [--seed 0] [--steps 6000] [--shuffle]
                                    [--threads N] [--device cpu] [--data made|pkl]

The peer is github.com/greydanus/mnist1d (Greydanus and Kobak, "Scaling down
deep learning with MNIST-1D"), pinned at commit PEER_COMMIT below. Its
notebooks/train.py and notebooks/models.py are loaded from the checkout given
by --repo (default ~/.cache/rnnexp/peers/mnist1d) and run as they are: before
anything runs, both files are hashed the way git hashes a blob and compared
with the commit's, and a mismatch stops the script. ``--fetch`` clones the
repository into --repo and checks out PEER_COMMIT (from GitHub, or from
``--fetch-from URL_OR_PATH``, e.g. a local mirror); by hand it is

    git clone https://github.com/greydanus/mnist1d ~/.cache/rnnexp/peers/mnist1d
    git -C ~/.cache/rnnexp/peers/mnist1d checkout 7878d96082abd200c546a07a4101fa90b30fdf7e

train.py imports ``mnist1d.utils.ObjectView`` from the installed ``mnist1d``
package (pip install mnist1d; 0.0.2.post1's mnist1d/ equals the commit's).

What runs, as the benchmark notebook (notebooks/mnist1d-classification.ipynb,
the GRU rows of cell 5) runs it:

* data: ``mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())``, the
  paper's defaults (5000 examples, seed 42, 4000 train / 1000 test, length
  40), made offline. The notebook downloads mnist1d_data.pkl instead; that
  file (the one at PEER_COMMIT, and the 2020 original) equals make_dataset's
  output exactly in y, y_test, t and the templates, and in x and x_test up to
  9e-16 (float64 rounding), which vanishes in the float32 tensors train_model
  makes: the model sees identical inputs. ``--data pkl`` reads
  DIR/mnist1d_data.pkl instead. ``--shuffle`` sets ``args.shuffle_seq = True``
  (one permutation of the 40 positions, drawn inside make_dataset after its
  seed 42), as the 2020 notebook (building_mnist1d.ipynb) made its shuffled
  set; the 2024 notebook instead permutes the pkl's columns with
  ``np.random.seed(42); np.random.permutation(40)``, another permutation.
  The data never depends on --seed.
* model: ``models.GRUBase(input_size=1, output_size=args.output_size)``, the
  notebook's call: bidirectional nn.GRU(1, 6, batch_first=True), h0 zeros,
  every step's 12 outputs flattened (40 * 12 = 480) into nn.Linear(480, 10);
  5134 parameters, PyTorch's default initialization.
* args: ``train.get_model_args()`` with the notebook's two changes,
  ``total_steps = --steps`` (the notebook: 6000; get_model_args: 8000) and
  ``device`` = cuda if available else cpu (the notebook's DEVICE; --device
  overrides). ``seed`` is set to --seed, which train_model does not read.
  Everything else is get_model_args': lr 1e-2, weight_decay 0, batch_size
  100, eval_every 250, print_every 1000, checkpoint_every 1000 (deep copies of
  the model kept in memory, as in the notebook); hidden_size 256 and
  input_size 40 are not used by the GRU.
* seeding: before the model is built, random, numpy, torch and torch.cuda
  are seeded with --seed: the body of train.py's own set_seed and of the 2020
  notebook's set_seed. train.set_seed itself cannot be called at PEER_COMMIT
  (train.py does not import random: NameError), and the 2024 notebook calls
  mnist1d.utils.set_seed instead, which seeds random and numpy only, so
  there the GRU's initial weights come from whatever torch's generator held
  after the CNN built before it; the paper's seed is 42, a fresh process
  here makes the GRU first. With --seed 42 --threads 1 (torch 2.13, CPU) the
  run repeats the 2020 notebook's printed GRU log at step 1000 to every
  digit (train_loss 9.236e-02, test_loss 3.444e-01, train_acc 95.0,
  test_acc 88.0), drifts in the last digits from step 2000 on, and ends at
  91.2% test accuracy (the notebook: 91.1%).
* threads: torch's default unless --threads N (torch.set_num_threads(N)).

The peer's progress lines (every 1000 steps) go to stderr. stdout gets one
JSON line: seed, steps, test accuracy at the end (``test_acc_final``, %, the
peer's ``accuracy`` on the 1000 test examples after the last step, the number
its notebook prints at step 6000) and at the peer's last evaluation, the best
of the peer's evaluations (every 250 steps, step 0 included) and its step,
``train_seconds`` (the train_model call alone, which includes the peer's
evaluations and checkpoints every 250/1000 steps), ``process_seconds`` (from
the process's start, read from /proc, to the end), threads, device, versions
and the peer's commit. Note train_model makes total_steps + 1 updates
(steps 0 to total_steps).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

PEER_URL = "https://github.com/greydanus/mnist1d"
PEER_COMMIT = "7878d96082abd200c546a07a4101fa90b30fdf7e"
# git blob ids of the two files at PEER_COMMIT (git ls-tree PEER_COMMIT notebooks/).
PEER_BLOBS = {
    "notebooks/train.py": "aa17bb4fdddd633091b674477a4f5227c7d1ec4d",
    "notebooks/models.py": "37146ca1628c44ad2558e176ec426d228b25999b",
}
DEFAULT_REPO = Path.home() / ".cache" / "rnnexp" / "peers" / "mnist1d"


def process_start_time() -> float | None:
    """The epoch time this process started, from /proc (Linux); None elsewhere."""
    try:
        with open("/proc/self/stat") as f:
            # Field 22, starttime, in clock ticks since boot; the name (field 2) may hold spaces.
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


T_PROCESS = process_start_time()
T_SCRIPT = time.time()


def git_blob_id(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def fetch(repo: Path, source: str) -> None:
    if not (repo / ".git").exists():
        repo.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--quiet", source, str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "checkout", "--quiet", PEER_COMMIT], check=True)


def load_peer(repo: Path):
    for rel, blob in PEER_BLOBS.items():
        path = repo / rel
        if not path.is_file():
            sys.exit(f"{path} not found: run with --fetch, or give --repo a checkout of {PEER_URL} at {PEER_COMMIT}")
        if git_blob_id(path) != blob:
            sys.exit(f"{path} differs from {rel} at {PEER_COMMIT} (git blob {blob}): check out that commit")
    modules = []
    for name in ("train", "models"):
        spec = importlib.util.spec_from_file_location(f"mnist1d_peer_{name}", repo / "notebooks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def set_seed(seed: int) -> None:
    # The body of train.py's set_seed (and of the 2020 notebook's), which cannot be called at
    # PEER_COMMIT: train.py does not import random.
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO, help=f"a checkout of the peer (default {DEFAULT_REPO})")
    parser.add_argument("--fetch", action="store_true", help=f"clone the peer into --repo and check out {PEER_COMMIT[:7]}")
    parser.add_argument("--fetch-from", default=PEER_URL, help="where --fetch clones from (a URL or a local mirror)")
    parser.add_argument("--seed", type=int, default=42, help="seeds random, numpy and torch before the model is built (the paper's: 42)")
    parser.add_argument("--steps", type=int, default=6000, help="args.total_steps (train_model makes steps + 1 updates)")
    parser.add_argument("--shuffle", action="store_true", help="make the data with args.shuffle_seq = True")
    parser.add_argument("--data", choices=["made", "pkl"], default="made", help="make_dataset's output, or REPO/mnist1d_data.pkl")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--device", default=None, help="args.device (default: cuda if available, else cpu, as the notebook)")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON line to this file")
    opts = parser.parse_args()

    if opts.fetch:
        fetch(opts.repo, opts.fetch_from)
    train, models = load_peer(opts.repo)

    import mnist1d
    import numpy as np
    import torch
    from mnist1d.data import get_dataset_args, make_dataset
    from mnist1d.utils import from_pickle

    if opts.threads is not None:
        torch.set_num_threads(opts.threads)

    t0 = time.time()
    data_args = get_dataset_args()
    if opts.data == "pkl":
        if opts.shuffle:
            sys.exit("--shuffle makes the data; the pkl is the unshuffled set")
        data = from_pickle(opts.repo / "mnist1d_data.pkl")
    else:
        data_args.shuffle_seq = opts.shuffle
        data = make_dataset(data_args)
    data_seconds = time.time() - t0

    args = train.get_model_args()
    args.total_steps = opts.steps
    args.device = opts.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.seed = opts.seed

    with contextlib.redirect_stdout(sys.stderr):
        set_seed(opts.seed)
        model = models.GRUBase(input_size=1, output_size=args.output_size)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.time()
        results = train.train_model(data, model, args)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        train_seconds = time.time() - t0

    x_test = torch.Tensor(data["x_test"]).to(args.device)
    y_test = torch.LongTensor(data["y_test"]).to(args.device)
    with torch.no_grad():
        final = float(train.accuracy(model, x_test, y_test))
    evals = [float(a) for a in results["test_acc"]]
    eval_steps = list(range(0, opts.steps + 1, args.eval_every))
    best = int(np.argmax(evals))

    end = time.time()
    record = {
        "seed": opts.seed,
        "steps": opts.steps,
        "shuffle": opts.shuffle,
        "data": opts.data,
        "test_acc_final": final,
        "test_acc_last_eval": evals[-1],
        "last_eval_step": eval_steps[-1],
        "test_acc_best": evals[best],
        "best_eval_step": eval_steps[best],
        "train_acc_last_eval": float(results["train_acc"][-1]),
        "train_loss_last": results["train_losses"][-1],
        "params": model.count_params(),
        "train_seconds": round(train_seconds, 3),
        "data_seconds": round(data_seconds, 3),
        "process_seconds": round(end - (T_PROCESS if T_PROCESS is not None else T_SCRIPT), 3),
        "process_seconds_from": "process start" if T_PROCESS is not None else "script start",
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "device": args.device,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "mnist1d": getattr(mnist1d, "__version__", None) or _dist_version("mnist1d"),
        "python": platform.python_version(),
        "peer_commit": PEER_COMMIT,
    }
    print(json.dumps(record))
    if opts.json is not None:  # scripts/bench.py reads it from here
        opts.json.write_text(json.dumps(record) + "\n")


def _dist_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


if __name__ == "__main__":
    main()
