"""``python -m xrayview`` runs the command line (the viewer by default)."""

import sys

from xrayview.cli import main

if __name__ == "__main__":
    sys.exit(main())
