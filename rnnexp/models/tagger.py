"""The recurrent models behind one contract.

Every model maps character ids (B, T) to class scores (B, T, C) through
encoder -> recurrence -> optional linear head, and
``forward(ids, targets=None, lengths=None)`` returns ``(logits, loss)`` so one
training loop serves them all. The first three are the notebook's; lstm and
gru swap in torch's gated layers.

The recurrence starts from zeros, unless the caller hands it a state:
``forward(ids, targets, state=state)`` starts there and returns the state
after the last step as well, ``(logits, loss, state)``, which is where the
next window of a stream starts (stateful training, sampling).
``initial_state(batch)`` is the zeros to start a stream from.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnexp.data.sequences import IGNORE
from rnnexp.models.encoders import build_encoder
from rnnexp.errors import UserError

# A recurrence's state: h (cell: (B, H); layers: (layers x directions, B, H)),
# or (h, c) for an LSTM.
State = Union[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]


def detach_state(state: State) -> State:
    """The same values, cut from the graph that made them, so backpropagation stops at the window's start."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(part.detach() for part in state)


class RecurrentTagger(nn.Module):
    """Shared part: an encoder in front, a head (or none) behind, the loss.

    Subclasses implement :meth:`recur_from`, (B, T, input) and a state ->
    (B, T, output_size) and the state after the last step, and
    :meth:`initial_state`.
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, num_classes: int, head: bool, output_size: int, dropout: float):
        super().__init__()
        self.encoder = encoder
        self.hidden_size = hidden_size
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        # Without a head the hidden state h_t is read directly as the class
        # scores, as in the notebook's first two models (hidden_size = classes).
        self.head = nn.Linear(output_size, num_classes) if head else nn.Identity()

    def recur_from(self, x: torch.Tensor, lengths: Optional[torch.Tensor], state: Optional[State]) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def initial_state(self, batch: int) -> State:
        """The zero state a stream of ``batch`` sequences starts from."""
        raise NotImplementedError

    def recur(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        """The recurrence from zeros (what model.cuda_graph replays): (B, T, input) -> (B, T, output_size)."""
        return self.recur_from(x, lengths, None)[0]

    def forward(
        self, ids: torch.Tensor, targets: Optional[torch.Tensor] = None, lengths: Optional[torch.Tensor] = None,
        state: Optional[State] = None,
    ):
        """``(logits, loss)`` from zeros; with a ``state``, ``(logits, loss, state after the last step)`` from it."""
        x = self.encoder(ids)  # (B, T, input)
        if state is None:
            h = self.recur(x, lengths)  # (B, T, output_size)
        else:
            h, state = self.recur_from(x, lengths, state)
        logits = self.head(self.dropout(h))  # (B, T, C)
        loss = None
        if targets is not None:
            # Mean cross-entropy over every (unpadded) time step of every
            # sequence. (The notebook's RNNCell example wrote
            # `loss = + criterion(...)`, which keeps only the last step's loss
            # and so learns "lllll".)
            loss = F.cross_entropy(logits.reshape(-1, self.num_classes), targets.reshape(-1), ignore_index=IGNORE)
        return (logits, loss) if state is None else (logits, loss, state)

    @staticmethod
    def scale_init(recurrent: nn.Module, init_scale: float) -> None:
        """Shrink (or grow) PyTorch's default init of the recurrent weights and biases."""
        if init_scale != 1.0:
            with torch.no_grad():
                for parameter in recurrent.parameters():
                    parameter.mul_(init_scale)


class CellModel(RecurrentTagger):
    """One shared nn.RNNCell unrolled step by step in Python (the notebook's first model).

    Take input at the current time step x_t and the hidden state h_{t-1},
    return h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); h_0 = 0.
    Padded steps after a sequence's end are computed but never read: the loop
    runs left to right, so they cannot reach earlier outputs.
    """

    def __init__(
        self,
        encoder: nn.Module,
        hidden_size: int,
        num_classes: int,
        head: bool,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        init_scale: float = 1.0,
    ):
        assert num_layers == 1 and not bidirectional, "one left-to-right cell (checked by rnnexp.config.checks.validate)"
        super().__init__(encoder, hidden_size, num_classes, head, hidden_size, dropout)
        self.cell = nn.RNNCell(encoder.output_size, hidden_size)
        self.scale_init(self.cell, init_scale)

    def initial_state(self, batch: int) -> torch.Tensor:
        return self.cell.weight_hh.new_zeros(batch, self.hidden_size)  # h_0: (B, H)

    def recur_from(self, x: torch.Tensor, lengths: Optional[torch.Tensor], state: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size) if state is None else state  # h_0: (B, H)
        outputs = []
        for t in range(steps):
            h = self.cell(x[:, t], h)  # (B, input), (B, H) -> (B, H)
            outputs.append(h)
        # With padding, h has run over it: only equal-length windows (stateful text) carry it on.
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)


LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class LayerModel(RecurrentTagger):
    """A torch recurrent layer (nn.RNN, nn.LSTM or nn.GRU) over the whole sequence at once.

    ``time_first`` runs the layer in its default (T, B, input) layout, as the
    notebook's nn.RNN example does; otherwise batch_first, as its Embedding
    example does. The two compute the same function.
    """

    def __init__(
        self,
        encoder: nn.Module,
        hidden_size: int,
        num_classes: int,
        head: bool,
        *,
        layer: str = "rnn",
        time_first: bool = False,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        init_scale: float = 1.0,
    ):
        directions = 2 if bidirectional else 1
        super().__init__(encoder, hidden_size, num_classes, head, directions * hidden_size, dropout)
        self.time_first = time_first
        self.rnn = LAYERS[layer](
            encoder.output_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=not time_first,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between stacked layers only
        )
        self.scale_init(self.rnn, init_scale)

    def initial_state(self, batch: int) -> State:
        rnn = self.rnn
        h = rnn.weight_hh_l0.new_zeros(rnn.num_layers * (2 if rnn.bidirectional else 1), batch, rnn.hidden_size)
        return (h, torch.zeros_like(h)) if isinstance(rnn, nn.LSTM) else h  # (layers x directions, B, H)

    def recur_from(self, x: torch.Tensor, lengths: Optional[torch.Tensor], state: Optional[State]) -> tuple[torch.Tensor, State]:
        steps = x.shape[1]
        if self.time_first:
            x = x.transpose(0, 1)  # (T, B, input): the layer's default layout
        if lengths is not None:
            # Pack so that no direction reads padding: (B,) lengths, on the CPU.
            packed = pack_padded_sequence(x, lengths, batch_first=not self.time_first, enforce_sorted=False)
            out, state = self.rnn(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=not self.time_first, total_length=steps)
        else:
            out, state = self.rnn(x, state)  # None: h_0 = 0; out: the top layer's h_1..h_T (both directions concatenated)
        return (out.transpose(0, 1) if self.time_first else out), state  # (B, T, directions * H), the state after step T


MODELS = {
    "cell": CellModel,
    # The notebook's nn.RNN example: time-first.
    "rnn": lambda **kw: LayerModel(layer="rnn", time_first=True, **kw),
    # The notebook's Embedding example: nn.Embedding -> nn.RNN(batch_first=True) -> nn.Linear.
    "embedding": lambda **kw: LayerModel(layer="rnn", **kw),
    "lstm": lambda **kw: LayerModel(layer="lstm", **kw),
    "gru": lambda **kw: LayerModel(layer="gru", **kw),
}


def check_head(model_cfg: Mapping[str, Any], num_classes: int) -> None:
    """Without a head h_t is read as the class scores: then hidden_size must be the number of classes.

    The other model checks need only the config (rnnexp.config.checks.validate); this
    one needs the number of classes, which comes from the data.
    """
    hidden_size = model_cfg["hidden_size"] if model_cfg["hidden_size"] is not None else num_classes
    if not model_cfg["head"] and hidden_size != num_classes:
        raise UserError(
            f"model.hidden_size={hidden_size}: without a head h_t is read as the class scores, so it must "
            f"equal the number of classes ({num_classes}); set model.head=true or model.hidden_size={num_classes}"
        )


def build_model(cfg: Mapping[str, Any], vocab_size: int, *, trainable: bool = True) -> RecurrentTagger:
    """Build ``cfg``'s encoder and model, sized from the vocabulary.

    ``cfg`` is the run's config (a DictConfig, or the plain dict a checkpoint
    holds). One vocabulary serves input and output, so classes = vocab_size.
    ``trainable=False`` builds the model even where :func:`check_head` refuses
    to train it: its h_t are then no class scores, but their shapes are what
    ``python -m rnnexp.shapes`` shows.
    """
    model_cfg, encoder_cfg = cfg["model"], cfg["encoder"]
    num_classes = vocab_size
    hidden_size = model_cfg["hidden_size"] if model_cfg["hidden_size"] is not None else num_classes
    if trainable:
        check_head(model_cfg, num_classes)
    encoder = build_encoder(encoder_cfg["name"], vocab_size, encoder_cfg["dim"])
    return MODELS[model_cfg["name"]](
        encoder=encoder,
        hidden_size=hidden_size,
        num_classes=num_classes,
        head=model_cfg["head"],
        num_layers=model_cfg["num_layers"],
        bidirectional=model_cfg["bidirectional"],
        dropout=model_cfg["dropout"],
        init_scale=model_cfg["init_scale"],
    )
