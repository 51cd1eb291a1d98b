"""Every built-in model's training losses, exactly: the record that a change to the code left them as they were.

    python scripts/loss_fingerprint.py > before.json    # on the old code
    python scripts/loss_fingerprint.py > after.json     # on the new code
    diff before.json after.json                          # no output: bit for bit the same

Each configuration trains a few epochs on the CPU with one thread; the losses
are printed as float.hex, so any difference in the last bit shows.
"""

from __future__ import annotations

import json
import sys
import tempfile

import torch

from rnnexp.config.pipeline import load_config
from rnnexp.training.trainer import train

CONFIGS = [
    ["model=cell"],
    ["model=rnn"],
    ["model=embedding"],
    ["model=lstm"],
    ["model=gru"],
    ["model=gru", "model.bidirectional=true", "task=reverse", "task.size=64", "epochs=3"],
    ["model=lstm", "task=copy", "task.size=64", "task.min_length=6", "epochs=3", "model.dropout=0.1", "model.num_layers=2"],
    ["model=embedding", "task=parity", "task.size=64", "epochs=3", "clip=1.0", "optimizer=sgd"],
    ["model=cell", "task=caesar", "task.size=64", "epochs=3", "scheduler=step"],
    ["model=gru", "task=text", "task.window=16", "epochs=2", "model.hidden_size=32", "task.sample_every=1", "task.sample_length=20"],
    ["model=rnn", "task=text", "task.window=16", "epochs=2", "task.stateful=false", "model.head=true", "model.hidden_size=16"],
]


def main() -> int:
    torch.set_num_threads(1)
    record = {}
    for overrides in CONFIGS:
        cfg = load_config([*overrides, "device=cpu", "threads=1", "progress=never"])
        with tempfile.TemporaryDirectory() as run_dir:
            result = train(cfg, run_dir)
        record[" ".join(overrides)] = {
            "losses": [float(loss).hex() for loss in result.losses],
            "val_losses": [float(loss).hex() for loss in result.val_losses],
            "final_loss": None if result.final_loss is None else float(result.final_loss).hex(),
            "prediction": result.prediction,
        }
    json.dump(record, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
