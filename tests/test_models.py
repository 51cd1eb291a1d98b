"""The models compute what the notebook says they compute."""

import pytest
import torch

from rnnexp.models.encoders import EmbeddingEncoder, OneHotEncoder
from rnnexp.errors import UserError
from rnnexp.models.tagger import MODELS, CellModel, build_model

VOCAB = 4
IDS = torch.tensor([[1, 0, 2, 2, 3], [3, 2, 2, 0, 1]])  # (B=2, T=5): "hello", "olleh"


def cell_and_rnn_with_same_weights():
    torch.manual_seed(0)
    cell = CellModel(OneHotEncoder(VOCAB), hidden_size=VOCAB, num_classes=VOCAB, head=False)
    rnn = MODELS["rnn"](encoder=OneHotEncoder(VOCAB), hidden_size=VOCAB, num_classes=VOCAB, head=False)
    with torch.no_grad():
        # nn.RNNCell's parameters are nn.RNN's layer-0 parameters without the suffix.
        for name, parameter in cell.cell.named_parameters():
            getattr(rnn.rnn, f"{name}_l0").copy_(parameter)
    return cell, rnn


def test_cell_and_rnn_give_identical_outputs_with_the_same_weights():
    cell, rnn = cell_and_rnn_with_same_weights()
    cell_logits, _ = cell(IDS)
    rnn_logits, _ = rnn(IDS)
    assert cell_logits.shape == (2, 5, VOCAB)
    torch.testing.assert_close(cell_logits, rnn_logits)


def test_both_match_the_notebook_formula_computed_by_hand():
    cell, rnn = cell_and_rnn_with_same_weights()
    w_ih, w_hh = cell.cell.weight_ih, cell.cell.weight_hh
    b_ih, b_hh = cell.cell.bias_ih, cell.cell.bias_hh
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


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("head", [True, False])
def test_every_model_maps_ids_to_class_scores(name, head):
    hidden = 7 if head else 5
    layers = 1 if name == "cell" else 2
    model = MODELS[name](encoder=EmbeddingEncoder(VOCAB, 3), hidden_size=hidden, num_classes=5, head=head, num_layers=layers)
    logits, loss = model(IDS, torch.zeros_like(IDS))
    assert logits.shape == (2, 5, 5)
    assert loss.ndim == 0 and torch.isfinite(loss)


@pytest.mark.parametrize("name", ["rnn", "embedding", "lstm", "gru"])
def test_bidirectional_models_see_the_future(name):
    torch.manual_seed(0)
    model = MODELS[name](encoder=OneHotEncoder(VOCAB), hidden_size=6, num_classes=VOCAB, head=True, bidirectional=True)
    changed_last = IDS.clone()
    changed_last[:, -1] = (changed_last[:, -1] + 1) % VOCAB
    first_step = model(IDS)[0][:, 0]
    # The first output depends on the last input only through the backward direction.
    assert not torch.allclose(first_step, model(changed_last)[0][:, 0])


@pytest.mark.parametrize("name", ["cell", "lstm", "embedding"])
def test_left_to_right_outputs_ignore_later_inputs(name):
    torch.manual_seed(0)
    model = MODELS[name](encoder=OneHotEncoder(VOCAB), hidden_size=VOCAB, num_classes=VOCAB, head=False)
    changed_last = IDS.clone()
    changed_last[:, -1] = (changed_last[:, -1] + 1) % VOCAB
    torch.testing.assert_close(model(IDS)[0][:, :-1], model(changed_last)[0][:, :-1])


@pytest.mark.parametrize("name", ["rnn", "gru"])
def test_padding_does_not_leak_into_a_bidirectional_model(name):
    torch.manual_seed(0)
    model = MODELS[name](encoder=OneHotEncoder(VOCAB), hidden_size=6, num_classes=VOCAB, head=True, bidirectional=True)
    short = torch.tensor([[1, 0, 2]])
    padded = torch.tensor([[1, 0, 2, 3, 3]])  # two padding steps after a length-3 sequence
    alone = model(short)[0]
    packed = model(padded, lengths=torch.tensor([3]))[0][:, :3]
    torch.testing.assert_close(alone, packed)


def test_init_scale_shrinks_only_the_recurrent_weights():
    torch.manual_seed(0)
    reference = MODELS["rnn"](encoder=OneHotEncoder(VOCAB), hidden_size=8, num_classes=VOCAB, head=True)
    torch.manual_seed(0)
    scaled = MODELS["rnn"](encoder=OneHotEncoder(VOCAB), hidden_size=8, num_classes=VOCAB, head=True, init_scale=0.3)
    torch.testing.assert_close(scaled.rnn.weight_hh_l0, 0.3 * reference.rnn.weight_hh_l0)
    torch.testing.assert_close(scaled.head.weight, reference.head.weight)


@pytest.mark.parametrize("name", ["cell", "rnn", "embedding", "lstm", "gru"])
def test_every_model_option_builds_from_its_config(make_cfg, name):
    cfg = make_cfg(f"model={name}")
    model = build_model(cfg, VOCAB)
    assert isinstance(model, CellModel) == (name == "cell")
    assert model.hidden_size == (cfg.model.hidden_size or VOCAB)  # null: the number of classes
    assert isinstance(model.head, torch.nn.Linear) == cfg.model.head
    logits, _ = model(IDS)
    assert logits.shape == (2, 5, VOCAB)


def test_without_a_head_the_hidden_size_must_be_the_class_count(make_cfg):
    # The one model check that needs the data (the number of classes); the rest are validate()'s.
    with pytest.raises(UserError, match=r"^model.hidden_size=8: without a head .* set model.head=true or model.hidden_size=4"):
        build_model(make_cfg("model=rnn", "model.hidden_size=8"), VOCAB)
