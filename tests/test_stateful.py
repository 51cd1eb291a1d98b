"""Stateful training of the text task (task.stateful): streams, the carried state, resume, sampling, the benchmark.

Stateful training must agree with the non-stateful one where the two compute
the same thing (one window per stream, or a state handed on that starts from
zeros), differ where the state is really carried, and keep rnnexp's promises:
a stopped run resumes to the losses of one that never stopped, samples come
out, and the benchmark's hand-written loop reproduces the losses to the bit.
How low the loss gets in 15 epochs is the benchmark's figure
(docs/performance.md, "Text"), not a test's.
"""

import random
import signal
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import compose_config, signals_at_forward
from rnnexp.data.loading import load_task
from rnnexp.data.sequences import SequenceSet, Streams
from rnnexp.data.vocab import Vocabulary
from rnnexp.errors import UserError
from rnnexp.models.sampling import sample_text
from rnnexp.models.tagger import build_model, detach_state
from rnnexp.results import Status
from rnnexp.tools.predict import predict
from rnnexp.training.checkpoint import LAST, load_checkpoint, load_resume, restore_model
from rnnexp.training.trainer import train


def corpus(tmp_path: Path, characters: int, name: str = "corpus.txt") -> Path:
    """A text of ``characters`` characters with some structure to learn: words from a small set, seeded.

    It starts with "The ", so the task's default prime is in its vocabulary.
    """
    rng = random.Random(0)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs"]
    text = "The "
    while len(text) < characters:
        text += rng.choice(words) + rng.choice([" ", " ", ", ", ".\n"])
    path = tmp_path / name
    path.write_text(text[:characters])
    return path


def small_text(path: Path, *overrides: str):
    """A small stateful text run on ``path``: a GRU of 16, windows of 8, 4 streams, no samples."""
    return compose_config(
        "task=text", f"task.path={path}", "model=gru", "model.hidden_size=16", "task.window=8", "batch_size=4",
        "task.sample_every=0", *overrides,
    )


# --------------------------------------------------------------------------- streams
def test_streams_are_read_window_by_window_and_continue_from_batch_to_batch():
    ids = torch.arange(23)  # 22 targets: 2 streams of 11, windows of 4, 4 and 3
    streams = Streams(ids, window=4)
    batches = list(streams.batches(2))
    assert [b.source.tolist() for b in batches] == [
        [[0, 1, 2, 3], [11, 12, 13, 14]], [[4, 5, 6, 7], [15, 16, 17, 18]], [[8, 9, 10], [19, 20, 21]],
    ]
    assert all(torch.equal(b.target, b.source + 1) and b.lengths is None for b in batches)
    assert streams.count_batches(2) == len(batches) == 3
    assert [b.index.tolist() for b in batches] == [[0, 1], [2, 3], [4, 5]]  # reading order
    # Outside training its sequences are the text's full windows, as SequenceSet.windows cuts them.
    windows = SequenceSet.windows(ids, 4)
    assert len(streams) == len(windows) == 5
    assert torch.equal(streams.batch(torch.tensor([4, 0])).source, windows.batch(torch.tensor([4, 0])).source)
    assert torch.equal(streams.all_targets(), ids[1:])
    with pytest.raises(AssertionError, match="in order"):
        next(streams.batches(2, torch.Generator()))


def test_the_text_task_is_stateful_by_default_and_windowed_on_request(make_cfg):
    stateful, windowed = load_task(make_cfg("task=text").task), load_task(make_cfg("task=text", "task.stateful=false").task)
    assert stateful.stateful and isinstance(stateful.train, Streams) and isinstance(stateful.val, Streams)
    assert not windowed.stateful and isinstance(windowed.train, SequenceSet)
    assert stateful.val_streams == 10
    windowed_targets = windowed.train.all_targets()  # the full windows' targets: the stream's, up to the last one
    assert torch.equal(windowed_targets, stateful.train.all_targets()[: len(windowed_targets)])


def test_a_checkpoint_from_before_the_key_trains_on_windows(make_cfg):
    """A text run saved before task.stateful existed resumes as it trained: independent windows."""
    task = OmegaConf.to_container(make_cfg("task=text").task)
    del task["stateful"], task["val_streams"]
    data = load_task(OmegaConf.create(task))
    assert not data.stateful and isinstance(data.train, SequenceSet)


# --------------------------------------------------------------------------- the model's state
@pytest.mark.parametrize("model", ["cell", "rnn", "embedding", "lstm", "gru"])
def test_a_carried_state_continues_the_sequence(make_cfg, model):
    overrides = [f"model={model}"] + (["model.head=true", "model.hidden_size=8"] if model in ("cell", "rnn") else [])
    torch.manual_seed(0)
    net = build_model(make_cfg("task=text", *overrides), 12).eval()
    ids = torch.randint(0, 12, (3, 10))  # (B, T)
    whole, _ = net(ids)
    # From zeros, handed explicitly: the same numbers as the default start.
    first, _, state = net(ids[:, :6], state=net.initial_state(3))
    assert torch.equal(first, whole[:, :6])
    # Carried: the second part continues where the first ended.
    rest, _, _ = net(ids[:, 6:], state=state)
    torch.testing.assert_close(rest, whole[:, 6:], rtol=1e-5, atol=1e-6)
    # From zeros instead: another answer.
    fresh, _ = net(ids[:, 6:])
    assert not torch.allclose(fresh, whole[:, 6:], atol=1e-4)
    # Detached, the state keeps its values and leaves the graph behind.
    parts, detached = [state] if torch.is_tensor(state) else state, detach_state(state)
    detached = [detached] if torch.is_tensor(detached) else detached
    assert all(p.requires_grad for p in parts) and not any(d.requires_grad for d in detached)
    assert all(torch.equal(p, d) for p, d in zip(parts, detached))


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize("batch_size", [1, 4])
def test_one_window_per_stream_trains_as_the_windows_do(tmp_path, batch_size):
    """A text of batch_size windows: each stream holds one window, so nothing is carried and the two modes agree."""
    path = corpus(tmp_path, batch_size * 8 + 1)  # every target in one window of 8 per stream
    common = [f"batch_size={batch_size}", "task.val_fraction=0", f"task.val_streams={batch_size}", "epochs=3"]
    stateful = train(small_text(path, *common), tmp_path / "stateful")
    windows = train(small_text(path, *common, "task.stateful=false"), tmp_path / "windows")
    assert stateful.status is windows.status is Status.OK
    if batch_size == 1:  # one sequence: the same arithmetic, to the bit
        assert (stateful.losses, stateful.final_loss) == (windows.losses, windows.final_loss)
    else:  # the shuffle reorders a batch's rows: the same sums in another order
        assert stateful.losses == pytest.approx(windows.losses, rel=1e-5)
        assert stateful.final_loss == pytest.approx(windows.final_loss, rel=1e-5)


def test_the_state_is_carried_from_window_to_window(tmp_path):
    path = corpus(tmp_path, 4 * 8 * 3 + 1)  # three windows per stream
    common = ["task.val_fraction=0", "task.val_streams=4", "epochs=2"]
    stateful = train(small_text(path, *common), tmp_path / "stateful")
    windows = train(small_text(path, *common, "task.stateful=false"), tmp_path / "windows")
    # The first batch of the first epoch starts from zeros either way; after it, the carried state tells.
    assert stateful.losses != pytest.approx(windows.losses, rel=1e-3)


def test_a_stopped_stateful_run_resumes_to_the_same_losses(tmp_path):
    """SIGTERM mid-epoch: last.pt keeps the carried state, and resume= continues from it, to the bit."""
    path = corpus(tmp_path, 2000)
    cfg = small_text(path, "epochs=3")
    data = load_task(cfg.task)
    steps, val_batches = data.train.count_batches(cfg.batch_size), data.val.count_batches(cfg.task.val_streams)
    assert steps > 6
    uninterrupted = train(small_text(path, "epochs=3"), tmp_path / "whole")

    with signals_at_forward((steps + val_batches + 5, signal.SIGTERM)) as sent:  # epoch 2, step 5
        stopped = train(small_text(path, "epochs=3"), tmp_path / "stopped")
    assert sent and stopped.status is Status.INTERRUPTED and stopped.epochs == 1
    partial = load_checkpoint(tmp_path / "stopped" / LAST)["partial"]
    assert (partial["epoch"], partial["steps"]) == (2, 5)
    assert partial["carried"].shape == (1, cfg.batch_size, 16)  # a GRU's h: (layers, streams, hidden)

    resume_cfg, resume = load_resume(str(tmp_path / "stopped"), epochs=None)
    resumed = train(resume_cfg, tmp_path / "resumed", resume=resume)
    assert resumed.status is Status.OK
    assert resumed.losses == uninterrupted.losses and resumed.val_losses == uninterrupted.val_losses
    assert resumed.final_loss == uninterrupted.final_loss


def test_a_finished_stateful_run_trains_further_to_the_same_losses(tmp_path):
    """resume= epochs=3 after one epoch: the streams start again from zeros, as in a run that never stopped."""
    path = corpus(tmp_path, 2000)
    whole = train(small_text(path, "epochs=3", "scheduler=none"), tmp_path / "whole")
    train(small_text(path, "epochs=1", "scheduler=none"), tmp_path / "first")
    cfg, resume = load_resume(str(tmp_path / "first"), epochs=3)
    resumed = train(cfg, tmp_path / "resumed", resume=resume)
    assert (resumed.losses, resumed.val_losses) == (whole.losses, whole.val_losses)


def test_a_stateful_run_samples_text_carrying_its_state(tmp_path):
    path = corpus(tmp_path, 2000)
    result = train(small_text(path, "epochs=1", "task.sample_every=1", "task.sample_length=30", "task.prime=the "), tmp_path)
    assert result.status is Status.OK
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    sample = events.Tensors("sample/text_summary")[0].tensor_proto.string_val[0].decode()
    assert "the " in sample and len(sample) > 30
    # A finished run samples from the command line too, carrying its state as in training:
    # the same text as sample_text with the run's weights and carry_state.
    args = [f"run={tmp_path}", "sample=20", "prime=fox", "seed=1"]
    text = predict(args)
    assert text.startswith("fox") and len(text) == 23 and text == predict(args)
    model, vocab = restore_model(load_checkpoint(tmp_path / "best.pt"))
    carried = sample_text(model, vocab, "fox", 20, 1.0, 8, torch.Generator().manual_seed(1), carry_state=True)
    assert text == carried


def test_sampling_with_a_carried_state_is_reproducible():
    vocab = Vocabulary("abcdefgh ")
    torch.manual_seed(0)
    net = build_model(compose_config("task=text", "model=lstm"), len(vocab))

    def sample(seed: int) -> str:
        return sample_text(net, vocab, "abc", 40, 0.8, 8, torch.Generator().manual_seed(seed), carry_state=True)

    assert sample(0) == sample(0) != sample(1)
    assert sample(0).startswith("abc") and len(sample(0)) == 43


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["model.bidirectional=true"], "model.bidirectional=true: task.stateful carries the state forward"),
        (["task.val_streams=0"], "task.val_streams=0: must be an integer >= 1"),
        (["batch_size=1000"], "the training text is too short for 1000 streams"),
    ],
)
def test_what_stateful_training_refuses(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        train(small_text(corpus(tmp_path, 600), *overrides), tmp_path / "run")
