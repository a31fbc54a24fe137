"""Start the Reviewer desktop app: ``python main.py [--profile DIR | --demo] [--theme …]``.

``--smoke-test`` starts the whole app on a throwaway profile, opens a demo case and
exits (0: it works); CI runs it on the built bundle.
"""

from __future__ import annotations

import time

# Taken before the heavy imports, so start-up timings include them.
STARTED = time.monotonic()

import sys  # noqa: E402

from ui.app import run  # noqa: E402

if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], started=STARTED))
