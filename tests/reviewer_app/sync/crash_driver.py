"""A headless sync in its own process, for the SIGKILL tests.

Reads one JSON line on stdin: the profile folder, its memory key (hex), the FHIR base
and the tokens. Prints ``syncing`` once the vault is open and the sync starts, then
``done <state>``. The parent kills it at random moments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reviewer_app.exchange import MemoryTokenStore, PlatformSession, RetryPolicy, Tokens
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Profile, open_profile


def main() -> int:
    config = json.loads(sys.stdin.readline())
    tokens = Tokens.from_json(config["tokens"])
    assert tokens is not None
    vault = open_profile(Profile(Path(config["profile"])), key=bytes.fromhex(config["key"]))
    with (
        vault,
        PlatformSession(config["fhir_base"], MemoryTokenStore(tokens)) as session,
        SyncEngine(vault, session, workers=4, retry=RetryPolicy(base_delay=0.01)) as engine,
    ):
        print("syncing", flush=True)
        report = engine.run()
    print(f"done {report.state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
