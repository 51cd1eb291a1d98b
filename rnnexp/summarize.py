"""``python -m rnnexp.summarize``: the command's name; its code is rnnexp.sweep.summarize."""

import sys

from rnnexp.sweep.summarize import main

if __name__ == "__main__":
    sys.exit(main())
