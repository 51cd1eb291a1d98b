"""rnnexp's own tasks, one class each, named by ``_target_`` in conf/task/<name>.yaml.

A new built-in task is a class here, or in a module of its own when it
needs a package or much code (rnnexp.data.mnist1d, rnnexp.data.adding),
added to ``BUILTIN_TASKS`` with its keys' combinations checked by its
``check_config``; a YAML option in conf/task/ (with a schema in
rnnexp/config/schemas.py when it has keys of its own: their ranges sit on
its fields); and a test in tests/test_tasks.py (tests/test_real_tasks.py for
the real-valued ones).

The generated tasks draw ``task.size`` strings over an alphabet with lengths
in [min_length, length], seeded by ``task.seed`` (independent of the
training seed), and map each to its target.
"""

from __future__ import annotations

import random
import string
from typing import Any, Mapping

from rnnexp.data.adding import Adding
from rnnexp.data.mnist1d import MNIST1D
from rnnexp.data.pair_files import read_pairs, read_text
from rnnexp.data.task import LANGUAGE_MODEL, Pairs, Task
from rnnexp.errors import UserError


def shortest_length_key(keys: Mapping[str, Any]) -> str:
    """The key that gives the shortest sequence: ``min_length``, or ``length`` where min_length is null."""
    return "min_length" if keys["min_length"] is not None else "length"


def check_lengths(keys: Mapping[str, Any]) -> None:
    """task.min_length, where given, within [1, task.length]."""
    if keys["min_length"] is not None and not 1 <= keys["min_length"] <= keys["length"]:
        raise UserError(f"task.min_length={keys['min_length']}: must be between 1 and task.length={keys['length']}")


class StringPair(Task):
    """hello (the notebook's "hello" -> "ohlol") and inline: one pair, task.source -> task.target."""

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """Two non-empty strings of one length: one target character per time step."""
        source, target = keys["source"], keys["target"]
        if not source or not target:
            empty = "task.source" if not source else "task.target"
            raise UserError(f"{empty} is empty: give at least one character, for example task.source=hello task.target=ohlol")
        if len(source) != len(target):
            raise UserError(
                f"task.source={source!r} has {len(source)} characters but task.target={target!r} has "
                f"{len(target)}: they must have the same length (one target character per time step)"
            )

    def sequences(self) -> Pairs:
        return [(self.keys["source"], self.keys["target"])]


class PairsFile(Task):
    """task=pairs: the pairs of the file task.path names (.tsv, .csv or .jsonl; rnnexp.data.pair_files)."""

    def sequences(self) -> Pairs:
        return read_pairs(self.keys["path"])

    @property
    def origin(self) -> str:
        return f"task.path={self.keys['path']}"


class GeneratedTask(Task):
    """A task of random strings mapped to their targets: a subclass gives the alphabet and the mapping."""

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        check_lengths(keys)

    def alphabet(self) -> str:
        raise NotImplementedError

    def target(self, source: str) -> str:
        raise NotImplementedError

    def sequences(self) -> Pairs:
        return [(source, self.target(source)) for source in self.random_strings(self.alphabet())]

    def random_strings(self, alphabet: str) -> list[str]:
        """``task.size`` strings over ``alphabet``, lengths in [min_length, length], seeded by task.seed."""
        keys = self.keys
        rng = random.Random(keys["seed"])
        low = keys[shortest_length_key(keys)]
        return [
            "".join(rng.choice(alphabet) for _ in range(rng.randint(low, keys["length"]))) for _ in range(keys["size"])
        ]


class Copy(GeneratedTask):
    """Delayed copy: target[t] = source[t - delay]; the first ``delay`` steps show "."."""

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """The lengths, and a delay shorter than the shortest sequence, so every sequence copies something."""
        check_lengths(keys)
        if not 0 <= keys["delay"] < keys[shortest_length_key(keys)]:
            raise UserError(f"task.delay={keys['delay']}: must be >= 0 and shorter than the shortest sequence")

    def alphabet(self) -> str:
        return string.ascii_lowercase[: self.keys["symbols"]]

    def target(self, source: str) -> str:
        delay = self.keys["delay"]
        return "." * delay + source[: len(source) - delay]


class Parity(GeneratedTask):
    """Running parity: target[t] is the parity of the ones in source[0..t]."""

    def alphabet(self) -> str:
        return "01"

    def target(self, source: str) -> str:
        parity, target = 0, []
        for bit in source:
            parity ^= bit == "1"
            target.append(str(parity))
        return "".join(target)


class Caesar(GeneratedTask):
    """Each letter moved task.shift places along the alphabet."""

    def alphabet(self) -> str:
        return string.ascii_lowercase

    def target(self, source: str) -> str:
        letters = string.ascii_lowercase
        shift = self.keys["shift"]
        return "".join(letters[(letters.index(c) + shift) % 26] for c in source)


class Reverse(GeneratedTask):
    """The string reversed: the output at step t is the input at step T-1-t, which a left-to-right
    model cannot see yet and a bidirectional one can."""

    def alphabet(self) -> str:
        return string.ascii_lowercase[: self.keys["symbols"]]

    def target(self, source: str) -> str:
        return source[::-1]


class SelectiveCopy(Task):
    """Selective copying (Gu and Dao 2023, Mamba): ``task.tokens`` letters scattered among noise, written out in order at the end.

    Each sequence has a noisy part of L steps (L = task.length, or drawn from
    [task.min_length, task.length]) and then ``task.tokens`` query steps:

        source  L steps of noise "." with the tokens (letters from the first
                ``task.symbols``, repeats allowed) at random distinct places,
                then one "?" per token
        target  "." for the L noisy steps, then the tokens in the order they came

    ``task.length=8 task.tokens=3 task.symbols=4`` (task.seed 0's first pair): ``d.d...c.???`` -> ``........ddc``.
    The gaps between tokens change from sequence to sequence, so unlike
    ``copy`` a model cannot count steps: it must choose what to keep by content.
    "." is one character in both strings: noise in the source, nothing to say
    yet in the target.
    """

    NOISE, QUERY = ".", "?"

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """The lengths, and room for the tokens: each takes a step of its own among the noise."""
        check_lengths(keys)
        shortest_key = shortest_length_key(keys)
        shortest = keys[shortest_key]
        if keys["tokens"] > shortest:
            raise UserError(
                f"task.tokens={keys['tokens']}: more tokens than the {shortest} steps they are scattered over "
                f"(task.{shortest_key}={shortest}); allowed: 1 to {shortest}, or a longer task.{shortest_key}"
            )

    def sequences(self) -> Pairs:
        keys = self.keys
        rng = random.Random(keys["seed"])
        letters = string.ascii_lowercase[: keys["symbols"]]
        tokens = keys["tokens"]
        low = keys[shortest_length_key(keys)]
        pairs = []
        for _ in range(keys["size"]):
            steps = rng.randint(low, keys["length"])
            places = sorted(rng.sample(range(steps), tokens))  # distinct steps, in reading order
            chosen = [rng.choice(letters) for _ in range(tokens)]
            source = [self.NOISE] * steps
            for place, letter in zip(places, chosen):
                source[place] = letter
            pairs.append(("".join(source) + self.QUERY * tokens, self.NOISE * steps + "".join(chosen)))
        return pairs


class AssociativeRecall(Task):
    """Associative recall (as in the H3 and Mamba papers): key-value pairs, then a key whose value is the answer.

    Each sequence is ``task.pairs`` pairs, a key (a letter from the first
    ``task.symbols``, distinct within the sequence) followed by its value (a
    digit from the first ``task.digits``, repeats allowed), then one of those
    keys again as the query, 2 * pairs + 1 steps:

        source  k1 v1 k2 v2 ... kn vn q
        target  "." for the 2 * pairs steps of pairs, then the value paired with q

    ``task.pairs=3`` (task.seed 0's first pair): ``g0h4d8h`` -> ``......4``. The answer is due at the
    step that reads the query, so a left-to-right model must have kept every
    pair until then.
    """

    BLANK = "."

    @classmethod
    def check_config(cls, keys: Mapping[str, Any]) -> None:
        """Distinct keys in each sequence, so the query has one value."""
        if keys["pairs"] > keys["symbols"]:
            raise UserError(
                f"task.pairs={keys['pairs']}: more pairs than distinct keys (task.symbols={keys['symbols']} letters); "
                f"allowed: 1 to {keys['symbols']}, or more task.symbols (at most 26)"
            )

    def sequences(self) -> Pairs:
        keys = self.keys
        rng = random.Random(keys["seed"])
        letters = string.ascii_lowercase[: keys["symbols"]]
        digits = string.digits[: keys["digits"]]
        pairs = []
        for _ in range(keys["size"]):
            chosen = rng.sample(letters, keys["pairs"])  # distinct keys: the query has one answer
            value = {key: rng.choice(digits) for key in chosen}
            query = rng.choice(chosen)
            source = "".join(key + value[key] for key in chosen) + query
            pairs.append((source, self.BLANK * (len(source) - 1) + value[query]))
        return pairs


class Text(Task):
    """task=text: the UTF-8 text task.path names, or the shipped corpus (path null)."""

    kind = LANGUAGE_MODEL

    def sequences(self) -> str:
        _, text = read_text(self.keys["path"], "a UTF-8 text file")
        return text

    @property
    def origin(self) -> str:
        path = self.keys["path"]
        return f"task.path={'(shipped corpus)' if path is None else path}"


BUILTIN_TASKS = (
    StringPair, PairsFile, Copy, Parity, Caesar, Reverse, SelectiveCopy, AssociativeRecall, Text, MNIST1D, Adding,
)
