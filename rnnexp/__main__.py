"""``python -m rnnexp``: see rnnexp.cli."""

import sys

from rnnexp.cli import main

if __name__ == "__main__":
    sys.exit(main())
