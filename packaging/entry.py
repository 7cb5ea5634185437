"""Entry script of the packaged app: the ``xrayview`` command (viewer when run bare)."""

import sys

from xrayview.cli import main

if __name__ == "__main__":
    sys.exit(main())
