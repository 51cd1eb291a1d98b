"""minGRU and minLSTM (Feng, Tung, Ahmed, Bengio and Hajimirsadeghi 2024, "Were RNNs All We Needed?", arXiv 2410.01201).

Their gates read x_t only, never h_{t-1}, so each layer is a linear recurrence
h_t = a_t * h_{t-1} + b_t whose a_t and b_t are known for every t before the
first step. Training then runs over the whole sequence at once with a
log-space parallel scan (Heinsen 2023, arXiv 2311.06281):

    log h_t = a*_t + logcumsumexp_{s <= t}(log b_s - a*_s),   a*_t = sum_{s <= t} log a_s,

with h_0 joining as the first value (a*_0 = 0); h_0 = 0 is log 0 = -inf,
which logcumsumexp takes as it is. The recurrence can also run directly,
one step after another; the two agree to float32 tolerance
(tests/test_min_recurrences.py). ``scan`` chooses: ``parallel``, ``steps``,
or ``auto``, the scan on an accelerator and the steps on the CPU, where
torch's logcumsumexp computes one element at a time and the steps train
about 4x faster (docs/performance.md, "Recurrences"). A window of one step
(sampling a character) always steps.

The scan needs b_t > 0 and so h_t > 0: the candidate goes through
g(x) = x + 0.5 for x >= 0, sigmoid(x) otherwise (the paper's, positive and
continuous), and a state h_0 handed in must be >= 0 (every state these
classes return is). The log coefficients are written with softplus, as the
paper's appendix does: log sigmoid(k) = -softplus(-k) never takes the log
of a sigmoid that has rounded to 0. The scan's float32 error grows with
|a*_T| (log h_t is a difference of two terms of that size): about 1e-6
relative over tens of steps, more over thousands.

Written here rather than taken from the minGRU-pytorch package: the scan is
a few lines, and that package's modules take and return tensors in its own
form (no layers, no (num_layers, B, H) state), not rnnexp's recurrence
contract (rnnexp.models.recurrence), so a dependency would still need this
wrapper around it.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rnnexp.config.labels import model_label
from rnnexp.errors import UserError
from rnnexp.models.description import Description, Named


def g(x: torch.Tensor) -> torch.Tensor:
    """The candidate's activation: x + 0.5 for x >= 0, sigmoid(x) below; positive, so its log exists."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), with log sigmoid(x) = -softplus(-x) below 0 (both branches are finite everywhere, as torch.where needs)."""
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def log_scan(log_a: torch.Tensor, log_b: torch.Tensor, h_0: torch.Tensor) -> torch.Tensor:
    """h_1..h_T of h_t = a_t h_{t-1} + b_t for every t at once, from log a_t, log b_t (B, T, H) and h_0 (B, H) >= 0."""
    a_star = F.pad(torch.cumsum(log_a, dim=1), (0, 0, 1, 0))  # (B, T+1, H): a*_0 = 0, a*_t = log(a_1 ... a_t)
    values = torch.cat([torch.log(h_0).unsqueeze(1), log_b], dim=1)  # (B, T+1, H): h_0 first; log 0 = -inf
    log_h = a_star + torch.logcumsumexp(values - a_star, dim=1)  # (B, T+1, H): log h_0 .. log h_T
    return torch.exp(log_h[:, 1:])  # (B, T, H)


SCANS = ("auto", "parallel", "steps")  # model.recurrence.scan


class MinRecurrence(nn.Module):
    """Stacked layers of h_t = a_t * h_{t-1} + b_t, with a_t and b_t from x_t alone (a subclass says how).

    Each layer is one nn.Linear(layer input, gates x hidden_size) for all its
    gates at once (stacked like nn.GRU's weight_ih); a layer's outputs
    h_1..h_T are the next layer's inputs, with ``dropout`` between layers in
    training, as nn.GRU has it. The state is h_T of every layer,
    (num_layers, B, H) like nn.GRU's h_n; h_0 = 0 when none is given.
    Left to right only: padded steps come after a sequence's real ones, so
    they change no output the loss reads (the state after a padded batch runs
    over them, as the cell model's does; streams carry it only across windows
    of equal length).
    """

    gates = 2  # the subclass's: how many hidden_size blocks each layer's linear map computes
    formula = ""  # the recurrence in words, for python -m rnnexp.shapes

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, scan: str = "auto"):
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout if num_layers > 1 else 0.0  # between stacked layers only
        self.scan = scan  # parallel, steps, or auto: parallel on an accelerator, steps on the CPU
        self.layers = nn.ModuleList(
            nn.Linear(input_size if i == 0 else hidden_size, self.gates * hidden_size) for i in range(num_layers)
        )

    @classmethod
    def check_config(cls, model: Mapping[str, Any]) -> None:
        """One direction: the scan runs forward in time; and a scan rnnexp knows."""
        scan = (model.get("recurrence") or {}).get("scan", "auto")
        if scan not in SCANS:
            raise UserError(f"model.recurrence.scan={scan}: allowed values are {', '.join(SCANS)}")
        if model["bidirectional"]:
            raise UserError(
                f"model.bidirectional=true: model={model_label(model)} reads left to right only (its scan runs forward in "
                "time); use model=gru or model=lstm for a bidirectional model"
            )

    def coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """a_t and b_t (B, T, H) from the layer's linear map of x, (B, T, gates x H): the step-by-step form."""
        raise NotImplementedError

    def log_coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """log a_t and log b_t (B, T, H), in softplus forms: the scan's."""
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, state: Optional[torch.Tensor] = None, parallel: Optional[bool] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, input) and h_0 (num_layers, B, H) or None -> h_1..h_T of the top layer (B, T, H), h_T of each layer.

        ``parallel``: the scan (True) or one step at a time (False); None
        follows ``scan``.
        """
        batch, steps, _ = x.shape
        if state is None:
            state = x.new_zeros(self.num_layers, batch, self.hidden_size)  # h_0 = 0
        if parallel is None:
            parallel = self.runs_parallel(x.device, steps)
        finals = []
        for i, linear in enumerate(self.layers):
            if i > 0:
                x = F.dropout(x, self.dropout, self.training)  # between layers, as nn.GRU
            k = linear(x)  # (B, T, gates x H): every gate of every step at once
            if parallel:
                x = log_scan(*self.log_coefficients(k), state[i])  # (B, T, H)
            else:
                x = self._steps(*self.coefficients(k), state[i])
            finals.append(x[:, -1])  # h_T: (B, H)
        return x, torch.stack(finals)  # (B, T, H), (num_layers, B, H)

    def runs_parallel(self, device: torch.device, steps: int) -> bool:
        """Whether a window of ``steps`` on ``device`` takes the scan: by ``scan``, and never for one step."""
        if steps < 2 or self.scan == "steps":
            return False
        return self.scan == "parallel" or device.type != "cpu"

    @staticmethod
    def _steps(a: torch.Tensor, b: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """h_t = a_t * h_{t-1} + b_t, one step after another: (B, T, H) twice and h_0 (B, H) -> (B, T, H)."""
        outputs = []
        # unbind, not a[:, t]: indexing's backward would build a (B, T, H) gradient for every step.
        for a_t, b_t in zip(a.unbind(1), b.unbind(1)):
            h = torch.addcmul(b_t, a_t, h)  # (B, H)
            outputs.append(h)
        return torch.stack(outputs, dim=1)

    def describe(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> Description:
        """x, h_0, the first layer's log coefficients and the scan's outputs, and h_n."""
        with torch.no_grad():
            h_0 = x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
            log_a, log_b = self.log_coefficients(self.layers[0](x))
            out, h_n = self(x, h_0)
        state = ("num_layers", "batch", "hidden_size")
        steps = ("batch", "seq_len", "hidden_size")
        layers = f"{self.num_layers} layer{'s' if self.num_layers > 1 else ''}"
        scan = (
            "every t at once by a log-space parallel scan (Heinsen 2023), "
            "log h_t = a*_t + logcumsumexp(log b_t - a*_t) with a*_t = cumsum log a_t"
        )
        if self.runs_parallel(x.device, x.shape[1]):
            how = f"{scan}; a window of one step runs the recurrence directly"
        else:
            how = (f"one step after another here (scan={self.scan} on {x.device.type}), where an accelerator takes "
                   f"{scan}")
        return Description(
            words=f"{self.formula}; {how}; {layers}, batch-first",
            output="hidden_size",
            output_note="out",
            sizes={"num_layers": self.num_layers, f"{self.gates} x hidden_size": self.gates * self.hidden_size},
            tensors=[
                Named("inputs", x, ("batch", "seq_len", "input_size"), "x as the first layer reads it"),
                Named("h_0", h_0, state, "zeros (log h_0 = -inf joins the scan first)"),
                Named("log a_t", log_a, steps, "layer 1's log coefficients, from x_t alone"),
                Named("log b_t", log_b, steps, "layer 1's log values"),
                Named("out", out, steps, "h_1..h_T of the top layer"),
                Named("h_n", h_n, state, "h_T of every layer: where the next window starts"),
            ],
            parameter_dims={
                name: ((f"{self.gates} x hidden_size", "input_size" if name.startswith("layers.0.") else "hidden_size")
                       if name.endswith("weight") else (f"{self.gates} x hidden_size",))
                for name, _ in self.named_parameters()
            },
        )


class MinGRU(MinRecurrence):
    """minGRU: z_t = sigmoid(W_z x_t + b_z), h~_t = g(W_h x_t + b_h); h_t = (1 - z_t) h_{t-1} + z_t h~_t (model=mingru)."""

    gates = 2  # z, h~
    formula = "gates from x_t only: z_t = sigmoid(W_z x_t), h~_t = g(W_h x_t); h_t = (1 - z_t) h_{t-1} + z_t h~_t"

    def coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_z, k_h = k.chunk(2, dim=-1)  # (B, T, H) each
        z = torch.sigmoid(k_z)
        return 1 - z, z * g(k_h)

    def log_coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_z, k_h = k.chunk(2, dim=-1)
        log_one_minus_z = -F.softplus(k_z)  # log(1 - sigmoid(k)) = log sigmoid(-k)
        log_z = -F.softplus(-k_z)
        return log_one_minus_z, log_z + log_g(k_h)


class MinLSTM(MinRecurrence):
    """minLSTM: f_t, i_t = sigmoid(W_f x_t + b_f), sigmoid(W_i x_t + b_i), normalised to sum 1; h~_t = g(W_h x_t + b_h);
    h_t = f'_t h_{t-1} + i'_t h~_t with f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t) (model=minlstm)."""

    gates = 3  # f, i, h~
    formula = (
        "gates from x_t only: f_t = sigmoid(W_f x_t), i_t = sigmoid(W_i x_t), h~_t = g(W_h x_t); "
        "h_t = f'_t h_{t-1} + i'_t h~_t with f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t)"
    )

    @staticmethod
    def _log_ratio(k_f: torch.Tensor, k_i: torch.Tensor) -> torch.Tensor:
        """d = log i_t - log f_t, so that f'_t = sigmoid(-d) and i'_t = sigmoid(d) (no 0 / 0 where both gates underflow)."""
        return F.softplus(-k_f) - F.softplus(-k_i)  # log sigmoid(k) = -softplus(-k)

    def coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_f, k_i, k_h = k.chunk(3, dim=-1)  # (B, T, H) each
        d = self._log_ratio(k_f, k_i)
        return torch.sigmoid(-d), torch.sigmoid(d) * g(k_h)

    def log_coefficients(self, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k_f, k_i, k_h = k.chunk(3, dim=-1)
        d = self._log_ratio(k_f, k_i)
        return -F.softplus(d), -F.softplus(-d) + log_g(k_h)  # log f'_t, log i'_t + log h~_t
