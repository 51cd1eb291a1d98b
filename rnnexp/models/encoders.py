"""Turn character ids into the input vectors x_t."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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


def build_encoder(name: str, vocab_size: int, dim: int | None) -> nn.Module:
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
