"""``python -m rnnexp.predict``: the command's name; its code is rnnexp.tools.predict."""

from rnnexp.tools.predict import main

if __name__ == "__main__":
    from rnnexp.cli.quick_exit import run_command

    run_command(main)
