"""LSTM/GRU, bidirectional, text, schedulers, clipping, dropout, early stopping, checkpoints."""

import math

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnexp.data.loading import load_task, unigram_entropy
from rnnexp.sweep.jobs import Job
from rnnexp.training.checkpoint import BEST, LAST, load_checkpoint
from rnnexp.training.trainer import train


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_lstm_and_gru_learn_hello(make_cfg, tmp_path, model, seed):
    result = train(make_cfg(f"model={model}", f"seed={seed}"), tmp_path)
    assert result.prediction == "ohlol" and result.solved_epoch is not None


def test_only_a_bidirectional_model_learns_reverse(make_cfg, tmp_path):
    # threads=1: auto would time this model's steps and may take two threads, which run several times
    # slower while the cores are busy; what the test checks is what is learnt, the same either way.
    common = ["task=reverse", "model=gru", "task.length=4", "task.size=512", "lr=0.03", "epochs=10", "threads=1"]
    both_ways = train(make_cfg(*common, "model.bidirectional=true"), tmp_path / "bi")
    one_way = train(make_cfg(*common), tmp_path / "uni")
    assert both_ways.solved_epoch is not None and both_ways.accuracy == 1.0  # every validation string reversed
    # Left to right, the first half of each output comes before its input: of those 8 symbols it can only
    # guess, so at best 1/2 + 1/2 * 1/8 = 0.5625 of the characters are right.
    assert one_way.solved_epoch is None and one_way.accuracy < 0.6


def test_text_validation_loss_falls_below_the_unigram_baseline(make_cfg, tmp_path):
    # hidden_size 16, not the option's 64, trains faster: its epoch ends about 0.6 nats under the bar (64's: 0.9).
    cfg = make_cfg("task=text", "model=gru", "model.hidden_size=16", "epochs=1", "task.sample_every=1", "task.sample_length=40")
    result = train(cfg, tmp_path)
    data = load_task(cfg.task)
    # One epoch must beat knowing only the characters' frequencies, by a clear margin.
    assert result.final_loss < unigram_entropy(data.train, len(data.vocab)) - 0.3
    events = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    events.Reload()
    sample = events.Tensors("sample/text_summary")[0].tensor_proto.string_val[0].decode()
    assert sample.startswith("    The ") and len(sample) > 40
    assert [e.step for e in events.Scalars("loss/val")] == [1]


def test_a_text_run_counts_no_training_accuracy_unless_asked(make_cfg, tmp_path, monkeypatch):
    from rnnexp.training.stats import EpochStats

    counted = []  # the accuracy argument of every training batch's count
    add = EpochStats.add

    def spy(self, batch, logits, loss, vocab, accuracy=True):
        if torch.is_grad_enabled():  # a training step; evaluation runs under no_grad
            counted.append(accuracy)
        add(self, batch, logits, loss, vocab, accuracy)

    monkeypatch.setattr(EpochStats, "add", spy)
    common = ["task=text", "model=gru", "model.hidden_size=16", "epochs=1", "task.sample_every=0"]
    runs = {}
    for name, extra in (("default", []), ("counted", ["train_accuracy=true"])):
        counted.clear()
        result = train(make_cfg(*common, *extra), tmp_path / name)
        events = EventAccumulator(str(tmp_path / name))
        events.Reload()
        runs[name] = (result, set(counted), set(events.Tags()["scalars"]))
    (default, default_counts, default_tags), (on, on_counts, on_tags) = runs["default"], runs["counted"]
    assert default_counts == {False} and on_counts == {True}
    assert not {"train_accuracy/char", "train_accuracy/seq"} & default_tags
    assert {"train_accuracy/char", "train_accuracy/seq"} <= on_tags
    assert {"loss/train", "loss/val", "val_accuracy/char"} <= default_tags
    # The count changes nothing else: the same losses, and the final accuracy is the validation's in both.
    assert default.losses == on.losses and default.val_losses == on.val_losses
    assert default.accuracy == on.accuracy > 0.2


def lr_curve(run_dir):
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return [e.value for e in events.Scalars("lr")]


def float32(values):
    """``values`` as the event file stores scalars: rounded to float32."""
    return torch.tensor(values, dtype=torch.float32).tolist()


def test_step_scheduler_halves_lr(make_cfg, tmp_path):
    train(make_cfg("scheduler=step", "scheduler.step_size=2", "scheduler.gamma=0.5", "epochs=5"), tmp_path)
    assert lr_curve(tmp_path) == float32([0.1, 0.1, 0.05, 0.05, 0.025])


def test_cosine_scheduler_anneals_to_eta_min(make_cfg, tmp_path):
    train(make_cfg("scheduler=cosine", "epochs=4"), tmp_path)
    # eta_min + (lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2 with T_max = epochs = 4, eta_min = 0
    expected = [0.1 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]
    assert lr_curve(tmp_path) == pytest.approx(float32(expected), rel=1e-6, abs=0)


def test_plateau_scheduler_cuts_lr_when_loss_stalls(make_cfg, tmp_path):
    # At lr 1e-6 the loss falls by less than ReduceLROnPlateau's threshold (1e-4 relative), so every
    # epoch after the first counts as a stall. (A far smaller lr would stall too, but the scheduler
    # ignores cuts smaller than its eps, 1e-8.)
    result = train(make_cfg("optimizer=sgd", "optimizer.momentum=0", "lr=1e-6", "scheduler=plateau",
                            "scheduler.patience=1", "epochs=6"), tmp_path)
    assert result.losses[0] - result.losses[-1] < 1e-4 * result.losses[0]
    # patience 1: the second epoch in a row without improvement halves lr for the next.
    assert lr_curve(tmp_path) == float32([1e-6, 1e-6, 1e-6, 5e-7, 5e-7, 2.5e-7])


def test_early_stopping_on_a_stalled_validation_loss(make_cfg, tmp_path):
    result = train(make_cfg("task=caesar", "task.size=64", "optimizer=sgd", "optimizer.momentum=0", "lr=1e-30", "patience=2", "epochs=20"), tmp_path)
    assert result.stopped_early and result.epochs == 3 and result.best_epoch == 1
    assert load_checkpoint(tmp_path / BEST)["epoch"] == 1 and load_checkpoint(tmp_path / LAST)["epoch"] == 3


def test_clipping_changes_the_steps(make_cfg, tmp_path):
    clipped = train(make_cfg("model=rnn", "clip=0.01", "epochs=3"), tmp_path / "clip")
    free = train(make_cfg("model=rnn", "epochs=3"), tmp_path / "free")
    assert clipped.losses[0] == free.losses[0]  # the same start
    assert clipped.losses[1:] != free.losses[1:]


def test_dropout_is_random_in_training_and_off_in_evaluation(make_cfg):
    from rnnexp.models.tagger import build_model

    model = build_model(make_cfg("model=gru", "model.dropout=0.5", "model.num_layers=2"), 4)
    ids = torch.tensor([[1, 0, 2, 2, 3]])
    model.train()
    assert not torch.equal(model(ids)[0], model(ids)[0])
    model.eval()
    assert torch.equal(model(ids)[0], model(ids)[0])


def test_padding_is_masked_out_of_loss_and_accuracy(make_cfg, tmp_path):
    from rnnexp.data.sequences import SequenceSet
    from rnnexp.data.vocab import Vocabulary
    from rnnexp.training.stats import EpochStats

    vocab = Vocabulary("ab")
    sequences = SequenceSet([torch.tensor([0, 1, 0]), torch.tensor([1])], [torch.tensor([1, 0, 1]), torch.tensor([0])])
    (batch,) = sequences.batches(2)
    logits = torch.full((2, 3, 2), -5.0)
    logits[0, [0, 2], 1] = logits[0, 1, 0] = logits[1, 0, 0] = 5.0  # every real character right
    logits[1, 1:, 1] = 9.0  # padding positions "wrong": must not count
    stats = EpochStats()
    stats.add(batch, logits, 0.5, vocab)
    assert (stats.chars, stats.correct_chars, stats.correct_sequences) == (4, 4, 2)
    assert stats.predictions == {0: "bab", 1: "a"}
    path = tmp_path / "p.tsv"
    path.write_text("ab\tba\naabb\tbbaa\nbab\taba\n")
    result = train(make_cfg("task=pairs", f"task.path={path}", "task.val_fraction=0", "model=gru", "epochs=30"), tmp_path / "run")
    assert result.accuracy == 1.0 and result.final_loss < 0.1


def test_best_checkpoint_holds_the_lowest_validation_loss(make_cfg, tmp_path):
    result = train(make_cfg("task=caesar", "task.size=64", "model=gru", "epochs=4"), tmp_path)
    best, last = load_checkpoint(tmp_path / BEST), load_checkpoint(tmp_path / LAST)
    assert best["epoch"] == result.best_epoch == 1 + min(range(4), key=result.val_losses.__getitem__)
    assert last["epoch"] == 4 and set(last) >= {"optimizer", "scheduler", "rng", "history", "vocabulary", "config"}


def test_progress_bar_draws_only_when_enabled():
    import io

    from rnnexp.training.progress import ProgressBar

    shown, hidden = io.StringIO(), io.StringIO()
    for stream, enabled in ((shown, True), (hidden, False)):
        bar = ProgressBar(enabled, epochs=2, steps_per_epoch=4, stream=stream)
        bar.start_epoch()
        for step in range(1, 5):
            bar.step(1, step, loss=1.5, chars=100)
        bar.clear()
    assert "Epoch 1/2 [####################] 4/4 steps  loss 1.500" in shown.getvalue() and "chars/s" in shown.getvalue()
    assert hidden.getvalue() == ""


def test_progress_bar_on_request_and_quiet_otherwise(run_main):
    args = ["task=caesar", "task.size=128", "model=gru", "epochs=1", "device=cpu"]
    shown = run_main(args + ["progress=always"])
    assert shown.status == 0 and "Epoch 1/1 [" in shown.stderr and "steps  loss" in shown.stderr
    quiet = run_main(args)  # stderr is a StringIO here, not a terminal
    assert quiet.status == 0 and quiet.stderr == ""


def test_stop_when_solved_ends_the_run_at_the_epoch_that_reaches_solved_at(make_cfg, tmp_path):
    overrides = ("task=copy", "task.size=128", "model=gru", "model.hidden_size=32", "lr=0.03", "solved_at=0.5")
    stopped = train(make_cfg(*overrides, "epochs=40", "stop_when_solved=true"), tmp_path / "stopped")
    assert stopped.stopped_early and stopped.epochs == stopped.solved_epoch < 40
    assert stopped.sequences / 2 <= stopped.sequences_right < stopped.sequences  # half of 13 right: solved at 0.5
    job = Job.read(tmp_path / "stopped")  # as a sweep's summary reads it back: solved by the run's own share
    assert job.solved and job.solved_at == 0.5
    # Stopping changes nothing before the stop: the same epochs trained to the end give the same losses.
    whole = train(make_cfg(*overrides, f"epochs={stopped.epochs}"), tmp_path / "whole")
    assert whole.losses == stopped.losses and not whole.stopped_early
