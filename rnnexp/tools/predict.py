"""Use a finished run: decode an input, or sample text.

    python -m rnnexp.predict run=last input=hello
    python -m rnnexp.predict run=<run dir> sample=300 prime="The " temperature=0.8

Arguments are key=value, as on the rnnexp command line:

    run          the run directory (required); last (or latest): the newest run in outputs/runs
    input        characters to map, one output character per input character (a text run samples instead)
    sample       number of characters to generate after `prime` (text runs)
    prime        where the sample starts (default: the run's task.prime, else its first character)
    temperature  sampling temperature (default: the run's task.temperature, else 1.0)
    seed         seed of the sampling draws (default 0)
    checkpoint   best (default) or last

The answer goes to stdout alone, so it can be piped; errors are one line on
stderr with exit status 2. --help prints this text.
"""

from __future__ import annotations

import shlex
import sys

from rnnexp.config.command_words import unquoted
from rnnexp.data.task_registry import is_language_model  # torch-free: the kind a run's saved config records
from rnnexp.errors import USAGE_ERROR, UserError
from rnnexp.run_dirs import named_run

KEYS = ("run", "input", "sample", "prime", "temperature", "seed", "checkpoint")


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
    if ("input" in args) == ("sample" in args):
        raise UserError("give either input=<characters> (map them) or sample=<N> (generate N characters)")
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

    from rnnexp.training.checkpoint import BEST, LAST, find_checkpoint, load_checkpoint, restore_model

    path = find_checkpoint(named_run(args["run"], "run"), BEST if choice == "best" else LAST, "run")
    state = load_checkpoint(path)
    model, vocab = restore_model(state, path)
    model.eval()
    task = state["config"]["task"]
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
