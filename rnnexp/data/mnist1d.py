"""task=mnist1d: MNIST-1D (Greydanus and Kobak 2020), ten digits drawn as 1D signals of 40 steps, one class each.

The data is made here, offline, by the ``mnist1d`` package's own generator
(``mnist1d.data.make_dataset``) at the paper's settings: 5000 examples from
seed 42, the first 4000 for training and the last 1000 as its test set,
which the loader uses as the validation set. The package's ``get_dataset``
is never called: it downloads.

The package and numpy are imported where the data is made: mnist1d is an
optional extra, and the task registry is read by the command line's checks,
which import neither (nor torch: the data stays numpy's).
"""

from __future__ import annotations

import importlib.util
import random
from typing import Any, Mapping

from rnnexp.data.task import CLASSIFY, Arrays, Task, check_numpy_seed
from rnnexp.errors import UserError

PACKAGE = "mnist1d"
INSTALL = "pip install 'rnnexp[mnist1d]' (or pip install -e '.[mnist1d]' in a clone)"
MISSING_PACKAGE = f"task=mnist1d: needs the mnist1d package; install it with {INSTALL}"


def make_dataset(seed: int, shuffle: bool) -> dict[str, Any]:
    """The package's data set (numpy arrays x (N, 40), y (N,), x_test, y_test) at the paper's settings but these two.

    ``make_dataset`` seeds numpy's and Python's global generators; both are put
    back as they were, so the rest of the run draws what it would have drawn.
    """
    try:
        from mnist1d.data import get_dataset_args
        from mnist1d.data import make_dataset as generate
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] == PACKAGE:
            raise UserError(MISSING_PACKAGE) from None
        # The package is there but one of its own dependencies is not: installing the extra again brings it.
        raise UserError(f"task=mnist1d: the mnist1d package cannot import {error.name}; install it again with {INSTALL}") from None
    import numpy as np

    args = get_dataset_args()  # the paper's: 5000 examples, train_split 0.8, 40 steps
    args.seed = seed
    args.shuffle_seq = shuffle
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        return generate(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class MNIST1D(Task):
    """MNIST-1D: each example's 40 values are read as 40 time steps of one feature; the answer is its digit, 0 to 9.

    ``task.shuffle``: the paper's shuffled variant, one fixed permutation of the
    40 steps for every example, which leaves no order for a model to use.
    """

    kind = CLASSIFY

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """A seed numpy takes, and the package, looked for without importing it: a run without it stops before it starts."""
        check_numpy_seed(keys)
        if importlib.util.find_spec(PACKAGE) is None:
            raise UserError(MISSING_PACKAGE)

    def sequences(self) -> Arrays:
        import numpy as np

        data = make_dataset(self.keys["seed"], self.keys["shuffle"])

        def steps(x: Any) -> Any:
            return x.astype(np.float32)[..., None]  # (N, 40) float64 -> (N, 40, 1) float32: 40 steps of one feature

        def classes(y: Any) -> Any:
            return y.astype(np.int64)  # (N,)

        return Arrays(steps(data["x"]), classes(data["y"]), steps(data["x_test"]), classes(data["y_test"]))
