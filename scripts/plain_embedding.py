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

import torch
from torch import nn

IDX2CHAR = ["e", "h", "l", "o"]
X_DATA = [[1, 0, 2, 2, 3]]  # hello
Y_DATA = [3, 1, 2, 3, 2]  # ohlol


class Model(nn.Module):
    def __init__(self, num_classes: int = 4, embedding_size: int = 10, hidden_size: int = 8, num_layers: int = 2):
        super().__init__()
        self.emb = nn.Embedding(num_classes, embedding_size)
        self.fc = nn.Linear(hidden_size, num_classes)
        self.rnn = nn.RNN(embedding_size, hidden_size, num_layers=num_layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.emb(x)  # (B, T, embedding_size)
        x, _ = self.rnn(x)  # (B, T, hidden_size); h_0 = 0
        return self.fc(x)  # (B, T, num_classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = Model()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    inputs = torch.LongTensor(X_DATA)  # (1, 5)
    labels = torch.LongTensor(Y_DATA)  # (5,)
    for epoch in range(args.epochs):
        outputs = model(inputs)  # (1, 5, 4)
        optimizer.zero_grad()
        loss = criterion(outputs.view(-1, 4), labels)  # mean over the five steps
        loss.backward()
        optimizer.step()
        idx = outputs.argmax(dim=-1).view(-1).tolist()
        print(f"Predicted string: {''.join(IDX2CHAR[i] for i in idx)}, Epoch [{epoch + 1}/{args.epochs}] loss = {loss.item():.3f}")


if __name__ == "__main__":
    main()
