"""Where and how a run computes: intra-op threads, the device, CUDA graphs.

One call after the model is built (the choices depend on its size) and
before the optimizer sees its parameters. The refusals of the config and the class
(cuda_graph for a recurrence that is not graphable) are in
rnnexp.models.recurrence; the ones here need the machine or the data.
"""

from __future__ import annotations

import logging

import torch
from omegaconf import DictConfig

from rnnexp.data.loading import TaskData
from rnnexp.data.sequences import Batch
from rnnexp.errors import UserError
from rnnexp.models.tagger import RecurrentTagger
from rnnexp.training.cuda_graph import capture_recurrence
from rnnexp.training.device import resolve_device, visible_gpus
from rnnexp.training.threads import choose_threads, step_work

# Where the run computes, and why: its rnnexp.log only (rnnexp.cli.console keeps it off the terminal).
log = logging.getLogger("rnnexp.placement")


def place(cfg: DictConfig, model: RecurrentTagger, data: TaskData) -> torch.device:
    """Set the threads, move ``model`` to its device (in place) and return the device."""
    batch = first_batch(cfg, data)
    device = resolve_device(cfg.device, step_work(model, batch.source.shape[0]))
    threads = choose_threads(cfg.threads, model, batch, device)
    torch.set_num_threads(threads.count)
    log.info(f"Threads: {threads.count} ({threads.why})")
    visible = visible_gpus()
    log.info(f"Device: {device}" + ("" if visible is None else f" (CUDA_VISIBLE_DEVICES={visible})"))
    model.to(device)
    if cfg.model.cuda_graph:
        if device.type != "cuda":
            available = "" if torch.cuda.is_available() else "; CUDA is not available on this machine"
            raise UserError(
                f"model.cuda_graph=true: CUDA graphs need device=cuda, and this run is on {device}{available}; "
                "set model.cuda_graph=false"
            )
        sets = [data.train] + ([data.val] if data.val is not None else [])
        if not all(s.equal_lengths for s in sets):
            raise UserError(
                f"model.cuda_graph=true: task={cfg.task.name} has sequences of different lengths, and a CUDA graph "
                "replays fixed shapes; use a task whose sequences share one length or set model.cuda_graph=false"
            )
        capture_recurrence(model)
    return device


def first_batch(cfg: DictConfig, data: TaskData) -> Batch:
    """The run's first training batch, (B, T), in order: what threads=auto times steps on.

    B is the sequences per step: hello has one whatever batch_size says.
    """
    return next(iter(data.train.batches(min(cfg.batch_size, len(data.train)))))
