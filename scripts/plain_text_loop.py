"""A character language model trained by a hand-written PyTorch loop: no framework.

    python scripts/plain_text_loop.py --model rnn --epochs 2

The baseline of the throughput section of scripts/bench.py: the loop a user
would write for rnnexp's ``task=text model=rnn|cell model.hidden_size=128
model.head=true task.window=64 batch_size=32``. It reads the same corpus,
cuts the same non-overlapping windows (the last 10% of the text held out),
builds the same model in the same order from the same seed (one-hot input,
the recurrence with its weights scaled by 0.3, a linear head), shuffles with
the same generator and steps Adam at lr 0.01, so its losses equal the
framework's. Each epoch it sums the loss of every step (``loss.item()``) and
computes the validation loss, as such a loop usually does.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CORPUS = Path(__file__).resolve().parent.parent / "rnnexp" / "corpora" / "coriolanus.txt"


class CharModel(nn.Module):
    def __init__(self, model: str, vocab_size: int, hidden_size: int):
        super().__init__()
        self.vocab_size, self.hidden_size, self.model = vocab_size, hidden_size, model
        self.head = nn.Linear(hidden_size, vocab_size)  # built first, as rnnexp does: the same draws
        if model == "cell":
            self.cell = nn.RNNCell(vocab_size, hidden_size)
        else:
            self.rnn = nn.RNN(vocab_size, hidden_size)  # time-first
        with torch.no_grad():
            for parameter in (self.cell if model == "cell" else self.rnn).parameters():
                parameter.mul_(0.3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(ids, self.vocab_size).float()  # (B, T, V)
        if self.model == "cell":
            h = x.new_zeros(x.shape[0], self.hidden_size)  # (B, H)
            outputs = []
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], h)
                outputs.append(h)
            out = torch.stack(outputs, dim=1)  # (B, T, H)
        else:
            out, _ = self.rnn(x.transpose(0, 1))  # (T, B, H)
            out = out.transpose(0, 1)  # (B, T, H)
        return self.head(out)  # (B, T, V)


def windows(ids: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    count = (len(ids) - 1) // window
    return ids[: count * window].view(count, window), ids[1 : count * window + 1].view(count, window)


def train(model_name: str = "rnn", epochs: int = 2, seed: int = 0, lr: float = 0.01, batch_size: int = 32,
          hidden_size: int = 128, window: int = 64) -> dict:
    """Train; return seconds, training characters and the last epoch's training loss."""
    started = time.perf_counter()
    text = CORPUS.read_text("utf-8")
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lookup[c] for c in text])
    split = int(len(ids) * 0.9)
    train_x, train_y = windows(ids[:split], window)  # (N, window) each
    val_x, val_y = windows(ids[split:], window)

    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    model = CharModel(model_name, len(chars), hidden_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        total = 0.0
        order = torch.randperm(len(train_x), generator=shuffle)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            logits = model(train_x[index])  # (B, T, V)
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), train_y[index].reshape(-1))
            loss.backward()
            optimizer.step()
            total += loss.item() * index.numel() * window
        train_loss = total / train_x.numel()
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                F.cross_entropy(model(val_x[i : i + batch_size]).reshape(-1, len(chars)), val_y[i : i + batch_size].reshape(-1)).item()
                * val_x[i : i + batch_size].numel()
                for i in range(0, len(val_x), batch_size)
            ) / val_x.numel()
    return {"seconds": time.perf_counter() - started, "chars": train_x.numel() * epochs, "loss": train_loss, "val_loss": val_loss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("rnn", "cell"), default="rnn")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    result = train(args.model, args.epochs)
    print(f"{result['chars'] / result['seconds']:,.0f} chars/s, loss {result['loss']:.4f}, val loss {result['val_loss']:.4f}")


if __name__ == "__main__":
    main()
