"""``python -m rnnexp.shapes``: the command's name; its code is rnnexp.tools.shapes."""

import sys

from rnnexp.tools.shapes import main

if __name__ == "__main__":
    sys.exit(main())
