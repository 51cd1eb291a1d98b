"""The 27 trainings of the benchmark's sweep, by hand in one Python process: no framework.

    python scripts/plain_sweep.py

The baseline of the sweep section of scripts/bench.py: every combination of
the notebook's three models (cell, rnn, embedding) x lr 0.01, 0.05, 0.1 x
Adam, SGD (momentum 0.9), RMSprop, each trained on "hello" -> "ohlol" for 15
epochs from seed 0 with the sizes rnnexp uses by default, and its final loss
printed. Nothing is logged or saved. It trains on one thread, as each job of
rnnexp's sweep does (``threads=auto`` for these models): the difference
between the two is then what rnnexp adds per job, not a thread count.
"""

from __future__ import annotations

import argparse
import itertools
from functools import partial

import torch

from baselines import HELLO, OHLOL, loss_of, notebook_model, train_hello

MODELS = ("cell", "rnn", "embedding")
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "sgd": partial(torch.optim.SGD, momentum=0.9),
    "rmsprop": torch.optim.RMSprop,
}


def train_one(model_name: str, lr: float, optimizer_name: str, epochs: int = 15, seed: int = 0) -> float:
    """Train one combination; return the loss after the last step."""
    torch.manual_seed(seed)
    model = notebook_model(model_name)
    optimizer = OPTIMIZERS[optimizer_name](model.parameters(), lr=lr)
    for _ in train_hello(model, optimizer, epochs):
        pass
    with torch.no_grad():
        return float(loss_of(model(torch.tensor(HELLO)), torch.tensor(OHLOL)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only cell and rnn at lr 0.1 with Adam (the bench's --quick)")
    quick = parser.parse_args().quick
    torch.set_num_threads(1)  # what rnnexp's threads=auto gives the notebook's models (rnnexp/training/threads.py)
    grid = [("cell", 0.1, "adam"), ("rnn", 0.1, "adam")] if quick else itertools.product(MODELS, (0.01, 0.05, 0.1), OPTIMIZERS)
    for model_name, lr, optimizer_name in grid:
        print(f"model={model_name} lr={lr} optimizer={optimizer_name} final loss = {train_one(model_name, lr, optimizer_name):.4f}")


if __name__ == "__main__":
    main()
