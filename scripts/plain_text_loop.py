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

from baselines import train_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("rnn", "cell"), default="rnn")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    result = train_text(args.model, args.epochs)
    print(f"{result['chars'] / result['seconds']:,.0f} chars/s, loss {result['loss']:.4f}, val loss {result['val_loss']:.4f}")


if __name__ == "__main__":
    main()
