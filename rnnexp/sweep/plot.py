"""A PNG of a sweep's loss curves, read from the jobs' ``metrics.json``.

For a report without TensorBoard: one line per job (``loss/train`` per epoch,
log scale), labelled with the overrides that tell the jobs apart, and with
its status when that is not ok. A job whose record holds no curve (it is
still running, was killed, or failed) is drawn from its TensorBoard event
file, which has each epoch it got through; a job that never started has
nothing to draw. matplotlib comes with the optional extra (see
``rnnexp.errors.SWEEP_EXTRA``) and is imported only here.
"""

from __future__ import annotations

from pathlib import Path

from rnnexp.errors import SWEEP_EXTRA, UserError
from rnnexp.results import Status
from rnnexp.sweep.jobs import Job, varying_overrides
from rnnexp.sweep.report import Summary, shorten

LOSS_CURVES_PNG = "loss_curves.png"


def loss_curve(job_dir: Path) -> tuple[list[int], list[float]]:
    """(epochs, losses) of ``loss/train`` in the job's event files; empty if it logged none."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(job_dir), size_guidance={"scalars": 0})  # 0: keep every point
    accumulator.Reload()
    if "loss/train" not in accumulator.Tags()["scalars"]:
        return [], []
    points = accumulator.Scalars("loss/train")
    return [p.step for p in points], [p.value for p in points]


def job_loss_curve(job: Job) -> tuple[list[int], list[float]]:
    """(epochs, losses) of ``job``'s training loss: from its metrics.json, else from its event files."""
    if job.dir is None:  # never started
        return [], []
    if job.failed or job.losses is None:  # no record, or one the entry point wrote without the trainer's history
        return loss_curve(job.dir)
    return list(range(1, len(job.losses) + 1)), list(job.losses)  # epochs count from 1, as the trainer logs them


def pyplot():
    """matplotlib's pyplot, drawing into files only; a UserError naming the extra when matplotlib is absent."""
    try:
        import matplotlib
    except ImportError:
        raise UserError(f"the loss-curve plot needs matplotlib: {SWEEP_EXTRA}; or leave out --plot") from None
    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curves(summary: Summary, path: Path | None = None) -> Path:
    """Draw every job's loss curve into ``path`` (default: ``loss_curves.png`` in the sweep dir)."""
    plt = pyplot()
    path = path or summary.sweep_dir / LOSS_CURVES_PNG
    jobs = sorted((j for j in summary.ranked if j.dir is not None), key=lambda j: j.num)  # not those never started
    _, varying = varying_overrides(jobs)
    fig, ax = plt.subplots(figsize=(10, 5.5))
    # 20 distinct colours, then the line style changes: the default cycle repeats after 10.
    colours = plt.get_cmap("tab20").colors
    for i, job in enumerate(jobs):
        epochs, losses = job_loss_curve(job)
        if epochs:  # a failed job has no curve
            label = f"{job.num}: {' '.join(shorten(o) for o in varying[job.num]) or '(defaults)'}"
            if job.status is not Status.OK:
                label += f" ({job.status})"
            style = ("-", "--", ":", "-.")[(i // len(colours)) % 4]
            ax.plot(epochs, losses, style, color=colours[i % len(colours)], marker=".", linewidth=1.2, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss/train (log scale)")
    ax.set_title(f"Sweep {summary.sweep_dir.name}: {summary.counts()}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
