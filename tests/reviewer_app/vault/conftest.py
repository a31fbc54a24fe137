"""Fixtures for the vault tests: temp profiles, cheap scrypt, file snapshots, thread checks."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewer_app.vault import KeySource, Profile, ScryptParams, Vault, create_profile
from reviewer_app.vault.vault import WRITER_THREAD_NAME

#: For tests that do not measure KDF cost (one test uses the real parameters).
CHEAP_SCRYPT = ScryptParams(n=2**10, r=8, p=1)
PASSPHRASE = "correct horse battery staple"


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under ``root``: relative path → (sha256 or 'dir', mode)."""
    result: dict[str, tuple[str, int]] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        mode = path.stat().st_mode & 0o777
        if path.is_dir():
            result[rel] = ("dir", mode)
        else:
            result[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), mode)
    return result


def vault_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WRITER_THREAD_NAME]


@pytest.fixture(autouse=True)
def _no_writer_thread_left() -> Iterator[None]:
    """Every test must close the vaults it opens: no writer thread may outlive it."""
    before = set(vault_threads())
    yield
    left = [t for t in vault_threads() if t not in before]
    assert not left, f"vault writer threads still running: {left}"


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return Profile(tmp_path / "profile")


@pytest.fixture
def memory_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def vault(profile: Profile, memory_key: bytes) -> Iterator[Vault]:
    """An open memory-mode vault (no keyring, no KDF: fast)."""
    v = create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    )
    try:
        yield v
    finally:
        v.close()


def child_env() -> dict[str, str]:
    """Environment for a child Python that imports this repository."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
