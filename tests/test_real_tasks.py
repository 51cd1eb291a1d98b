"""The real-valued tasks with one answer per sequence: MNIST-1D (classify) and the adding problem (regress).

Their data as the task classes return it (rnnexp.data.task.Arrays of numpy
arrays), built from the composed config; the loader that turns it into
batches is tested with the training side. Their keys' bad values are in
tests/test_config.py's BAD_VALUES.
"""

import hashlib
import random
import re
import sys

import numpy as np
import pytest
from conftest import compose_config

from rnnexp.data.adding import TEST_STREAM, adding_sequences
from rnnexp.data.task import CLASSIFY, REGRESS, Arrays
from rnnexp.data.task_registry import build_task, task_kind
from rnnexp.errors import UserError

MISSING_MNIST1D = (
    "task=mnist1d: needs the mnist1d package; install it with pip install 'rnnexp[mnist1d]' "
    "(or pip install -e '.[mnist1d]' in a clone)"
)
PARTS = ("x", "y", "x_test", "y_test")


def arrays_of(cfg) -> Arrays:
    return build_task(cfg.task).sequences()


def digest(x: np.ndarray) -> str:
    """The values to 5 decimals, hashed: the same on any CPU, where the generator's last bits may differ.

    The integers x * 1e5 are hashed, not the floats' bytes: the package's
    values lie at least 2e-11 from the midpoints of that grid, so a last bit
    (1e-16) cannot move one to another integer.
    """
    return hashlib.sha256(np.rint(x.astype(np.float64) * 1e5).astype(np.int64).tobytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- MNIST-1D
@pytest.fixture(scope="module")
def mnist1d():
    """The paper's data set and its shuffled variant, made once for the module (about 1.5 s each)."""
    return arrays_of(compose_config("task=mnist1d")), arrays_of(compose_config("task=mnist1d", "task.shuffle=true"))


def test_mnist1d_is_the_papers_data_set(mnist1d):
    data, _ = mnist1d
    assert data.x.shape == (4000, 40, 1) and data.x_test.shape == (1000, 40, 1)
    assert data.x.dtype == data.x_test.dtype == np.float32
    assert data.y.shape == (4000,) and data.y_test.shape == (1000,)
    assert data.y.dtype == data.y_test.dtype == np.int64
    assert set(data.y.tolist()) == set(data.y_test.tolist()) == set(range(10))
    # The generator's output, pinned: the same digests as the arrays of mnist1d_data.pkl, the data set
    # the paper's repository publishes (they differ from these by at most 9e-16 before rounding).
    assert digest(data.x) == "8e24d7278f3a0442" and digest(data.x_test) == "f5d1c5c07da64061"
    assert data.y[:10].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1]
    assert data.y_test[:10].tolist() == [2, 6, 3, 9, 4, 3, 1, 9, 5, 2]
    assert np.round(data.x[0, :6, 0], 4).tolist() == pytest.approx([-0.332, -0.4719, -0.7787, -1.0097, -0.8824, 0.1039])
    # The package centres the whole set and scales it to standard deviation 1.
    everything = np.concatenate([data.x, data.x_test]).astype(np.float64)
    assert abs(everything.mean()) < 1e-6 and abs(everything.std() - 1) < 1e-3


def test_mnist1d_is_the_same_every_time_and_leaves_the_global_generators_as_they_were(make_cfg, mnist1d):
    data, _ = mnist1d
    cfg = make_cfg("task=mnist1d")
    random.seed(7)
    np.random.seed(7)
    again = arrays_of(cfg)  # make_dataset seeds both with task.seed
    after = random.random(), np.random.rand()
    for name in PARTS:
        assert np.array_equal(getattr(again, name), getattr(data, name)), name
    random.seed(7)
    np.random.seed(7)
    assert after == (random.random(), np.random.rand())


def test_mnist1d_shuffled_is_one_permutation_of_the_steps(mnist1d):
    # make_dataset draws the examples alike in both variants and permutes the steps of all of them
    # with one permutation before it normalises by the mean and deviation of the whole set, which
    # the permutation leaves as they are: each shuffled example is its plain one's steps reordered.
    plain, shuffled = mnist1d
    assert np.array_equal(plain.y, shuffled.y) and np.array_equal(plain.y_test, shuffled.y_test)
    assert not np.array_equal(plain.x, shuffled.x)
    steps = plain.x[..., 0].T.astype(np.float64)  # (40, N): each step's values over the examples
    moved = shuffled.x[..., 0].T.astype(np.float64)  # (40, N)
    distances = ((moved[:, None, :] - steps[None, :, :]) ** 2).sum(axis=-1)  # (40, 40)
    order = distances.argmin(axis=1)  # (40,): the plain step each shuffled step is
    assert sorted(order.tolist()) == list(range(40)) and order.tolist() != list(range(40))
    for x, x_shuffled in ((plain.x, shuffled.x), (plain.x_test, shuffled.x_test)):
        assert np.allclose(x[:, order], x_shuffled, rtol=0, atol=1e-6)  # summation order: the last bits may differ


def test_mnist1d_follows_its_seed(make_cfg, mnist1d):
    other = arrays_of(make_cfg("task=mnist1d", "task.seed=1"))
    assert other.x.shape == mnist1d[0].x.shape and not np.array_equal(other.x, mnist1d[0].x)


def test_mnist1d_without_its_package_names_the_install(make_cfg, make_unchecked_cfg, monkeypatch):
    # None in sys.modules makes an import fail as if the package were not installed;
    # mnist1d.data too, which an earlier test may have imported.
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(UserError, match=f"^{re.escape(MISSING_MNIST1D)}$"):
        make_cfg("task=mnist1d")  # found missing by the checks, before anything starts
    with pytest.raises(UserError) as raised:
        arrays_of(make_unchecked_cfg("task=mnist1d"))  # and where it is imported
    assert str(raised.value) == MISSING_MNIST1D


# --------------------------------------------------------------------------- the adding problem
def test_adding_defaults(make_cfg):
    task = make_cfg("task=adding").task
    assert (task.length, task.size, task.test_size, task.seed, task.tolerance) == (100, 100_000, 10_000, 0, 0.04)


@pytest.mark.parametrize("length", [10, 9])  # an odd length's second half is the longer
def test_adding_sequences_mark_one_value_in_each_half_and_sum_them(make_cfg, length):
    data = arrays_of(make_cfg("task=adding", f"task.length={length}", "task.size=500", "task.test_size=200"))
    assert data.x.shape == (500, length, 2) and data.x_test.shape == (200, length, 2)
    assert data.y.shape == (500, 1) and data.y_test.shape == (200, 1)
    assert data.x.dtype == data.y.dtype == data.x_test.dtype == data.y_test.dtype == np.float32
    half = length // 2
    for x, y in ((data.x, data.y), (data.x_test, data.y_test)):
        values, markers = x[..., 0], x[..., 1]  # (N, T) each
        assert ((values >= 0) & (values < 1)).all()
        assert set(np.unique(markers).tolist()) == {0.0, 1.0}
        assert (markers[:, :half].sum(axis=1) == 1).all() and (markers[:, half:].sum(axis=1) == 1).all()
        assert np.array_equal(y[:, 0], (values * markers).sum(axis=1))  # two terms and zeros: exact in any order
    # Every step of each half gets marked in some sequence: the draws cover the halves.
    assert set(data.x[:, :half, 1].argmax(axis=1).tolist()) == set(range(half))
    assert set(data.x[:, half:, 1].argmax(axis=1).tolist()) == set(range(length - half))


def test_adding_follows_its_seed(make_cfg):
    def draw(*overrides):
        return arrays_of(make_cfg("task=adding", "task.length=20", "task.size=50", "task.test_size=30", *overrides))

    first, again, other = draw(), draw(), draw("task.seed=1")
    for name in PARTS:
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
        assert not np.array_equal(getattr(first, name), getattr(other, name)), name
    # The held-out sequences have a stream of their own: more training sequences leave them as they are.
    more = draw("task.size=80")
    assert np.array_equal(more.x_test, first.x_test) and np.array_equal(more.y_test, first.y_test)
    assert not np.array_equal(first.x_test, adding_sequences(30, 20, seed=0)[0])  # not the training stream's first 30
    # Pinned, so a change to the draws (which would change a resumed run's data) fails here. numpy's
    # legacy generator is frozen: the same numbers on any machine, with any numpy.
    assert np.round(first.y[:3, 0], 4).tolist() == pytest.approx([0.8313, 0.9004, 0.7974])
    assert np.round(first.y_test[:3, 0], 4).tolist() == pytest.approx([0.9735, 0.0934, 1.2739])
    assert np.array_equal(first.x_test, adding_sequences(30, 20, 0, TEST_STREAM)[0])


def test_always_answering_one_has_a_mean_squared_error_of_a_sixth():
    # The sum of two uniform values has mean 1 and variance 2/12: the baseline a model must beat.
    _, y = adding_sequences(200_000, 10, seed=3)
    assert abs(((y.astype(np.float64) - 1) ** 2).mean() - 1 / 6) < 0.01
    assert y.min() >= 0 and y.max() < 2


# --------------------------------------------------------------------------- both
def test_the_tasks_kinds(make_cfg):
    assert task_kind(make_cfg("task=mnist1d").task) == CLASSIFY
    assert task_kind(make_cfg("task=adding").task) == REGRESS
