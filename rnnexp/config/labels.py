"""What a model is called where runs are listed (run names, HParams, summaries), read from its config."""

from __future__ import annotations

from typing import Any, Mapping


def model_label(model: Mapping[str, Any]) -> str:
    """model.name, else the recurrence class's name: the last dotted part of model.recurrence._target_.

    ``model`` is the model section, a DictConfig or a checkpoint's plain dict.
    model=custom leaves the name null, so ``my_rnns.ElmanReLU`` is ``ElmanReLU``.
    """
    if model.get("name"):
        return str(model["name"])
    target = (model.get("recurrence") or {}).get("_target_") or "custom"
    return str(target).rpartition(".")[2]
