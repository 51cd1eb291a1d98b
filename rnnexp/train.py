"""Build the run's objects from the config and train: the one place that does.

Flow: config -> task data and vocabulary -> encoder -> model -> optimizer and
scheduler -> epochs of mini-batches, with TensorBoard, checkpoints and
``metrics.json`` written into ``run_dir``. Nothing here imports Hydra's entry
point, so ``train(cfg, run_dir)`` runs from tests and scripts with a config
composed any way.
"""

from __future__ import annotations

import logging
import math
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnexp.checkpoint import LAST, CheckpointWriter, Resume, load_weights, save_checkpoint
from rnnexp.config import validate
from rnnexp.data import IGNORE, Batch, SequenceSet
from rnnexp.compute import place
from rnnexp.errors import UserError
from rnnexp.files import write_json
from rnnexp.models import RecurrentTagger, build_model
from rnnexp.interrupt import StopRequest
from rnnexp.progress import ProgressBar
from rnnexp.sampling import sample_text
from rnnexp.tasks import TaskData, load_task, unigram_entropy
from rnnexp.tracking import RunTracker

log = logging.getLogger(__name__)

METRICS_NAME = "metrics.json"


@dataclass
class RunResult:
    """What a finished run reports; written as ``metrics.json``."""

    prediction: str  # the trained model's output for the first evaluation sequence
    target: str
    final_loss: Optional[float]  # on the evaluation set (validation if any); None if it diverged
    accuracy: float  # characters right / characters, on the evaluation set
    solved_epoch: Optional[int]  # first epoch whose evaluation sequences were all right
    epochs: int  # epochs trained (fewer than configured after early stopping or divergence)
    seconds: float
    status: str  # ok; diverged (a non-finite loss stopped it); interrupted (SIGINT/SIGTERM)
    run_dir: str
    losses: list = field(default_factory=list)  # training loss of each epoch
    val_losses: list = field(default_factory=list)  # validation loss of each epoch (empty without a split)
    best_epoch: Optional[int] = None  # epoch of best.pt
    stopped_early: bool = False
    signal: Optional[str] = None  # SIGINT or SIGTERM when the status is interrupted


@dataclass
class EpochStats:
    """Loss and accuracies summed over one pass, plus the first sequence's prediction."""

    loss_sum: float = 0.0  # sum over sequences of their mean per-character loss x characters
    chars: int = 0
    correct_chars: int = 0
    sequences: int = 0
    correct_sequences: int = 0
    steps: int = 0  # optimizer steps taken in this pass
    # Predictions for the set's first SHOWN sequences, by position in the set.
    predictions: dict = field(default_factory=dict)
    finite: bool = True

    SHOWN = 4

    @property
    def first_prediction(self) -> Optional[str]:
        return self.predictions.get(0)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.chars, 1)

    @property
    def char_accuracy(self) -> float:
        return self.correct_chars / max(self.chars, 1)

    @property
    def seq_accuracy(self) -> float:
        return self.correct_sequences / max(self.sequences, 1)

    def add(self, batch: Batch, logits: torch.Tensor, loss: torch.Tensor, data: TaskData) -> None:
        mask = batch.target != IGNORE  # (B, T): real characters, not padding
        predicted = logits.argmax(dim=-1)  # (B, T)
        right = (predicted == batch.target) & mask
        chars = int(mask.sum())
        self.loss_sum += float(loss) * chars
        self.chars += chars
        self.correct_chars += int(right.sum())
        self.sequences += len(batch.index)
        self.correct_sequences += int((right | ~mask).all(dim=1).sum())
        for row in (batch.index < self.SHOWN).nonzero().flatten().tolist():
            self.predictions[int(batch.index[row])] = data.vocab.decode(predicted[row][mask[row]])


def optimizer_name(target: str) -> str:
    # "torch.optim.AdamW" -> "adamw": the same name as the YAML option.
    return target.rsplit(".", 1)[-1].lower()


def resolved_config(cfg: DictConfig, model: RecurrentTagger, device: torch.device) -> dict:
    """The config as run: data-derived sizes and the actual device filled in."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["model"]["hidden_size"] = model.hidden_size
    resolved["encoder"]["dim"] = model.encoder.output_size
    resolved["device"] = str(device)
    resolved["resume"] = None  # a checkpoint's config describes the run itself
    return resolved


def hparams_of(resolved: dict) -> dict:
    """The flat hyperparameters of a run, with the same keys in every run.

    Optimizer-specific keys (betas, momentum, ...) differ between optimizers,
    so only weight_decay, which all of them have, joins the table.
    """
    scheduler = resolved["scheduler"]["_target_"]
    return {
        "model": resolved["model"]["name"],
        "encoder": resolved["encoder"]["name"],
        "optimizer": optimizer_name(resolved["optimizer"]["_target_"]),
        "scheduler": optimizer_name(scheduler) if scheduler else "none",
        "task": resolved["task"]["name"],
        "lr": float(resolved["lr"]),
        "epochs": int(resolved["epochs"]),
        "batch_size": int(resolved["batch_size"]),
        "seed": int(resolved["seed"]),
        "device": resolved["device"],
        "clip": float(resolved["clip"] or 0.0),
        "model.hidden_size": int(resolved["model"]["hidden_size"]),
        "model.num_layers": int(resolved["model"]["num_layers"]),
        "model.head": bool(resolved["model"]["head"]),
        "model.bidirectional": bool(resolved["model"]["bidirectional"]),
        "model.dropout": float(resolved["model"]["dropout"]),
        "model.init_scale": float(resolved["model"]["init_scale"]),
        "encoder.dim": int(resolved["encoder"]["dim"]),
        "optimizer.weight_decay": float(resolved["optimizer"].get("weight_decay", 0.0)),
    }


def _torch_class(key: str, target: str, base: tuple[type, ...], kind: str, example: str) -> None:
    """Refuse a ``_target_`` that is not a subclass of ``base``: instantiate would call anything."""
    from hydra._internal.utils import _locate

    try:
        found = _locate(target)
    except ImportError:
        found = None
    if not (isinstance(found, type) and issubclass(found, base)):
        raise UserError(f"{key}._target_={target}: not a subclass of {kind}; for example {key}._target_={example}")


def build_optimizer(cfg: DictConfig, model: nn.Module) -> torch.optim.Optimizer:
    _torch_class("optimizer", cfg.optimizer._target_, (torch.optim.Optimizer,), "torch.optim.Optimizer", "torch.optim.Adam")
    return instantiate(cfg.optimizer)(model.parameters(), lr=cfg.lr)


def build_scheduler(cfg: DictConfig, optimizer: torch.optim.Optimizer):
    if not cfg.scheduler._target_:
        return None
    schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    _torch_class("scheduler", cfg.scheduler._target_, schedulers, "a torch.optim.lr_scheduler class", "torch.optim.lr_scheduler.StepLR")
    return instantiate(cfg.scheduler)(optimizer)


def run_epoch(
    model: RecurrentTagger,
    data: TaskData,
    optimizer: torch.optim.Optimizer,
    cfg: DictConfig,
    device: torch.device,
    shuffle: torch.Generator,
    progress: ProgressBar,
    epoch: int,
    stop: StopRequest,
    resume_from: Optional[EpochStats] = None,
) -> EpochStats:
    """One pass over the training set in shuffled mini-batches, one step each.

    Returns early, after the current step, when ``stop`` is requested.
    ``resume_from`` is the partial pass of an interrupted run: its steps are
    skipped (the batch order is drawn again from the same generator state).
    """
    model.train()
    stats = resume_from or EpochStats()
    progress.start_epoch()
    for step, batch in enumerate(data.train.batches(cfg.batch_size, shuffle), start=1):
        if step <= stats.steps:
            continue
        batch = batch.to(device)
        optimizer.zero_grad()
        logits, loss = model(batch.source, batch.target, batch.lengths)  # (B, T, C), scalar
        if not torch.isfinite(loss):
            stats.finite = False  # stop before the step, so the weights stay the last finite ones
            return stats
        loss.backward()
        if cfg.clip is not None:
            # Clipping the gradient norm keeps one steep step from undoing the
            # training: the exploding-gradient problem of recurrent nets.
            nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        optimizer.step()
        # As in the notebook, the epoch reports the forward passes that
        # produced its losses (before each step).
        chars_before = stats.chars
        stats.add(batch, logits.detach(), loss.detach(), data)
        stats.steps = step
        progress.step(epoch, step, stats.loss, stats.chars - chars_before)  # counted by add: no second pass over the batch
        if stop.requested:
            break
    progress.clear()
    return stats


@torch.no_grad()
def evaluate(model: RecurrentTagger, data: TaskData, sequences: SequenceSet, batch_size: int, device: torch.device) -> EpochStats:
    """Loss and accuracies on ``sequences`` without a gradient step (dropout off)."""
    was_training = model.training
    model.eval()
    stats = EpochStats()
    for batch in sequences.batches(batch_size):
        batch = batch.to(device)
        logits, loss = model(batch.source, batch.target, batch.lengths)
        stats.add(batch, logits, loss, data)
        stats.finite &= bool(torch.isfinite(loss))
    model.train(was_training)
    return stats


def train(cfg: DictConfig, run_dir: str | Path, resume: Optional[Resume] = None, show_progress: bool = False) -> RunResult:
    """Train ``cfg``'s model on its task; write TensorBoard, checkpoints, metrics.json.

    With ``resume``, ``cfg`` is the checkpoint's config (see
    rnnexp.checkpoint) and training continues after its last epoch, with the
    same random state, so the losses match a run that never stopped.
    """
    started = time.perf_counter()
    run_dir = Path(run_dir)
    validate(cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = load_task(cfg.task)

    torch.manual_seed(cfg.seed)  # before the weights are drawn
    shuffle = torch.Generator().manual_seed(cfg.seed)  # batch order, apart from dropout's draws
    model = build_model(cfg, len(data.vocab))
    device = place(cfg, model, data)  # threads and device from the model's size; moves the model there
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer)
    prime = _check_prime(cfg, data)

    history: dict[str, Any] = {"losses": [], "val_losses": [], "solved_epoch": None, "best_loss": math.inf,
                               "best_epoch": None, "epochs_since_best": 0}
    first_epoch, partial = 1, None
    if resume is not None:
        history, first_epoch, partial = _restore(resume, model, optimizer, scheduler, shuffle, run_dir)

    resolved = resolved_config(cfg, model, device)
    tracker = RunTracker(str(run_dir))
    if resume is None:
        tracker.log_config(OmegaConf.to_yaml(resolved))
    if data.language_model:
        baseline = unigram_entropy(data.train, len(data.vocab))
        log.info(f"Unigram baseline: {baseline:.3f} nats per character (the loss of knowing only character frequencies)")

    progress = ProgressBar(show_progress, cfg.epochs, math.ceil(len(data.train) / cfg.batch_size))
    status, stopped_early, epoch, completed = "ok", False, first_epoch - 1, first_epoch - 1
    last_eval: Optional[EpochStats] = None
    val_stats: Optional[EpochStats] = None
    checkpoints = CheckpointWriter(run_dir)
    # Until the run is wound down, a first SIGINT/SIGTERM asks it to stop after the current step.
    with StopRequest() as stop:
        try:
            for epoch in range(first_epoch, cfg.epochs + 1):
                resume_from = None
                if partial is not None and partial["epoch"] == epoch:
                    shuffle.set_state(partial["shuffle"])  # to draw the same batch order again
                    resume_from = EpochStats(**partial["stats"])
                epoch_shuffle = shuffle.get_state()
                if stop.requested:
                    status = "interrupted"  # between epochs: last.pt already holds this point
                    break
                train_stats = run_epoch(model, data, optimizer, cfg, device, shuffle, progress, epoch, stop, resume_from)
                if stop.requested and train_stats.finite:
                    status = "interrupted"
                    state = _checkpoint_state(model, optimizer, scheduler, resolved, data, completed, shuffle, history)
                    state["partial"] = {"epoch": epoch, "steps": train_stats.steps, "shuffle": epoch_shuffle, "stats": asdict(train_stats)}
                    checkpoints.flush()  # the epochs before, so they cannot land over this one
                    save_checkpoint(run_dir / LAST, state)
                    break
                if not train_stats.finite:
                    progress.clear()
                    status = "diverged"
                    log.warning(f"Epoch [{epoch}/{cfg.epochs}]: the loss is not finite; stopping (status diverged)")
                    break
                val_stats = evaluate(model, data, data.val, cfg.batch_size, device) if data.val is not None else None
                eval_stats = last_eval = val_stats or train_stats
                monitored = val_stats.loss if val_stats else train_stats.loss
                history["losses"].append(train_stats.loss)
                if val_stats:
                    history["val_losses"].append(val_stats.loss)
                if history["solved_epoch"] is None and not data.language_model and eval_stats.seq_accuracy == 1.0:
                    history["solved_epoch"] = epoch

                lr = optimizer.param_groups[0]["lr"]
                if scheduler is not None:
                    # ReduceLROnPlateau watches the monitored loss; the others count epochs.
                    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                        scheduler.step(monitored)
                    else:
                        scheduler.step()

                _log_epoch(epoch, cfg, data, train_stats, val_stats, eval_stats)
                _record_epoch(tracker, epoch, lr, train_stats, val_stats, eval_stats, model, data, cfg, prime)

                improved = monitored < history["best_loss"]
                if improved:
                    history.update(best_loss=monitored, best_epoch=epoch, epochs_since_best=0)
                else:
                    history["epochs_since_best"] += 1
                checkpoints.epoch_end(_checkpoint_state(model, optimizer, scheduler, resolved, data, epoch, shuffle, history), improved)
                completed = epoch
                if cfg.patience is not None and val_stats and history["epochs_since_best"] >= cfg.patience:
                    stopped_early = True
                    log.info(f"Early stop: no better validation loss for {cfg.patience} epochs (best at epoch {history['best_epoch']})")
                    break

            if status == "interrupted":
                # Wind down fast: the run is not over, resume= will finish it.
                final, final_loss = last_eval or EpochStats(), None
                log.warning(
                    f"Interrupted in epoch {epoch}; saved {shown(run_dir / LAST)}. "
                    f"Continue with: python -m rnnexp resume={shown(run_dir)}"
                )
            else:
                final, final_loss = _finish(model, data, cfg, device, history, status, epoch, resolved, tracker, val_stats)
        finally:
            checkpoints.flush()  # whatever stopped the run: the states still in memory reach the disk
            progress.clear()
            tracker.close()

    result = RunResult(
        prediction=final.first_prediction or "",
        target=data.vocab.decode(data.eval_set.targets[0]),
        final_loss=final_loss,
        accuracy=final.char_accuracy,
        solved_epoch=history["solved_epoch"],
        epochs=completed if status == "interrupted" else epoch,
        seconds=round(time.perf_counter() - started, 4),
        status=status,
        run_dir=str(run_dir),
        losses=history["losses"],
        val_losses=history["val_losses"],
        best_epoch=history["best_epoch"],
        stopped_early=stopped_early,
        signal=signal.Signals(stop.signal).name if stop.requested else None,
    )
    write_json(run_dir / METRICS_NAME, asdict(result))
    log.info(_summary_line(result, data))
    return result


def _finish(model, data, cfg, device, history, status, epoch, resolved, tracker, val_stats) -> tuple[EpochStats, Optional[float]]:
    """Evaluate the trained model and write the run's hparams session."""
    # The last validation pass already saw the final weights (in eval mode, so
    # the same numbers): reuse it rather than run it again.
    reuse = val_stats is not None and status == "ok"
    final = val_stats if reuse else evaluate(model, data, data.eval_set, cfg.batch_size, device)
    if history["solved_epoch"] is None and not data.language_model and final.seq_accuracy == 1.0 and status == "ok":
        history["solved_epoch"] = epoch  # right only after the last epoch's step
    final_loss = final.loss if final.finite and status == "ok" else None
    tracker.log_hparams(
        hparams_of(resolved),
        {
            "final/loss": final_loss if final_loss is not None else math.nan,
            "final/accuracy_char": final.char_accuracy,
            "final/accuracy_seq": final.seq_accuracy,
            # Unsolved runs show epochs + 1, so sorting ascending ranks them last.
            "final/solved_epoch": float(history["solved_epoch"] or cfg.epochs + 1),
        },
        step=epoch,
    )
    return final, final_loss


# --------------------------------------------------------------------------- helpers
def _restore(resume: Resume, model, optimizer, scheduler, shuffle, run_dir: Path) -> tuple[dict, int, Optional[dict]]:
    """Put a checkpoint's weights, optimizer, scheduler and random states back.

    Returns the loss history, the first epoch still to train, and the partial
    epoch a signal cut short (None when it stopped between epochs).
    """
    state = resume.state
    load_weights(model, state, resume.source_dir / LAST)
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    shuffle.set_state(state["rng"]["shuffle"])
    _carry_over_events(resume.source_dir, run_dir)
    log.info(f"Resuming {resume.source_dir} after epoch {state['epoch']}")
    return state["history"], state["epoch"] + 1, state.get("partial")


def _record_epoch(tracker, epoch, lr, train_stats, val_stats, eval_stats, model, data, cfg, prime) -> None:
    """An epoch's curves, and its prediction table (or, for text, now and then a sample)."""
    tracker.log_epoch(epoch, train_stats.loss, train_stats.char_accuracy, train_stats.seq_accuracy, lr)
    if val_stats:
        tracker.log_validation(epoch, val_stats.loss, val_stats.char_accuracy, val_stats.seq_accuracy)
    if not data.language_model:
        tracker.log_predictions(epoch, _prediction_rows(data, eval_stats))
    elif prime is not None and cfg.task.sample_every and epoch % cfg.task.sample_every == 0:
        _log_sample(model, data, cfg, prime, epoch, tracker)


def _check_prime(cfg: DictConfig, data: TaskData) -> Optional[str]:
    if not data.language_model:
        return None
    missing = data.vocab.missing(cfg.task.prime)
    if missing:
        raise UserError(
            f"task.prime={cfg.task.prime!r}: characters not in the text's vocabulary: {''.join(missing)!r}; "
            "choose a prime made of characters that occur in the text"
        )
    if not cfg.task.temperature > 0:
        raise UserError(f"task.temperature={cfg.task.temperature}: must be a number > 0")
    return cfg.task.prime


def _log_epoch(epoch: int, cfg: DictConfig, data: TaskData, train: EpochStats, val: Optional[EpochStats], shown: EpochStats) -> None:
    line = f"Epoch [{epoch}/{cfg.epochs}] loss = {train.loss:.3f}"
    if not data.language_model:
        line = f"Predicted string: {shown.first_prediction}, {line}"  # the notebook's line
    if val is not None:
        line += f", val loss = {val.loss:.3f}, val accuracy = {val.char_accuracy:.3f}"
    log.info(line)


def _prediction_rows(data: TaskData, shown: EpochStats) -> list[tuple[str, str, str]]:
    """(source, prediction, target) of the first evaluation sequences, for TensorBoard."""
    sequences = data.eval_set
    return [
        (data.vocab.decode(sequences.sources[i]), prediction, data.vocab.decode(sequences.targets[i]))
        for i, prediction in sorted(shown.predictions.items())
    ]


def _log_sample(model: RecurrentTagger, data: TaskData, cfg: DictConfig, prime: str, epoch: int, tracker: RunTracker) -> None:
    # Seeded per epoch, apart from the training's random state.
    generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    text = sample_text(model, data.vocab, prime, cfg.task.sample_length, cfg.task.temperature, cfg.task.window, generator)
    tracker.log_sample(epoch, text)
    log.info(f"Sample after epoch {epoch} (temperature {cfg.task.temperature}):\n{text}")


def _checkpoint_state(model, optimizer, scheduler, resolved, data, epoch, shuffle, history) -> dict[str, Any]:
    return {
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": resolved,
        "vocabulary": data.vocab.characters,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "rng": {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state()},
        "history": dict(history),
    }


def _carry_over_events(source_dir: Path, run_dir: Path) -> None:
    """Copy the interrupted run's event files, so the resumed run's curves start at epoch 1."""
    for events in sorted(source_dir.glob("events.out.tfevents.*")):
        if source_dir.resolve() != run_dir.resolve():
            shutil.copy2(events, run_dir / events.name)


def _summary_line(result: RunResult, data: TaskData) -> str:
    where = f"Run directory: {shown(Path(result.run_dir))}"
    if result.status == "interrupted":
        return f"Interrupted ({result.signal}) after {result.epochs} complete epochs. {where}"
    if result.status == "diverged":
        return f"Diverged at epoch {result.epochs}: the loss became non-finite (try a lower lr or clip=1.0). {where}"
    if data.language_model:
        return f"Final validation loss: {result.final_loss:.3f}, character accuracy {result.accuracy:.3f}. {where}"
    solved = result.solved_epoch
    if solved is None:
        verdict = "not solved"
    elif result.prediction == result.target:
        verdict = f"solved at epoch {solved}"
    else:
        verdict = f"solved at epoch {solved} but lost again by the end"
    return f"Final prediction: {result.prediction} (target {result.target}), {verdict}. {where}"


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter to read and type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
