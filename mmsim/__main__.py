"""``python -m mmsim``: the command line of :mod:`mmsim.cli`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
