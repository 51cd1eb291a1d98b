"""The 27 trainings of the benchmark's sweep, by hand in one Python process: no framework.

    python scripts/plain_sweep.py

The baseline of the sweep section of scripts/bench.py: every combination of
the notebook's three models (cell, rnn, embedding) x lr 0.01, 0.05, 0.1 x
Adam, SGD (momentum 0.9), RMSprop, each trained on "hello" -> "ohlol" for 15
epochs from seed 0 with the sizes rnnexp uses by default, and its final loss
printed. Nothing is logged or saved.
"""

from __future__ import annotations

import argparse
import itertools
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

X_DATA = [[1, 0, 2, 2, 3]]  # hello, with e, h, l, o -> 0, 1, 2, 3
Y_DATA = [[3, 1, 2, 3, 2]]  # ohlol
CLASSES = 4


def scaled(module: nn.Module, scale: float) -> nn.Module:
    # rnnexp's init_scale 0.3 for cell and rnn: a smaller start of the recurrent weights.
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(scale)
    return module


class Cell(nn.Module):
    """One nn.RNNCell unrolled in Python; h_t is read as the class scores."""

    def __init__(self):
        super().__init__()
        self.cell = scaled(nn.RNNCell(CLASSES, CLASSES), 0.3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(ids, CLASSES).float()  # (B, T, V)
        h = x.new_zeros(x.shape[0], CLASSES)  # h_0: (B, H)
        outputs = []
        for t in range(x.shape[1]):
            h = self.cell(x[:, t], h)  # (B, H)
            outputs.append(h)
        return torch.stack(outputs, dim=1)  # (B, T, H)


class Rnn(nn.Module):
    """nn.RNN, time-first; h_t is read as the class scores."""

    def __init__(self):
        super().__init__()
        self.rnn = scaled(nn.RNN(CLASSES, CLASSES), 0.3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(ids, CLASSES).float().transpose(0, 1)  # (T, B, V)
        out, _ = self.rnn(x)  # (T, B, H)
        return out.transpose(0, 1)  # (B, T, H)


class Embedding(nn.Module):
    """nn.Embedding(4, 10) -> nn.RNN(10, 8, 2 layers, batch_first) -> nn.Linear(8, 4)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(CLASSES, 10)
        self.fc = nn.Linear(8, CLASSES)  # built before the RNN, as rnnexp does: same draws
        self.rnn = nn.RNN(10, 8, num_layers=2, batch_first=True)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.emb(ids))  # (B, T, 8)
        return self.fc(out)  # (B, T, C)


MODELS = {"cell": Cell, "rnn": Rnn, "embedding": Embedding}
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "sgd": partial(torch.optim.SGD, momentum=0.9),
    "rmsprop": torch.optim.RMSprop,
}


def train_one(model_name: str, lr: float, optimizer_name: str, epochs: int = 15, seed: int = 0) -> float:
    torch.manual_seed(seed)
    model = MODELS[model_name]()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters(), lr=lr)
    inputs, labels = torch.tensor(X_DATA), torch.tensor(Y_DATA)  # (1, 5) each
    for _ in range(epochs):
        optimizer.zero_grad()
        logits = model(inputs)  # (1, 5, C)
        loss = F.cross_entropy(logits.reshape(-1, CLASSES), labels.reshape(-1))
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        logits = model(inputs)
        return float(F.cross_entropy(logits.reshape(-1, CLASSES), labels.reshape(-1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only cell and rnn at lr 0.1 with Adam (the bench's --quick)")
    quick = parser.parse_args().quick
    grid = [("cell", 0.1, "adam"), ("rnn", 0.1, "adam")] if quick else itertools.product(MODELS, (0.01, 0.05, 0.1), OPTIMIZERS)
    for model_name, lr, optimizer_name in grid:
        print(f"model={model_name} lr={lr} optimizer={optimizer_name} final loss = {train_one(model_name, lr, optimizer_name):.4f}")


if __name__ == "__main__":
    main()
