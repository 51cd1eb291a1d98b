"""What the hand-written PyTorch baselines share: the notebook's models, their input, the training step and loop.

Only torch and the standard library: this is the code a user would write
without rnnexp, which scripts/bench.py measures rnnexp against. Every model
builds its modules in rnnexp's order, so one seed draws the same weights, and
every loop steps and shuffles as rnnexp does, so the losses equal the
framework's bit for bit.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

# The notebook's task, "hello" -> "ohlol", with e, h, l, o -> 0, 1, 2, 3.
CHARS = "ehlo"
HELLO = [[1, 0, 2, 2, 3]]  # (1, 5)
OHLOL = [[3, 1, 2, 3, 2]]  # (1, 5)

# rnnexp's init_scale for cell and rnn: a smaller start of the recurrent weights.
INIT_SCALE = 0.3

CORPUS = Path(__file__).resolve().parent.parent / "rnnexp" / "data" / "corpora" / "coriolanus.txt"


class OneHotRnn(nn.Module):
    """One-hot input, a recurrence, a linear head where asked: the notebook's cell and rnn models, and lstm and gru.

    ``cell`` unrolls an nn.RNNCell in Python; ``rnn`` runs nn.RNN time-first;
    ``lstm`` and ``gru`` run nn.LSTM and nn.GRU batch-first, as rnnexp's
    models of those names do. Without a head the hidden size is the number
    of classes and h_t is read as the class scores. ``init_scale`` scales the
    recurrence's initial weights (rnnexp's ``model.init_scale``).
    """

    LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    def __init__(
        self, kind: str, classes: int, hidden_size: Optional[int] = None, head: bool = False, init_scale: float = INIT_SCALE,
    ):
        super().__init__()
        self.kind, self.classes = kind, classes
        self.hidden_size = hidden_size or classes
        # Built before the recurrence, as rnnexp does: the same draws from the seed.
        self.head = nn.Linear(self.hidden_size, classes) if head else None
        if kind == "cell":
            self.recurrence: nn.Module = nn.RNNCell(classes, self.hidden_size)
        elif kind in self.LAYERS:
            self.recurrence = self.LAYERS[kind](classes, self.hidden_size, batch_first=kind != "rnn")
        else:
            raise ValueError(f"kind={kind!r}: cell, rnn, lstm or gru")
        with torch.no_grad():
            for parameter in self.recurrence.parameters():
                parameter.mul_(init_scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.one_hot(ids, self.classes).float()  # (B, T, V)
        if self.kind == "cell":
            h = x.new_zeros(x.shape[0], self.hidden_size)  # h_0: (B, H)
            outputs = []
            for t in range(x.shape[1]):
                h = self.recurrence(x[:, t], h)  # (B, H)
                outputs.append(h)
            out = torch.stack(outputs, dim=1)  # (B, T, H)
        elif self.kind == "rnn":
            out, _ = self.recurrence(x.transpose(0, 1))  # (T, B, H)
            out = out.transpose(0, 1)  # (B, T, H)
        else:
            out, _ = self.recurrence(x)  # (B, T, H)
        return out if self.head is None else self.head(out)  # (B, T, C)


class EmbeddingRnn(nn.Module):
    """The notebook's embedding model: nn.Embedding -> nn.RNN (batch first, h_0 = 0) -> nn.Linear."""

    def __init__(self, classes: int = 4, embedding_size: int = 10, hidden_size: int = 8, num_layers: int = 2):
        super().__init__()
        self.emb = nn.Embedding(classes, embedding_size)
        self.fc = nn.Linear(hidden_size, classes)  # built before the RNN, as rnnexp does: the same draws
        self.rnn = nn.RNN(embedding_size, hidden_size, num_layers=num_layers, batch_first=True)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.emb(ids))  # (B, T, embedding_size) -> (B, T, hidden_size)
        return self.fc(out)  # (B, T, C)


def notebook_model(name: str) -> nn.Module:
    """One of the notebook's three models for the hello task, at rnnexp's default sizes."""
    if name == "embedding":
        return EmbeddingRnn(len(CHARS))
    return OneHotRnn(name, len(CHARS))


def loss_of(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every time step: logits (B, T, C), labels (B, T)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def step(model: nn.Module, optimizer: torch.optim.Optimizer, inputs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch; return its logits (B, T, C) and loss, both from before the update."""
    optimizer.zero_grad()
    logits = model(inputs)
    loss = loss_of(logits, labels)
    loss.backward()
    optimizer.step()
    return logits, loss


def train_hello(model: nn.Module, optimizer: torch.optim.Optimizer, epochs: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Learn "hello" -> "ohlol" with one full-batch step per epoch; yield each epoch's logits (1, 5, C) and loss."""
    inputs, labels = torch.tensor(HELLO), torch.tensor(OHLOL)  # (1, 5) each
    for _ in range(epochs):
        yield step(model, optimizer, inputs, labels)


def decode(logits: torch.Tensor) -> str:
    """The predicted string of one sequence's logits (1, T, C)."""
    return "".join(CHARS[i] for i in logits.argmax(dim=-1).view(-1).tolist())


def embedding_example(epochs: int, seed: int, lr: float) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The notebook's embedding example with Adam, as scripts/plain_embedding.py runs it: see train_hello."""
    torch.manual_seed(seed)
    model = EmbeddingRnn(len(CHARS))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    yield from train_hello(model, optimizer, epochs)


def windows(ids: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows of a character stream: inputs and next-character targets, (N, window) each."""
    count = (len(ids) - 1) // window
    return ids[: count * window].view(count, window), ids[1 : count * window + 1].view(count, window)


def train_text(model_name: str = "rnn", epochs: int = 2, seed: int = 0, lr: float = 0.01, batch_size: int = 32,
               hidden_size: int = 128, window: int = 64, init_scale: float = INIT_SCALE, device: str = "cpu") -> dict:
    """A character language model on the corpus, by the loop a user would write.

    Return the seconds taken, the training characters seen, and the last
    epoch's training and validation losses. Each epoch sums the loss of every
    step (``loss.item()``) and computes the validation loss, as such a loop
    usually does. On ``device`` the model lives there and each batch is moved
    to it as it is used.
    """
    started = time.perf_counter()
    text = CORPUS.read_text("utf-8")
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lookup[c] for c in text])
    split = int(len(ids) * 0.9)  # the last 10% held out
    train_x, train_y = windows(ids[:split], window)  # (N, window) each
    val_x, val_y = windows(ids[split:], window)

    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    model = OneHotRnn(model_name, len(chars), hidden_size, head=True, init_scale=init_scale).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        total = 0.0
        order = torch.randperm(len(train_x), generator=shuffle)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            _, loss = step(model, optimizer, train_x[index].to(device), train_y[index].to(device))
            total += loss.item() * index.numel() * window
        train_loss = total / train_x.numel()
        model.eval()
        with torch.no_grad():
            val_loss = sum(
                loss_of(model(val_x[i : i + batch_size].to(device)), val_y[i : i + batch_size].to(device)).item()
                * val_x[i : i + batch_size].numel()
                for i in range(0, len(val_x), batch_size)
            ) / val_x.numel()
    return {"seconds": time.perf_counter() - started, "chars": train_x.numel() * epochs, "loss": train_loss, "val_loss": val_loss}
