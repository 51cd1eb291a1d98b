"""Config groups compose into the typed schema; bad values fail with the key's name."""

from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from rnnexp.config import unique_dir, validate
from rnnexp.errors import UserError, one_line


def test_defaults(make_cfg):
    cfg = make_cfg()
    assert cfg.model.name == "embedding"
    assert cfg.encoder.name == "embedding"  # model=embedding switches the encoder default
    assert (cfg.lr, cfg.epochs, cfg.seed) == (0.1, 15, 0)
    assert (cfg.task.source, cfg.task.target) == ("hello", "ohlol")
    assert cfg.optimizer._target_ == "torch.optim.Adam" and cfg.optimizer._partial_


@pytest.mark.parametrize("model, encoder", [("cell", "one_hot"), ("rnn", "one_hot"), ("embedding", "embedding")])
def test_each_model_picks_its_default_encoder(make_cfg, model, encoder):
    assert make_cfg(f"model={model}").encoder.name == encoder


def test_a_model_takes_any_encoder(make_cfg):
    assert make_cfg("model=rnn", "encoder=embedding").encoder.name == "embedding"
    assert make_cfg("model=embedding", "encoder=one_hot").encoder.name == "one_hot"


@pytest.mark.parametrize(
    "option, target",
    [("adam", "torch.optim.Adam"), ("sgd", "torch.optim.SGD"), ("adamw", "torch.optim.AdamW"), ("rmsprop", "torch.optim.RMSprop")],
)
def test_optimizer_options(make_cfg, option, target):
    assert make_cfg(f"optimizer={option}").optimizer._target_ == target


def test_sgd_has_momentum(make_cfg):
    assert make_cfg("optimizer=sgd").optimizer.momentum == 0.9


@pytest.mark.parametrize(
    "experiment, model, encoder, hidden, layers, lr",
    [
        ("seed_cell", "cell", "one_hot", 4, 1, 0.1),
        ("seed_rnn", "rnn", "one_hot", 4, 1, 0.05),
        ("seed_embedding", "embedding", "embedding", 8, 2, 0.05),
    ],
)
def test_experiment_presets_carry_the_notebook_settings(make_cfg, experiment, model, encoder, hidden, layers, lr):
    cfg = make_cfg(f"experiment={experiment}")
    assert (cfg.model.name, cfg.encoder.name) == (model, encoder)
    assert (cfg.model.hidden_size, cfg.model.num_layers, cfg.lr, cfg.epochs) == (hidden, layers, lr, 15)
    assert cfg.model.init_scale == 1.0  # PyTorch's default init, as in the notebook


def test_inline_task_takes_strings_from_the_command_line(make_cfg):
    cfg = make_cfg("task=inline", "task.source=abcd", "task.target=dcba")
    assert (cfg.task.source, cfg.task.target) == ("abcd", "dcba")


def test_unknown_option_lists_the_options(make_cfg):
    with pytest.raises(MissingConfigException) as info:
        make_cfg("model=lsmt")
    assert one_line(info.value) == "model=lsmt: no such option; choose one of cell, embedding, gru, lstm, rnn; did you mean lstm?"


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
    from rnnexp.config import schema_keys

    with pytest.raises(ConfigCompositionException) as info:
        make_cfg(override)
    assert one_line(info.value, schema_keys()).startswith(message)


@pytest.mark.parametrize(
    "override, message",
    [
        ("lr=0", "lr=0.0: must be a number > 0"),
        ("lr=-1", "lr=-1.0: must be a number > 0"),
        ("epochs=0", "epochs=0: must be an integer >= 1"),
        ("model.hidden_size=0", "model.hidden_size=0: must be an integer >= 1"),
        ("model.num_layers=0", "model.num_layers=0: must be an integer >= 1"),
        ("encoder.dim=0", "encoder.dim=0: must be an integer >= 1"),
        ("model.init_scale=0", "model.init_scale=0.0: must be a number > 0"),
        ("device=gpu", "device=gpu: allowed values are auto, cpu, cuda, cuda:N"),
        ("task=inline", "task.source, task.target: no value given"),
    ],
)
def test_out_of_range_values_are_refused(make_cfg, override, message):
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace("+", r"\+")):
        validate(make_cfg(override))


def test_cell_refuses_stacked_layers(make_cfg):
    with pytest.raises(UserError, match="model=cell unrolls one nn.RNNCell"):
        validate(make_cfg("model=cell", "model.num_layers=2"))


def test_unique_dir_never_repeats(tmp_path):
    # Called in the same millisecond, the names still differ.
    names = {unique_dir(str(tmp_path)) for _ in range(20)}
    assert len(names) == 20
    assert all(Path(name).parent == tmp_path and Path(name).is_dir() for name in names)
