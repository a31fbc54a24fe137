"""Child process for keyring scenarios that must not touch the test run's own keyring.

``python -m tests.reviewer_app.vault.keyring_child locked PROFILE`` — run inside its own
``dbus-run-session`` with a private HOME: starts a private gnome-keyring, creates a
keyring profile, locks the keyring, then tries to open the profile.

``python -m tests.reviewer_app.vault.keyring_child unavailable PROFILE NEW_PROFILE`` —
run with a D-Bus address that leads nowhere: opens an existing keyring profile, then
creates a new profile with the default key source.

Prints one JSON object with what happened; the test asserts on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reviewer_app.errors import ReviewerError
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile, open_profile

PASSPHRASE = "correct horse battery staple"
CHEAP = ScryptParams(n=2**10, r=8, p=1)


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _start_keyring() -> int:
    proc = subprocess.run(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
        input=b"child-keyring-password",
        capture_output=True,
        check=True,
    )
    pid = 0
    for line in proc.stdout.decode().splitlines():
        name, _, value = line.partition("=")
        if name and value:
            os.environ[name] = value
        if name == "GNOME_KEYRING_PID":
            pid = int(value)
    import secretstorage

    deadline = time.monotonic() + 15
    while True:
        try:
            secretstorage.get_default_collection(secretstorage.dbus_init())
            return pid
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _try_open(profile: Profile) -> tuple[str, float]:
    start = time.monotonic()
    try:
        open_profile(profile).close()
        outcome = "opened"
    except ReviewerError as exc:
        outcome = type(exc).__name__
    return outcome, time.monotonic() - start


def locked(profile: Profile) -> dict[str, Any]:
    pid = _start_keyring()
    try:
        create_profile(profile, PASSPHRASE, key_source=KeySource.KEYRING, scrypt=CHEAP).close()
        opened_before, _ = _try_open(profile)
        import secretstorage

        collection = secretstorage.get_default_collection(secretstorage.dbus_init())
        collection.lock()
        before = _snapshot(profile.root)
        outcome, seconds = _try_open(profile)
        return {
            "before_lock": opened_before,
            "locked": collection.is_locked(),
            "outcome": outcome,
            "seconds": seconds,
            "unchanged": _snapshot(profile.root) == before,
        }
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)


def unavailable(profile: Profile, new_profile: Profile) -> dict[str, Any]:
    before = _snapshot(profile.root)
    outcome, seconds = _try_open(profile)
    with create_profile(new_profile, PASSPHRASE, scrypt=CHEAP) as vault:
        new_source = vault.key_source.value
    return {
        "outcome": outcome,
        "seconds": seconds,
        "unchanged": _snapshot(profile.root) == before,
        "new_profile_key_source": new_source,
    }


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "locked":
        result = locked(Profile(argv[1]))
    elif mode == "unavailable":
        result = unavailable(Profile(argv[1]), Profile(argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
