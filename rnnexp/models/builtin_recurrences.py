"""The built-in recurrences, each a class named by ``_target_`` in its conf/model/*.yaml.

They keep the contract any recurrence keeps (rnnexp.models.recurrence):
``(input_size, hidden_size, ...)`` in the constructor, ``forward(x, state=None)``
-> (outputs (B, T, output_size), state after the last step). Each also says
what it allows (``check_config``) and names its tensors for
``python -m rnnexp.shapes`` (``describe``). A new built-in is a class here, a
YAML file naming it and a test.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnexp.config.labels import model_label
from rnnexp.errors import UserError
from rnnexp.models.description import Description, Named, as_tuple


class RNNCellLoop(nn.Module):
    """One shared nn.RNNCell unrolled step by step in Python (the notebook's first model).

    Take input at the current time step x_t and the hidden state h_{t-1},
    return h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); h_0 = 0.
    Padded steps after a sequence's end are computed but never read: the loop
    runs left to right, so they cannot reach earlier outputs.
    """

    graphable = True  # model.cuda_graph replays its loop (rnnexp.training.cuda_graph)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)

    @classmethod
    def check_config(cls, model: Mapping[str, Any]) -> None:
        """One left-to-right cell: no second direction, no stacked layers."""
        if model["bidirectional"]:
            raise UserError(
                "model.bidirectional=true: model=cell unrolls one left-to-right nn.RNNCell; "
                "use model=rnn, lstm or gru for a bidirectional model"
            )
        if model["num_layers"] != 1:
            raise UserError(
                f"model.num_layers={model['num_layers']}: model=cell unrolls one nn.RNNCell, so only 1 is "
                "allowed; use model=rnn for stacked layers"
            )

    def forward(self, x: torch.Tensor, state: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size) if state is None else state  # h_0: (B, H)
        outputs = []
        for t in range(steps):
            h = self.cell(x[:, t], h)  # (B, input), (B, H) -> (B, H)
            outputs.append(h)
        # With padding, h has run over it: only equal-length windows (stateful text) carry it on.
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)

    def describe(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> Description:
        """Each call of the cell: x_t and h_{t-1} in, h_t out, read by a hook."""
        calls: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        hook = self.cell.register_forward_hook(lambda module, args, out: calls.append((args[0], args[1], out)))
        try:
            with torch.no_grad():
                self(x)
        finally:
            hook.remove()
        steps = [
            (
                Named("x_t", x_t, ("batch", "input_size"), "x[:, t]"),
                Named("h_{t-1}", h_prev, ("batch", "hidden_size"), "h_0 = zeros" if t == 1 else ""),
                Named("h_t", h_t, ("batch", "hidden_size"), "tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"),
            )
            for t, (x_t, h_prev, h_t) in enumerate(calls, start=1)
        ]
        return Description(
            words="model=cell calls one nn.RNNCell per time step on x[:, t]; h_0 = zeros",
            output="hidden_size",
            output_note="h_1..h_T stacked",
            steps=steps,
            parameter_dims={name: _weight_dims(name, "hidden_size", "hidden_size") for name, _ in self.named_parameters()},
        )


# Rows of the recurrent weights per gate: nn.LSTM stacks 4 (input, forget,
# cell, output), nn.GRU 3 (reset, update, new), nn.RNN 1.
GATES = {"LSTM": 4, "GRU": 3}


class TorchLayer(nn.Module):
    """A torch recurrent layer (nn.RNN, nn.LSTM or nn.GRU, by subclass) over the whole sequence at once.

    ``time_first`` runs the layer in its default (T, B, input) layout, as the
    notebook's nn.RNN example does; otherwise batch_first, as its Embedding
    example does. The two compute the same function. Padding is packed away,
    so no direction reads it.
    """

    layer: type[nn.RNNBase] = nn.RNN

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
        dropout: float = 0.0, time_first: bool = False,
    ):
        super().__init__()
        self.time_first = time_first
        self.rnn = self.layer(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=not time_first,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between stacked layers only
        )
        self.output_size = (2 if bidirectional else 1) * hidden_size  # both directions' h_t, concatenated

    @classmethod
    def check_config(cls, model: Mapping[str, Any]) -> None:
        if model["cuda_graph"]:
            raise UserError(
                f"model.cuda_graph=true: only model=cell is captured as a CUDA graph (model={model_label(model)} "
                "already runs each layer as one fused kernel); set model.cuda_graph=false"
            )

    def forward(
        self, x: torch.Tensor, state: Any = None, lengths: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, Any]:
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

    def describe(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> Description:
        """inputs, h_0, out and h_n (and c_0, c_n for an LSTM) of the torch layer, in its layout."""
        layer_input, out, finals, starts = self._layer_call(x, lengths)
        packed = isinstance(layer_input, PackedSequence)  # a batch of unequal lengths
        rnn = self.rnn
        gates = GATES.get(rnn.mode, 1)
        rows = f"{gates} x hidden_size" if gates > 1 else "hidden_size"
        steps = ("seq_len", "batch") if self.time_first else ("batch", "seq_len")
        state = ("num_layers x directions", "batch", "hidden_size")
        if packed:
            tensors = [Named("inputs", layer_input.data, ("unpadded steps", "input_size"), "packed: the padding left out")]
        else:
            tensors = [Named("inputs", layer_input, (*steps, "input_size"), "x as the layer reads it")]
        tensors.append(Named("h_0", starts[0], state, "zeros; batch_first never moves batch here"))
        if len(starts) > 1:
            tensors.append(Named("c_0", starts[1], state, "zeros: the LSTM's cell state"))
        if packed:
            tensors.append(Named("out", out.data, ("unpadded steps", "directions x hidden_size"), "packed; unpacked after"))
        else:
            tensors.append(Named("out", out, (*steps, "directions x hidden_size"), "h_1..h_T of the top layer"))
        tensors.append(Named("h_n", finals[0], state, "h_T of every layer and direction"))
        if len(finals) > 1:
            tensors.append(Named("c_n", finals[1], state, "the last cell state"))
        return Description(
            words=self._words(),
            output="directions x hidden_size",
            output_note="out, transposed back to batch-first" if self.time_first else "out",
            sizes=self._sizes(lengths, rows, gates),
            tensors=tensors,
            parameter_dims={name: _weight_dims(name, rows, "directions x hidden_size") for name, _ in self.named_parameters()},
        )

    def _layer_call(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> tuple[Any, Any, tuple, tuple]:
        """The torch layer's input and outputs in its own layout (packed or not), its final states, and its h_0 (zeros)."""
        seen: dict[str, Any] = {}

        def on_layer(module, args, out):
            seen["input"], seen["output"] = args[0], out  # the layer's own layout

        hook = self.rnn.register_forward_hook(on_layer)
        try:
            with torch.no_grad():
                self(x, lengths=lengths)
        finally:
            hook.remove()
        layer_input, (out, last) = seen["input"], seen["output"]
        packed = isinstance(layer_input, PackedSequence)  # a batch of unequal lengths
        finals = as_tuple(last)  # LSTM: (h_n, c_n)
        # h_0 is left to torch (zeros). Run the layer again with zeros of h_n's
        # shape given explicitly, as the notebook does: torch checks their
        # shape, and the same outputs show they are the h_0 it used.
        starts = tuple(torch.zeros_like(final) for final in finals)
        with torch.no_grad():
            again, again_last = self.rnn(layer_input, starts if len(starts) > 1 else starts[0])
        same_out = torch.equal(again.data, out.data) if packed else torch.equal(again, out)
        same_finals = all(torch.equal(a, b) for a, b in zip(as_tuple(again_last), finals))
        assert same_out and same_finals, "the layer's own h_0 is not zeros of h_n's shape"
        return layer_input, out, finals, starts

    def _sizes(self, lengths: Optional[torch.Tensor], rows: str, gates: int) -> dict[str, int]:
        """The sizes the shapes' dimension names stand for."""
        rnn = self.rnn
        directions = 2 if rnn.bidirectional else 1
        sizes = {
            "num_layers": rnn.num_layers,
            "directions": directions,
            "num_layers x directions": rnn.num_layers * directions,
            "directions x hidden_size": directions * rnn.hidden_size,
        }
        if lengths is not None:
            sizes["unpadded steps"] = int(lengths.sum())
        sizes[rows] = gates * rnn.hidden_size
        return sizes

    def _words(self) -> str:
        rnn = self.rnn
        layers = f"{rnn.num_layers} layer{'s' if rnn.num_layers > 1 else ''}{', two directions' if rnn.bidirectional else ''}"
        if self.time_first:
            layout = "time-first (batch_first=False, torch's default): x goes in transposed, (seq_len, batch, input_size)"
        else:
            layout = "batch-first (batch_first=True): x goes in as it is, (batch, seq_len, input_size)"
        return f"nn.{type(rnn).__name__}, {layers}, {layout}"


class RNNLayer(TorchLayer):
    """nn.RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), every step at once (model=rnn, model=embedding)."""

    layer = nn.RNN


class LSTMLayer(TorchLayer):
    """nn.LSTM: gates and a cell state let it keep information for long (model=lstm).

    ``forget_bias`` (model.recurrence.forget_bias=1.0) starts every forget
    gate's bias there instead of PyTorch's small random one, so the cell
    keeps what it holds from the first step on (Gers, Schmidhuber and
    Cummins 2000; Jozefowicz, Zaremba and Sutskever 2015): on long memory
    tasks such as the adding problem it leaves the baseline far sooner.
    """

    layer = nn.LSTM

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
        dropout: float = 0.0, time_first: bool = False, forget_bias: Optional[float] = None,
    ):
        super().__init__(input_size, hidden_size, num_layers, bidirectional, dropout, time_first)
        if forget_bias is not None:
            hidden = self.rnn.hidden_size
            with torch.no_grad():
                for name, bias in self.rnn.named_parameters():
                    if name.startswith("bias_"):
                        # The second of the four stacked blocks is the forget gate's. b_ih + b_hh enter the
                        # gate as a sum: b_ih takes the whole value, b_hh starts at 0.
                        bias[hidden : 2 * hidden] = forget_bias if name.startswith("bias_ih") else 0.0


class GRULayer(TorchLayer):
    """nn.GRU: gated like the LSTM, with one state and fewer weights (model=gru)."""

    layer = nn.GRU


def _weight_dims(name: str, gates: str, upper_input: str) -> tuple[str, ...]:
    """A recurrent weight's dimensions in words: W_ih is (hidden_size, input_size), as the notebook says.

    ``gates``: the rows (hidden_size, or 4 x hidden_size for an LSTM's four
    gates); ``upper_input``: what a layer above the first reads.
    """
    kind = name.rpartition(".")[2]
    layer = re.search(r"_l(\d+)", kind)
    first_layer = layer is None or layer.group(1) == "0"
    if kind.startswith("weight_ih"):
        return (gates, "input_size" if first_layer else upper_input)
    if kind.startswith("weight_hh"):
        return (gates, "hidden_size")
    if kind.startswith("bias"):
        return (gates,)
    raise ValueError(f"no words for the dimensions of parameter {name}")
