"""Turn a step of the input into the vector x_t: a character id (one_hot, embedding) or real features (linear)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rnnexp.data.task import DataSizes
from rnnexp.errors import UserError


class OneHotEncoder(nn.Module):
    """x_t is the one-hot row of the character's id: the notebook's one_hot_lookup.

    Has no parameters; ``output_size`` is the vocabulary size.
    """

    def __init__(self, vocab_size: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.output_size = vocab_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # (B, T) int64 -> (B, T, V) float
        return F.one_hot(ids, self.vocab_size).float()


class EmbeddingEncoder(nn.Module):
    """x_t is a learned row of an nn.Embedding table (the notebook's ``self.emb``)."""

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.output_size = dim

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # (B, T) int64 -> (B, T, dim)
        return self.embedding(ids)


class LinearEncoder(nn.Module):
    """x_t from a step's F real features: nn.Linear(F, dim), or the features as they are when dim is null."""

    def __init__(self, features: int, dim: int | None):
        super().__init__()
        self.projection = nn.Linear(features, dim) if dim is not None else nn.Identity()
        self.output_size = dim if dim is not None else features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, T, F) float -> (B, T, dim)
        return self.projection(x)


def build_encoder(name: str, sizes: DataSizes, dim: int | None) -> nn.Module:
    """The encoder ``name`` for data of ``sizes``; which encoder fits which data is checked with the config."""
    if name == "linear":
        return LinearEncoder(sizes.inputs, dim)
    vocab_size = sizes.inputs
    if name == "one_hot":
        if dim is not None and dim != vocab_size:
            raise UserError(
                f"encoder.dim={dim}: encoder=one_hot takes its width from the vocabulary ({vocab_size}); "
                "leave encoder.dim unset or use encoder=embedding"
            )
        return OneHotEncoder(vocab_size)
    if name == "embedding":
        assert dim is not None, "validated by rnnexp.config.checks.validate"
        return EmbeddingEncoder(vocab_size, dim)
    raise ValueError(f"unknown encoder {name!r}")
