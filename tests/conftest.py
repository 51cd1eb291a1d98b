"""Shared fixtures: configs composed once per set of overrides, and the command line run in-process.

Hydra starts once per test session (``make_cfg`` keeps it initialised and
caches each composition). ``make_cfg`` goes through rnnexp.config.pipeline,
as a run does: a config it returns has passed every check, and a bad one is
refused there with the command line's line; ``make_unchecked_cfg`` composes
only, for the tests of the checks themselves. ``run_main`` calls :func:`rnnexp.cli.main.main` with an
argument list in a temporary working directory, as ``python -m rnnexp`` would,
and captures what it prints. Only the tests marked ``e2e`` start a Python
process of their own: where the process itself is what is tested (a signal,
the installed wheel, runs started at the same moment).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import importlib
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest
import torch
from omegaconf import DictConfig
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnexp.cli.main import main
from rnnexp.config.compose import compose
from rnnexp.config.pipeline import load_config
from rnnexp.models.tagger import RecurrentTagger
from rnnexp.testing import Done, run_command

_composed: dict[tuple[str, ...], DictConfig] = {}

# threads=auto keeps what it timed in the user's cache folder: the suite's runs, and
# the processes it starts, keep theirs in a folder of the session's instead.
_THREAD_CACHE = tempfile.TemporaryDirectory(prefix="rnnexp-test-cache-")
os.environ["RNNEXP_CACHE_DIR"] = _THREAD_CACHE.name


class BackgroundWork:
    """``work(directory)`` in a thread of its own, from the session's start: its result, or what it raised, for the test."""

    def __init__(self, work: Callable[[Path], Any], directory: Path):
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work, directory), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[Path], Any], directory: Path) -> None:
        try:
            self.result = work(directory)
        except BaseException as error:  # pytest.fail and failed asserts included: the test raises it
            self.error = error


_background: dict[Callable[[Path], Any], BackgroundWork] = {}


@pytest.fixture(scope="session", autouse=True)
def _overlapped_work_started(request, tmp_path_factory):
    """Start the work of every test marked ``overlapped(work=...)`` as the session starts; the test, run last, takes its result.

    The work is processes of its own (a wheel installed and run, a benchmark
    script): the pytest process only waits for them, so they overlap the other tests.
    """
    for item in request.session.items:
        marker = item.get_closest_marker("overlapped")
        work = marker.kwargs.get("work") if marker else None
        if work is not None and work not in _background:
            _background[work] = BackgroundWork(work, tmp_path_factory.mktemp(work.__name__))
    yield


def overlapped_result(work: Callable[[Path], Any], timeout: float = 600) -> Any:
    """What ``work`` returned in the background, once it has ended; what it raised is raised here."""
    background = _background[work]
    background.thread.join(timeout)
    assert not background.thread.is_alive(), f"{work.__name__} did not end within {timeout} s"
    if background.error is not None:
        raise background.error
    return background.result


@pytest.fixture(scope="module", autouse=True)
def _long_lived_objects_frozen():
    """Keep what is alive as a test module starts out of the garbage collector's full passes.

    torch, Hydra, TensorBoard and the session's compositions are a large heap
    that lives to the end, and each full pass walked all of it again: about a
    tenth of the suite's time. Garbage is collected before the freeze, so
    what stays frozen is what the session holds: module-scoped fixtures are
    torn down before the next module starts.
    """
    gc.collect()
    gc.freeze()
    yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster tests first and the ``overlapped`` ones last, so that their waiting overlaps the other tests.

    An overlapped test's work starts in the background as the session starts
    (``overlapped(work=...)``, :func:`_overlapped_work_started`) or with the
    first cluster test (tests/test_slurm.py: a job that must outlive SLURM's
    one-minute time limit), and is checked at the end of the session.
    """
    def place(item: pytest.Item) -> int:
        if item.get_closest_marker("overlapped"):
            return 2
        return 0 if item.get_closest_marker("slurm") else 1

    items.sort(key=place)  # stable: each group keeps its order


def compose_unchecked(*overrides: str) -> DictConfig:
    """The app's config with ``overrides`` (device pinned to cpu), composed and not checked: for tests of the checks.

    Each set of overrides is composed once per session; callers get a copy they may change.
    """
    key = ("device=cpu", *overrides)
    if key not in _composed:
        # compose() leaves Hydra initialised for the next call; run_command clears it
        # before each command, and the next compose() opens it again.
        _composed[key] = compose(key)
    return copy.deepcopy(_composed[key])


def compose_config(*overrides: str) -> DictConfig:
    """The config ``python -m rnnexp device=cpu OVERRIDES`` runs: rnnexp.config.pipeline.load_config's steps.

    Composed once per set of overrides (compose_unchecked), then checked:
    ``~key``, keys that nothing reads, validate(). Raises the UserError the
    command line prints.
    """
    return load_config(overrides, compose_with=lambda words: compose_unchecked(*words))


@pytest.fixture
def make_cfg() -> Callable[..., DictConfig]:
    return compose_config


@pytest.fixture
def make_unchecked_cfg() -> Callable[..., DictConfig]:
    return compose_unchecked


def run_in_process(args: Sequence[str], cwd: Path) -> Done:
    """``python -m rnnexp ARGS`` in ``cwd``, in this process: its exit status and output."""
    return run_command(main, args, cwd)


@pytest.fixture
def run_main(tmp_path: Path) -> Callable[..., Done]:
    """Run the command line with ARGS in ``tmp_path`` (or ``cwd``), in-process."""

    def run(args: Sequence[str], cwd: Path | None = None) -> Done:
        return run_in_process(args, cwd or tmp_path)

    return run


def cli(args: Sequence[str], cwd: Path, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m rnnexp ARGS`` as a process of its own: only for tests of the process itself."""
    # A HYDRA_FULL_ERROR in the caller's environment would change the error output under test.
    full_env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "rnnexp", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def sweep_dir_of(cwd: Path) -> Path:
    """The one sweep directory under ``cwd/outputs/multirun``."""
    (sweep_dir,) = (cwd / "outputs" / "multirun").glob("*/*")
    return sweep_dir


# A small sweep that several test modules read: four jobs, two models x two optimizers.
SMALL_SWEEP = ["-m", "model=cell,rnn", "optimizer=adam,sgd", "epochs=4", "device=cpu"]


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory) -> tuple[Done, Path]:
    """SMALL_SWEEP run once with the basic launcher: (what it printed, its sweep directory)."""
    cwd = tmp_path_factory.mktemp("small_sweep")
    done = run_in_process(SMALL_SWEEP, cwd)
    assert done.status == 0, done.stderr
    return done, sweep_dir_of(cwd)


@contextlib.contextmanager
def user_module(directory: Path, name: str, source: str) -> Iterator[Path]:
    """``name``.py holding ``source`` in ``directory``, made the working directory: a user's task=custom data.

    The module is imported afresh on first use, as in a new process, and
    forgotten again on leaving, so a later test's module of the same name is
    its own.
    """
    (directory / f"{name}.py").write_text(source)
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)
        try:
            yield directory
        finally:
            sys.modules.pop(name, None)


def train_steps(run_dir):
    """The steps of loss/train in a run's event files: one per finished epoch that reached them."""
    events = EventAccumulator(str(run_dir))
    events.Reload()
    if "loss/train" not in events.Tags()["scalars"]:
        return []
    return [e.step for e in events.Scalars("loss/train")]


@contextlib.contextmanager
def signals_at_forward(*plan):
    """Send ``signum`` to this process during the model's ``n``-th forward pass, for each (n, signum) in ``plan``.

    Yields the list of forward numbers at which a signal was sent, so a test
    can tell that its signal really went out.
    """
    sent, calls = [], [0]

    def hook(module, args, output):
        if not isinstance(module, RecurrentTagger) or torch.jit.is_tracing():
            return  # the whole model, not each of its layers; and not the Graphs tab's trace
        calls[0] += 1
        for n, signum in plan:
            if n == calls[0]:
                sent.append(n)
                os.kill(os.getpid(), signum)  # CPython runs the handler before os.kill returns

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield sent
    finally:
        handle.remove()


@pytest.fixture
def joblib_workers():
    """joblib's worker processes for this test alone.

    joblib keeps its workers for the next sweep of the process, and a worker
    keeps the working directory it started in: a sweep of a later test, in
    another directory, would write its jobs into the earlier test's.
    """
    yield
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
