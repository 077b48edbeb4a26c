"""``python -m cnnlab``: the command line (see :mod:`cnnlab.cli`)."""

import sys

from cnnlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
