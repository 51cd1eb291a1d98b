"""The model that wraps any recurrence: encoder -> recurrence -> dropout -> optional linear head, and the loss.

It maps character ids (B, T) to class scores (B, T, C), and
``forward(ids, targets=None, lengths=None)`` returns ``(logits, loss)`` so one
training loop serves every model. The recurrence is a class named by
``model.recurrence._target_`` (rnnexp.models.recurrence has the contract):
the built-ins of rnnexp.models.builtin_recurrences, or a user's own.

The recurrence starts from its own start (zeros for the built-ins), unless the
caller hands it a state: ``forward(ids, targets, state=state)`` starts there
and returns the state after the last step as well, ``(logits, loss, state)``,
which is where the next window of a stream starts (stateful training,
sampling). ``initial_state(batch)`` is the start to hand for a stream's first window.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rnnexp.config.labels import model_label
from rnnexp.data.sequences import IGNORE
from rnnexp.errors import UserError
from rnnexp.models.encoders import build_encoder
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
    """An encoder in front, any recurrence, a head (or none) behind, the loss.

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
    ):
        super().__init__()
        arguments = dict(arguments or {})
        input_size = encoder.output_size
        self.encoder = encoder
        self.hidden_size = hidden_size
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout)
        self.output_size = _output_size(recurrence, input_size, hidden_size, arguments)
        # Without a head the recurrence's output h_t is read directly as the class
        # scores, as in the notebook's first two models (hidden_size = classes).
        self.head = nn.Linear(self.output_size, num_classes) if head else nn.Identity()
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


def build_model(cfg: Mapping[str, Any], vocab_size: int, *, trainable: bool = True) -> RecurrentTagger:
    """Build ``cfg``'s encoder and model, sized from the vocabulary.

    ``cfg`` is the run's config (a DictConfig, or the plain dict a checkpoint
    holds). One vocabulary serves input and output, so classes = vocab_size.
    The recurrence class is resolved and checked before any weight is drawn.
    ``trainable=False`` builds the model even where :func:`check_head` refuses
    to train it: its h_t are then no class scores, but their shapes are what
    ``python -m rnnexp.shapes`` shows.
    """
    model_cfg, encoder_cfg = cfg["model"], cfg["encoder"]
    recurrence = resolve_recurrence(model_cfg)
    arguments = recurrence_arguments(recurrence, model_cfg)
    num_classes = vocab_size
    hidden_size = hidden_size_of(model_cfg, num_classes)
    if trainable:
        check_head(model_cfg, num_classes)
    encoder = build_encoder(encoder_cfg["name"], vocab_size, encoder_cfg["dim"])
    model = RecurrentTagger(
        encoder,
        recurrence,
        hidden_size,
        num_classes,
        model_cfg["head"],
        arguments=arguments,
        dropout=model_cfg["dropout"],
        init_scale=model_cfg["init_scale"],
    )
    if trainable:
        check_head(model_cfg, num_classes, model.output_size)
    return model
