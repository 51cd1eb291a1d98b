"""rnnexp's Optuna search (rnnexp.search): its search space, pruning, its study, and continue=.

Real studies in real journal files, real jobs run in-process through the
command line (run_main); only the joblib test starts worker processes.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import signal
import warnings
from collections import Counter
from pathlib import Path

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

from conftest import compose_config, run_in_process, sweep_dir_of
from rnnexp.models.tagger import RecurrentTagger
from rnnexp.results import LAST, METRICS_NAME, RunResult, Status
from rnnexp.search.study_storage import JOURNAL_NAME
from rnnexp.search.trial_report import JOB_ATTR
from rnnexp.sweep import SUMMARY_CSV
from rnnexp.training.trainer import train

optuna = pytest.importorskip("optuna")  # the sweep extra: the modules below need it

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from rnnexp.search.results_file import RESULTS_NAME, optimization_results  # noqa: E402
from rnnexp.search.space import SearchSpace  # noqa: E402

# --------------------------------------------------------------------------- the search space
# Hydra's own table (hydra-optuna-sweeper 1.2 and 1.3: tests/test_optuna_sweeper_plugin.py,
# test_create_optuna_distribution_from_override), with Optuna's current classes in place of the
# deprecated ones it names (IntUniformDistribution, LogUniformDistribution, DiscreteUniformDistribution...).
HYDRA_TABLE = [
    ("key=choice(1,2)", CategoricalDistribution([1, 2])),
    ("key=choice(true, false)", CategoricalDistribution([True, False])),
    ("key=choice('hello', 'world')", CategoricalDistribution(["hello", "world"])),
    ("key=shuffle(range(1,3))", CategoricalDistribution((1, 2))),
    ("key=range(1,3)", IntDistribution(1, 3)),
    ("key=interval(1, 5)", FloatDistribution(1, 5)),
    ("key=int(interval(1, 5))", IntDistribution(1, 5)),
    ("key=tag(log, interval(1, 5))", FloatDistribution(1, 5, log=True)),
    ("key=tag(log, int(interval(1, 5)))", IntDistribution(1, 5, log=True)),
    ("key=range(0.5, 5.5, step=1)", FloatDistribution(0.5, 5.5, step=1)),
]
# rnnexp's keys, and what the table leaves out: the simple form of a choice, a step, a log-scaled range
# (which Hydra's sweeper drew without its scale).
SPACES = HYDRA_TABLE + [
    ("optimizer=choice(adam, sgd)", CategoricalDistribution(["adam", "sgd"])),
    ("model=cell,rnn", CategoricalDistribution(["cell", "rnn"])),
    ("model.hidden_size=int(interval(4, 16))", IntDistribution(4, 16)),
    ("lr=tag(log, interval(0.001, 1.0))", FloatDistribution(0.001, 1.0, log=True)),
    ("epochs=range(2, 8, 2)", IntDistribution(2, 8, step=2)),
    ("seed=range(3)", IntDistribution(0, 3)),
    ("model.hidden_size=tag(log, range(4, 64))", IntDistribution(4, 64, log=True)),
    ("lr=range(0.1, 0.5, 0.1)", FloatDistribution(0.1, 0.5, step=0.1)),
]


@pytest.mark.parametrize("line, expected", SPACES, ids=[line for line, _ in SPACES])
def test_each_sweep_syntax_becomes_the_distribution_hydras_optuna_sweeper_made(line, expected):
    space = SearchSpace.parse(None, [line])
    (key, actual), = space.distributions.items()
    assert key == line.partition("=")[0] and space.fixed == {}
    assert type(actual) is type(expected)  # the current class, not a deprecated subclass
    if isinstance(expected, CategoricalDistribution):  # shuffle() reorders the choices
        assert sorted(map(str, actual.choices)) == sorted(map(str, expected.choices))
        assert {type(c) for c in actual.choices} == {type(c) for c in expected.choices}
    else:
        assert (actual.low, actual.high, actual.step, actual.log) == (expected.low, expected.high, expected.step, expected.log)
        assert type(actual.low) is type(expected.low)  # int(interval(...)) draws integers


def test_a_shuffled_range_is_a_choice_of_its_values():
    (distribution,) = SearchSpace.parse(None, ["seed=shuffle(range(3))"]).distributions.values()
    assert isinstance(distribution, CategoricalDistribution) and sorted(distribution.choices) == [0, 1, 2]


def test_the_command_line_overrides_the_params_and_every_trial_passes_the_fixed_ones():
    params = {"lr": "tag(log, interval(0.01, 0.1))", "optimizer": "choice(adam, sgd)"}
    space = SearchSpace.parse(params, ["hparams_search=optuna", "lr=0.05", "model=cell,rnn", "~clip", "+extra=1"])
    assert list(space.distributions) == ["optimizer", "model"]  # lr is fixed on the command line
    drawn = space.overrides({"optimizer": "sgd", "model": "rnn", "unused": 3})
    assert drawn == ["optimizer=sgd", "model=rnn", "hparams_search=optuna", "lr=0.05", "~clip", "+extra=1"]
    head = SearchSpace.parse({"model.head": "choice(true, false)"}, [])
    assert head.overrides({"model.head": False}) == ["model.head=false"]  # as Hydra reads a bool back


# --------------------------------------------------------------------------- what a search leaves
def test_a_search_over_int_interval_draws_integers_and_leaves_hydras_results_file(run_main, tmp_path):
    # Before int(interval(...)) drew integers, every trial failed: "model.hidden_size=12.64...: expected an integer".
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = run_main(["-m", "hparams_search=optuna", "model.hidden_size=int(interval(4, 16))", "epochs=2", "device=cpu",
                         "hydra.sweeper.n_trials=2"])
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    results = job_results(sweep_dir)
    assert [r.status for r in results.values()] == [Status.OK, Status.OK]
    study = load_study(sweep_dir)
    sizes = [t.params["model.hidden_size"] for t in study.trials]
    assert all(type(size) is int and 4 <= size <= 16 for size in sizes), sizes
    # optimization_results.yaml, with the keys and the values Hydra's Optuna sweeper wrote.
    written = OmegaConf.to_container(OmegaConf.load(sweep_dir / RESULTS_NAME))
    assert written == {"name": "optuna", "best_params": study.best_trial.params, "best_value": study.best_value}
    assert study.best_value == min(r.final_loss for r in results.values())
    assert set(written["best_params"]) == {"lr", "model.hidden_size", "optimizer"}
    # The study names its objective (optuna-dashboard's axis), and Optuna's warning that naming it is experimental
    # stays off the terminal.
    assert study.metric_names == ["final_loss"]  # hello minimises its final loss
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    assert "ExperimentalWarning" not in done.stderr + done.stdout


def test_the_results_file_of_several_objectives_lists_the_pareto_front_and_of_none_completed_nulls():
    both = optuna.create_study(directions=["minimize", "maximize"])
    space = {"x": FloatDistribution(0, 1)}
    for x, values in [(0.1, [1.0, 1.0]), (0.2, [2.0, 3.0]), (0.3, [3.0, 2.0])]:  # the third is dominated by the second
        both.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=space, values=values))
    assert optimization_results(both) == {
        "name": "optuna", "solutions": [{"params": {"x": 0.1}, "values": [1.0, 1.0]}, {"params": {"x": 0.2}, "values": [2.0, 3.0]}]}
    pruned = optuna.create_study()
    pruned.add_trial(optuna.trial.create_trial(params={"x": 0.1}, distributions=space, state=TrialState.PRUNED))
    assert optimization_results(pruned) == {"name": "optuna", "best_params": None, "best_value": None}


# --------------------------------------------------------------------------- the trainer's hook
def hparams_status(run_dir: Path) -> str:
    """The status name the run's hparams session ended with, as TensorBoard reads it."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_end_info"]
    return api_pb2.Status.Name(plugin_data_pb2.HParamsPluginData.FromString(content).session_end_info.status)


def test_the_trainers_hook_hears_every_epoch_and_stops_the_run_as_pruned(tmp_path):
    heard = []

    def after_epoch(epoch: int, loss: float, accuracy: float) -> bool:
        heard.append((epoch, loss))
        return epoch == 2

    result = train(compose_config("task=copy", "task.size=64", "epochs=4", "model.hidden_size=8"), tmp_path,
                   after_epoch=after_epoch)
    assert result.status is Status.PRUNED and result.epochs == 2 and len(result.val_losses) == 2
    assert heard == [(1, result.val_losses[0]), (2, result.val_losses[1])]  # the validation loss, where there is one
    assert result.final_loss == result.val_losses[-1]  # the loss it was judged by
    assert RunResult.read(tmp_path / METRICS_NAME).status is Status.PRUNED
    assert torch.load(tmp_path / LAST, weights_only=True)["epoch"] == 2
    assert hparams_status(tmp_path) == "STATUS_UNKNOWN"  # TensorBoard: not a Success, nor a Failure

    told = []  # no validation split: the epoch's training loss; a stop asked for after the last epoch changes nothing
    hello = train(compose_config("epochs=3"), tmp_path / "hello", after_epoch=lambda e, loss, accuracy: told.append(loss) or True)
    assert hello.status is Status.PRUNED and hello.epochs == 1 and told == hello.losses
    last = train(compose_config("epochs=1"), tmp_path / "last", after_epoch=lambda e, loss, accuracy: True)
    assert last.status is Status.OK and last.epochs == 1


# --------------------------------------------------------------------------- a pruned search
# A median pruner over six trials of a short copy task: after two finished trials, a trial
# whose validation loss at an epoch is worse than theirs there stops.
SEARCH = ["-m", "hparams_search=optuna", "task=copy", "task.size=64", "model.hidden_size=choice(8, 16)", "epochs=5",
          "device=cpu", "hydra.sweeper.n_trials=6", "hydra.sweeper.n_jobs=1", "hydra.sweeper.pruner=median",
          "hydra.sweeper.pruner_args.n_startup_trials=2"]


def load_study(sweep_dir: Path):
    """The search's study, as a user opens it (docs/sweeps.md)."""
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(sweep_dir / JOURNAL_NAME)))
    return optuna.load_study(study_name="rnnexp", storage=storage)


def summary_rows(sweep_dir: Path) -> list[dict]:
    with open(sweep_dir / SUMMARY_CSV, newline="") as f:
        return list(csv.DictReader(f))


def job_results(sweep_dir: Path) -> dict[int, RunResult]:
    return {int(p.parent.name.partition("_")[0]): RunResult.read(p) for p in sweep_dir.glob(f"*_*/{METRICS_NAME}")}


@pytest.fixture(scope="module")
def pruned_search(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("pruned_search")
    done = run_in_process(SEARCH, cwd)
    assert done.status == 0, done.stderr  # a pruned trial is an end, not a failure
    return done, sweep_dir_of(cwd)


def test_a_pruned_trial_stops_at_its_epoch_and_says_so_in_metrics_json(pruned_search):
    _, sweep_dir = pruned_search
    results = job_results(sweep_dir)
    statuses = Counter(result.status for result in results.values())
    assert statuses[Status.PRUNED] >= 1 and statuses[Status.OK] >= 2, statuses
    for result in results.values():
        if result.status is Status.PRUNED:
            assert 1 <= result.epochs < 5 and len(result.val_losses) == result.epochs
            assert result.final_loss == result.val_losses[-1]
        else:
            assert result.status is Status.OK and result.epochs == 5


def test_the_summary_lists_pruned_trials_after_the_finished_ones(pruned_search):
    done, sweep_dir = pruned_search
    rows = summary_rows(sweep_dir)
    results = job_results(sweep_dir)
    assert [row["status"] for row in rows] == sorted((row["status"] for row in rows), key=lambda s: s == "pruned")
    for row in rows:
        result = results[int(row["job"])]
        assert (row["status"], int(row["epochs"]), float(row["final_loss"])) == (result.status, result.epochs, result.final_loss)
    pruned = [row for row in rows if row["status"] == "pruned"]
    table = {line.split()[1]: line for line in done.stdout.splitlines() if line.strip()[:1].isdigit()}
    assert all(f"pruned at {row['epochs']}" in table[row["job"]] for row in pruned)
    assert f", {len(pruned)} pruned" in done.stdout  # the sweep's counts
    assert f"Job {pruned[0]['job']} (" in done.stdout and "): pruned after epoch " in done.stdout  # its line as it ended


def test_the_study_holds_every_trial_with_its_state_and_its_losses(pruned_search):
    done, sweep_dir = pruned_search
    cwd = sweep_dir.parents[3]  # <cwd>/outputs/multirun/<date>/<time>
    study = load_study(sweep_dir)
    results = job_results(sweep_dir)
    assert len(study.trials) == len(results) == 6
    for trial in study.trials:
        result = results[trial.user_attrs[JOB_ATTR]]
        assert trial.state.name.lower() == {"ok": "complete", "pruned": "pruned"}[result.status]
        # Each epoch's validation loss, reported by the job as it trained.
        assert trial.intermediate_values == dict(enumerate(result.val_losses, start=1))
        assert trial.value == result.final_loss
    complete = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert study.best_value == min(t.value for t in complete)
    assert done.stdout.splitlines()[-1] == f"Study rnnexp: {sweep_dir.relative_to(cwd)}/{JOURNAL_NAME}"  # the summary's last line


# --------------------------------------------------------------------------- cut and continued
@contextlib.contextmanager
def sigterm_in_job(job: int, forward: int):
    """SIGTERM to this process in the ``forward``-th forward pass of sweep job ``job`` (its Hydra job number)."""
    sent, calls = [], Counter()

    def hook(module, args, output):
        if not isinstance(module, RecurrentTagger) or torch.jit.is_tracing():
            return
        num = HydraConfig.get().job.num
        calls[num] += 1
        if num == job and calls[num] == forward:
            sent.append(num)
            os.kill(os.getpid(), signal.SIGTERM)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield sent
    finally:
        handle.remove()


def test_a_cut_pruned_search_continues_its_trials_and_keeps_the_pruned_ones(run_main, tmp_path):
    # Job 3 is cut in its third epoch (four training batches and one validation batch an epoch),
    # after job 2 was pruned.
    with sigterm_in_job(3, forward=12) as sent:
        cut = run_main(SEARCH)
    assert sent and cut.status == 143, cut.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    before = job_results(sweep_dir)
    assert before[3].status is Status.INTERRUPTED and Status.PRUNED in {r.status for r in before.values()}
    ended = {num: next(sweep_dir.glob(f"{num}_*/{METRICS_NAME}")).read_bytes() for num in range(3)}

    continued = run_main(["continue=last"])
    assert continued.status == 0, continued.stderr
    assert "Continuing the search: 3 trials ended, 1 to resume, 2 new from job 4" in continued.stdout
    after = job_results(sweep_dir)
    assert sorted(after) == [0, 1, 2, 3, 4, 5]  # six trials in all, none renumbered
    for num, record in ended.items():  # the ended trials, pruned ones too, are kept as they were
        assert next(sweep_dir.glob(f"{num}_*/{METRICS_NAME}")).read_bytes() == record
    assert after[3].status in (Status.OK, Status.PRUNED)
    assert "Resuming" in next(sweep_dir.glob("3_*/rnnexp.log")).read_text()

    study = load_study(sweep_dir)
    states = {t.user_attrs[JOB_ATTR]: t.state for t in study.trials}
    assert len(study.trials) == 6 and TrialState.RUNNING not in states.values()
    for num, result in after.items():  # the study agrees with every job's record, the cut one's too
        assert states[num].name.lower() == {"ok": "complete", "pruned": "pruned"}[result.status]
    resumed = next(t for t in study.trials if t.user_attrs[JOB_ATTR] == 3)
    # Its losses from before the cut and after it: the resumed job reported to the same trial.
    assert resumed.intermediate_values == dict(enumerate(after[3].val_losses, start=1))


# --------------------------------------------------------------------------- joblib
@pytest.mark.slow
def test_joblib_workers_report_to_the_study_and_are_pruned(run_main, tmp_path, joblib_workers):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    # Two batches of two: the second batch's trials are judged against the first's, which ended.
    search = [arg for arg in SEARCH if "n_jobs" not in arg and "n_trials" not in arg] + [
        "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        "hydra.sweeper.pruner_args.n_startup_trials=1"]
    done = run_main(search)
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(tmp_path)
    results = job_results(sweep_dir)
    study = load_study(sweep_dir)
    assert len(study.trials) == len(results) == 4
    for trial in study.trials:  # each worker process reported every epoch it trained, through the journal
        result = results[trial.user_attrs[JOB_ATTR]]
        assert trial.intermediate_values == dict(enumerate(result.val_losses, start=1))
        assert trial.state.name.lower() == {"ok": "complete", "pruned": "pruned"}[result.status]
    assert any(r.status is Status.PRUNED for r in results.values())
    assert not math.isnan(study.best_value)
