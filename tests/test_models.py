"""The models compute what the notebook says they compute, and each built-in is a class its YAML names."""

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from rnnexp.config.checks import validate
from rnnexp.config.keys import builtin_recurrence
from rnnexp.errors import UserError
from rnnexp.models.builtin_recurrences import RNNCellLoop
from rnnexp.models.encoders import EmbeddingEncoder, OneHotEncoder
from rnnexp.models.recurrence import recurrence_arguments, resolve_recurrence
from rnnexp.models.tagger import RecurrentTagger, build_model

VOCAB = 4
IDS = torch.tensor([[1, 0, 2, 2, 3], [3, 2, 2, 0, 1]])  # (B=2, T=5): "hello", "olleh"
BUILT_IN = ["cell", "rnn", "embedding", "lstm", "gru", "mingru", "minlstm"]
OPTIONS = sorted(path.stem for path in (Path(__file__).parent.parent / "conf" / "model").glob("*.yaml"))


def tagger(name, encoder, hidden_size, num_classes, head, init_scale=1.0, **structural):
    """Built-in option ``name``'s model around ``encoder``: the class and arguments its YAML names, as build_model takes them."""
    model = {"name": name, "recurrence": builtin_recurrence(name), "cuda_graph": False, "num_layers": 1,
             "bidirectional": False, "dropout": 0.0, **structural}
    recurrence = resolve_recurrence(model)
    arguments = recurrence_arguments(recurrence, model)
    return RecurrentTagger(encoder, recurrence, hidden_size, num_classes, head, arguments=arguments, init_scale=init_scale)


def cell_and_rnn_with_same_weights():
    torch.manual_seed(0)
    cell = tagger("cell", OneHotEncoder(VOCAB), VOCAB, VOCAB, head=False)
    rnn = tagger("rnn", OneHotEncoder(VOCAB), VOCAB, VOCAB, head=False)
    with torch.no_grad():
        # nn.RNNCell's parameters are nn.RNN's layer-0 parameters without the suffix.
        for name, parameter in cell.recurrence.cell.named_parameters():
            getattr(rnn.recurrence.rnn, f"{name}_l0").copy_(parameter)
    return cell, rnn


def test_cell_and_rnn_give_identical_outputs_with_the_same_weights():
    cell, rnn = cell_and_rnn_with_same_weights()
    cell_logits, _ = cell(IDS)
    rnn_logits, _ = rnn(IDS)
    assert cell_logits.shape == (2, 5, VOCAB)
    torch.testing.assert_close(cell_logits, rnn_logits)


def test_both_match_the_notebook_formula_computed_by_hand():
    cell, rnn = cell_and_rnn_with_same_weights()
    w_ih, w_hh = cell.recurrence.cell.weight_ih, cell.recurrence.cell.weight_hh
    b_ih, b_hh = cell.recurrence.cell.bias_ih, cell.recurrence.cell.bias_hh
    x = torch.nn.functional.one_hot(IDS, VOCAB).float()  # (B, T, V)
    h = torch.zeros(2, VOCAB)  # h_0 = 0
    expected = []
    for t in range(IDS.shape[1]):
        # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
        h = torch.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        expected.append(h)
    expected = torch.stack(expected, dim=1).detach()
    torch.testing.assert_close(cell(IDS)[0].detach(), expected)
    torch.testing.assert_close(rnn(IDS)[0].detach(), expected)


def test_loss_covers_every_time_step():
    cell, _ = cell_and_rnn_with_same_weights()
    targets = torch.tensor([[3, 1, 2, 3, 2], [0, 0, 0, 0, 0]])
    logits, loss = cell(IDS, targets)
    per_step = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1), reduction="none")
    torch.testing.assert_close(loss, per_step.mean())
    # The notebook's `loss = + criterion(...)` would have kept only the last step:
    last_only = torch.nn.functional.cross_entropy(logits[:, -1], targets[:, -1])
    assert not torch.isclose(loss, last_only)


@pytest.mark.parametrize("name", BUILT_IN)
@pytest.mark.parametrize("head", [True, False])
def test_every_model_maps_ids_to_class_scores(name, head):
    hidden = 7 if head else 5
    layers = 1 if name == "cell" else 2
    model = tagger(name, EmbeddingEncoder(VOCAB, 3), hidden, 5, head, num_layers=layers)
    logits, loss = model(IDS, torch.zeros_like(IDS))
    assert logits.shape == (2, 5, 5)
    assert loss.ndim == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("name", ["rnn", "embedding", "lstm", "gru"])
def test_bidirectional_models_see_the_future(name):
    torch.manual_seed(0)
    model = tagger(name, OneHotEncoder(VOCAB), 6, VOCAB, True, bidirectional=True)
    changed_last = IDS.clone()
    changed_last[:, -1] = (changed_last[:, -1] + 1) % VOCAB
    first_step = model(IDS)[0][:, 0]
    # The first output depends on the last input only through the backward direction.
    assert not torch.allclose(first_step, model(changed_last)[0][:, 0])


@pytest.mark.parametrize("name", ["cell", "lstm", "embedding"])
def test_left_to_right_outputs_ignore_later_inputs(name):
    torch.manual_seed(0)
    model = tagger(name, OneHotEncoder(VOCAB), VOCAB, VOCAB, False)
    changed_last = IDS.clone()
    changed_last[:, -1] = (changed_last[:, -1] + 1) % VOCAB
    torch.testing.assert_close(model(IDS)[0][:, :-1], model(changed_last)[0][:, :-1])


@pytest.mark.parametrize("name", ["rnn", "gru"])
def test_padding_does_not_leak_into_a_bidirectional_model(name):
    torch.manual_seed(0)
    model = tagger(name, OneHotEncoder(VOCAB), 6, VOCAB, True, bidirectional=True)
    short = torch.tensor([[1, 0, 2]])
    padded = torch.tensor([[1, 0, 2, 3, 3]])  # two padding steps after a length-3 sequence
    alone = model(short)[0]
    packed = model(padded, lengths=torch.tensor([3]))[0][:, :3]
    torch.testing.assert_close(alone, packed)


def test_init_scale_shrinks_only_the_recurrent_weights():
    torch.manual_seed(0)
    reference = tagger("rnn", OneHotEncoder(VOCAB), 8, VOCAB, True)
    torch.manual_seed(0)
    scaled = tagger("rnn", OneHotEncoder(VOCAB), 8, VOCAB, True, init_scale=0.3)
    torch.testing.assert_close(scaled.recurrence.rnn.weight_hh_l0, 0.3 * reference.recurrence.rnn.weight_hh_l0)
    torch.testing.assert_close(scaled.head.weight, reference.head.weight)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_model_option_builds_from_its_config(make_cfg, name):
    cfg = make_cfg(f"model={name}")
    model = build_model(cfg, VOCAB)
    assert isinstance(model.recurrence, RNNCellLoop) == (name == "cell")
    assert type(model.recurrence).__name__ == cfg.model.recurrence._target_.rpartition(".")[2]
    assert model.hidden_size == (cfg.model.hidden_size or VOCAB)  # null: the number of classes
    assert isinstance(model.head, torch.nn.Linear) == cfg.model.head
    logits, _ = model(IDS)
    assert logits.shape == (2, 5, VOCAB)


def test_without_a_head_the_hidden_size_must_be_the_class_count(make_cfg):
    # The one model check that needs the data (the number of classes); the rest are validate()'s.
    with pytest.raises(UserError, match=r"^model.hidden_size=8: without a head .* set model.head=true or model.hidden_size=4"):
        build_model(make_cfg("model=rnn", "model.hidden_size=8"), VOCAB)


# --------------------------------------------------------------------------- the built-ins through the same door
def test_every_option_but_custom_is_a_built_in():
    # A new built-in is a class, a YAML file naming it, and a test: this list then grows by itself.
    assert [o for o in OPTIONS if o != "custom"] == sorted(BUILT_IN)


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_built_in_option_names_a_class_in_rnnexp_models(name):
    target = builtin_recurrence(name)["_target_"]
    assert target.startswith(("rnnexp.models.builtin_recurrences.", "rnnexp.models.min_recurrences."))
    assert issubclass(resolve_recurrence({"recurrence": {"_target_": target}}), torch.nn.Module)


def test_parameters_are_drawn_encoder_head_recurrence():
    """The order of before model.recurrence: the same seed draws the same weights for each part."""
    torch.manual_seed(0)
    model = tagger("gru", EmbeddingEncoder(VOCAB, 3), 8, 5, True)
    torch.manual_seed(0)
    encoder = torch.nn.Embedding(VOCAB, 3)
    head = torch.nn.Linear(8, 5)
    gru = torch.nn.GRU(3, 8, batch_first=True)
    torch.testing.assert_close(model.encoder.embedding.weight, encoder.weight, rtol=0, atol=0)
    torch.testing.assert_close(model.head.weight, head.weight, rtol=0, atol=0)
    torch.testing.assert_close(model.recurrence.rnn.weight_hh_l0, gru.weight_hh_l0, rtol=0, atol=0)
    assert [name.split(".")[0] for name, _ in model.named_parameters()][:2] == ["encoder", "head"], "the optimizer's order"


# Each class's own checks, made as the model is built (before any weight is drawn), with the lines
# validate() gave them when the model's name chose the class.
CLASS_CHECKS = [
    (["model=cell", "model.num_layers=2"], "model.num_layers=2: model=cell unrolls one nn.RNNCell, so only 1 is allowed; use model=rnn for stacked layers"),
    (["model=cell", "model.bidirectional=true", "model.head=true"], "model.bidirectional=true: model=cell unrolls one left-to-right nn.RNNCell"),
    (["model=rnn", "model.cuda_graph=true"], "model.cuda_graph=true: only model=cell is captured as a CUDA graph (model=rnn already runs each layer"),
]


@pytest.mark.parametrize("overrides, message", CLASS_CHECKS, ids=[" ".join(o) for o, _ in CLASS_CHECKS])
def test_a_class_refuses_what_it_cannot_build(make_cfg, overrides, message):
    cfg = make_cfg(*overrides)
    validate(cfg)  # nothing the config alone refuses: the class says it
    before = torch.get_rng_state()
    with pytest.raises(UserError) as refused:
        build_model(cfg, VOCAB)
    assert str(refused.value).startswith(message)
    assert torch.equal(torch.get_rng_state(), before), "refused before any weight was drawn"


@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_a_layer_passes_the_structural_keys_to_its_constructor(make_cfg, name):
    model = build_model(make_cfg(f"model={name}", "model.num_layers=2", "model.bidirectional=true", "model.head=true",
                                 "model.dropout=0.25", "model.hidden_size=6"), VOCAB)
    rnn = model.recurrence.rnn
    assert (rnn.num_layers, rnn.bidirectional, rnn.dropout) == (2, True, 0.25)
    assert model.output_size == 12 and model.head.in_features == 12


def test_a_class_with_no_structural_argument_runs_the_default_only(make_cfg):
    cfg = make_cfg("model=cell", "model.dropout=0.3")
    model = build_model(cfg, VOCAB)  # dropout before the head is the wrapper's: the cell need not take it
    assert model.dropout.p == 0.3


def test_a_checkpoints_plain_config_builds_as_the_composed_one(make_cfg):
    cfg = make_cfg("model=lstm")
    torch.manual_seed(0)
    composed = build_model(cfg, VOCAB)
    torch.manual_seed(0)
    plain = build_model(OmegaConf.to_container(cfg, resolve=True), VOCAB)
    assert all(torch.equal(a, b) for a, b in zip(composed.state_dict().values(), plain.state_dict().values()))


def test_the_lstm_forget_bias_starts_each_forget_gate_there():
    from rnnexp.models.builtin_recurrences import LSTMLayer

    torch.manual_seed(0)
    layer = LSTMLayer(3, 5, num_layers=2, bidirectional=True, forget_bias=1.0)
    biases = dict(layer.rnn.named_parameters())
    sums = [biases[name] + biases[name.replace("bias_ih", "bias_hh")] for name in biases if name.startswith("bias_ih")]
    assert len(sums) == 4  # two layers, two directions
    for total in sums:
        assert torch.equal(total[5:10], torch.ones(5))  # the forget gate: the second of four blocks
        assert not torch.equal(total[:5], torch.ones(5))  # the others keep PyTorch's draw


def readout_model(readout, bidirectional=False, length=6):
    from rnnexp.data.task import CLASSIFY, DataSizes
    from rnnexp.models.encoders import LinearEncoder
    from rnnexp.models.losses import sequence_cross_entropy
    from rnnexp.models.readouts import build_readout

    torch.manual_seed(0)
    return RecurrentTagger(
        LinearEncoder(2, None), resolve_recurrence({"recurrence": {"_target_": "rnnexp.models.builtin_recurrences.GRULayer"}}),
        4, 3, True, arguments={"bidirectional": bidirectional},
        readout=build_readout(readout, bidirectional, length), loss=sequence_cross_entropy,
    )


@pytest.mark.parametrize("readout", ["last", "mean", "all"])
def test_a_readout_gives_one_answer_per_sequence(readout):
    model = readout_model(readout)
    x, y = torch.randn(5, 6, 2), torch.tensor([0, 1, 2, 0, 1])
    logits, loss = model(x, y)
    assert logits.shape == (5, 3) and loss.shape == ()
    assert model.head.in_features == (6 * 4 if readout == "all" else 4)


def test_last_reads_each_directions_last_state_and_the_real_last_step():
    model = readout_model("last", bidirectional=True)
    x = torch.randn(2, 6, 2)
    h, _ = model.recurrence(x, None)  # (2, 6, 8): forward then backward halves
    read = model.readout(h, None)
    assert torch.equal(read[:, :4], h[:, -1, :4]) and torch.equal(read[:, 4:], h[:, 0, 4:])
    lengths = torch.tensor([6, 3])
    padded = x.clone()
    padded[1, 3:] = 0
    h, _ = model.recurrence(padded, None, lengths=lengths)
    read = model.readout(h, lengths)
    assert torch.equal(read[1, :4], h[1, 2, :4])  # the forward direction's state after its third, last real step


def test_mean_leaves_the_padding_out():
    model = readout_model("mean")
    h = torch.arange(12.0).view(1, 6, 2).repeat(2, 1, 1)
    read = model.readout(h, torch.tensor([6, 2]))
    assert torch.equal(read[0], h[0].mean(dim=0)) and torch.equal(read[1], h[1, :2].mean(dim=0))


def test_all_refuses_sequences_of_unequal_length():
    from rnnexp.models.readouts import build_readout

    with pytest.raises(UserError, match=r"^model.readout=all: the sequences differ in length"):
        build_readout("all", False, None)
