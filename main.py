"""Start the Reviewer desktop app: ``python main.py [--profile DIR | --demo] [--theme …]``."""

from __future__ import annotations

import sys

from ui.app import run

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
