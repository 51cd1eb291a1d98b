"""Use a finished run: decode an input, sample text, or answer for a sequence of real values.

    python -m rnnexp.predict run=last input=hello
    python -m rnnexp.predict run=<run dir> sample=300 prime="The " temperature=0.8
    python -m rnnexp.predict run=<run dir> index=3                  # a classify or regress run
    python -m rnnexp.predict run=<run dir> "values=[0.1, 0.5, 0.9]"

Arguments are key=value, as on the rnnexp command line:

    run          the run directory (required); last (or latest): the newest run in outputs/runs
    input        characters to map, one output character per input character (a text run samples instead)
    sample       number of characters to generate after `prime` (text runs)
    prime        where the sample starts (default: the run's task.prime, else its first character)
    temperature  sampling temperature (default: the run's task.temperature, else 1.0)
    seed         seed of the sampling draws (default 0)
    index        a classify or regress run: its held-out sequence number N (from 0; the training
                 data's where the run held none out), as TensorBoard's prediction table numbers them
    values       a classify or regress run: a sequence to answer for, one number per step for one
                 feature ([0.1, 0.5]) or one list per step of each feature ([[0.1, 2], [0.5, 1]])
    checkpoint   best (default) or last

The answer goes to stdout alone, so it can be piped: the characters, or
for real values the input's shape and range, the predicted class with its
probability (and the next likeliest) or the predicted numbers, and, for a
held-out sequence, its target. Errors are one line on stderr with exit
status 2. --help prints this text.
"""

from __future__ import annotations

import ast
import shlex
import sys
from typing import Any, Optional

from rnnexp.config.command_words import unquoted
from rnnexp.data.task import ANSWER_KINDS, CLASSIFY
from rnnexp.data.task_registry import is_language_model, task_kind  # torch-free: the kind a run's saved config records
from rnnexp.errors import USAGE_ERROR, UserError
from rnnexp.run_dirs import named_run

KEYS = ("run", "input", "sample", "prime", "temperature", "seed", "index", "values", "checkpoint")
# What a run is asked: characters to map, or a text to sample (tagging, text); a sequence of real values (classify, regress).
CHARACTER_MODES = ("input", "sample")
VALUE_MODES = ("index", "values")
TOP_CLASSES = 3  # the classes a classify answer lists, likeliest first


def parse(argv: list[str]) -> dict[str, str]:
    args: dict[str, str] = {}
    for token in argv:
        key, sep, value = token.partition("=")
        if not sep:
            raise UserError(f"{token!r}: arguments are key=value, with keys {', '.join(KEYS)}")
        if key not in KEYS:
            raise UserError(f"{key}: no such argument; allowed: {', '.join(KEYS)}")
        args[key] = unquoted(value) if key == "run" else value  # a directory as printed, or in Hydra's quotes
    if "run" not in args:
        raise UserError(
            "run: missing; give the run directory, for example run=outputs/runs/2026-11-26/14-19-35.714_model=cell, or run=last"
        )
    modes = [key for key in (*CHARACTER_MODES, *VALUE_MODES) if key in args]
    if len(modes) != 1:
        raise UserError(
            "give either input=<characters> (map them) or sample=<N> (generate N characters); for a classify or "
            "regress run, index=<N> (a held-out sequence) or values=[...] (a sequence of your own)"
        )
    return args


def _number(args: dict[str, str], key: str, kind: type, default):
    try:
        return kind(args[key]) if key in args else default
    except ValueError:
        raise UserError(f"{key}={args[key]}: expected {'an integer' if kind is int else 'a number'}") from None


def predict(argv: list[str]) -> str:
    args = parse(argv)
    choice = args.get("checkpoint", "best")
    if choice not in ("best", "last"):
        raise UserError(f"checkpoint={choice}: allowed values are best, last")
    # Here, not at the top: a bad argument is answered without importing torch,
    # and the command's exit handler is registered before torch's (rnnexp.cli.quick_exit).
    import torch

    from rnnexp.training.checkpoint import BEST, LAST, find_checkpoint, load_checkpoint, restore_model, sizes_of

    path = find_checkpoint(named_run(args["run"], "run"), BEST if choice == "best" else LAST, "run")
    state = load_checkpoint(path)
    model, vocab = restore_model(state, path)
    model.eval()
    task = state["config"]["task"]
    kind = sizes_of(state).kind
    if kind in ANSWER_KINDS or any(key in args for key in VALUE_MODES):
        return predict_answer(args, state, model, path.parent)
    if "input" in args and is_language_model(task):
        # Mapped, each character would come back as the model's guess at the
        # next one: output that looks like an answer but is none.
        raise UserError(
            f"input={args['input']!r}: this run is a language model (task={task['name']}): it samples text "
            f"from a prime instead of mapping an input; give sample=N, for example sample=200 prime={shlex.quote(args['input'])}"
        )

    text = args.get("input", args.get("prime", task.get("prime") or vocab.characters[0]))
    key = "input" if "input" in args else "prime"
    if not text:
        raise UserError(f"{key} is empty: give at least one character")
    missing = vocab.missing(text)
    if missing:
        raise UserError(
            f"{key}={text!r}: characters not in the run's vocabulary: {', '.join(map(repr, missing))} "
            f"(the vocabulary: {''.join(vocab.characters)!r})"
        )

    if "input" in args:
        with torch.no_grad():
            logits, _ = model(vocab.encode(text).unsqueeze(0))  # (1, T, C)
        return vocab.decode(logits[0].argmax(-1))

    from rnnexp.models.sampling import sample_text

    length = _number(args, "sample", int, 0)
    temperature = _number(args, "temperature", float, task.get("temperature", 1.0))
    if length < 1:
        raise UserError(f"sample={length}: must be an integer >= 1")
    if not temperature > 0:
        raise UserError(f"temperature={temperature}: must be a number > 0")
    generator = torch.Generator().manual_seed(_number(args, "seed", int, 0))
    window = task.get("window") or len(text)
    # A model trained statefully read the whole text so far: it carries its state as it samples.
    stateful = bool(task.get("stateful", False))
    return sample_text(model, vocab, text, length, temperature, window, generator, carry_state=stateful)


# --------------------------------------------------------------------------- real values
def predict_answer(args: dict[str, str], state: dict[str, Any], model: Any, run_dir: Any) -> str:
    """A classify or regress run's answer for held-out sequence ``index``, or for ``values``; the lines printed."""
    import torch

    from rnnexp.training.checkpoint import sizes_of

    sizes, task = sizes_of(state), state["config"]["task"]
    mode = next(key for key in (*CHARACTER_MODES, *VALUE_MODES) if key in args)
    if sizes.kind not in ANSWER_KINDS:
        raise UserError(
            f"{mode}={args[mode]}: this run maps characters (task={task['name']}); give input=<characters>"
            + (", or sample=N for a text" if is_language_model(task) else "")
        )
    if mode in CHARACTER_MODES:
        raise UserError(
            f"{mode}={args[mode]}: this run reads real values (task={task['name']}, {sizes.kind}), not characters; "
            "give index=N for a held-out sequence, or values=[...] for one of your own"
        )
    if mode == "index":
        x, target, where = _held_out(args["index"], task, run_dir)
    else:
        readout = state["config"]["model"].get("readout")
        x, target, where = _given_values(args["values"], sizes, readout), None, "the values given"
    with torch.no_grad():
        output, _ = model(x.unsqueeze(0))  # (1, T, F) -> (1, C) class scores or (1, K) numbers
    lines = [f"input: {where}, {_described(x)}", *_answer_lines(output[0], target, sizes.kind, task)]
    return "\n".join(lines)


def _held_out(value: str, task: dict[str, Any], run_dir: Any) -> tuple[Any, Any, str]:
    """Sequence ``value`` of the run's evaluation set, rebuilt from its saved config (task=custom: its kept arrays)."""
    import torch

    from rnnexp.data.loading import load_task

    index = _number({"index": value}, "index", int, 0)
    data = load_task(task, saved_run=run_dir)  # never the user's code: a custom run reads what it kept
    sequences, split = (data.val, "validation") if data.val is not None else (data.train, "training")
    if not 0 <= index < len(sequences):
        raise UserError(
            f"index={index}: the run's {split} set holds {len(sequences)} sequences; give an index from 0 to {len(sequences) - 1}"
        )
    batch = sequences.batch(torch.tensor([index]))
    steps = int(batch.lengths[0]) if batch.lengths is not None else batch.source.shape[1]
    return batch.source[0, :steps], batch.target[0], f"{split} sequence {index} of {len(sequences)}"


def _given_values(text: str, sizes: Any, readout: Optional[str]) -> Any:
    """``values=`` as a (T, F) float tensor, checked against what the run's model reads (``readout``: model.readout)."""
    import torch

    example = "one number per step, values=[0.1,0.5,0.9], or one list of each step's features, values=[[0.1,2],[0.5,1]]"
    try:
        parsed = ast.literal_eval(text)  # literals only: nothing typed here runs
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        parsed = None
    steps = _steps(parsed)
    if steps is None:
        raise UserError(f"values={text}: not a list of numbers; give {example}")
    features = len(steps[0])
    if any(len(step) != features for step in steps):
        raise UserError(f"values={text}: the steps hold different numbers of features; give each step all {features}")
    if features != sizes.inputs:
        each = "one number per step" if sizes.inputs == 1 else f"one list of {sizes.inputs} numbers per step"
        raise UserError(f"values={text}: {features} feature{'s' if features != 1 else ''} a step, but the run's model "
                        f"reads {sizes.inputs}; give {each}")
    if readout == "all" and len(steps) != sizes.length:
        raise UserError(f"values={text}: {len(steps)} steps, but the run's model (model.readout=all) reads sequences of "
                        f"exactly {sizes.length} steps")
    return torch.tensor(steps, dtype=torch.float32)  # (T, F)


def _steps(parsed: Any) -> Optional[list[list[float]]]:
    """The steps of a parsed ``values=``, each a list of its features; None when it is no list of numbers."""
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    if not isinstance(parsed, (list, tuple)) or not parsed:
        return None
    if all(number(value) for value in parsed):
        return [[float(value)] for value in parsed]  # one feature
    if all(isinstance(step, (list, tuple)) and step and all(number(v) for v in step) for step in parsed):
        return [[float(v) for v in step] for step in parsed]
    return None


def _described(x: Any) -> str:
    """``12 steps x 2 features, values from -0.8312 to 2.713, mean 1.021``."""
    steps, features = x.shape
    return (f"{steps} step{'s' if steps != 1 else ''} x {features} feature{'s' if features != 1 else ''}, "
            f"values from {float(x.min()):.4g} to {float(x.max()):.4g}, mean {float(x.mean()):.4g}")


def _answer_lines(output: Any, target: Any, kind: str, task: dict[str, Any]) -> list[str]:
    """The prediction and, for a held-out sequence, the target: a class with its probability, or numbers."""
    import torch

    from rnnexp.training.stats import answer_text

    if kind == CLASSIFY:
        probabilities = torch.softmax(output, dim=-1)  # (C,)
        top = torch.topk(probabilities, min(TOP_CLASSES, len(probabilities)))
        best, *others = zip(top.indices.tolist(), top.values.tolist())
        then = ", ".join(f"class {c} {p:.3f}" for c, p in others)
        lines = [f"prediction: class {best[0]}, probability {best[1]:.3f}" + (f" (next: {then})" if then else "")]
        if target is not None:
            lines.append(f"target: class {int(target)} ({'right' if int(target) == best[0] else 'wrong'})")
        return lines
    lines = [f"prediction: {answer_text(output)}"]
    if target is not None:
        tolerance = task["tolerance"]
        within = bool(((output - target).abs() < tolerance).all())  # as the trainer counts a sequence right
        verdict = "right: every number" if within else "wrong: not every number"
        lines.append(f"target: {answer_text(target)} ({verdict} within task.tolerance={tolerance:g})")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Answer the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if any(token in ("-h", "--help") for token in argv):
        print(__doc__.strip())
        return 0
    try:
        print(predict(argv))
    except UserError as error:
        print(f"rnnexp.predict: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    return 0
