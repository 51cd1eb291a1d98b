"""The notebook's three recurrent models behind one contract.

Every model maps character ids (B, T) to class scores (B, T, C) through
encoder -> recurrence -> optional linear head, and ``forward(ids, targets)``
returns ``(logits, loss)`` so one training loop serves them all.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from rnnexp.encoders import build_encoder
from rnnexp.errors import UserError


class RecurrentTagger(nn.Module):
    """Shared part: an encoder in front, a head (or none) behind, the loss.

    Subclasses implement :meth:`recur`, (B, T, input) -> (B, T, hidden).
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, num_classes: int, head: bool):
        super().__init__()
        self.encoder = encoder
        self.hidden_size = hidden_size
        self.num_classes = num_classes
        # Without a head the hidden state h_t is read directly as the class
        # scores, as in the notebook's first two models (hidden_size = classes).
        self.head = nn.Linear(hidden_size, num_classes) if head else nn.Identity()

    def recur(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @staticmethod
    def scale_init(recurrent: nn.Module, init_scale: float) -> None:
        """Shrink (or grow) PyTorch's default init of the recurrent weights and biases."""
        if init_scale != 1.0:
            with torch.no_grad():
                for parameter in recurrent.parameters():
                    parameter.mul_(init_scale)

    def forward(self, ids: torch.Tensor, targets: torch.Tensor | None = None):
        x = self.encoder(ids)  # (B, T, input)
        h = self.recur(x)  # (B, T, hidden)
        logits = self.head(h)  # (B, T, C)
        loss = None
        if targets is not None:
            # Mean cross-entropy over every time step of every sequence. (The
            # notebook's RNNCell example wrote `loss = + criterion(...)`, which
            # keeps only the last step's loss and so learns "lllll".)
            loss = F.cross_entropy(logits.reshape(-1, self.num_classes), targets.reshape(-1))
        return logits, loss


class CellModel(RecurrentTagger):
    """One shared nn.RNNCell unrolled step by step in Python (the notebook's first model).

    Take input at the current time step x_t and the hidden state h_{t-1},
    return h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); h_0 = 0.
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, num_classes: int, head: bool, num_layers: int = 1, init_scale: float = 1.0):
        super().__init__(encoder, hidden_size, num_classes, head)
        assert num_layers == 1, "a single RNNCell (checked by rnnexp.config.validate)"
        self.cell = nn.RNNCell(encoder.output_size, hidden_size)
        self.scale_init(self.cell, init_scale)

    def recur(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size)  # h_0: (B, H)
        outputs = []
        for t in range(steps):
            h = self.cell(x[:, t], h)  # (B, input), (B, H) -> (B, H)
            outputs.append(h)
        return torch.stack(outputs, dim=1)  # (B, T, H)


class RNNModel(RecurrentTagger):
    """nn.RNN over the whole sequence at once, time-first as in the notebook's second model."""

    def __init__(self, encoder: nn.Module, hidden_size: int, num_classes: int, head: bool, num_layers: int = 1, init_scale: float = 1.0):
        super().__init__(encoder, hidden_size, num_classes, head)
        self.rnn = nn.RNN(encoder.output_size, hidden_size, num_layers=num_layers)
        self.scale_init(self.rnn, init_scale)

    def recur(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(0, 1)  # (T, B, input): nn.RNN's default layout
        out, _ = self.rnn(x)  # h_0 = 0; out (T, B, H): the top layer's h_1..h_T
        return out.transpose(0, 1)  # (B, T, H)


class EmbeddingModel(RecurrentTagger):
    """nn.Embedding -> nn.RNN(batch_first=True) -> nn.Linear (the notebook's third model).

    The embedding is the encoder (encoder=embedding by default) and the linear
    layer is the head (head=true by default).
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, num_classes: int, head: bool, num_layers: int = 1, init_scale: float = 1.0):
        super().__init__(encoder, hidden_size, num_classes, head)
        self.rnn = nn.RNN(encoder.output_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.scale_init(self.rnn, init_scale)

    def recur(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, T, input) -> (B, T, H), h_0 = 0
        return out


MODELS = {"cell": CellModel, "rnn": RNNModel, "embedding": EmbeddingModel}


def build_model(cfg: Mapping[str, Any], vocab_size: int) -> RecurrentTagger:
    """Build ``cfg``'s encoder and model, sized from the vocabulary.

    ``cfg`` is the run's config (a DictConfig, or the plain dict a checkpoint
    holds). One vocabulary serves input and output, so classes = vocab_size.
    """
    model_cfg, encoder_cfg = cfg["model"], cfg["encoder"]
    num_classes = vocab_size
    hidden_size = model_cfg["hidden_size"] if model_cfg["hidden_size"] is not None else num_classes
    if not model_cfg["head"] and hidden_size != num_classes:
        raise UserError(
            f"model.hidden_size={hidden_size}: without a head h_t is read as the class scores, so it must "
            f"equal the number of classes ({num_classes}); set model.head=true or model.hidden_size={num_classes}"
        )
    encoder = build_encoder(encoder_cfg["name"], vocab_size, encoder_cfg["dim"])
    return MODELS[model_cfg["name"]](
        encoder,
        hidden_size,
        num_classes,
        model_cfg["head"],
        num_layers=model_cfg["num_layers"],
        init_scale=model_cfg["init_scale"],
    )
