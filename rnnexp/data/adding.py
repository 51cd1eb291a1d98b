"""task=adding: the adding problem (Hochreiter and Schmidhuber 1997; Arjovsky, Shah and Bengio 2016).

Each sequence has ``task.length`` steps of two features:

    channel 0  a value drawn uniformly from [0, 1) at every step
    channel 1  a marker: 1 at two steps, one drawn uniformly from the first
               half (steps 0 to T//2 - 1) and one from the second (T//2 to
               T - 1), 0 elsewhere

and its answer is one number, the sum of the two marked values. A model
must keep the first marked value through the noise until the end: always
answering 1, the mean of the sum, has a mean squared error of 1/6, the
baseline to beat. The markers are placed as in Arjovsky et al.'s code (for
an odd length the second half is one step longer).

The data is numpy's, as the rest of this package is torch-free: the task
registry is read by the command line's checks before torch loads.
"""

from __future__ import annotations

from typing import Any, Mapping

from rnnexp.data.task import REGRESS, Arrays, Task, check_numpy_seed
from rnnexp.errors import UserError

# The two streams of task.seed: numpy's legacy generator seeded [seed, stream].
# The held-out sequences have their own, so task.size leaves them as they are
# and task.test_size the training ones.
TRAIN_STREAM, TEST_STREAM = 0, 1


def adding_sequences(size: int, length: int, seed: int, stream: int = TRAIN_STREAM) -> tuple[Any, Any]:
    """``size`` sequences x (size, length, 2) float32 and their sums y (size, 1) float32, numpy arrays.

    numpy's legacy generator (RandomState): its streams are frozen, the same
    numbers from a seed on any machine and with any numpy.
    """
    import numpy as np

    rng = np.random.RandomState([seed, stream])
    values = rng.random_sample((size, length)).astype(np.float32)  # (N, T) uniform in [0, 1)
    half = length // 2
    first = rng.randint(0, half, size, dtype=np.int64)  # (N,) a step of the first half
    second = rng.randint(half, length, size, dtype=np.int64)  # (N,) a step of the second half
    rows = np.arange(size)
    markers = np.zeros((size, length), dtype=np.float32)  # (N, T)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second])[:, None]  # (N, 1) float32
    return x, y


class Adding(Task):
    """The adding problem: the sum of the two values that channel 1 marks, one number per sequence."""

    kind = REGRESS

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """A step in each half, and a seed numpy takes."""
        if keys["length"] < 2:
            raise UserError(f"task.length={keys['length']}: must be an integer >= 2 for task=adding (a marked step in each half)")
        check_numpy_seed(keys)

    def sequences(self) -> Arrays:
        keys = self.keys
        x, y = adding_sequences(keys["size"], keys["length"], keys["seed"])
        x_test, y_test = adding_sequences(keys["test_size"], keys["length"], keys["seed"], TEST_STREAM)
        return Arrays(x, y, x_test, y_test)
