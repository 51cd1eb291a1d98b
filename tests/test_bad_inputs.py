"""Every bad input is answered with one line naming the key or value and what is
allowed, exit status 2 and no traceback. docs/errors.md lists this table.

The commands run in-process (rnnexp.cli.main.main, rnnexp.tools.predict.main) with their
output captured: the same lines and statuses as ``python -m``, without a
Python start-up per row.
"""

import importlib.util
import os
from pathlib import Path

import pytest
import torch

import rnnexp.sweep.summarize
import rnnexp.tools.predict
from conftest import run_in_process


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Files the table refers to, and one finished hello run to predict from."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "empty.txt").write_text("")
    (root / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    (root / "bad.tsv").write_text("ab\tba\nabc ab\n")
    (root / "bad.csv").write_text("source,target\nab,ba\nabc,cb,a\n")
    (root / "bad.jsonl").write_text('{"source": "ab", "target": "ba"}\n{"source": "abc"}\n')
    (root / "pairs.xlsx").write_text("ab\tba\n")
    # A user's data module (task=custom), named apart from the other tests' my_data.
    (root / "table_data.py").write_text(
        "def words(n=3):\n    return [('ab', 'ba')] * n\n\n"
        "def unequal():\n    return [('ab', 'ba'), ('abc', 'ab')]\n\n"
        "def nothing():\n    return []\n\n"
        "def a_dict():\n    return {'ab': 'ba'}\n\n"
        "def with_nan():\n    return [[[0.0, 1.0], [float('nan'), 1.0]]] * 4, [0, 1, 0, 1]\n\n"
        "NOT_CALLABLE = 3\n\n"
        "def blobs(n=48):\n"
        "    import torch\n"
        "    g = torch.Generator().manual_seed(0)\n"
        "    y = torch.randint(0, 3, (n,), generator=g)\n"
        "    return torch.randn(n, 6, 2, generator=g) + y.view(-1, 1, 1).float(), y\n"
    )
    # Real-valued sequences in the UCR archive's layout (task=arrays): the class, then one value a step.
    (root / "bad_cells.csv").write_text("0,0.1,0.2\n1,0.3,abc\n")
    (root / "unequal.csv").write_text("0,0.1,0.2\n1,0.3,0.4,0.5\n0,0.2,0.1\n1,0.4,0.4,0.6\n")
    (root / "a_file").write_text("not a directory")
    done = run_in_process(["epochs=2", "device=cpu", "hydra.run.dir=run"], root)
    assert done.status == 0, done.stderr
    # A checkpoint whose weights belong to another model: the config says hidden 16.
    other = root / "other_model"
    other.mkdir()
    state = torch.load(root / "run" / "best.pt", weights_only=True)
    state["config"]["model"]["hidden_size"] = 16
    torch.save(state, other / "best.pt")
    # A checkpoint cut short, as by a crash while copying it.
    cut = root / "truncated"
    cut.mkdir()
    (cut / "best.pt").write_bytes((root / "run" / "best.pt").read_bytes()[:1500])
    # A language model (task=text), on a text short enough to train in a moment.
    (root / "book.txt").write_text("The quick brown fox jumps over the lazy dog. hello. " * 12)
    text = ["task=text", "task.path=book.txt", "task.window=8", "model=gru", "model.hidden_size=8", "task.sample_every=0"]
    done = run_in_process([*text, "epochs=1", "device=cpu", "hydra.run.dir=text_run"], root)
    assert done.status == 0, done.stderr
    # A classify run of real values: 48 sequences of 6 steps x 2 features, 5 of them held out.
    blobs = ["task=custom", "task.data._target_=table_data.blobs", "model=gru", "encoder=linear", "model.hidden_size=8"]
    done = run_in_process([*blobs, "epochs=1", "device=cpu", "hydra.run.dir=classify_run"], root)
    assert done.status == 0, done.stderr
    return root


MAIN, PREDICT, SUMMARIZE = "rnnexp", "rnnexp.predict", "rnnexp.summarize"

# (what is wrong, module, arguments, the start of the one line)
TABLE = [
    ("unknown group option", MAIN, ["model=lsmt"], "model=lsmt: no such option; choose one of cell, custom, embedding, gru, lstm, mingru, minlstm, rnn; did you mean lstm?"),
    ("misspelled key", MAIN, ["lrr=0.1"], "lrr: no such config key; did you mean lr?"),
    ("misspelled nested key", MAIN, ["model.hiden_size=8"], "model.hiden_size: no such config key; did you mean model.hidden_size?"),
    ("misspelled key added with +", MAIN, ["+lrr=0.1"], "lrr: no such config key; did you mean lr?"),
    ("a key of another option of the group", MAIN, ["task.path=/data.txt"], "task.path: not a key of this task; task.path belongs to task=arrays, task=pairs and task=text (for example task=text task.path=...)"),
    ("spaces around =", MAIN, ["model", "=", "rnn"], "'model = rnn': an override is one word, with no spaces around its =; type model=rnn"),
    ("a space after =", MAIN, ["model=", "rnn"], "'model= rnn': an override is one word, with no spaces around its =; type model=rnn"),
    ("misspelled nested key added with ++", MAIN, ["++model.hiden_size=3"], "model.hiden_size: no such config key; did you mean model.hidden_size?"),
    ("+ on a key that has a value", MAIN, ["+lr=0.3"], "+lr=0.3: lr already has a value, so it takes no +; type lr=0.3"),
    ("+ on a group of the defaults list", MAIN, ["+experiment=seed_cell"], "+experiment=seed_cell: experiment is already in the defaults list, so it takes no +; type experiment=seed_cell"),
    ("removing a key", MAIN, ["~lr"], "~lr: lr cannot be removed, every run reads it; set it instead, for example lr=0.1"),
    ("removing a key whose null switches it off", MAIN, ["~clip"], "~clip: clip cannot be removed, every run reads it; clip=null turns clipping off"),
    ("removing a group", MAIN, ["~model"], "~model: every run needs a model; choose an option instead, model=..."),
    ("wrong type", MAIN, ["lr=fast"], "lr=fast: expected a number"),
    ("wrong type (integer)", MAIN, ["epochs=2.5"], "epochs=2.5: expected an integer"),
    ("out of range: lr", MAIN, ["lr=0"], "lr=0.0: must be a number > 0"),
    ("lr beyond a float32", MAIN, ["lr=1e39"], "lr=1e+39: must be at most 3.4e+38 (the largest float32, the weights' type)"),
    ("lr whose first Adam step is beyond a float32", MAIN, ["lr=1e38"], "lr=1e+38: must be at most 3.4e+37 with optimizer.betas[0]=0.9"),
    ("out of range: epochs", MAIN, ["epochs=0"], "epochs=0: must be an integer >= 1"),
    ("out of range: seed", MAIN, ["seed=-3"], "seed=-3: must be an integer >= 0"),
    ("out of range: size", MAIN, ["model.hidden_size=0"], "model.hidden_size=0: must be an integer >= 1"),
    ("not an option: sweep_lines", MAIN, ["sweep_lines=all"], "sweep_lines=all: allowed values are jobs (one line per job of a sweep) or epochs (every epoch line)"),
    ("out of range: diverge_ratio", MAIN, ["diverge_ratio=1"], "diverge_ratio=1.0: must be a number > 1 (a multiple of ln(classes), the loss of guessing uniformly)"),
    ("no training accuracy on a sequence task", MAIN, ["task=copy", "train_accuracy=false"], "train_accuracy=false: task=copy decides when it is solved from the accuracy of the sequences it trains or validates on; only a language model (task=text, or task=custom on one text) can leave it out"),
    ("hidden size without a head", MAIN, ["model=rnn", "model.hidden_size=8"], "model.hidden_size=8: without a head h_t is read as the class scores"),
    ("no recurrence class for model=custom", MAIN, ["model=custom"], "model.recurrence._target_: no recurrence class named; model=custom runs your own nn.Module, for example model.recurrence._target_=my_rnns.ElmanReLU"),
    ("recurrence module that cannot be imported", MAIN, ["model=custom", "model.recurrence._target_=my_rnns.ElmanReLU"], "model.recurrence._target_=my_rnns.ElmanReLU: cannot be imported (No module named 'my_rnns')"),
    ("recurrence that is not a class", MAIN, ["model=custom", "model.recurrence._target_=os.system"], "model.recurrence._target_=os.system: not a class (builtin_function_or_method); a recurrence is a subclass of torch.nn.Module"),
    ("argument the recurrence does not take", MAIN, ["model=lstm", "model.recurrence.hiden=8"], "model.recurrence.hiden: rnnexp.models.builtin_recurrences.LSTMLayer takes no argument hiden; it takes time_first"),
    ("stacked layers for the cell model", MAIN, ["model=cell", "model.num_layers=2"], "model.num_layers=2: model=cell unrolls one nn.RNNCell, so only 1 is allowed; use model=rnn for stacked layers"),
    ("source and target lengths differ", MAIN, ["task=inline", "task.source=abc", "task.target=ab"], "task.source='abc' has 3 characters but task.target='ab' has 2"),
    ("empty source", MAIN, ["task=inline", "task.source=''", "task.target=''"], "task.source is empty"),
    ("more tokens than noisy steps", MAIN, ["task=selective_copy", "task.length=6", "task.tokens=7"], "task.tokens=7: more tokens than the 6 steps they are scattered over (task.length=6); allowed: 1 to 6, or a longer task.length"),
    ("more pairs than distinct keys", MAIN, ["task=associative_recall", "task.symbols=4", "task.pairs=5"], "task.pairs=5: more pairs than distinct keys (task.symbols=4 letters); allowed: 1 to 4, or more task.symbols (at most 26)"),
    ("a min model's unknown scan", MAIN, ["model=mingru", "model.recurrence.scan=sideways"], "model.recurrence.scan=sideways: allowed values are auto, parallel, steps"),
    ("a ladder the sweep does not vary", MAIN, ["-m", "model=cell,rnn", "ladder=task.delay"], "ladder=task.delay: must name a key the sweep varies with several values (this sweep varies model)"),
    ("missing task file", MAIN, ["task=text", "task.path=nowhere.txt"], "task.path=nowhere.txt: no such file"),
    ("unreadable task file (a directory)", MAIN, ["task=text", "task.path=run"], "task.path=run: is a directory"),
    ("empty task file", MAIN, ["task=text", "task.path=empty.txt"], "task.path=empty.txt: the file is empty"),
    ("non-UTF-8 task file", MAIN, ["task=text", "task.path=latin1.txt"], "task.path=latin1.txt: not UTF-8 text (byte 3 cannot be decoded)"),
    ("malformed pairs line", MAIN, ["task=pairs", "task.path=bad.tsv"], "task.path=bad.tsv line 2: expected source<TAB>target, found 0 tabs"),
    ("malformed CSV row", MAIN, ["task=pairs", "task.path=bad.csv"], "task.path=bad.csv line 3: expected two columns, source,target, found 3 in 'abc,cb,a'"),
    ("malformed JSON Lines pair", MAIN, ["task=pairs", "task.path=bad.jsonl"], 'task.path=bad.jsonl line 2: expected {"source": "...", "target": "..."} or ["...", "..."] (two strings)'),
    ("pairs file of an unknown format", MAIN, ["task=pairs", "task.path=pairs.xlsx"], "task.path=pairs.xlsx: unknown extension .xlsx; allowed: .tsv, .txt, .csv, .jsonl"),
    ("task class that is not rnnexp's", MAIN, ["task._target_=os.system"], "task._target_=os.system: not one of rnnexp's task classes"),
    ("your own data without a callable", MAIN, ["task=custom"], "task.data._target_: no value given; set it on the command line: task.data._target_=..."),
    ("data callable that cannot be imported", MAIN, ["task=custom", "task.data._target_=no_such_module.words"], "task.data._target_=no_such_module.words: cannot be imported (No module named 'no_such_module')"),
    ("data callable that is not callable", MAIN, ["task=custom", "task.data._target_=table_data.NOT_CALLABLE"], "task.data._target_=table_data.NOT_CALLABLE: not callable (a int)"),
    ("argument the data callable does not take", MAIN, ["task=custom", "task.data._target_=table_data.words", "task.data.m=3"], "task.data.m: table_data.words takes no argument m; it takes n"),
    ("data pairs of unequal length", MAIN, ["task=custom", "task.data._target_=table_data.unequal"], "task.data._target_=table_data.unequal: pair 1 (from 0), 'abc' -> 'ab', has a source of 3 characters and a target of 2"),
    ("data that is empty", MAIN, ["task=custom", "task.data._target_=table_data.nothing"], "task.data._target_=table_data.nothing: returned no pairs (an empty list)"),
    ("data of the wrong type", MAIN, ["task=custom", "task.data._target_=table_data.a_dict"], "task.data._target_=table_data.a_dict: returned a dict; expected a list of (source, target) string pairs (a tagging task), one string (a language model), or arrays (x, y) of real values"),
    ("real-valued data holding NaN", MAIN, ["task=custom", "task.data._target_=table_data.with_nan", "encoder=linear"], "task.data._target_=table_data.with_nan: x sequence 0 (from 0) holds NaN or inf at step 1 (from 0); give finite values"),
    ("real-valued data read by an encoder of characters", MAIN, ["task=custom", "task.data._target_=table_data.blobs"], "encoder=embedding: task=custom gives real-valued features, not characters, and encoder=embedding reads characters; use encoder=linear"),
    ("a cell of a file of arrays that is not a number", MAIN, ["task=arrays", "task.path=bad_cells.csv"], "task.path=bad_cells.csv line 2, column 3: 'abc' is not a number; every cell holds a number, the answer and then one value per step"),
    ("every step side by side on sequences of unequal lengths", MAIN, ["task=arrays", "task.path=unequal.csv", "model.readout=all"], "model.readout=all: the sequences differ in length, and all flattens a fixed number of steps into the head; use model.readout=last or model.readout=mean"),
    ("device that is not a device", MAIN, ["device=gpu"], "device=gpu: allowed values are auto, cpu, cuda, cuda:N (N = 0, 1, ...) or mps"),
    ("optimizer that is not a torch optimizer", MAIN, ["optimizer._target_=os.system"], "optimizer._target_=os.system: not a subclass of torch.optim.Optimizer"),
    ("argument the optimizer does not take", MAIN, ["+optimizer.amsgrd=true"], "optimizer.amsgrd: torch.optim.Adam takes no argument amsgrd"),
    ("scheduler that is not a torch scheduler", MAIN, ["scheduler=step", "scheduler._target_=builtins.print"], "scheduler._target_=builtins.print: not a subclass of a torch.optim.lr_scheduler class"),
    ("output directory that cannot be written", MAIN, ["hydra.run.dir=a_file/run"], "cannot write a_file/run: Not a directory"),
    ("output directory that holds a run", MAIN, ["hydra.run.dir=run"], "hydra.run.dir=run: already holds a run (metrics.json); choose a new directory"),
    ("resume from a directory without a run", MAIN, ["resume=empty.txt"], "resume=empty.txt: no such run directory"),
    ("continue a directory that is not a sweep", MAIN, ["continue=run"], "continue=run: not a sweep directory (no multirun.yaml); give a sweep's directory, continue=outputs/multirun/<date>/<time>, or continue=last"),
    ("continue with no sweep here", MAIN, ["continue=last"], "continue=last: no sweep under outputs/multirun here"),
    ("continue two sweeps", MAIN, ["continue=a", "continue=b"], "continue= is given 2 times; continue one sweep at a time"),
    ("characters outside the vocabulary", PREDICT, ["run=run", "input=help!"], "input='help!': characters not in the run's vocabulary: '!', 'p'"),
    ("checkpoint from another model", PREDICT, ["run=other_model", "input=hello"], "checkpoint other_model/best.pt: its weights do not fit its model and vocabulary"),
    ("truncated checkpoint", PREDICT, ["run=truncated", "input=hello"], "checkpoint truncated/best.pt: truncated or corrupted"),
    ("predict without a run", PREDICT, ["input=hello"], "run: missing"),
    ("input to a language model", PREDICT, ["run=text_run", "input=hello"], "input='hello': this run is a language model (task=text): it samples text from a prime instead of mapping an input; give sample=N, for example sample=200 prime=hello"),
    ("characters to a run of real values", PREDICT, ["run=classify_run", "input=hello"], "input=hello: this run reads real values (task=custom, classify), not characters; give index=N for a held-out sequence, or values=[...] for one of your own"),
    ("a held-out sequence the run does not have", PREDICT, ["run=classify_run", "index=5"], "index=5: the run's validation set holds 5 sequences; give an index from 0 to 4"),
    ("values with another number of features", PREDICT, ["run=classify_run", "values=[0.5,0.5]"], "values=[0.5,0.5]: 1 feature a step, but the run's model reads 2; give one list of 2 numbers per step"),
    ("values that are no list of numbers", PREDICT, ["run=classify_run", "values=[0.5,,1]"], "values=[0.5,,1]: not a list of numbers; give one number per step, values=[0.1,0.5,0.9], or one list of each step's features, values=[[0.1,2],[0.5,1]]"),
    ("a held-out sequence of a run of characters", PREDICT, ["run=run", "index=3"], "index=3: this run maps characters (task=hello); give input=<characters>"),
    ("summarize a directory that is not a sweep", SUMMARIZE, ["run"], "run: a single run, not a sweep (its result is its metrics.json)"),
    ("summarize with no sweep here", SUMMARIZE, ["last"], "last: no sweep under outputs/multirun here"),
]
# The Optuna search's settings, refused before its sweep directory or any job exists (the sweep extra brings optuna).
SEARCH = ["-m", "hparams_search=optuna"]
SEARCH_TABLE = [
    ("unknown pruner", MAIN, [*SEARCH, "hydra.sweeper.pruner=medain"], "hydra.sweeper.pruner=medain: allowed values are median, hyperband, none"),
    ("argument the pruner does not take", MAIN, [*SEARCH, "hydra.sweeper.pruner=median", "hydra.sweeper.pruner_args.n_warmup_step=2"], "hydra.sweeper.pruner_args.n_warmup_step: optuna.pruners.MedianPruner takes no argument n_warmup_step; it takes n_startup_trials, n_warmup_steps, interval_steps, n_min_trials"),
    ("pruner argument its class refuses", MAIN, [*SEARCH, "hydra.sweeper.pruner=median", "hydra.sweeper.pruner_args.n_warmup_steps=-1"], "hydra.sweeper.pruner_args.n_warmup_steps=-1: optuna.pruners.MedianPruner refuses them (Number of warmup steps cannot be negative"),
    ("search storage that cannot be written", MAIN, [*SEARCH, "hydra.sweeper.storage=a_file/optuna.journal"], "hydra.sweeper.storage=a_file/optuna.journal: cannot write a_file/optuna.journal (Not a directory); choose a writable place, or leave it null for optuna.journal in the sweep directory"),
    ("a sweep the search cannot draw from", MAIN, [*SEARCH, "seed=glob(*)"], "seed=glob(*): an Optuna search draws from choice(...), range(...), shuffle(range(...)), interval(...), int(interval(...)) and tag(log, ...) of a range or an interval; list the values with choice(...)"),
    ("a range that runs backwards in a search", MAIN, [*SEARCH, "seed=range(5, 1)"], "seed=range(5, 1): not a distribution to draw from ("),
    ("a range over non-numbers", MAIN, [*SEARCH, "seed=range(a, b)"], "cannot parse the override 'seed=range(a, b)': range(a, b): its start must be int or float, not str"),
    ("a log scale on a choice in a search", MAIN, [*SEARCH, "optimizer=tag(log, choice(adam, sgd))"], "optimizer=tag(log, choice(adam, sgd)): tag(log, ...) takes a range(...) or an interval(...); a choice has no scale, drop the tag"),
    ("a log scale from 0 in a search", MAIN, [*SEARCH, "lr=tag(log, interval(0, 1))"], "lr=tag(log, interval(0, 1)): a log scale starts above 0; give a low end > 0"),
]
# The gpus launcher's keys, refused before its sweep directory exists (its workers are joblib's, from the sweep extra).
GPUS_TABLE = [
    ("a GPU the machine does not have", MAIN, ["-m", "hydra/launcher=gpus", "hydra.launcher.gpus=[99]"], "hydra.launcher.gpus=[99]: no GPU 99 on this machine ("),
    ("jobs per GPU below 1", MAIN, ["-m", "hydra/launcher=gpus", "hydra.launcher.jobs_per_gpu=0"], "hydra.launcher.jobs_per_gpu=0: must be an integer >= 1 (the jobs that share one GPU at a time)"),
    ("a key of the gpus launcher given to another launcher", MAIN, ["-m", "hydra.launcher.jobs_per_gpu=2"], "hydra.launcher.jobs_per_gpu: not a key of this launcher; hydra.launcher.jobs_per_gpu belongs to hydra/launcher=gpus (for example hydra/launcher=gpus hydra.launcher.jobs_per_gpu=...)"),
]
SLURM_TABLE = [
    ("jobs per SLURM task below 1", MAIN, ["-m", "hydra/launcher=slurm", "hydra.launcher.jobs_per_task=0"], "hydra.launcher.jobs_per_task=0: must be an integer >= 1 (the jobs one SLURM task runs one after another) or auto (as many as hydra.launcher.task_minutes allow)"),
    ("a task's target time of 0", MAIN, ["-m", "hydra/launcher=slurm", "hydra.launcher.jobs_per_task=auto", "hydra.launcher.task_minutes=0"], "hydra.launcher.task_minutes=0.0: must be a number of minutes above 0"),
    ("an array limit below 1", MAIN, ["-m", "hydra/launcher=slurm", "hydra.launcher.max_array_size=0"], "hydra.launcher.max_array_size=0: must be an integer >= 1, or null for the cluster's own limit"),
    ("a key of the slurm launcher given to another launcher", MAIN, ["-m", "hydra.launcher.jobs_per_task=4"], "hydra.launcher.jobs_per_task: not a key of this launcher; hydra.launcher.jobs_per_task belongs to hydra/launcher=slurm (for example hydra/launcher=slurm hydra.launcher.jobs_per_task=...)"),
]
WITH_SUBMITIT = pytest.mark.skipif(importlib.util.find_spec("submitit") is None, reason="hydra/launcher=slurm comes with the sweep extra")
WITH_JOBLIB = pytest.mark.skipif(importlib.util.find_spec("joblib") is None, reason="hydra/launcher=gpus comes with the sweep extra")
WITH_OPTUNA = pytest.mark.skipif(importlib.util.find_spec("optuna") is None, reason="the Optuna search comes with the sweep extra")
# Where the cmaes package is installed, hydra/sweeper/sampler=cmaes is not bad input.
CMAES_ROW = ("sampler whose package is missing", MAIN, [*SEARCH, "hydra/sweeper/sampler=cmaes"], "hydra/sweeper/sampler=cmaes: optuna.samplers.CmaEsSampler needs the cmaes package; pip install cmaes")
CMAES_HERE = pytest.mark.skipif(importlib.util.find_spec("cmaes") is not None, reason="cmaes is installed here")
# Rows about a device this machine lacks: where it is present the row is not bad input.
CUDA_HERE = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available on this machine, so device=cuda is valid")
MPS_HERE = pytest.mark.skipif(
    bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
    reason="MPS is available on this machine, so device=mps is valid",
)
ABSENT_DEVICES = [
    (("device not present: cuda", MAIN, ["device=cuda"], "device=cuda: CUDA is not available on this machine; use device=cpu or device=auto"), CUDA_HERE),
    (("device not present: cuda:N", MAIN, ["device=cuda:3"], "device=cuda:3: CUDA is not available on this machine"), CUDA_HERE),
    (("device not present: mps", MAIN, ["device=mps"], "device=mps: Apple's MPS backend is not available on this machine"), MPS_HERE),
]
ROWS = (
    [pytest.param(*row, id=row[0]) for row in TABLE]
    + [pytest.param(*row, id=row[0], marks=WITH_OPTUNA) for row in SEARCH_TABLE]
    + [pytest.param(*row, id=row[0], marks=WITH_JOBLIB) for row in GPUS_TABLE]
    + [pytest.param(*row, id=row[0], marks=WITH_SUBMITIT) for row in SLURM_TABLE]
    + [pytest.param(*CMAES_ROW, id=CMAES_ROW[0], marks=[WITH_OPTUNA, CMAES_HERE])]
    + [pytest.param(*row, id=row[0], marks=mark) for row, mark in ABSENT_DEVICES]
)


@pytest.mark.parametrize("what, module, args, message", ROWS)
def test_bad_input_is_one_line_and_exit_status_2(workdir, monkeypatch, capsys, what, module, args, message):
    if module == MAIN:
        done = run_in_process(args, workdir)
        status, stdout, stderr = done.status, done.stdout, done.stderr
    else:
        monkeypatch.chdir(workdir)
        status = {PREDICT: rnnexp.tools.predict.main, SUMMARIZE: rnnexp.sweep.summarize.main}[module](args)
        stdout, stderr = capsys.readouterr()
    assert status == 2, stdout + stderr
    assert len(stderr.splitlines()) == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith(f"{module}: error: {message}"), stderr
    assert stdout == "", stdout  # nothing trained, nothing printed besides the one line
    # Refused before training: no run directory left behind (rows that name one use hydra.run.dir).
    assert not list(workdir.glob("outputs/runs/*/*")), list(workdir.glob("outputs/runs/*/*"))


def test_unreadable_task_file(make_cfg, tmp_path, monkeypatch):
    from rnnexp.data.loading import load_task
    from rnnexp.errors import UserError

    path = tmp_path / "secret.txt"
    path.write_text("some text " * 50)
    path.chmod(0)
    if os.geteuid() == 0:
        # root reads files whatever their mode: answer as the system answers anyone else.
        def refuse(self):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(UserError, match=f"^task.path={path}: not readable \\(permission denied\\)$"):
        load_task(make_cfg("task=text", f"task.path={path}").task)


def test_the_errors_page_lists_the_table():
    page = (Path(__file__).parent.parent / "docs" / "errors.md").read_text()
    for what, module, args, message in TABLE + SEARCH_TABLE + GPUS_TABLE + SLURM_TABLE + [CMAES_ROW] + [row for row, _ in ABSENT_DEVICES]:
        row = f"| {what} | `python -m {module} {' '.join(args)}` | `{module}: error: {message}` |"
        assert row in page, row
