"""The model that wraps any recurrence: encoder -> recurrence -> readout -> dropout -> optional linear head, and the loss.

It maps character ids (B, T) to class scores (B, T, C), one per step; or,
for a task of real values, features (B, T, F) to one answer per sequence:
class scores (B, C) or numbers (B, K), read by model.readout
(rnnexp.models.readouts). ``forward(ids, targets=None, lengths=None)``
returns ``(logits, loss)`` so one training loop serves every model. The recurrence is a class named by
``model.recurrence._target_`` (rnnexp.models.recurrence has the contract):
the built-ins of rnnexp.models.builtin_recurrences, or a user's own.

The recurrence starts from its own start (zeros for the built-ins), unless the
caller hands it a state: ``forward(ids, targets, state=state)`` starts there
and returns the state after the last step as well, ``(logits, loss, state)``,
which is where the next window of a stream starts (stateful training,
sampling). ``initial_state(batch)`` is the start to hand for a stream's first window.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

import torch
from torch import nn

from rnnexp.config.labels import model_label
from rnnexp.data.task import ANSWER_KINDS, TAGGING, DataSizes
from rnnexp.errors import UserError
from rnnexp.models.encoders import build_encoder
from rnnexp.models.losses import loss_of, per_step_cross_entropy
from rnnexp.models.readouts import PER_STEP, PerStep, build_readout
from rnnexp.models.recurrence import (
    State,
    build_recurrence,
    detach_state,
    output_size_of,
    probe,
    recurrence_arguments,
    resolve_recurrence,
    takes_lengths,
)

__all__ = ["RecurrentTagger", "State", "StreamStart", "build_model", "check_head", "detach_state"]


class StreamStart:
    """The state a stream's first window starts from: whatever the recurrence starts from when given none.

    Handed as a state, it asks forward for the state after the window too,
    while the recurrence itself gets None (zeros for the built-ins; a user's
    recurrence may start elsewhere, a learned h_0).
    """

    def __repr__(self) -> str:
        return "StreamStart()"


class RecurrentTagger(nn.Module):
    """An encoder in front, any recurrence, a readout and a head (or none) behind, the loss.

    Parameters are drawn in the order encoder (built by the caller), head,
    recurrence: the head needs the recurrence's output_size, so that is read
    from a copy built on the meta device first, which draws no random
    numbers. The recurrence is then probed once (rnnexp.models.recurrence.probe)
    so that a class breaking the contract is refused before training.
    """

    def __init__(
        self,
        encoder: nn.Module,
        recurrence: type,
        hidden_size: int,
        num_classes: int,
        head: bool,
        *,
        arguments: Optional[Mapping[str, Any]] = None,
        dropout: float = 0.0,
        init_scale: float = 1.0,
        readout: Optional[nn.Module] = None,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = per_step_cross_entropy,
    ):
        """``num_classes``: the head's outputs (classes, or a regress task's numbers); ``readout``: None, every step."""
        super().__init__()
        arguments = dict(arguments or {})
        input_size = encoder.output_size
        self.encoder = encoder
        self.hidden_size = hidden_size
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        self.output_size = _output_size(recurrence, input_size, hidden_size, arguments)
        self.readout = readout if readout is not None else PerStep()
        self.loss = loss
        # Without a head the recurrence's output h_t is read directly as the class
        # scores, as in the notebook's first two models (hidden_size = classes).
        self.head = nn.Linear(self.readout.width(self.output_size), num_classes) if head else nn.Identity()
        self.recurrence = build_recurrence(recurrence, input_size, hidden_size, arguments)
        assert output_size_of(self.recurrence, hidden_size) == self.output_size, "the same on the meta device"
        self.scale_init(self.recurrence, init_scale)
        # Only a forward that names `lengths` gets them (it then handles padding itself).
        self.pass_lengths = takes_lengths(self.recurrence)
        probe(self.recurrence, input_size, self.output_size)

    def initial_state(self, batch: int) -> StreamStart:
        """What a stream of ``batch`` sequences starts from: the recurrence's own start."""
        return StreamStart()

    def recur_from(self, x: torch.Tensor, lengths: Optional[torch.Tensor], state: Any) -> tuple[torch.Tensor, State]:
        """(B, T, input) and a state (None: the recurrence's start) -> (B, T, output_size) and the state after step T."""
        if self.pass_lengths:
            return self.recurrence(x, state, lengths=lengths)
        return self.recurrence(x, state)

    def recur(self, x: torch.Tensor, lengths: Optional[torch.Tensor]) -> torch.Tensor:
        """The recurrence from its start (what model.cuda_graph replays): (B, T, input) -> (B, T, output_size)."""
        return self.recur_from(x, lengths, None)[0]

    def forward(
        self, ids: torch.Tensor, targets: Optional[torch.Tensor] = None, lengths: Optional[torch.Tensor] = None,
        state: Any = None,
    ):
        """``(logits, loss)`` from the start; with a ``state``, ``(logits, loss, state after the last step)`` from it."""
        x = self.encoder(ids)  # (B, T, input)
        if state is None:
            h = self.recur(x, lengths)  # (B, T, output_size)
        else:
            h, state = self.recur_from(x, lengths, None if isinstance(state, StreamStart) else state)
        h = self.readout(h, lengths)  # (B, T, output_size) per step; (B, width) for one answer a sequence
        logits = self.head(self.dropout(h))  # (B, T, C), or (B, C) or (B, K)
        # The kind's loss (rnnexp.models.losses): cross-entropy over every step, or one answer's.
        loss = self.loss(logits, targets) if targets is not None else None
        return (logits, loss) if state is None else (logits, loss, state)

    @staticmethod
    def scale_init(recurrent: nn.Module, init_scale: float) -> None:
        """Shrink (or grow) PyTorch's default init of the recurrent weights and biases."""
        if init_scale != 1.0:
            with torch.no_grad():
                for parameter in recurrent.parameters():
                    parameter.mul_(init_scale)


def _output_size(recurrence: type, input_size: int, hidden_size: int, arguments: dict[str, Any]) -> int:
    """The recurrence's output width, read from a copy that draws nothing from torch's random stream.

    On the meta device (no memory, no numbers drawn); a constructor that
    cannot run there is built for real under a forked random state, put back after.
    """
    try:
        with torch.device("meta"):
            shell = recurrence(input_size, hidden_size, **arguments)
    except Exception:
        with torch.random.fork_rng(devices=[]):
            shell = build_recurrence(recurrence, input_size, hidden_size, arguments)
    return output_size_of(shell, hidden_size)


def hidden_size_of(model_cfg: Mapping[str, Any], num_classes: int) -> int:
    """The width of h_t: model.hidden_size, or the number of classes where it is null (its field says why)."""
    return model_cfg["hidden_size"] if model_cfg["hidden_size"] is not None else num_classes


def check_head(model_cfg: Mapping[str, Any], num_classes: int, output_size: Optional[int] = None) -> None:
    """Without a head h_t is read as the class scores: then the recurrence's outputs must be the classes wide.

    ``output_size``: the width the head would read, the readout's (model.readout=all: T x h_t).

    The other model checks need only the config (rnnexp.config.checks.validate) or
    the class (rnnexp.models.recurrence.recurrence_arguments); this one needs the
    number of classes, which comes from the data.
    """
    if model_cfg["head"]:
        return
    hidden_size = hidden_size_of(model_cfg, num_classes)
    if hidden_size != num_classes:
        raise UserError(
            f"model.hidden_size={hidden_size}: without a head h_t is read as the class scores, so it must "
            f"equal the number of classes ({num_classes}); set model.head=true or model.hidden_size={num_classes}"
        )
    if output_size is not None and output_size != num_classes:
        raise UserError(
            f"model.head=false: model={model_label(model_cfg)}'s outputs are {output_size} wide, and without a head "
            f"they are read as the scores of the {num_classes} classes; set model.head=true"
        )


def readout_of(model_cfg: Mapping[str, Any], kind: str) -> str:
    """model.readout, or what its null means for ``kind``: every step for characters, the last state for one answer."""
    chosen = model_cfg.get("readout")
    if kind not in ANSWER_KINDS:
        return PER_STEP
    return chosen if chosen is not None else "last"


def build_model(cfg: Mapping[str, Any], sizes: DataSizes | int, *, trainable: bool = True) -> RecurrentTagger:
    """Build ``cfg``'s encoder and model, sized from the data (``sizes``; an int: a vocabulary of that size).

    ``cfg`` is the run's config (a DictConfig, or the plain dict a checkpoint
    holds). For characters one vocabulary serves input and output, so
    classes = vocab_size. The recurrence class is resolved and checked
    before any weight is drawn.
    ``trainable=False`` builds the model even where :func:`check_head` refuses
    to train it: its h_t are then no class scores, but their shapes are what
    ``python -m rnnexp.shapes`` shows.
    """
    if isinstance(sizes, int):
        sizes = DataSizes.of_vocabulary(sizes, TAGGING)
    model_cfg, encoder_cfg = cfg["model"], cfg["encoder"]
    recurrence = resolve_recurrence(model_cfg)
    arguments = recurrence_arguments(recurrence, model_cfg)
    num_classes = sizes.outputs
    hidden_size = hidden_size_of(model_cfg, num_classes)
    readout = build_readout(readout_of(model_cfg, sizes.kind), bool(model_cfg.get("bidirectional")), sizes.length)
    if trainable:
        check_head(model_cfg, num_classes)
    encoder = build_encoder(encoder_cfg["name"], sizes, encoder_cfg["dim"])
    model = RecurrentTagger(
        encoder,
        recurrence,
        hidden_size,
        num_classes,
        model_cfg["head"],
        arguments=arguments,
        dropout=model_cfg["dropout"],
        init_scale=model_cfg["init_scale"],
        readout=readout,
        loss=loss_of(sizes.kind),
    )
    if trainable:
        check_head(model_cfg, num_classes, model.readout.width(model.output_size))
    return model
