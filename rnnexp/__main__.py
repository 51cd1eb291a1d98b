"""``python -m rnnexp``: see rnnexp.cli.main."""

from rnnexp.cli.main import command

if __name__ == "__main__":
    command()
