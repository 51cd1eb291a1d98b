"""``python -m rnnexp``: see rnnexp.cli."""

from rnnexp.cli import command

if __name__ == "__main__":
    command()
