"""Config groups compose into the typed schemas; each default has one home; bad values fail with the key's name."""

import ast
import dataclasses
import importlib.util
from importlib import resources
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, OmegaConf

from rnnexp.cli import start_checks
from rnnexp.config import key_checks
from rnnexp.config.checks import RULES, validate
from rnnexp.config.compose import compose
from rnnexp.config.fields import CHECK, DOC, HPARAM, KEYWORDS, NULL, null_of, ranges_of
from rnnexp.config.keys import (
    ADDED_KEYS,
    REMOVED_KEYS,
    SECTION_SCHEMAS,
    key_hints,
    migrate,
    schema_default,
    schema_field,
    schema_fields,
    schema_keys,
)
from rnnexp.config.pipeline import load_config
from rnnexp.config.schemas import SCHEMAS, Config, TaskConfig
from rnnexp.errors import UserError, one_line
from rnnexp.internals.omegaconf_private import stored_section
from rnnexp.run_dirs import unique_dir

CONF = Path(str(resources.files("rnnexp.conf")))
GROUPS = ("model", "encoder", "optimizer", "scheduler", "task", "experiment", "hparams_search")
OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((CONF / group).glob("*.yaml"))]
# Keys an option leaves at ??? on purpose: the command line must give them.
REQUIRED = {
    ("task", "inline"): ("task.source", "task.target"), ("task", "pairs"): ("task.path",), ("task", "arrays"): ("task.path",),
    ("task", "custom"): ("task.data._target_",),
}
# Keys an option leaves null on purpose, which a run needs: model=custom's class (built only when the model is).
NAMED = {
    ("model", "custom"): ("model.recurrence._target_=my_rnns.ElmanReLU",),
    # encoder=linear reads real values: a task whose callable has not yet told its kind takes it.
    ("encoder", "linear"): ("task=custom", "task.data._target_=my_data.arrays"),
}
# Files whose keys must differ from their schema's defaults: the primary config,
# the shared data-task file and every option of the groups that have schemas.
# (The experiment presets pin the notebook's settings whatever the defaults are,
# and hparams_search configures the sweeper; neither restates a schema.)
ONE_HOME_FILES = [CONF / "config.yaml", CONF / "data_task.yaml"] + [
    CONF / group / f"{option}.yaml" for group, option in OPTIONS if group in ("model", "encoder", "optimizer", "scheduler", "task")
]


def with_required(group, option):
    """``group=option`` and a value for each key it leaves to the command line."""
    return [f"{group}={option}", *(f"{key}=xy" for key in REQUIRED.get((group, option), ())), *NAMED.get((group, option), ())]


def flat(node, prefix=""):
    """{"model.hidden_size": 8, ...} for a nested dict."""
    items = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        items.update(flat(value, dotted + ".") if isinstance(value, dict) else {dotted: value})
    return items


def with_values(make_cfg, overrides):
    """``make_cfg(*overrides)``, composing only the group choices and setting the other keys
    on the result: the same config, from a few cached compositions.

    Values are parsed by Hydra's own override parser, as on the command line.
    """
    parsed = OverridesParser.create().parse_overrides(overrides)
    cfg = make_cfg(*(o.input_line for o in parsed if o.key_or_group in GROUPS))
    for override in parsed:
        if override.key_or_group not in GROUPS:
            OmegaConf.update(cfg, override.key_or_group, override.value(), merge=False)
    return cfg


def schema_defaults(schema, prefix=""):
    return flat(OmegaConf.to_container(OmegaConf.structured(schema), resolve=False), prefix)


# --------------------------------------------------------------------------- composition
@pytest.mark.parametrize("group, option", OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_with_every_key_set(make_cfg, make_unchecked_cfg, group, option):
    if group == "hparams_search":
        pytest.importorskip("optuna")
    # Every schema key gets a value from its schema or the option, except the
    # ones this option leaves to the command line.
    assert set(OmegaConf.missing_keys(make_unchecked_cfg(f"{group}={option}"))) == set(REQUIRED.get((group, option), ()))
    cfg = make_cfg(*with_required(group, option))  # checked and validated, as a run's
    if group in ("model", "encoder", "task") and cfg[group].name is not None:
        assert cfg[group].name == option


def test_the_default_composition_is_valid(make_cfg):
    assert not OmegaConf.missing_keys(make_cfg())


@pytest.mark.parametrize("path", ONE_HOME_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_each_yaml_file_sets_only_what_differs_from_its_schema(path):
    text = path.read_text()
    header = [line for line in text.splitlines() if not line.startswith("# @package")][0]
    assert header.startswith("# "), f"{path.name}: starts with a comment saying what it is"
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    entries = [entry for entry in raw.pop("defaults", []) if isinstance(entry, str)]
    raw.pop("hydra", None)
    schemas = [SCHEMAS[entry.lstrip("/").split("@")[0]] for entry in entries if entry.lstrip("/").startswith("schema_")]
    placed = [entry.split("@")[1] for entry in entries if entry.lstrip("/").startswith("schema_") and "@" in entry]
    if placed and placed != ["_here_"]:  # a global option: its schema's keys below their place, and top-level keys
        (schema,), (place,) = schemas, placed
        defaults = {**schema_defaults(Config), **schema_defaults(schema, f"{place}.")}
    elif schemas:
        (schema,) = schemas
        defaults = schema_defaults(schema)
    else:  # a shared global file: top-level keys and the keys every task has
        defaults = {**schema_defaults(Config), **schema_defaults(TaskConfig, "task.")}
    # A keywords node (model.recurrence) holds a class and its own arguments, which no schema lists.
    keyword_nodes = tuple(f"{f.name}." for schema in schemas for f in dataclasses.fields(schema) if f.metadata.get(KEYWORDS))
    for key, value in flat(raw).items():
        if key.startswith(keyword_nodes):
            continue
        assert key in defaults, f"{path.name}: {key} is not a key of its schema"
        assert value != defaults[key], f"{path.name}: {key}: {value!r} restates the schema's default; set it in one place"


def test_the_data_tasks_include_the_shared_file(make_cfg):
    shared = OmegaConf.load(CONF / "data_task.yaml")
    for group, option in OPTIONS:
        if group != "task":
            continue
        cfg = make_cfg(*with_required(group, option))
        if option in ("hello", "inline"):  # one pair: no split, the schema's lr
            assert (cfg.lr, cfg.task.val_fraction) == (Config.lr, TaskConfig.val_fraction)
        elif option == "text":  # the shared split, and stateful training's own lr
            assert (cfg.lr, cfg.task.val_fraction) == (OmegaConf.load(CONF / "task" / "text.yaml").lr, shared.task.val_fraction)
        elif option in ("mnist1d", "adding"):  # validation sets of their own: no split, and their own lr
            assert (cfg.lr, cfg.task.val_fraction) == (OmegaConf.load(CONF / "task" / f"{option}.yaml").lr, TaskConfig.val_fraction)
        else:
            assert (cfg.lr, cfg.task.val_fraction) == (shared.lr, shared.task.val_fraction), option


def test_the_command_line_wins_over_a_data_tasks_lr(make_cfg):
    assert make_cfg("task=text", "lr=0.05").lr == 0.05
    assert make_cfg("lr=0.05", "task=text").lr == 0.05


@pytest.mark.parametrize("experiment", [o for g, o in OPTIONS if g == "experiment"])
def test_experiment_presets_win_over_the_options(make_cfg, experiment):
    preset = OmegaConf.to_container(OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml"))
    chosen = {}
    for entry in preset.pop("defaults"):
        ((key, option),) = entry.items()  # "override /model": "cell"
        chosen[key.split("/")[-1]] = option
    # A data task sets lr and an option sets init_scale: the preset still decides both. A preset of
    # real values meets another task of real values (model.readout fits no task of characters).
    real = ("mnist1d", "adding")
    other = next(task for task in real if task != chosen.get("task")) if chosen.get("task") in real else "copy"
    cfg = make_cfg(f"experiment={experiment}", f"task={other}")
    for group in {"model", "encoder"} & set(chosen):
        assert cfg[group].name == chosen[group]
    preset.pop("hydra", None)  # a sweep's settings (experiment=memory): the job's config holds none of them
    for key, value in flat(preset).items():
        assert OmegaConf.select(cfg, key) == value, key


@pytest.mark.parametrize("model, encoder", [("cell", "one_hot"), ("rnn", "one_hot"), ("embedding", "embedding"), ("lstm", "embedding")])
def test_each_model_picks_its_default_encoder(make_cfg, model, encoder):
    assert make_cfg(f"model={model}").encoder.name == encoder


def test_a_model_takes_any_encoder(make_cfg):
    assert make_cfg("model=rnn", "encoder=embedding").encoder.name == "embedding"
    assert make_cfg("model=embedding", "encoder=one_hot").encoder.name == "one_hot"


@pytest.mark.parametrize("option", [o for g, o in OPTIONS if g == "optimizer"])
def test_every_optimizer_option_builds_its_torch_optimizer(make_cfg, option):
    import torch

    from rnnexp.training.optimizers import build_optimizer

    cfg = make_cfg(f"optimizer={option}")
    optimizer = build_optimizer(cfg, torch.nn.Linear(2, 1))
    assert type(optimizer).__name__.lower() == option
    assert optimizer.defaults["lr"] == cfg.lr


@pytest.mark.parametrize("option", [o for g, o in OPTIONS if g == "scheduler"])
def test_every_scheduler_option_builds_its_torch_scheduler(make_cfg, option):
    import torch

    from rnnexp.training.optimizers import build_scheduler

    cfg = make_cfg(f"scheduler={option}", "epochs=7")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    scheduler = build_scheduler(cfg, optimizer)
    if option == "none":
        assert cfg.scheduler._target_ is None and scheduler is None  # constant lr: nothing to build
        return
    assert type(scheduler).__module__ == "torch.optim.lr_scheduler"
    if option == "cosine":
        assert scheduler.T_max == 7  # one half-cosine over the run's epochs


# --------------------------------------------------------------------------- composition errors
def test_unknown_option_lists_the_options(make_cfg):
    with pytest.raises(MissingConfigException) as info:
        make_cfg("model=lsmt")
    assert one_line(info.value) == "model=lsmt: no such option; choose one of cell, custom, embedding, gru, lstm, mingru, minlstm, rnn; did you mean lstm?"


def test_the_shared_data_task_file_is_not_a_task_option(make_cfg):
    with pytest.raises(MissingConfigException) as info:
        make_cfg("task=data_task")
    tasks = ", ".join(sorted(o for g, o in OPTIONS if g == "task"))
    assert one_line(info.value).startswith(f"task=data_task: no such option; choose one of {tasks}")


@pytest.mark.parametrize(
    "override, message",
    [
        ("lrr=0.1", "lrr: no such config key; did you mean lr?"),
        ("model.hiden_size=3", "model.hiden_size: no such config key; did you mean model.hidden_size?"),
        ("lr=fast", "lr=fast: expected a number"),
        ("epochs=2.5", "epochs=2.5: expected an integer"),
        ("model.head=maybe", "model.head=maybe: expected true or false"),
    ],
)
def test_typos_and_wrong_types_fail_at_composition(make_cfg, override, message):
    with pytest.raises(ConfigCompositionException) as info:
        make_cfg(override)
    assert one_line(info.value, key_hints()).startswith(message)


# --------------------------------------------------------------------------- validate()
# One case per rule of RULES and per combination that validate() refuses:
# overrides, and the start of the one line it gives.
BAD_VALUES = [
    (["lr=0"], "lr=0.0: must be a number > 0"),
    (["lr=-1"], "lr=-1.0: must be a number > 0"),
    (["epochs=0"], "epochs=0: must be an integer >= 1"),
    (["seed=-1"], "seed=-1: must be an integer >= 0"),
    (["device=gpu"], "device=gpu: allowed values are auto, cpu, cuda, cuda:N"),
    (["batch_size=0"], "batch_size=0: must be an integer >= 1"),
    (["clip=0"], "clip=0.0: must be a number > 0 (the largest gradient norm), or null"),
    (["patience=0"], "patience=0: must be an integer >= 1 (epochs), or null"),
    (["solved_at=0"], "solved_at=0.0: must be a share > 0 and <= 1 (1: every sequence right)"),
    (["solved_at=1.5"], "solved_at=1.5: must be a share > 0 and <= 1 (1: every sequence right)"),
    (["diverge_ratio=0.5"], "diverge_ratio=0.5: must be a number > 1 (a multiple of ln(classes)"),
    (["train_accuracy=false"], "train_accuracy=false: task=hello decides when it is solved from the accuracy"),
    (["progress=sometimes"], "progress=sometimes: allowed values are auto, always, never"),
    (["sweep_lines=all"], "sweep_lines=all: allowed values are jobs (one line per job of a sweep) or epochs"),
    (["threads=0"], "threads=0: allowed values are auto or an integer >= 1"),
    (["threads=two"], "threads=two: allowed values are auto or an integer >= 1"),
    (["model.hidden_size=0"], "model.hidden_size=0: must be an integer >= 1"),
    (["model.num_layers=0"], "model.num_layers=0: must be an integer >= 1"),
    (["model.init_scale=0"], "model.init_scale=0.0: must be a number > 0"),
    (["model.dropout=1"], "model.dropout=1.0: must be >= 0 and < 1"),
    (["encoder.dim=0"], "encoder.dim=0: must be an integer >= 1"),
    (["task=parity", "task.val_fraction=1.0"], "task.val_fraction=1.0: must be >= 0 and < 1"),
    (["task=parity", "task.length=0"], "task.length=0: must be an integer >= 1"),
    (["task=caesar", "task.size=0"], "task.size=0: must be an integer >= 1"),
    (["task=copy", "task.symbols=1"], "task.symbols=1: must be between 2 and 26"),
    (["task=reverse", "task.symbols=27"], "task.symbols=27: must be between 2 and 26"),
    (["task=selective_copy", "task.tokens=0"], "task.tokens=0: must be an integer >= 1"),
    (["task=associative_recall", "task.pairs=0"], "task.pairs=0: must be an integer >= 1"),
    (["task=associative_recall", "task.digits=11"], "task.digits=11: must be between 2 and 10"),
    (["task=text", "task.window=0"], "task.window=0: must be an integer >= 1"),
    (["task=text", "task.val_streams=0"], "task.val_streams=0: must be an integer >= 1"),
    (["task=text", "task.temperature=0"], "task.temperature=0.0: must be a number > 0"),
    (["task=custom", "task.data._target_=my_data.words", "task.kind=both"], "task.kind=both: allowed values are tagging, language_model, classify, regress"),
    (["model.readout=first"], "model.readout=first: allowed values are last, mean, all, or null"),
    (["model.readout=last"], "model.readout=last: task=hello answers at every step, so the head reads each step"),
    (["encoder=linear"], "encoder=linear: task=hello gives characters, and encoder=linear reads real-valued features; use encoder=one_hot"),
    (["task=custom", "task.data._target_=my_data.sums", "task.tolerance=0"], "task.tolerance=0.0: must be a number > 0"),
    # Combinations.
    (["task=inline"], "task.source, task.target: no value given; set it on the command line"),
    (["task=pairs"], "task.path: no value given"),
    # What a model's class allows (model=cell: one layer, one direction) it checks itself: tests/test_models.py.
    (["model=rnn", "model.bidirectional=true"], "model.bidirectional=true: the two directions' states are concatenated"),
    (["model=custom"], "model.recurrence._target_: no recurrence class named; model=custom runs your own nn.Module"),
    (["encoder=embedding", "encoder.dim=null"], "encoder.dim=null: encoder=embedding needs its embedding size"),
    (["task=inline", "task.source=abc", "task.target=ab"], "task.source='abc' has 3 characters but task.target='ab' has 2"),
    (["task=inline", "task.source=''", "task.target=''"], "task.source is empty"),
    (["task=inline", "task.source=abc", "task.target=''"], "task.target is empty"),
    (["task=reverse", "task.min_length=9"], "task.min_length=9: must be between 1 and task.length=8"),
    (["task=copy", "task.delay=12"], "task.delay=12: must be >= 0 and shorter than the shortest sequence"),
    (["task=copy", "task.min_length=3", "task.delay=3"], "task.delay=3: must be >= 0 and shorter"),
    (["task=copy", "task.delay=-1"], "task.delay=-1: must be >= 0"),
    (["task=adding", "task.length=1"], "task.length=1: must be an integer >= 2 for task=adding (a marked step in each half)"),
    (["task=adding", "task.seed=-1"], "task.seed=-1: must be an integer between 0 and 2**32 - 1 for task=adding (numpy's seeds)"),
    (["task=mnist1d", "task.seed=4294967296"], "task.seed=4294967296: must be an integer between 0 and 2**32 - 1 for task=mnist1d"),
    (["task=adding", "task.test_size=0"], "task.test_size=0: must be an integer >= 1"),
    (["task=adding", "task.tolerance=0"], "task.tolerance=0.0: must be a number > 0"),
]


@pytest.mark.parametrize("overrides, message", BAD_VALUES, ids=[" ".join(o) for o, _ in BAD_VALUES])
def test_bad_values_are_refused_in_one_line_naming_the_key(make_unchecked_cfg, overrides, message):
    cfg = with_values(make_unchecked_cfg, overrides)
    with pytest.raises(UserError) as info:
        validate(cfg)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_every_rule_has_a_bad_value_case():
    refused = {message.split("=")[0] for _, message in BAD_VALUES}
    assert {rule.key for rule in RULES} <= refused


@pytest.mark.parametrize(
    "overrides",
    [
        ["clip=null", "patience=null", "model.hidden_size=null", "diverge_ratio=null"],  # null switches these off
        ["task=text", "train_accuracy=true"],  # the language model's training accuracy, turned back on
        ["threads=auto"],
        ["threads=4"],
        ["model=cell", "model.cuda_graph=true"],  # refused later only without CUDA or with varying lengths
        ["model=gru", "model.bidirectional=true"],
        ["task=copy", "task.delay=0"],
        ["task=reverse", "task.min_length=8"],
    ],
)
def test_good_values_pass(make_unchecked_cfg, overrides):
    validate(with_values(make_unchecked_cfg, overrides))


def test_values_set_on_a_composed_config_equal_the_command_lines(make_unchecked_cfg):
    overrides = ["task=inline", "task.source=''", "task.target=ab", "lr=0", "encoder.dim=null", "threads=two", "model.head=true"]
    assert with_values(make_unchecked_cfg, overrides) == make_unchecked_cfg(*overrides)


def imports_of(module_name):
    """The modules that ``module_name`` names in its import statements."""
    tree = ast.parse(Path(importlib.util.find_spec(module_name).origin).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return imported | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


@pytest.mark.parametrize("start", ["rnnexp.config.pipeline", "rnnexp.cli.start_checks", "rnnexp.run_dirs", "rnnexp.tracking.hparams"])
def test_the_checks_need_no_torch(start):
    # A bad value is answered before torch is imported: nothing the command
    # line's checks import reaches torch (the trainer is imported after them).
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        seen.add(module)
        imported = imports_of(module)
        assert not any(name == "torch" or name.startswith("torch.") for name in imported), module
        todo += [name for name in imported if name.startswith("rnnexp") and name not in seen]


# --------------------------------------------------------------------------- older checkpoints
def test_migrate_fills_the_keys_an_old_checkpoint_lacks(make_cfg):
    current = OmegaConf.to_container(make_cfg("model=cell"), resolve=True)
    old = OmegaConf.to_container(make_cfg("model=cell"), resolve=True)
    del old["threads"], old["model"]["cuda_graph"]
    assert migrate(old) == current  # the added keys come back at today's defaults
    assert "threads" not in old, "the checkpoint's own dict is left as it was"
    validate(OmegaConf.create(migrate(old)))


def test_migrate_keeps_what_a_checkpoint_has(make_cfg):
    saved = OmegaConf.to_container(make_cfg("model=cell", "threads=3", "model.cuda_graph=true"), resolve=True)
    assert migrate(saved) == saved


def test_an_old_text_checkpoint_keeps_counting_its_training_accuracy(make_cfg):
    old = OmegaConf.to_container(make_cfg("task=text"), resolve=True)
    del old["train_accuracy"], old["diverge_ratio"]
    migrated = migrate(old)
    # It counted the accuracy of every batch before the key existed; it is held to today's divergence rule.
    assert (migrated["train_accuracy"], migrated["diverge_ratio"]) == (True, 1e4)
    validate(OmegaConf.create(migrated))


def test_every_added_key_is_a_schema_key():
    assert set(ADDED_KEYS) <= set(schema_keys())


def test_migrate_drops_the_keys_the_schemas_no_longer_have(make_cfg):
    current = OmegaConf.to_container(make_cfg("scheduler=step"), resolve=True)
    old = OmegaConf.to_container(make_cfg("scheduler=step"), resolve=True)
    old["optimizer"]["_partial_"] = old["scheduler"]["_partial_"] = True
    assert migrate(old) == current
    assert not set(REMOVED_KEYS) & set(schema_fields())


def test_loading_an_old_checkpoint_migrates_its_config(make_cfg, tmp_path):
    import torch

    from rnnexp.training.checkpoint import load_checkpoint, restore_model
    from rnnexp.training.optimizers import build_optimizer

    config = OmegaConf.to_container(make_cfg("model=cell"), resolve=True)
    config["model"]["hidden_size"], config["encoder"]["dim"] = 4, 4  # sizes filled in from the data, as a run saves them
    del config["threads"], config["model"]["cuda_graph"]
    config["optimizer"]["_partial_"] = config["scheduler"]["_partial_"] = True
    model_state = {"cell.weight_ih": torch.zeros(4, 4), "cell.weight_hh": torch.zeros(4, 4), "cell.bias_ih": torch.zeros(4), "cell.bias_hh": torch.zeros(4)}
    torch.save({"state_dict": model_state, "config": config, "vocabulary": list("ehlo")}, tmp_path / "old.pt")
    state = load_checkpoint(tmp_path / "old.pt")
    assert (state["config"]["threads"], state["config"]["model"]["cuda_graph"]) == ("auto", False)
    model, vocab = restore_model(state)
    assert model.hidden_size == 4 and len(vocab) == 4
    assert type(build_optimizer(OmegaConf.create(state["config"]), model)) is torch.optim.Adam  # resumable


# --------------------------------------------------------------------------- run directories
def test_unique_dir_never_repeats(tmp_path):
    # Called in the same millisecond, the names still differ.
    names = {unique_dir(str(tmp_path)) for _ in range(20)}
    assert len(names) == 20
    assert all(Path(name).parent == tmp_path and Path(name).is_dir() for name in names)


# --------------------------------------------------------------------------- keys added or removed on the command line
def test_the_keys_nothing_reads_are_the_added_ones(make_unchecked_cfg):
    cfg = make_unchecked_cfg("+lrr=0.1", "++model.hiden_size=3", "+task.shift=2", "+optimizer.amsgrad=true")
    assert key_checks.unread_keys(cfg) == ["model.hiden_size", "task.shift", "lrr"]  # amsgrad: Adam's argument
    # A swept task may be caesar, which reads task.shift; no model option reads hiden_size.
    assert key_checks.unread_keys(cfg, swept={"task", "model"}) == ["model.hiden_size", "lrr"]
    assert key_checks.unread_keys(make_unchecked_cfg()) == []
    with pytest.raises(UserError, match=r"^lrr: no such config key; did you mean lr\?"):
        key_checks.check_keys(make_unchecked_cfg("+lrr=0.1"))


def test_the_key_checks_read_sections_as_stored_without_resolving_them():
    # OmegaConf's private node API (rnnexp/internals/omegaconf_private.py): an
    # interpolation that cannot resolve, null and ??? are read without an error.
    cfg = OmegaConf.create({"scheduler": {"T_max": "${nowhere}"}, "none": None, "missing": "???", "lr": 0.1,
                            "link": "${scheduler}"})
    scheduler = stored_section(cfg, "scheduler")
    assert isinstance(scheduler, DictConfig) and OmegaConf.is_interpolation(scheduler, "T_max")
    assert [stored_section(cfg, key) for key in ("none", "missing", "lr", "link")] == [None] * 4
    cfg.none = {"a": 1}
    assert stored_section(cfg, "none") == {"a": 1}


def test_every_option_composes_with_no_key_that_nothing_reads(make_unchecked_cfg):
    for group, option in OPTIONS:
        if group != "hparams_search":
            assert key_checks.unread_keys(make_unchecked_cfg(*with_required(group, option))) == [], f"{group}={option}"


def test_removing_any_schema_key_is_refused_with_what_to_type():
    for key in schema_keys():
        with pytest.raises(UserError) as refused:
            key_checks.check_removal(key)
        line = str(refused.value)
        assert line.startswith(f"~{key}: "), line
        assert f"{key}=" in line and "is its default" not in line, line  # a value to type, and what null does


def test_every_key_whose_default_is_null_says_what_null_does():
    nulls = [key for key in schema_keys() if key not in key_checks.GROUP_SECTIONS and schema_default(key) is None]
    assert nulls and all(null_of(schema_field(key)) for key in nulls), [key for key in nulls if not null_of(schema_field(key))]
    with pytest.raises(UserError, match=r"^~clip: clip cannot be removed, every run reads it; clip=null turns clipping off$"):
        key_checks.check_removal("clip")  # the words of clip's field


# --------------------------------------------------------------------------- one home per fact: the fields' metadata
def test_the_range_rules_are_the_fields_ranges():
    ranged = {key: field for key, field in schema_fields().items() if ranges_of(field)}
    assert [rule.key for rule in RULES] == [key for key, field in ranged.items() for _ in ranges_of(field)]
    for rule in RULES:
        field = ranged[rule.key]
        assert rule.allowed in [each.allowed for each in ranges_of(field)]
        assert rule.nullable == (null_of(field) is not None)  # null passes where the field says what it does


def test_a_key_in_several_schemas_has_one_range():
    # validate() checks a key by its first schema's range (task.symbols: copy's and reverse's,
    # one definition): another option's field with the same key must not allow otherwise.
    for section, schemas in SECTION_SCHEMAS.items():
        seen = {}
        for schema in schemas:
            for field in dataclasses.fields(schema):
                allowed = [each.allowed for each in ranges_of(field)]
                if field.name in seen and (allowed or seen[field.name]):
                    assert allowed == seen[field.name], f"{section}.{field.name}"
                seen.setdefault(field.name, allowed)


def test_every_field_speaks_the_metadata_vocabulary_and_says_what_it_does():
    for key, field in schema_fields().items():
        assert set(field.metadata) <= {DOC, CHECK, NULL, HPARAM, KEYWORDS}, key
        if not field.name.startswith("_") and key.rpartition(".")[2] != "name" and key not in key_checks.GROUP_SECTIONS:
            assert field.metadata.get(DOC), f"{key}: no doc for the key table of docs/configuration.md"


# --------------------------------------------------------------------------- the pipeline
def test_the_pipeline_checks_in_the_command_lines_order():
    cfg = load_config(["model=rnn", "device=cpu", "clip=0.5"])
    assert cfg == compose(["model=rnn", "device=cpu", "clip=0.5"])
    # ~key before composing, then keys that nothing reads, then the values.
    with pytest.raises(UserError, match=r"^~clip: clip cannot be removed"):
        load_config(["~clip", "+lrr=0.1", "lr=0"])
    with pytest.raises(UserError, match=r"^lrr: no such config key"):
        load_config(["+lrr=0.1", "lr=0"])
    with pytest.raises(UserError, match=r"^lr=0.0: must be a number > 0"):
        load_config(["lr=0"])
    with pytest.raises(UserError, match=r"^task.source, task.target: no value given"):
        load_config(["task=inline"])


def test_make_cfg_is_the_pipeline(make_cfg):
    assert make_cfg("model=gru") == load_config(["device=cpu", "model=gru"])
    with pytest.raises(UserError, match=r"^epochs=0: must be an integer >= 1"):
        make_cfg("epochs=0")


# --------------------------------------------------------------------------- directories that hold a run
def test_a_run_is_recognised_by_any_file_it_writes_first(tmp_path):
    assert start_checks.run_file_in(tmp_path / "absent") is None and start_checks.run_file_in(tmp_path) is None
    (tmp_path / ".hydra").mkdir()  # what a refused or unstarted command may leave: no run
    assert start_checks.run_file_in(tmp_path) is None
    (tmp_path / "events.out.tfevents.1.host.1.0").write_bytes(b"")
    assert start_checks.run_file_in(tmp_path) == "events.out.tfevents.1.host.1.0"
    with pytest.raises(UserError, match=f"^hydra.run.dir={tmp_path}: already holds a run"):
        start_checks.check_run_dir(str(tmp_path))
