"""Tasks of real values with one answer per sequence (classify, regress) through everything around a run.

The sweep summary ranks by the kind (classify by accuracy, regress by MSE),
with its seed groups and its ladder; an Optuna search takes the kind's
direction and prunes on the same metric; TensorBoard gets the kind's own
metrics; predict answers for a held-out sequence or for values given;
rnnexp.shapes and the Graphs tab show (B, T, F) features and the readout;
resume= and continue= end bit for bit where an uninterrupted run does.
The data comes from a task=custom callable in the working directory, tiny
and seeded.
"""

from __future__ import annotations

import json
import math
import signal
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from conftest import compose_config, run_in_process, signals_at_forward, sweep_dir_of, user_module
from rnnexp.data.loading import load_task
from rnnexp.data.task import CLASSIFY, REGRESS, TAGGING
from rnnexp.errors import UserError
from rnnexp.results import LAST, METRICS_NAME, RunResult, Status
from rnnexp.search.config import search_objective
from rnnexp.sweep import Summary
from rnnexp.sweep.jobs import read_jobs
from rnnexp.sweep.report import job_line
from rnnexp.tools.predict import predict
from rnnexp.tools.shapes import render, trace_shapes
from rnnexp.tracking.experiment_file import EXPERIMENT_FILE
from rnnexp.tracking.graph import graph_example
from rnnexp.tracking.summaries import CLASSIFY_TAGS, REGRESS_TAGS, metric_columns
from rnnexp.training.checkpoint import load_resume
from rnnexp.training.objectives import BY_ACCURACY, BY_LOSS
from rnnexp.training.trainer import train

ANSWER_DATA = '''
import torch


def blobs(n=48, length=6, seed=0):
    """Three classes of 2-feature sequences, each around its class's value: classify."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, length, 2, generator=g) * 0.5 + y.view(-1, 1, 1).float()
    return x, y


def sums(n=48, length=6, seed=0):
    """The mean of one feature's values: regress."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, length, 1, generator=g)
    return x, x.sum(dim=(1, 2)) / length
'''

MODEL = ["model=gru", "encoder=linear", "model.hidden_size=8", "batch_size=8", "device=cpu"]
BLOBS = ["task=custom", "task.data._target_=answer_data.blobs", *MODEL]
SUMS = ["task=custom", "task.data._target_=answer_data.sums", *MODEL]


@pytest.fixture
def answer_data(tmp_path):
    """answer_data.py in ``tmp_path``, the commands' working directory, imported afresh by each test."""
    with user_module(tmp_path, "answer_data", ANSWER_DATA):
        yield tmp_path


@pytest.fixture(scope="module")
def finished_runs(tmp_path_factory):
    """A classify run and a regress run, trained once for the tests that only read them."""
    with user_module(tmp_path_factory.mktemp("answer_runs"), "answer_data", ANSWER_DATA) as directory:
        return {
            name: (directory / name, train(compose_config(*task, "epochs=3", "lr=0.05"), directory / name))
            for name, task in (("classify", BLOBS), ("regress", SUMS))
        }


@pytest.fixture
def classify_run(finished_runs):
    return finished_runs["classify"]


@pytest.fixture
def regress_run(finished_runs):
    return finished_runs["regress"]


# --------------------------------------------------------------------------- the summary, from job directories
def make_job(sweep_dir: Path, num: int, overrides: list[str], kind: str, **metrics) -> Path:
    """A job directory as Hydra and training leave it, for a task of ``kind`` with 40 evaluation sequences."""
    job_dir = sweep_dir / f"{num}_{','.join(sorted(overrides))}"
    (job_dir / ".hydra").mkdir(parents=True)
    (job_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    record = {"kind": kind, "prediction": "1", "target": "1", "final_loss": 0.5, "accuracy": 0.5, "sequences": 40,
              "sequences_right": 20, "solved_epoch": None, "epochs": 5, "seconds": 0.3, "status": Status.OK}
    record |= metrics
    if "accuracy" in metrics and "sequences_right" not in metrics:
        record["sequences_right"] = round(metrics["accuracy"] * 40)
    RunResult(run_dir=str(job_dir), **record).write(job_dir)
    return job_dir


def test_a_classify_sweep_ranks_by_accuracy_then_loss_then_job_number(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1"], CLASSIFY, accuracy=0.9, final_loss=0.3)
    make_job(tmp_path, 1, ["lr=0.2"], CLASSIFY, accuracy=0.95, final_loss=0.4)
    make_job(tmp_path, 2, ["lr=0.3"], CLASSIFY, accuracy=0.95, final_loss=0.2)  # as accurate as 1, a lower loss
    # The same accuracy and a loss that prints the same: the job number decides, whatever the last bits.
    make_job(tmp_path, 3, ["lr=0.4"], CLASSIFY, accuracy=0.9, final_loss=0.30000001)
    make_job(tmp_path, 4, ["lr=0.5"], CLASSIFY, status=Status.DIVERGED, final_loss=None, accuracy=1.0)
    make_job(tmp_path, 5, ["lr=0.6"], CLASSIFY, accuracy=1.0, final_loss=0.1, solved_epoch=4)

    summary = Summary.read(tmp_path)
    assert summary.ranking.kind == CLASSIFY
    assert [j.num for j in summary.ranked] == [5, 2, 1, 0, 3, 4]  # a diverged job last, whatever its accuracy
    lines = summary.text().splitlines()
    assert lines[1:3] == [
        "Ranked by seq accuracy, highest first, then by final loss",
        "Seq accuracy: the share of evaluation sequences classified right; final loss: the cross-entropy",
    ]
    header = next(line for line in lines if line.startswith("rank"))
    assert "final loss  seq accuracy  sequences right" in header
    first = lines[lines.index(header) + 2]
    assert first.split() == ["1", "5", "lr=0.6", "ok", "0.1000", "1.0000", "40/40", "4", "0.30"]
    assert job_line(summary.ranked[0]) == "Job 5 (lr=0.6): ok, accuracy 1.0000 (40/40), final loss 0.1000, solved at epoch 4, 0.30 s"


def test_a_regress_sweep_ranks_by_mse_and_names_its_columns(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1"], REGRESS, final_loss=0.02, accuracy=0.9)
    make_job(tmp_path, 1, ["lr=0.2"], REGRESS, final_loss=0.01, accuracy=0.5)  # lower MSE, fewer within tolerance
    make_job(tmp_path, 2, ["lr=0.3"], REGRESS, final_loss=0.03, accuracy=1.0, solved_epoch=3)
    summary = Summary.read(tmp_path)
    assert [j.num for j in summary.ranked] == [1, 0, 2]
    lines = summary.text().splitlines()
    assert lines[1] == "Ranked by final MSE, lowest first"
    assert "final MSE  within tolerance  sequences right" in next(line for line in lines if line.startswith("rank"))
    assert job_line(summary.ranked[0]) == "Job 1 (lr=0.2): ok, final MSE 0.0100, within tolerance 0.5000 (20/40), 0.30 s"
    assert [row["kind"] for row in summary.csv_rows()] == [REGRESS] * 3


def test_seed_groups_of_a_classify_sweep_rank_by_mean_accuracy(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1", "seed=0"], CLASSIFY, accuracy=0.8, final_loss=0.1)
    make_job(tmp_path, 1, ["lr=0.1", "seed=1"], CLASSIFY, accuracy=0.9, final_loss=0.1)
    make_job(tmp_path, 2, ["lr=0.2", "seed=0"], CLASSIFY, accuracy=0.95, final_loss=0.5)
    make_job(tmp_path, 3, ["lr=0.2", "seed=1"], CLASSIFY, accuracy=0.95, final_loss=0.6)
    summary = Summary.read(tmp_path)
    assert [g.setting for g in summary.groups] == [("lr=0.2",), ("lr=0.1",)]  # mean accuracy first, not mean loss
    header, rows = summary.group_table()
    assert header == ["setting", "seeds", "solved", "mean accuracy", "std accuracy", "mean loss", "std loss", "mean solved epoch"]
    assert rows[0][:5] == ["lr=0.2", "2", "0/2", "0.9500", "0.0000"] and rows[1][3] == "0.8500"
    assert "of the accuracy (the share of sequences right)" in summary.markdown()


def test_the_ladder_of_a_classify_sweep_counts_solved_at_its_share_right(tmp_path):
    # solved_at=0.9: 36 of 40 sequences right solves a rung.
    for num, (length, seed, accuracy) in enumerate([(5, 0, 1.0), (5, 1, 0.9), (10, 0, 0.925), (10, 1, 0.5)]):
        make_job(tmp_path, num, [f"task.data.length={length}", f"seed={seed}"], CLASSIFY, accuracy=accuracy,
                 solved_at=0.9, solved_epoch=2 if accuracy >= 0.9 else None)
    summary = Summary.read(tmp_path, ladder="task.data.length")
    header, rows = summary.ladder_table()
    assert header == ["setting", "task.data.length=5", "10", "every seed", "any seed"]
    assert rows == [["(defaults)", "2/2", "1/2", "5", "10"]]
    assert "at least 90% of the evaluation sequences right" in summary.markdown()


def test_the_summary_reads_the_kind_from_the_sweeps_config_when_no_record_names_it(tmp_path):
    make_job(tmp_path, 0, ["lr=0.1"], None, final_loss=0.5, accuracy=0.5)
    (tmp_path / "multirun.yaml").write_text("task: {_target_: rnnexp.data.builtin_tasks.Copy, name: copy}\nhydra: {}\n")
    assert Summary.read(tmp_path).ranking.kind == TAGGING
    make_job(tmp_path, 1, ["lr=0.2"], CLASSIFY)
    make_job(tmp_path, 2, ["lr=0.3"], REGRESS)
    assert Summary.read(tmp_path).ranking.kind is None  # a sweep over kinds ranks as tagging does


# --------------------------------------------------------------------------- a sweep, run
def test_a_classify_sweep_runs_and_its_summary_ranks_by_accuracy(answer_data):
    done = run_in_process(["-m", *BLOBS, "epochs=2", "lr=0.01,0.05", "seed=0,1"], answer_data)
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(answer_data)
    jobs = read_jobs(sweep_dir)
    assert {job.kind for job in jobs} == {CLASSIFY}
    assert all(f"Job {job.num} " in done.stdout and "accuracy " in done.stdout for job in jobs)
    summary = Summary.read(sweep_dir)
    accuracies = [round(job.accuracy, 4) for job in summary.ranked]
    assert accuracies == sorted(accuracies, reverse=True)
    assert "Ranked by seq accuracy, highest first, then by final loss" in done.stdout
    assert "mean accuracy" in done.stdout  # the seed groups


# --------------------------------------------------------------------------- the Optuna search
def test_a_searchs_null_direction_follows_the_kind():
    custom = {"_target_": "rnnexp.data.custom.Custom", "name": "custom", "kind": None}
    assert search_objective(None, {"_target_": "rnnexp.data.builtin_tasks.Copy", "name": "copy"}) == BY_LOSS
    assert search_objective(None, custom | {"kind": CLASSIFY}) == BY_ACCURACY
    assert search_objective(None, custom | {"kind": REGRESS}) == BY_LOSS
    assert search_objective(None, custom) == BY_LOSS  # the kind is known only once the data is read
    assert search_objective("maximize", custom) == BY_ACCURACY and search_objective("minimize", custom | {"kind": CLASSIFY}) == BY_LOSS
    assert search_objective(["minimize", "maximize"], custom) is None


def test_a_classify_search_maximizes_the_accuracy_and_prunes_on_it(answer_data):
    optuna = pytest.importorskip("optuna")
    from rnnexp.search.study_storage import JOURNAL_NAME

    done = run_in_process(["-m", "hparams_search=optuna", *BLOBS, "task.kind=classify", "epochs=3", "hydra.sweeper.n_trials=4",
                           "hydra.sweeper.n_jobs=1", "hydra.sweeper.pruner=median",
                           "hydra.sweeper.pruner_args.n_startup_trials=1"], answer_data)
    assert done.status == 0, done.stderr
    sweep_dir = sweep_dir_of(answer_data)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(sweep_dir / JOURNAL_NAME)))
    study = optuna.load_study(study_name="rnnexp", storage=storage)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE and study.metric_names == ["accuracy"]
    records = {job.num: job for job in read_jobs(sweep_dir)}
    for trial in study.trials:
        job = records[trial.user_attrs["rnnexp_job"]]
        # Every epoch told the validation accuracy: its last is the record's, which a complete trial's value is.
        assert all(0 <= value <= 1 for value in trial.intermediate_values.values())
        assert trial.intermediate_values[job.epochs] == pytest.approx(job.accuracy)
        if trial.state == optuna.trial.TrialState.COMPLETE:
            assert trial.value == pytest.approx(job.accuracy)
    assert "Ranked by accuracy, the search's objective (maximize: highest first)" in done.stdout
    ranked = Summary.read(sweep_dir).ranked
    assert ranked[0].accuracy == study.best_value


def test_a_search_of_custom_data_of_unknown_kind_minimizes_the_loss_and_says_why(answer_data):
    pytest.importorskip("optuna")
    done = run_in_process(["-m", "hparams_search=optuna", *BLOBS, "epochs=1", "hydra.sweeper.n_trials=1",
                           "hydra.sweeper.n_jobs=1"], answer_data)
    assert done.status == 0, done.stderr
    assert "task=custom tells its kind only once its data is read, so the search minimizes the final loss" in done.stdout
    assert "Ranked by final loss, the search's objective (minimize: lowest first)" in done.stdout


# --------------------------------------------------------------------------- TensorBoard
def scalars(run_dir: Path) -> dict[str, float]:
    events = EventAccumulator(str(run_dir))
    events.Reload()
    return {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"]}


def experiment_metrics(run_dir: Path) -> list[str]:
    events = EventAccumulator(str(run_dir / EXPERIMENT_FILE))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/experiment"]
    return [m.name.tag for m in plugin_data_pb2.HParamsPluginData.FromString(content).experiment.metric_infos]


def test_tensorboard_gets_the_kinds_own_metrics_and_a_table_of_answers(classify_run, regress_run):
    for (run_dir, result), tags in ((classify_run, CLASSIFY_TAGS), (regress_run, REGRESS_TAGS)):
        logged = scalars(run_dir)
        assert {*tags.final, "loss/train", "loss/val", tags.train[1], tags.val[1], "lr"} == set(logged)
        assert experiment_metrics(run_dir)[:len(tags.final)] == list(tags.final)
        assert experiment_metrics(run_dir) == list(metric_columns(result.kind))
        events = EventAccumulator(str(run_dir))
        events.Reload()
        table = events.Tensors("prediction/text_summary")[-1].tensor_proto.string_val[0].decode()
        assert table.startswith("| validation sequence | prediction | target | right |")
        assert len(table.splitlines()) == 2 + 4  # the first four of the five held-out sequences
    classify, regress = scalars(classify_run[0]), scalars(regress_run[0])
    assert classify["result/accuracy"] == pytest.approx(classify_run[1].accuracy)
    assert classify["result/loss"] == pytest.approx(classify_run[1].final_loss)
    assert regress["result/mse"] == pytest.approx(regress_run[1].final_loss)
    assert regress["result/within_tolerance"] == pytest.approx(regress_run[1].accuracy)


# --------------------------------------------------------------------------- predict
def test_predict_answers_for_a_held_out_sequence_as_the_run_saw_it(classify_run, regress_run):
    run_dir, result = classify_run
    # last.pt: the weights the run's final evaluation saw, whose first held-out sequence metrics.json shows.
    lines = predict([f"run={run_dir}", "index=0", "checkpoint=last"]).splitlines()
    assert lines[0].startswith("input: validation sequence 0 of 5, 6 steps x 2 features, values from ")
    assert lines[1].startswith(f"prediction: class {result.prediction}, probability ")
    assert lines[2] == f"target: class {result.target} ({'right' if result.prediction == result.target else 'wrong'})"
    run_dir, result = regress_run
    lines = predict([f"run={run_dir}", "index=0", "checkpoint=last"]).splitlines()
    assert lines[1] == f"prediction: {result.prediction}"
    assert lines[2].startswith(f"target: {result.target} (") and "within task.tolerance=0.04)" in lines[2]


def test_predict_answers_for_values_given(classify_run, regress_run):
    lines = predict([f"run={classify_run[0]}", "values=[[0.1, 0.2], [1, 1.5], [2, 2]]"]).splitlines()
    assert lines[0] == "input: the values given, 3 steps x 2 features, values from 0.1 to 2, mean 1.133"
    assert lines[1].startswith("prediction: class ") and "(next: class " in lines[1] and len(lines) == 2
    lines = predict([f"run={regress_run[0]}", "values=[0.5, 0.5, 0.5]"]).splitlines()
    assert lines[0].startswith("input: the values given, 3 steps x 1 feature,") and lines[1].startswith("prediction: ")
    assert math.isfinite(float(lines[1].split(": ")[1]))


def test_predict_bad_input_is_one_line(classify_run, regress_run, answer_data):
    classify, regress = str(classify_run[0]), str(regress_run[0])
    train(compose_config("model=embedding", "epochs=1"), answer_data / "hello")
    cases = [
        ([f"run={classify}", "index=5"], "index=5: the run's validation set holds 5 sequences; give an index from 0 to 4"),
        ([f"run={classify}", "index=-1"], "index=-1: the run's validation set holds 5 sequences"),
        ([f"run={classify}", "index=x"], "index=x: expected an integer"),
        ([f"run={classify}", "values=[0.5, 0.5]"],
         "values=[0.5, 0.5]: 1 feature a step, but the run's model reads 2; give one list of 2 numbers per step"),
        ([f"run={regress}", "values=[[1, 2]]"], "values=[[1, 2]]: 2 features a step, but the run's model reads 1; give one number per step"),
        ([f"run={regress}", "values=[[1], [2, 3]]"], "values=[[1], [2, 3]]: the steps hold different numbers of features"),
        ([f"run={regress}", "values=[1,,2]"], "values=[1,,2]: not a list of numbers; give one number per step"),
        ([f"run={regress}", "values=__import__('os')"], "values=__import__('os'): not a list of numbers"),
        ([f"run={regress}", "values=[]"], "values=[]: not a list of numbers"),
        ([f"run={classify}", "input=abc"],
         "input=abc: this run reads real values (task=custom, classify), not characters; give index=N for a held-out sequence"),
        ([f"run={regress}", "sample=5"], "sample=5: this run reads real values (task=custom, regress)"),
        ([f"run={answer_data / 'hello'}", "index=1"], "index=1: this run maps characters (task=hello); give input=<characters>"),
        ([f"run={classify}", "index=1", "values=[1]"], "give either input="),
    ]
    for args, message in cases:
        with pytest.raises(UserError) as refused:
            predict(args)
        assert str(refused.value).startswith(message) and "\n" not in str(refused.value), (args, str(refused.value))


def test_predict_refuses_values_of_another_length_where_the_model_reads_every_step(answer_data):
    run_dir = answer_data / "all"
    train(compose_config(*SUMS, "epochs=1", "model.readout=all"), run_dir)
    with pytest.raises(UserError, match=r"^values=\[1, 2\]: 2 steps, but the run's model \(model.readout=all\) reads "
                                        r"sequences of exactly 6 steps$"):
        predict([f"run={run_dir}", "values=[1, 2]"])
    assert predict([f"run={run_dir}", "values=[1, 2, 3, 4, 5, 6]"]).startswith("input: the values given, 6 steps")


# --------------------------------------------------------------------------- shapes and the graph
@pytest.mark.parametrize("overrides, answers", [
    ((*BLOBS, "model.readout=last"), ("classes", 3)),
    ((*SUMS, "model.readout=all", "encoder.dim=4"), ("outputs", 1)),
    ((*BLOBS, "model=lstm", "model.readout=mean", "model.bidirectional=true"), ("classes", 3)),
])
def test_shapes_of_a_task_of_real_values_are_those_of_a_forward_pass(answer_data, overrides, answers):
    cfg = compose_config(*overrides)
    trace = trace_shapes(cfg)
    data = load_task(cfg.task)
    batch = next(data.train.batches(cfg.batch_size))
    assert trace.shape("features") == batch.source.shape == (8, 6, data.sizes.inputs)
    assert trace.shape("logits") == (8, answers[1]) and trace.sizes[answers[0]] == answers[1]
    width = trace.shape("readout")[1]
    assert width == (6 * 8 if cfg.model.readout == "all" else (16 if cfg.model.bidirectional else 8))
    assert trace.shape("head.weight") == (answers[1], width)
    text = render(trace)
    assert "input: the encoder turns the features into x" in text and "\nreadout: " in text
    loss = "F.cross_entropy, one class per sequence" if answers[0] == "classes" else "F.mse_loss over every number"
    assert f"loss: {loss}" in text
    if answers[0] == "classes":
        assert trace.shape("loss target") == (8,)
    else:
        assert trace.shape("loss target") == (8, 1) and trace.shape("encoder.projection.weight") == (4, 1)


def test_the_graph_of_a_task_of_real_values_takes_features(classify_run, answer_data):
    run_dir, _ = classify_run
    events = EventAccumulator(str(run_dir))
    events.Reload()
    nodes = {node.name: node for node in events.Graph().node}
    shape = [d.size for d in nodes["input/features"].attr["_output_shapes"].list.shape[0].dim]
    assert shape == [1, 6, 2]  # (1, T, F): the first training sequence
    (output,) = [node for name, node in nodes.items() if name.startswith("output/")]
    assert [d.size for d in output.attr["_output_shapes"].list.shape[0].dim] == [1, 3]  # one answer: (1, classes)
    assert any("LastStep[readout]" in name for name in nodes)
    data = load_task(compose_config(*BLOBS).task)
    assert graph_example(data, torch.device("cpu")).dtype == torch.float32


# --------------------------------------------------------------------------- resume and continue
def test_resume_of_a_classify_run_ends_bit_for_bit_as_an_uninterrupted_one(answer_data):
    overrides = (*BLOBS, "model.dropout=0.2", "lr=0.05")
    whole = train(compose_config(*overrides, "epochs=4"), answer_data / "whole")
    train(compose_config(*overrides, "epochs=2"), answer_data / "half")
    (answer_data / "answer_data.py").unlink()  # a resumed run reads the arrays it kept, never the callable
    sys.modules.pop("answer_data", None)
    cfg, resume = load_resume(str(answer_data / "half"), epochs=4)
    resumed = train(cfg, answer_data / "resumed", resume=resume)
    assert resumed.losses == whole.losses and resumed.val_losses == whole.val_losses
    assert (resumed.accuracy, resumed.final_loss, resumed.kind) == (whole.accuracy, whole.final_loss, CLASSIFY)


def test_a_classify_sweep_cut_mid_epoch_continues_to_the_uninterrupted_result(answer_data):
    job = [*BLOBS, "epochs=3", "lr=0.05"]  # 6 training batches and 1 validation batch an epoch
    with signals_at_forward((7 + 3, signal.SIGTERM)) as sent:
        stopped = run_in_process(["-m", *job, "seed=0,1"], answer_data)
    assert sent and stopped.status == 143, stopped.stderr
    sweep_dir = sweep_dir_of(answer_data)
    (job0,) = (p for p in sweep_dir.iterdir() if p.name.startswith("0_"))
    continued = run_in_process(["continue=last"], answer_data)
    assert continued.status == 0, continued.stderr
    assert f"Resuming {job0} after epoch 1" in (job0 / "rnnexp.log").read_text()
    uninterrupted = train(compose_config(*job, "seed=0"), answer_data / "uninterrupted")
    record = RunResult.read(job0 / METRICS_NAME)
    assert record.losses == uninterrupted.losses and record.kind == CLASSIFY
    assert "Ranked by seq accuracy, highest first, then by final loss" in continued.stdout
    assert json.loads((job0 / METRICS_NAME).read_text())["kind"] == CLASSIFY
    assert OmegaConf.load(sweep_dir / "ranking.yaml") == {"objective": None, "direction": None}
