"""Optimizers built without loading TorchDynamo, and torch's own path once it is loaded.

Whether a process loads ``torch._dynamo`` can only be seen in a process that
has not loaded it yet, so that test starts one; the others run here, where
another test may have loaded it already, and choose the branch they test.
"""

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from conftest import overlapped_result
from rnnexp.errors import UserError
from rnnexp.internals import torch_private
from rnnexp.internals.torch_private import knows_torch_wrappers, without_dynamo_import
from rnnexp.training.optimizers import build_optimizer, build_scheduler

ROOT = Path(__file__).resolve().parent.parent

# In a fresh process: every optimizer option, a scheduler, checkpoint round trips, all
# without TorchDynamo; then TorchDynamo loaded, the same steps through torch's wrappers,
# and the weights of both compared with a plain torch optimizer's, bit for bit.
FRESH_PROCESS = r"""
import sys
import torch
from rnnexp.config.compose import compose
from rnnexp.internals.torch_private import knows_torch_wrappers
from rnnexp.training.optimizers import build_optimizer, build_scheduler

def train(optimizer_option, build):
    torch.manual_seed(0)
    model = torch.nn.RNN(4, 3)
    cfg = compose([f"optimizer={optimizer_option}", "scheduler=step", "scheduler.step_size=2"])
    optimizer = build(cfg, model)
    scheduler = build_scheduler(cfg, optimizer)
    for step in range(4):
        optimizer.zero_grad()
        out, _ = model(torch.ones(5, 1, 4) * step)
        out.pow(2).sum().backward()
        optimizer.step()
        scheduler.step()
    state = optimizer.state_dict()
    optimizer.load_state_dict(state)
    return [p.detach().clone() for p in model.parameters()]

def plain(cfg, model):
    options = {k: v for k, v in cfg.optimizer.items() if not k.startswith("_")}
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    return getattr(torch.optim, cfg.optimizer._target_.rsplit(".", 1)[1])(model.parameters(), lr=cfg.lr, **options)

options = ["adam", "adamw", "sgd", "rmsprop"]
before = {option: train(option, build_optimizer) for option in options}
print("known", knows_torch_wrappers(), "loaded", "torch._dynamo" in sys.modules)
import torch._dynamo
breaks = []
torch._dynamo.graph_break = lambda *args, **kwargs: breaks.append(1)
after = {option: train(option, build_optimizer) for option in options}
print("breaks", len(breaks))
reference = {option: train(option, plain) for option in options}
same = all(torch.equal(a, r) for option in options for a, r in zip(before[option] + after[option], reference[option] * 2))
print("same", same)
"""


@pytest.mark.e2e
def fresh_process(tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", FRESH_PROCESS], cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.overlapped(work=fresh_process)
def test_a_process_that_builds_and_steps_optimizers_loads_no_torchdynamo():
    done = overlapped_result(fresh_process)
    assert done.returncode == 0, done.stderr
    known, breaks, same = done.stdout.splitlines()
    assert known == f"known {knows_torch_wrappers()} loaded {not knows_torch_wrappers()}"
    # Once TorchDynamo is loaded, every step goes through torch's wrapper: two graph breaks a step.
    assert breaks == f"breaks {4 * 4 * 2}"
    assert same == "same True"  # the weights of torch's own path, without TorchDynamo and with it


def torch_calls_a_kept_disabled_function(monkeypatch) -> bool:
    """Whether this torch's ``_disable_dynamo`` wrapper calls the disabled function kept on the function it wraps.

    That cache is where rnnexp puts its stand-in (torch 2.4 on); a torch
    without it imports TorchDynamo on every call, which fails here.
    """
    def method():
        return "torch's"

    method.__dynamo_disable = lambda: "kept"
    monkeypatch.setitem(sys.modules, "torch._dynamo", None)  # an import of TorchDynamo raises ImportError
    try:
        return torch._disable_dynamo(method)() == "kept"
    except ImportError:
        return False


def torch_steps_import_dynamo(monkeypatch) -> bool:
    """Whether this torch wraps an optimizer's step in a wrapper that imports TorchDynamo first, as rnnexp's step expects."""
    step = torch.optim.SGD.step
    if getattr(step, "hooked", False):  # the profiling hook Optimizer.__init__ puts around the class's step
        step = step.__wrapped__
    monkeypatch.setitem(sys.modules, "torch._dynamo", None)
    try:
        step(None)  # the import comes before the wrapper reads its optimizer
    except ImportError:
        return True
    except Exception:
        return False
    return False


def test_this_torch_is_recognised_where_its_wrappers_allow(monkeypatch):
    """The optimizers load no TorchDynamo on every torch whose wrappers allow it; others keep torch's own."""
    expected = torch_calls_a_kept_disabled_function(monkeypatch) and torch_steps_import_dynamo(monkeypatch)
    assert knows_torch_wrappers() == expected


@pytest.fixture
def no_dynamo(monkeypatch):
    """As in a process that has not loaded TorchDynamo, whether or not this one has."""
    monkeypatch.setattr(torch_private, "dynamo_loaded", lambda: False)


def model_and_optimizer(make_cfg, *overrides):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    return model, build_optimizer(make_cfg(*overrides), model)


def step(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    optimizer.zero_grad()
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()


@pytest.mark.skipif(not knows_torch_wrappers(), reason="this torch's optimizers keep torch's own step")
def test_the_step_hooks_run_and_the_grad_mode_is_the_optimizers(make_cfg, no_dynamo):
    model, optimizer = model_and_optimizer(make_cfg)
    assert "step" in vars(optimizer)  # the step that loads no TorchDynamo
    seen = []
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: seen.append(("pre", torch.is_grad_enabled())))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: seen.append(("post", torch.is_grad_enabled())))
    step(model, optimizer)
    assert seen == [("pre", True), ("post", True)] and torch.is_grad_enabled()


def test_a_scheduler_sees_the_optimizers_steps(make_cfg, no_dynamo):
    """A scheduler wraps optimizer.step to learn that it ran: stepping it after one gives no warning."""
    model, optimizer = model_and_optimizer(make_cfg, "scheduler=step")
    scheduler = build_scheduler(make_cfg("scheduler=step"), optimizer)
    step(model, optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()


def test_an_optimizer_whose_step_torch_does_not_wrap_is_left_as_it_is():
    class Plain(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            return None

    optimizer = Plain(nn.Linear(1, 1).parameters())
    assert without_dynamo_import(optimizer) is optimizer and "step" not in vars(optimizer)
    lbfgs = torch.optim.LBFGS(nn.Linear(1, 1).parameters())  # a step under torch.no_grad, not torch's wrapper
    assert "step" not in vars(without_dynamo_import(lbfgs))


def test_a_stand_in_calls_the_method_until_torchdynamo_loads_then_hands_over(monkeypatch):
    loaded, calls = [False], []

    def method(x):
        calls.append(("method", x))
        return x

    def wrapper(x):
        calls.append(("torch", x))
        return x

    monkeypatch.setattr(torch_private, "dynamo_loaded", lambda: loaded[0])
    stand_in = torch_private._until_dynamo_loads(method, wrapper)
    setattr(method, torch_private._DISABLED_CACHE, stand_in)
    assert stand_in(1) == 1
    loaded[0] = True
    assert stand_in(2) == 2
    assert calls == [("method", 1), ("torch", 2)]
    assert not hasattr(method, torch_private._DISABLED_CACHE)  # torch's wrapper keeps its own there from now on


def test_a_torch_whose_wrapper_keeps_no_cache_is_left_as_it_is(monkeypatch):
    """torch 2.2 and 2.3 import TorchDynamo in every call of torch._disable_dynamo's wrapper: nothing to fill."""
    monkeypatch.setattr(torch_private, "dynamo_loaded", lambda: False)
    monkeypatch.setattr(torch_private, "_disabled_wrapper_code", lambda: (lambda: None).__code__)
    method = torch.optim.Optimizer.zero_grad.__wrapped__
    before = getattr(method, torch_private._DISABLED_CACHE, None)
    torch_private.skip_dynamo_in_disabled_methods()
    assert getattr(method, torch_private._DISABLED_CACHE, None) is before
    assert not knows_torch_wrappers()


def test_an_unknown_keyword_names_the_key(make_cfg):
    with pytest.raises(UserError, match=r"^optimizer.amsgrd: torch.optim.Adam takes no argument amsgrd;"):
        model_and_optimizer(make_cfg, "+optimizer.amsgrd=true")


@pytest.mark.parametrize("key, name", [("optimizer", "weight_decay"), ("scheduler", "gamma")])
def test_a_target_nested_in_the_arguments_is_refused_and_never_called(make_cfg, tmp_path, key, name):
    """A saved config read on resume= could hide a call in a value: it is refused before anything is built."""
    # A checkpoint's config is plain data, untyped, and could have been edited.
    cfg = OmegaConf.create(OmegaConf.to_container(make_cfg("scheduler=step"), resolve=True))
    made = tmp_path / "made"
    cfg[key][name] = {"_target_": "os.mkdir", "path": str(made)}
    model = nn.Linear(3, 2)
    with pytest.raises(UserError, match=rf"^{key}.{name}: holds a _target_; the {key}'s arguments are plain values"):
        build_scheduler(cfg, build_optimizer(cfg, model)) if key == "scheduler" else build_optimizer(cfg, model)
    assert not made.exists()
