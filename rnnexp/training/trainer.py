"""Train one run: the config in, TensorBoard records, checkpoints and ``metrics.json`` out.

:func:`train` is the loop a reader opens first; :class:`Trainer` owns the
run's objects (data, model, optimizer, writers, history) and the steps of an
epoch. Nothing here imports Hydra's entry point, so ``train(cfg, run_dir)``
runs from tests and scripts. ``cfg`` is checked before it gets here, once:
rnnexp.config.pipeline.load_config returns such a config, and the command
line validates each job's (rnnexp.cli.job).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnexp.config.checks import check_data_kind
from rnnexp.config.command_words import typed_override
from rnnexp.data.custom import write_record
from rnnexp.data.loading import load_task
from rnnexp.data.sequences import Batch, SequenceSet, Streams
from rnnexp.errors import UserError
from rnnexp.interrupt import Interrupted, StopRequest
from rnnexp.models.sampling import eval_mode
from rnnexp.data.task import ANSWER_KINDS
from rnnexp.models.tagger import RecurrentTagger, State, build_model, detach_state, readout_of
from rnnexp.results import History, RunResult, Status
from rnnexp.tracking.events import copy_events
from rnnexp.tracking.graph import graph_example
from rnnexp.tracking.hparams import hparams_of, overrides_of
from rnnexp.tracking.summaries import final_metrics
from rnnexp.tracking.writer import RunTracker
from rnnexp.training.checkpoint import LAST, CheckpointWriter, Resume, load_weights, save_checkpoint
from rnnexp.training.device import visible_gpus
from rnnexp.training.optimizers import build_optimizer, build_scheduler, replan_cosine
from rnnexp.training.placement import place
from rnnexp.training.progress import ProgressBar
from rnnexp.training.stats import EpochStats
from rnnexp.training.task_kinds import TaskKind, task_kind

log = logging.getLogger(__name__)

# Called after each finished epoch with the epoch's number, its monitored loss and accuracy
# (validation if the task has a split, else that epoch's training pass); True stops the run
# there, with status pruned. A search's job passes one that reports to its trial
# (rnnexp.search.trial_report): the trainer knows nothing of what listens.
EpochHook = Callable[[int, float, float], bool]


def train(
    cfg: DictConfig, run_dir: str | Path, resume: Optional[Resume] = None, show_progress: bool = False,
    stop: Optional[StopRequest] = None, after_epoch: Optional[EpochHook] = None,
) -> RunResult:
    """Train ``cfg``'s model on its task; write TensorBoard, checkpoints, metrics.json into ``run_dir``.

    With ``resume``, ``cfg`` is the checkpoint's config (see rnnexp.training.checkpoint)
    and training continues after its last epoch with the same random state, so
    the losses match a run that never stopped.

    ``stop`` is the caller's StopRequest, already listening through the
    caller's own start-up (the command line's); without one, train() listens
    from its start. A first signal during training stops the run after the
    current step, with a checkpoint to resume from. One that arrives before the
    first step, and any second signal, raise Interrupted once metrics.json
    says interrupted.

    ``after_epoch`` hears each epoch's monitored loss and accuracy, and may
    stop the run there (status pruned; its final loss is the loss it heard last).
    """
    with StopRequest() if stop is None else contextlib.nullcontext(stop) as stop:
        started = time.perf_counter()
        trainer = Trainer(cfg, run_dir, show_progress, saved_run=resume.source_dir if resume is not None else None)
        if resume is not None:
            trainer.restore(resume)
        with trainer.session(stop, started, resumed=resume is not None):
            status = train_epochs(trainer, stop, after_epoch)
            final = trainer.finish(status)
    result = trainer.result(status, final, stop.signal_name, time.perf_counter() - started)
    result.write(trainer.run_dir)
    log.info(summary_line(result, trainer.kind, trainer.divergence))
    return result


def train_epochs(trainer: Trainer, stop: StopRequest, after_epoch: Optional[EpochHook] = None) -> Status:
    """The epochs still to train, one optimizer step per batch; returns how they ended."""
    for epoch in range(trainer.history.epochs + 1, trainer.cfg.epochs + 1):
        if stop.requested:
            return Status.INTERRUPTED  # between epochs: last.pt already holds this point
        stats = trainer.train_epoch(epoch, stop)
        if not stats.finite or trainer.exploded(epoch, stats):
            return Status.DIVERGED  # last.pt keeps the epoch before
        if stop.requested:
            trainer.save_partial_epoch(epoch, stats)
            return Status.INTERRUPTED
        stop_early = trainer.end_epoch(epoch, stats)
        # The hook hears every epoch, the last one too (a search's curves end where the run
        # ends); a stop it asks for once no epoch is left changes nothing.
        monitored = trainer.last_val or stats  # the epoch's evaluated set, as its loss is monitored
        pruned = after_epoch is not None and after_epoch(epoch, trainer.history.monitored_loss, monitored.char_accuracy)
        if stop_early:
            break  # early stop: the validation loss stopped improving
        if pruned and epoch < trainer.cfg.epochs:
            return Status.PRUNED  # last.pt holds this epoch
    return Status.OK


class Trainer:
    """One run's objects and the steps of its loop; :func:`train` drives them.

    Built ready to train (data, model on its device, optimizer, scheduler);
    then optionally :meth:`restore`, and inside :meth:`session` (which opens
    the records and closes them however the block ends) per epoch
    :meth:`train_epoch` and :meth:`end_epoch`, and at the end :meth:`finish`;
    after it, :meth:`result`.
    """

    def __init__(
        self, cfg: DictConfig, run_dir: str | Path, show_progress: bool = False, saved_run: Optional[Path] = None
    ):
        """``saved_run``: the directory of the run being resumed, whose kept data a task=custom run reads."""
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.data = load_task(cfg.task, saved_run)
        check_data_kind(cfg, self.data.kind)  # a user's callable told its kind only now
        self._check_stateful()
        self.kind: TaskKind = task_kind(cfg, self.data)

        torch.manual_seed(cfg.seed)  # before the weights are drawn
        self.shuffle = torch.Generator().manual_seed(cfg.seed)  # batch order, apart from dropout's draws
        self.model = build_model(cfg, self.data.sizes)
        self.kind.start()  # its lines once the model is built: a model the data refuses (readout=all) prints nothing
        self.device = place(cfg, self.model, self.data)  # threads and device from the model's size; moves the model
        self.optimizer = build_optimizer(cfg, self.model)
        self.scheduler = build_scheduler(cfg, self.optimizer)
        # The loss of knowing nothing (ln(classes): guessing uniformly, where every model
        # starts; the targets' variance for numbers): an epoch's mean training loss above
        # diverge_ratio times it has exploded.
        chance_loss, self.chance_words = self.kind.chance_loss()
        self.loss_limit = math.inf if cfg.diverge_ratio is None else cfg.diverge_ratio * chance_loss
        self.divergence: Optional[str] = None  # why the run diverged, for its last line

        self.history = History()
        self.partial: Optional[dict[str, Any]] = None  # the epoch a signal cut short, when resuming one
        self.epoch_shuffle: Optional[torch.Tensor] = None  # the batch order's generator state at the epoch's start
        self.carried: Optional[State] = None  # stateful: the state the last step left, saved with a partial epoch
        self.last_train: Optional[EpochStats] = None  # the latest finished epoch's passes
        self.last_val: Optional[EpochStats] = None
        self.stopped_early = False
        self.resolved = resolved_config(cfg, self.model, self.device, self.data.kind)
        self.checkpoints = CheckpointWriter(self.run_dir)
        steps_per_epoch = self.data.train.count_batches(cfg.batch_size)
        self.progress = ProgressBar(show_progress, cfg.epochs, steps_per_epoch)
        self.tracker: Optional[RunTracker] = None

    # ------------------------------------------------------------------ start
    def restore(self, resume: Resume) -> None:
        """Put a checkpoint's weights, optimizer, scheduler, random states and history back."""
        state = resume.state
        load_weights(self.model, state, resume.source_dir / LAST)
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
            replan_cosine(self.scheduler, self.optimizer, self.cfg.scheduler.get("T_max"))
        torch.set_rng_state(state["rng"]["torch"])
        self.shuffle.set_state(state["rng"]["shuffle"])
        self.history = History(**state["history"])
        self.partial = state.get("partial")
        # The interrupted run's curves, so the resumed run's start at epoch 1, less its
        # hparams session: the resumed run writes its own (rewritten in place when
        # it resumes in its own directory).
        copy_events(resume.source_dir, self.run_dir)
        log.info(f"Resuming {resume.source_dir} after epoch {state['epoch']}")

    def open_records(self, resumed: bool) -> None:
        self.tracker = RunTracker(
            str(self.run_dir), purge_step=self.history.epochs + 1 if resumed else None, kind=self.data.kind
        )
        self.tracker.start_session(hparams_of(self.resolved, overrides_of(self.run_dir)))
        if self.data.record is not None:  # task=custom: what its callable returned, read back on resume=
            write_record(self.run_dir, self.data.record)
        if not resumed:  # a resumed run's copied event files already hold these
            self.tracker.log_config(OmegaConf.to_yaml(self.resolved))
            self.tracker.log_graph(self.model, graph_example(self.data, self.device))

    @contextlib.contextmanager
    def session(self, stop: StopRequest, started: float, resumed: bool) -> Iterator[None]:
        """Open the run's records for the block; whatever ends it, close them with how it ended.

        A stop before the first step leaves nothing to save: Interrupted goes
        on to the caller once metrics.json says interrupted.
        """
        try:
            stop.check()  # stopped while starting: no step taken, so no records to open
            self.open_records(resumed=resumed)
            stop.check()  # the same, while they opened
            stop.training = True
            yield
        except Interrupted as stopped:
            # No final evaluation; the epochs finished so far still reach the disk (close).
            self.end_session(Status.INTERRUPTED)
            seconds = time.perf_counter() - started
            self.result(Status.INTERRUPTED, EpochStats(), stopped.signal_name, seconds).write(self.run_dir)
            raise
        except Exception:
            self.end_session(Status.FAILED)  # the caller records why (rnnexp.cli.main)
            raise
        finally:
            stop.training = False
            self.close()

    # ------------------------------------------------------------------ epochs
    def train_epoch(self, epoch: int, stop: StopRequest) -> EpochStats:
        """One pass over the training set in mini-batches, one optimizer step each.

        The batches come shuffled, or, stateful, in stream order with the
        model's state carried from each to the next (from zeros at the
        epoch's start). Returns after the current step when ``stop`` is
        requested, and before the step when the loss is not finite (a step on
        a non-finite loss would carry it into every weight). An epoch a signal
        cut short resumes after its last step: the batch order is drawn again
        from the same generator state, and the carried state comes back.
        """
        stats, state = EpochStats(), None
        if self.partial is not None and self.partial["epoch"] == epoch:
            self.shuffle.set_state(self.partial["shuffle"])
            stats = EpochStats(**self.partial["stats"])
            state = _moved(self.partial.get("carried"), self.device)
        self.epoch_shuffle = self.shuffle.get_state()  # saved with a partial epoch
        cfg, model = self.cfg, self.model
        model.train()
        self.progress.start_epoch()
        # Streams are read in order: the generator then draws nothing, and is saved all the same.
        order = None if self.data.stateful else self.shuffle
        for step, batch in enumerate(self.data.train.batches(cfg.batch_size, order), start=1):
            if step <= stats.steps:
                continue
            batch = batch.to(self.device)
            self.optimizer.zero_grad()
            logits, loss, state = self._forward(batch, state)  # (B, T, C), scalar, the state for the next batch
            loss_value = loss.item()  # the step's one read of the loss from the device
            if not math.isfinite(loss_value):
                stats.finite = False
                break
            loss.backward()
            if cfg.clip is not None:
                # Clipping the gradient norm keeps one steep step from undoing the
                # training: the exploding-gradient problem of recurrent nets.
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            self.optimizer.step()
            # As in the notebook, the epoch reports the forward passes that
            # produced its losses (before each step).
            chars_before = stats.chars
            self.kind.count(stats, batch, logits.detach(), loss_value, accuracy=cfg.train_accuracy)
            stats.steps, self.carried = step, state
            self.progress.step(epoch, step, stats.loss, stats.chars - chars_before)
            if stop.requested:
                break
        self.progress.clear()
        if not stats.finite:
            self.divergence = "the loss became non-finite"
            log.warning(f"Epoch [{epoch}/{cfg.epochs}]: the loss is not finite; stopping (status diverged)")
        return stats

    def exploded(self, epoch: int, stats: EpochStats) -> bool:
        """Whether the epoch's mean training loss passed ``diverge_ratio`` x ln(classes): finite, but diverged.

        Checked on the epoch's mean, from the first epoch on: one batch's
        loss spikes further than the mean when a high lr overshoots and the
        run recovers (docs/reliability.md), and a loss that explodes in the
        first epoch shows in its mean already.
        """
        if stats.loss <= self.loss_limit:
            return False
        self.divergence = (
            f"the training loss {stats.loss:.3g} passed diverge_ratio={self.cfg.diverge_ratio:g} x {self.chance_words} "
            f"= {self.loss_limit:.4g}"
        )
        log.warning(f"Epoch [{epoch}/{self.cfg.epochs}]: {self.divergence}; stopping (status diverged)")
        return True

    def _forward(self, batch: Batch, state: Optional[State]) -> tuple[torch.Tensor, torch.Tensor, Optional[State]]:
        """The model on ``batch``: logits, loss, and the state the next batch starts from.

        Stateful, the batch starts from ``state`` (None: zeros) and the state
        it ends in is passed on cut from its graph (truncated
        backpropagation: gradients stop at the window's start). Otherwise
        every sequence starts from zeros and there is no state to pass on.
        """
        if not self.data.stateful:
            logits, loss = self.model(batch.source, batch.target, batch.lengths)
            return logits, loss, None
        if state is None:
            state = self.model.initial_state(len(batch.source))
        logits, loss, state = self.model(batch.source, batch.target, batch.lengths, state)
        return logits, loss, detach_state(state)

    @torch.no_grad()
    def evaluate(self, sequences: SequenceSet | Streams) -> EpochStats:
        """Loss and accuracies on ``sequences`` without a gradient step (dropout off); stateful, as streams."""
        stats, state = EpochStats(), None
        rows = self.data.val_streams if self.data.stateful else self.cfg.batch_size
        with eval_mode(self.model):
            for batch in sequences.batches(rows):
                batch = batch.to(self.device)
                logits, loss, state = self._forward(batch, state)
                loss_value = loss.item()
                self.kind.count(stats, batch, logits, loss_value)
                stats.finite &= math.isfinite(loss_value)
        return stats

    def end_epoch(self, epoch: int, train_stats: EpochStats) -> bool:
        """Validate, step the scheduler, log and checkpoint a finished epoch; True to stop early."""
        cfg, data = self.cfg, self.data
        val_stats = self.evaluate(data.val) if data.val is not None else None
        eval_stats = val_stats or train_stats
        self.last_train, self.last_val = train_stats, val_stats
        improved = self.history.end_epoch(train_stats.loss, val_stats.loss if val_stats else None)
        self.kind.note_solved(self.history, epoch, eval_stats)

        lr = self.optimizer.param_groups[0]["lr"]  # the lr this epoch trained with
        if self.scheduler is not None:
            # ReduceLROnPlateau watches the monitored loss; the others count epochs.
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(val_stats.loss if val_stats else train_stats.loss)
            else:
                self.scheduler.step()

        self._log_epoch(epoch, train_stats, val_stats, eval_stats)
        self._record_epoch(epoch, lr, train_stats, val_stats, eval_stats)
        self.checkpoints.epoch_end(self.state(), improved)
        if cfg.patience is not None and val_stats and self.history.epochs_since_best >= cfg.patience:
            self.stopped_early = True
            log.info(f"Early stop: no better validation loss for {cfg.patience} epochs (best at epoch {self.history.best_epoch})")
        elif cfg.stop_when_solved and self.history.solved_epoch is not None:
            self.stopped_early = True
            log.info(f"Early stop: solved at epoch {self.history.solved_epoch} (stop_when_solved=true)")
        return self.stopped_early

    def save_partial_epoch(self, epoch: int, stats: EpochStats) -> None:
        """last.pt with the position inside ``epoch``, so resume= continues from that step."""
        state = self.state()
        state["partial"] = {"epoch": epoch, "steps": stats.steps, "shuffle": self.epoch_shuffle, "stats": asdict(stats)}
        if self.carried is not None:
            state["partial"]["carried"] = _moved(self.carried, torch.device("cpu"))
        self.checkpoints.flush()  # the epochs before, so they cannot land over this one
        save_checkpoint(self.run_dir / LAST, state)

    # ------------------------------------------------------------------ end
    def finish(self, status: Status) -> EpochStats:
        """The final evaluation, and the end of the run's hparams session for TensorBoard."""
        if status is Status.INTERRUPTED:
            # Wind down fast: the run is not over, resume= will finish it.
            log.warning(
                f"Interrupted in epoch {self.history.epochs + 1}; saved {shown(self.run_dir / LAST)}. "
                f"Continue with: python -m rnnexp {typed_override('resume', shown(self.run_dir))}"
            )
            self.end_session(status)
            return self.last_val or self.last_train or EpochStats()
        # The last validation pass already saw the final weights (in eval mode,
        # so the same numbers): reuse it rather than run it again.
        if status in (Status.OK, Status.PRUNED) and self.last_val is not None:
            final = self.last_val
        else:
            final = self.evaluate(self.data.eval_set)
        if status is Status.OK:
            self.kind.note_solved(self.history, self.history.epochs, final)  # right only after the last step
        final_loss = final.loss if final.finite and status is Status.OK else math.nan
        if status is Status.PRUNED:
            final_loss = self.history.monitored_loss  # what the search judged it by
        self.tracker.end_session(
            status,
            # The kind's own names (result/loss, result/accuracy, result/mse, ...). Unsolved runs
            # show epochs + 1 as their solved epoch, so sorting ascending ranks them last.
            final_metrics(
                self.data.kind, final_loss, final.char_accuracy, final.seq_accuracy,
                float(self.history.solved_epoch or self.cfg.epochs + 1),
            ),
            step=self.history.epochs + 1 if status is Status.DIVERGED else self.history.epochs,  # the epoch it ended in
        )
        return final

    def end_session(self, status: Status) -> None:
        """End the hparams session with ``status`` and no final metrics, once the records are open."""
        if self.tracker is not None:
            self.tracker.end_session(status)

    def close(self) -> None:
        """Whatever stopped the run: the states still in memory reach the disk, the event file is closed."""
        self.checkpoints.flush()
        self.progress.clear()
        if self.tracker is not None:
            self.tracker.close()

    def result(self, status: Status, final: EpochStats, signal_name: Optional[str], seconds: float) -> RunResult:
        ok = status is Status.OK and final.finite
        counted = final.sequences > 0 and self.kind.counts_sequences()
        final_loss = final.loss if ok else None
        if status is Status.PRUNED:
            final_loss = self.history.monitored_loss  # the loss its trial was told last, at the epoch it stopped
        return RunResult(
            kind=self.data.kind,
            prediction=final.first_prediction or "",
            target=self.kind.target_text(),
            final_loss=final_loss,
            accuracy=final.char_accuracy,
            sequences=final.sequences if counted else None,
            sequences_right=final.correct_sequences if counted else None,
            solved_epoch=self.history.solved_epoch,
            solved_at=self.cfg.solved_at,
            epochs=self.history.epochs,
            seconds=round(seconds, 4),
            status=status,
            run_dir=str(self.run_dir),
            losses=self.history.losses,
            val_losses=self.history.val_losses,
            best_epoch=self.history.best_epoch,
            stopped_early=self.stopped_early,
            device=str(self.device),
            cuda_visible_devices=visible_gpus(),
            # A signal that lands once the last epoch has begun its end (validation,
            # checkpoint, final evaluation) does not stop the run: it ends ok, and
            # names no signal.
            signal=signal_name if status is Status.INTERRUPTED else None,
        )

    def state(self) -> dict[str, Any]:
        """The checkpoint: plain tensors and data only (see rnnexp.training.checkpoint)."""
        return {
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "config": self.resolved,
            "vocabulary": self.data.vocab.characters if self.data.vocab is not None else [],
            "sizes": asdict(self.data.sizes),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "epoch": self.history.epochs,
            "rng": {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state()},
            "history": asdict(self.history),
        }

    # ------------------------------------------------------------------ helpers
    def _check_stateful(self) -> None:
        """What stateful training needs of the text (the model's side is checked in rnnexp.config.checks)."""
        if not self.data.stateful:
            return
        cfg = self.cfg
        sets = (("training", self.data.train, cfg.batch_size), ("validation", self.data.val, self.data.val_streams))
        for name, sequences, rows in sets:
            if sequences is not None and sequences.count_batches(rows) == 0:
                raise UserError(
                    f"task.stateful=true: the {name} text is too short for {rows} streams of at least one character; "
                    f"use a longer text, fewer streams (batch_size, task.val_streams) or task.stateful=false"
                )

    def _log_epoch(self, epoch: int, train: EpochStats, val: Optional[EpochStats], shown_stats: EpochStats) -> None:
        log.info(self.kind.epoch_line(f"Epoch [{epoch}/{self.cfg.epochs}]", train, val, shown_stats))

    def _record_epoch(self, epoch: int, lr: float, train: EpochStats, val: Optional[EpochStats], shown_stats: EpochStats) -> None:
        """An epoch's curves, and its prediction table (or, for text, now and then a sample)."""
        counted = self.cfg.train_accuracy  # false: a language model's training counted no accuracy
        self.tracker.log_epoch(
            epoch, train.loss, train.char_accuracy if counted else None, train.seq_accuracy if counted else None, lr
        )
        if val:
            self.tracker.log_validation(epoch, val.loss, val.char_accuracy, val.seq_accuracy)
        self.kind.record_epoch(self.tracker, self.model, epoch, shown_stats)


# --------------------------------------------------------------------------- building
def resolved_config(cfg: DictConfig, model: RecurrentTagger, device: torch.device, kind: str) -> dict:
    """The config as run: data-derived sizes, the task's kind and the actual device filled in."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if "kind" in resolved["task"]:  # task=custom: its callable told the kind (rnnexp.data.task_registry.task_kind reads it)
        resolved["task"]["kind"] = kind
    resolved["model"]["hidden_size"] = model.hidden_size
    if kind in ANSWER_KINDS:
        resolved["model"]["readout"] = readout_of(resolved["model"], kind)
    if resolved["encoder"]["name"] != "linear":  # linear's null passes the features on as they are: no layer to size
        resolved["encoder"]["dim"] = model.encoder.output_size
    resolved["device"] = str(device)
    resolved["resume"] = None  # a checkpoint's config describes the run itself
    return resolved


# --------------------------------------------------------------------------- reporting
def summary_line(result: RunResult, kind: TaskKind, divergence: Optional[str] = None) -> str:
    """The run's last line in the terminal; ``divergence`` says why a diverged run stopped."""
    where = f"Run directory: {shown(Path(result.run_dir))}"
    if result.status is Status.INTERRUPTED:
        return f"Interrupted ({result.signal}) after {result.epochs} complete epochs. {where}"
    if result.status is Status.DIVERGED:
        why = divergence or "the loss became non-finite"
        return f"Diverged at epoch {result.epochs + 1}: {why} (try a lower lr or clip=1.0). {where}"
    if result.status is Status.PRUNED:
        return f"Pruned by the search after epoch {result.epochs}, at a loss of {result.final_loss:.4f}. {where}"
    return kind.final_line(result, where)


def _moved(state: Optional[State], device: torch.device) -> Optional[State]:
    """A carried state on ``device``: a tensor, or tuples and lists of them nested in any way (a user's recurrence's), or None."""
    if isinstance(state, (tuple, list)):
        return type(state)(_moved(part, device) for part in state)
    return None if state is None else state.to(device)


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter to read and type)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
