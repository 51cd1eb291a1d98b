"""The notebook's embedding example as a user would write it by hand: no framework.

    python scripts/plain_embedding.py [--epochs 15] [--seed 0] [--lr 0.1]

The baseline of scripts/bench.py: the same sizes, optimizer, lr, epochs and
seed as ``python -m rnnexp model=embedding`` (nn.Embedding(4, 10) ->
nn.RNN(10, 8, num_layers=2, batch_first=True) -> nn.Linear(8, 4), Adam,
lr 0.1, 15 epochs, seed 0), learning "hello" -> "ohlol" with one step per
epoch. The modules are built in rnnexp's order (embedding, head, recurrent
layer), so the seed draws the same weights and the printed losses equal the
framework's bit for bit. Only torch is imported: nothing is logged or saved.
"""

from __future__ import annotations

import argparse

from baselines import decode, embedding_example


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    for epoch, (logits, loss) in enumerate(embedding_example(args.epochs, args.seed, args.lr), start=1):
        # Both from before this epoch's update; loss is the mean over the five steps.
        print(f"Predicted string: {decode(logits)}, Epoch [{epoch}/{args.epochs}] loss = {loss.item():.3f}")


if __name__ == "__main__":
    main()
