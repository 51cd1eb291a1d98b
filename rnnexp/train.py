"""Build the run's objects from the config and train: the one place that does.

Flow: config -> task and vocabulary -> encoder -> model -> optimizer -> loop,
with TensorBoard, a checkpoint and ``metrics.json`` written into ``run_dir``.
Nothing here imports Hydra's entry point, so ``train(cfg, run_dir)`` runs from
tests and scripts with a config composed any way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnexp.checkpoint import CHECKPOINT_NAME, save_checkpoint
from rnnexp.config import validate
from rnnexp.device import resolve_device
from rnnexp.files import write_json
from rnnexp.models import build_model
from rnnexp.tasks import SequencePair, load_task
from rnnexp.tracking import RunTracker

log = logging.getLogger(__name__)

METRICS_NAME = "metrics.json"


@dataclass
class RunResult:
    """What a finished run reports; written as ``metrics.json``."""

    prediction: str
    target: str
    final_loss: float
    accuracy: float  # characters right / characters, of the final prediction
    # First epoch whose prediction equals the target (the last epoch when only
    # the model after its final step gets it right); None if never.
    solved_epoch: Optional[int]
    epochs: int
    seconds: float
    status: str  # "ok", or "diverged": a non-finite loss stopped the run early
    run_dir: str
    losses: list = field(default_factory=list)  # training loss of each epoch


def resolved_config(cfg: DictConfig, model: nn.Module, device: torch.device) -> dict:
    """The config as run: data-derived sizes and the actual device filled in."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["model"]["hidden_size"] = model.hidden_size
    resolved["encoder"]["dim"] = model.encoder.output_size
    resolved["device"] = str(device)
    return resolved


def optimizer_name(target: str) -> str:
    # "torch.optim.AdamW" -> "adamw": the same name as the YAML option.
    return target.rsplit(".", 1)[-1].lower()


def hparams_of(resolved: dict) -> dict:
    """The flat hyperparameters of a run, with the same keys in every run.

    Optimizer-specific keys (betas, momentum, ...) differ between optimizers,
    so only weight_decay, which all of them have, joins the table.
    """
    return {
        "model": resolved["model"]["name"],
        "encoder": resolved["encoder"]["name"],
        "optimizer": optimizer_name(resolved["optimizer"]["_target_"]),
        "task": resolved["task"]["name"],
        "lr": float(resolved["lr"]),
        "epochs": int(resolved["epochs"]),
        "seed": int(resolved["seed"]),
        "device": resolved["device"],
        "model.hidden_size": int(resolved["model"]["hidden_size"]),
        "model.num_layers": int(resolved["model"]["num_layers"]),
        "model.head": bool(resolved["model"]["head"]),
        "model.init_scale": float(resolved["model"]["init_scale"]),
        "encoder.dim": int(resolved["encoder"]["dim"]),
        "optimizer.weight_decay": float(resolved["optimizer"].get("weight_decay", 0.0)),
    }


def char_accuracy(prediction: str, target: str) -> float:
    return sum(p == t for p, t in zip(prediction, target)) / len(target)


def train(cfg: DictConfig, run_dir: str | Path) -> RunResult:
    """Train ``cfg``'s model on its task; write TensorBoard, checkpoint, metrics.json."""
    started = time.perf_counter()
    run_dir = Path(run_dir)
    validate(cfg)
    device = resolve_device(cfg.device)
    data = load_task(cfg.task)

    torch.manual_seed(cfg.seed)  # before the weights are drawn
    model = build_model(cfg, len(data.vocab)).to(device)
    optimizer = instantiate(cfg.optimizer)(model.parameters(), lr=cfg.lr)
    source, target = (t.to(device) for t in data.tensors())  # (1, T) each

    resolved = resolved_config(cfg, model, device)
    tracker = RunTracker(str(run_dir))
    tracker.log_config(OmegaConf.to_yaml(resolved))

    losses: list[float] = []
    solved_epoch: Optional[int] = None
    status = "ok"
    try:
        for epoch in range(1, cfg.epochs + 1):
            optimizer.zero_grad()
            logits, loss = model(source, target)  # (1, T, C), scalar
            if not torch.isfinite(loss):
                # NaN or inf poisons every later step: stop here, and let the sweep
                # record the run as diverged instead of training on garbage.
                status = "diverged"
                log.warning(f"Epoch [{epoch}/{cfg.epochs}] loss = {loss.item()}: not finite, stopping (diverged)")
                break
            loss.backward()
            optimizer.step()

            # As in the notebook: report the prediction of the forward pass that
            # produced this epoch's loss.
            prediction = data.vocab.decode(logits.argmax(dim=-1)[0])
            losses.append(loss.item())
            if solved_epoch is None and prediction == data.target:
                solved_epoch = epoch
            log.info(f"Predicted string: {prediction}, Epoch [{epoch}/{cfg.epochs}] loss = {losses[-1]:.3f}")
            tracker.log_epoch(
                epoch,
                losses[-1],
                char_accuracy(prediction, data.target),
                float(prediction == data.target),
                optimizer.param_groups[0]["lr"],
            )
            tracker.log_prediction(epoch, prediction, data.target)

        final_prediction, final_loss = evaluate(model, source, target, data)
        if solved_epoch is None and final_prediction == data.target:
            solved_epoch = cfg.epochs  # right only after the last epoch's step
        accuracy = char_accuracy(final_prediction, data.target)
        tracker.log_hparams(
            hparams_of(resolved),
            {
                "final/loss": final_loss,
                "final/accuracy_char": accuracy,
                "final/accuracy_seq": float(final_prediction == data.target),
                # Unsolved runs show epochs + 1, so sorting ascending ranks them last.
                "final/solved_epoch": float(solved_epoch if solved_epoch is not None else cfg.epochs + 1),
            },
            step=cfg.epochs,
        )
    finally:
        tracker.close()

    save_checkpoint(run_dir / CHECKPOINT_NAME, model, resolved, data.vocab.characters)
    result = RunResult(
        prediction=final_prediction,
        target=data.target,
        final_loss=final_loss,
        accuracy=accuracy,
        solved_epoch=solved_epoch,
        epochs=cfg.epochs,
        seconds=round(time.perf_counter() - started, 4),
        status=status,
        run_dir=str(run_dir),
        losses=losses,
    )
    write_json(run_dir / METRICS_NAME, asdict(result))
    if status == "diverged":
        solved = f"diverged at epoch {len(losses) + 1}"
    elif solved_epoch is None:
        solved = "not solved"
    elif final_prediction == data.target:
        solved = f"solved at epoch {solved_epoch}"
    else:
        solved = f"solved at epoch {solved_epoch} but lost again by the end"
    log.info(f"Final prediction: {final_prediction} (target {data.target}), {solved}. Run directory: {shown(run_dir)}")
    return result


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter to read and type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@torch.no_grad()
def evaluate(model: nn.Module, source: torch.Tensor, target: torch.Tensor, data: SequencePair) -> tuple[str, float]:
    """The trained model's prediction and loss, without a gradient step."""
    was_training = model.training
    model.eval()
    logits, loss = model(source, target)
    model.train(was_training)
    return data.vocab.decode(logits.argmax(dim=-1)[0]), loss.item()
