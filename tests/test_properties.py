"""Property-based tests: random strings, vocabularies and valid configs."""

import tempfile

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from omegaconf import MISSING, OmegaConf

from conftest import compose_config, compose_unchecked
from rnnexp.config.checks import RULES, validate
from rnnexp.config.keys import options_defining, schema_fields
from rnnexp.errors import UserError
from rnnexp.results import Status
from rnnexp.training.checkpoint import LAST, load_checkpoint, restore_model
from rnnexp.training.trainer import train

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-_"


@st.composite
def pairs(draw):
    """An equal-length source and target over a random small alphabet."""
    alphabet = draw(st.sets(st.sampled_from(ALPHABET), min_size=1, max_size=8))
    length = draw(st.integers(min_value=1, max_value=10))
    letters = sorted(alphabet)
    source = "".join(draw(st.sampled_from(letters)) for _ in range(length))
    target = "".join(draw(st.sampled_from(letters)) for _ in range(length))
    # The whole value ??? is OmegaConf's mark for "no value given" (MISSING), which
    # rnnexp refuses as such: not a string a task can hold.
    assume(MISSING not in (source, target))
    return source, target


configs = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["cell", "rnn", "embedding", "lstm", "gru"]),
        "encoder": st.sampled_from(["one_hot", "embedding"]),
        "optimizer": st.sampled_from(["adam", "adamw", "sgd", "rmsprop"]),
        "head": st.booleans(),
        "hidden": st.integers(min_value=1, max_value=12),
        "epochs": st.integers(min_value=1, max_value=3),
        "seed": st.integers(min_value=0, max_value=2**31 - 1),
    }
)


def overrides_for(pair, config):
    source, target = pair
    chosen = [
        "task=inline",
        f"task.source='{source}'",
        f"task.target='{target}'",
        f"model={config['model']}",
        f"encoder={config['encoder']}",
        f"optimizer={config['optimizer']}",
        f"epochs={config['epochs']}",
        f"seed={config['seed']}",
        "lr=0.05",
    ]
    if config["head"]:
        # With a head any hidden size is valid; without one it must be the class count (null).
        chosen += ["model.head=true", f"model.hidden_size={config['hidden']}"]
    else:
        chosen += ["model.head=false", "model.hidden_size=null"]
    return chosen


# The numeric keys whose range a field states, with the option that has the key (task=caesar has task.length).
NUMERIC_RULES = sorted(
    {rule.key for rule in RULES if str(schema_fields()[rule.key].type).removeprefix("Optional[").rstrip("]") in ("int", "float")}
    # lr's first step has a range of its own (rnnexp.config.checks._check_first_step); task.pairs and
    # task.tokens are checked against task.symbols and task.length too (their classes' check_config).
    - {"lr", "task.pairs", "task.tokens"}
)


@settings(max_examples=200, deadline=None)
@given(key=st.sampled_from(NUMERIC_RULES), number=st.integers(min_value=-3, max_value=40), half=st.booleans())
def test_a_value_is_refused_exactly_where_its_fields_range_says(key, number, half):
    """The checks generated from a field refuse a value if and only if one of the field's ranges does, with its words."""
    whole = str(schema_fields()[key].type).removeprefix("Optional[").rstrip("]") == "int"
    value = number if whole or not half else number / 2
    group = key.split(".")[0]
    # An option that has the key and needs nothing typed (task=custom needs its task.data) but the name
    # of a file validate() does not read (task=arrays), and, where another has it too, one whose other
    # keys do not bound it (associative_recall's task.pairs bounds task.symbols from below,
    # selective_copy's task.tokens task.length) and whose class bounds it no further (adding's
    # task.length is at least 2: a marked step in each half).
    options = [o for o in options_defining(key) if o not in ("custom", "inline", "pairs")]
    bounded = ("associative_recall", "selective_copy", "adding")
    chosen = next((o for o in options if o not in bounded), options[0] if options else None)
    option = [f"{group}={chosen}", *(["task.path=data.npz"] if chosen == "arrays" else [])] if group == "task" else []
    cfg = compose_unchecked(*option)
    OmegaConf.update(cfg, key, value, merge=False)
    refused = [rule for rule in RULES if rule.key == key and not rule.ok(value)]
    try:
        validate(cfg)
    except UserError as error:
        stored = OmegaConf.select(cfg, key)  # a float key holds 0 as 0.0, and its line says so
        assert refused and str(error) == f"{key}={stored}: {refused[0].allowed}", (str(error), value)
    else:
        assert not refused, value


# Each example trains a model: ten keep the file at a few seconds. The first one also pays torch's
# warm-up, so Hypothesis's per-example deadline is off and the example count is the limit.
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=pairs(), config=configs)
def test_any_valid_config_trains_and_its_checkpoint_round_trips(pair, config):
    source, target = pair
    with tempfile.TemporaryDirectory() as run_dir:
        result = train(compose_config(*overrides_for(pair, config)), run_dir)
        vocabulary = set(source + target)
        # The prediction decodes to a string over the vocabulary, of the target's length.
        assert len(result.prediction) == len(target) and set(result.prediction) <= vocabulary
        assert result.status is Status.OK and result.epochs == len(result.losses) == config["epochs"]

        # A checkpoint round trip gives the same outputs as the trained model.
        state = load_checkpoint(f"{run_dir}/{LAST}")
        model, vocab = restore_model(state)
        model.eval()
        with torch.no_grad():
            logits, _ = model(vocab.encode(source).unsqueeze(0))
        assert vocab.decode(logits[0].argmax(-1)) == result.prediction
