"""A stateful character language model trained by a hand-written PyTorch loop: no framework.

    python scripts/plain_text_loop.py                      # rnnexp's task=text model=lstm at its defaults
    python scripts/plain_text_loop.py --epochs 1 --json out.json
    python scripts/plain_text_loop.py --example            # word_language_model's own update instead

The baseline of the text section of scripts/bench.py: the loop of
pytorch/examples' word_language_model, run character by character, with the
recipe of ``python -m rnnexp task=text model=lstm``. It reads the same corpus
and holds out its last 10%, lays the training text out as ``--batch-size``
contiguous streams read ``--window`` characters at a time (the examples'
``batchify`` and ``get_batch``) and carries the LSTM's state from one window
to the next, detached (its ``repackage_hidden``), from zeros at each epoch's
start. The model (embedding -> LSTM -> linear head) is built in rnnexp's order
from the same seed, and Adam steps at rnnexp's lr, with its cosine decay when
``--cosine`` is given. Each epoch sums ``loss.item()`` over its steps and
evaluates the held-out text as ``--val-streams`` streams, statefully too. Its
losses equal rnnexp's bit for bit, so the time between the two is what the
framework costs.

Adam is written out, as the examples write their SGD step: torch.optim's
optimizers import torch._dynamo on their first call (1 to 3 s), which a loop
that updates its weights itself never does. The arithmetic is
torch.optim.Adam's on the CPU, operation for operation.

``--example`` trains with the example's own update instead, the peer that
rnnexp's text run is timed against: plain SGD at lr 20 with the gradient
norm clipped to 0.25, the lr divided by 4 after an epoch whose validation
loss is no better than the best so far, on torch's default thread count (the
example sets none). Its model and data stay rnnexp's; the example's uniform
init, its saved copy of the best model and its test pass are left out.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CORPUS = Path(__file__).resolve().parent.parent / "rnnexp" / "data" / "corpora" / "coriolanus.txt"
BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, as rnnexp's optimizer=adam
EXAMPLE_LR, EXAMPLE_CLIP = 20.0, 0.25  # word_language_model's --lr and --clip defaults


def streams(ids: torch.Tensor, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A character stream as ``rows`` contiguous rows: inputs and next-character targets, (rows, L) each."""
    length = (len(ids) - 1) // rows
    return ids[: rows * length].view(rows, length), ids[1 : rows * length + 1].view(rows, length)


class CharLstm(nn.Module):
    """Embedding -> LSTM (batch first) -> linear head; modules built in rnnexp's order, so one seed draws the same weights."""

    def __init__(self, classes: int, embedding_size: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(classes, embedding_size)
        self.head = nn.Linear(hidden_size, classes)
        self.lstm = nn.LSTM(embedding_size, hidden_size, batch_first=True)

    def forward(self, ids: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor]):
        out, hidden = self.lstm(self.embedding(ids), hidden)  # (B, T, H)
        return self.head(out), hidden  # (B, T, C)

    def init_hidden(self, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.zeros(1, rows, self.lstm.hidden_size)
        return h, torch.zeros_like(h)


def windows(inputs: torch.Tensor, targets: torch.Tensor, window: int):
    """Each row's consecutive windows, side by side: (rows, <= window) pairs."""
    for start in range(0, inputs.shape[1], window):
        yield inputs[:, start : start + window], targets[:, start : start + window]


def loss_of(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def sgd_step(params: list[torch.Tensor], lr: float, clip: float) -> None:
    """word_language_model's update: the gradient norm clipped to ``clip``, then ``p -= lr * grad``."""
    nn.utils.clip_grad_norm_(params, clip)
    for param in params:
        param.add_(param.grad, alpha=-lr)


@torch.no_grad()
def adam_step(params: list[torch.Tensor], moments: list[tuple[torch.Tensor, torch.Tensor]], step: int, lr: float) -> None:
    """One step of torch.optim.Adam (no weight decay, no amsgrad) over ``params``, written out."""
    beta1, beta2 = BETAS
    bias_correction1, bias_correction2 = 1 - beta1**step, 1 - beta2**step
    for param, (exp_avg, exp_avg_sq) in zip(params, moments):
        exp_avg.lerp_(param.grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(EPS)
        param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)


def train(args: argparse.Namespace) -> dict:
    text = CORPUS.read_text("utf-8")
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lookup[c] for c in text])
    split = int(len(ids) * 0.9)  # the last 10% held out
    train_x, train_y = streams(ids[:split], args.batch_size)  # (batch, L) each
    val_x, val_y = streams(ids[split:], args.val_streams)

    torch.manual_seed(args.seed)
    model = CharLstm(len(chars), args.embedding_size, args.hidden_size)
    params = list(model.parameters())
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    lr, step = (EXAMPLE_LR if args.example else args.lr), 0
    losses, val_losses = [], []
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, hidden = 0.0, model.init_hidden(args.batch_size)
        for inputs, targets in windows(train_x, train_y, args.window):
            # Detach the state from the window that made it: backpropagation stops at this window's start.
            hidden = tuple(h.detach() for h in hidden)
            for param in params:
                param.grad = None
            logits, hidden = model(inputs, hidden)
            loss = loss_of(logits, targets)
            total += loss.item() * targets.numel()
            loss.backward()
            step += 1
            if args.example:
                sgd_step(params, lr, EXAMPLE_CLIP)
            else:
                adam_step(params, moments, step, lr)
        losses.append(total / train_y.numel())

        model.eval()
        with torch.no_grad():
            total, hidden = 0.0, model.init_hidden(args.val_streams)
            for inputs, targets in windows(val_x, val_y, args.window):
                logits, hidden = model(inputs, hidden)
                total += loss_of(logits, targets).item() * targets.numel()
        val_losses.append(total / val_y.numel())
        if args.example:
            if len(val_losses) > 1 and val_losses[-1] >= min(val_losses[:-1]):
                lr /= 4  # no better than the best so far: the example anneals
        elif args.cosine:
            # torch.optim.lr_scheduler.CosineAnnealingLR's step (T_max: the run, eta_min 0), in its own arithmetic.
            lr = (1 + math.cos(math.pi * epoch / args.epochs)) / (1 + math.cos(math.pi * (epoch - 1) / args.epochs)) * lr
        print(f"Epoch [{epoch}/{args.epochs}] loss = {losses[-1]:.3f}, val loss = {val_losses[-1]:.3f}")
    return {"losses": losses, "val_losses": val_losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--cosine", action="store_true", help="decay lr along a half cosine over the run")
    parser.add_argument("--batch-size", type=int, default=32, help="training streams")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--val-streams", type=int, default=10)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--embedding-size", type=int, default=10)
    parser.add_argument("--example", action="store_true", help="word_language_model's update and threads (--lr, --cosine unused)")
    parser.add_argument("--threads", type=int, default=1, help="torch's intra-op threads (not with --example)")
    parser.add_argument("--json", help="write the losses per epoch to this file")
    args = parser.parse_args()
    if not args.example:
        # The count rnnexp's run trains on (the benchmark passes what threads=auto chose):
        # the time between the two is then the framework's alone.
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    result = train(args)
    print(f"Final validation loss: {result['val_losses'][-1]:.4f} ({time.perf_counter() - started:.2f} s of training)")
    if args.json:
        Path(args.json).write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
