"""The database key in a real Secret Service (gnome-keyring): stored, missing, locked, absent.

These run only where the suite started an isolated gnome-keyring (``./dev test`` sets
REVIEWER_SECRET_SERVICE); the locked and absent cases run in child processes with their
own D-Bus session, so the suite's keyring is never locked or broken.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from reviewer_app.errors import KeyringEntryMissing, WrongKey
from reviewer_app.vault import (
    KeySource,
    Profile,
    create_profile,
    keystore,
    open_profile,
    reset_profile,
)

from .conftest import CHEAP_SCRYPT, PASSPHRASE, child_env, snapshot

pytestmark = [
    pytest.mark.keyring,
    pytest.mark.skipif(
        not os.environ.get("REVIEWER_SECRET_SERVICE"),
        reason="needs the isolated Secret Service that ./dev test starts "
        "(REVIEWER_SECRET_SERVICE is not set)",
    ),
]


@pytest.fixture
def keyring_profile(profile: Profile) -> Iterator[Profile]:
    """A keyring-mode profile; its keyring entry is removed afterwards."""
    create_profile(profile, PASSPHRASE, scrypt=CHEAP_SCRYPT).close()
    profile_id = json.loads(profile.meta_path.read_text())["profile_id"]
    try:
        yield profile
    finally:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password("Reviewer", f"vault-key:{profile_id}")


def _profile_id(profile: Profile) -> str:
    return str(json.loads(profile.meta_path.read_text())["profile_id"])


def test_key_round_trips_through_the_keyring(keyring_profile: Profile) -> None:
    profile = keyring_profile
    meta = json.loads(profile.meta_path.read_text())
    assert meta["key_source"] == "keyring"
    assert "wrapped_key" not in meta
    stored = keyring.get_password("Reviewer", f"vault-key:{meta['profile_id']}")
    assert stored is not None
    assert len(bytes.fromhex(stored)) == 32
    # The key is nowhere in the profile folder.
    for path in profile.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert stored.encode() not in data
            assert bytes.fromhex(stored) not in data
    with open_profile(profile) as vault:  # no passphrase needed
        assert vault.key_source is KeySource.KEYRING
        vault.write_sync(lambda c: c.execute("INSERT INTO cases (case_id) VALUES ('c1')"))
    with open_profile(profile) as vault:
        assert [c.case_id for c in vault.cases()] == ["c1"]


def test_deleted_entry_is_keyring_entry_missing(keyring_profile: Profile) -> None:
    profile = keyring_profile
    username = f"vault-key:{_profile_id(profile)}"
    saved = keyring.get_password("Reviewer", username)
    assert saved is not None
    keyring.delete_password("Reviewer", username)
    before = snapshot(profile.root)
    with pytest.raises(KeyringEntryMissing):
        open_profile(profile)
    assert snapshot(profile.root) == before
    # Restoring the entry (e.g. from a keyring backup) brings everything back.
    keyring.set_password("Reviewer", username, saved)
    open_profile(profile).close()


def test_replaced_entry_is_wrong_key(keyring_profile: Profile) -> None:
    profile = keyring_profile
    username = f"vault-key:{_profile_id(profile)}"
    keyring.set_password("Reviewer", username, keystore.new_db_key().hex())
    before = snapshot(profile.root)
    with pytest.raises(WrongKey):
        open_profile(profile)
    assert snapshot(profile.root) == before


def test_reset_removes_the_keyring_entry(keyring_profile: Profile) -> None:
    profile = keyring_profile
    username = f"vault-key:{_profile_id(profile)}"
    result = reset_profile(profile)
    assert result.keyring_entry_removed
    assert keyring.get_password("Reviewer", username) is None
    assert not profile.root.exists()


def test_no_secret_service_is_keyring_unavailable(keyring_profile: Profile, tmp_path: Path) -> None:
    env = child_env()
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus-here'}"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reviewer_app.vault.keyring_child",
            "unavailable",
            str(keyring_profile.root),
            str(tmp_path / "new-profile"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["outcome"] == "KeyringUnavailable"
    assert result["unchanged"]
    assert result["new_profile_key_source"] == "passphrase"
    # Back with the keyring, the profile opens as before.
    open_profile(keyring_profile).close()


@pytest.mark.skipif(
    shutil.which("dbus-run-session") is None or shutil.which("gnome-keyring-daemon") is None,
    reason="needs dbus-run-session and gnome-keyring-daemon",
)
def test_locked_keyring_is_keyring_locked(tmp_path: Path) -> None:
    env = child_env()
    home = tmp_path / "home"
    for name in ("home", "data", "config", "cache", "run"):
        (tmp_path / name).mkdir(mode=0o700)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        XDG_RUNTIME_DIR=str(tmp_path / "run"),
    )
    for name in ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "DISPLAY"):
        env.pop(name, None)
    out = subprocess.run(
        [
            "dbus-run-session",
            "--",
            sys.executable,
            "-m",
            "tests.reviewer_app.vault.keyring_child",
            "locked",
            str(tmp_path / "profile"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["before_lock"] == "opened"
    assert result["locked"] is True
    assert result["outcome"] == "KeyringLocked"
    assert result["unchanged"]
    assert result["seconds"] < 30
