"""No clear patient data anywhere under the profile folder: database, WAL, objects, logs.

A marker string is written through the vault into a case row and into payload objects
(complete and partial); then every file under the profile is scanned for it, as UTF-8 and
UTF-16 (LE and BE), while the WAL still holds the commit, after a clean close, and after
a process died without closing.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewer_app.vault import KeySource, Profile, Vault, create_profile, open_profile

from .conftest import CHEAP_SCRYPT, PASSPHRASE, child_env

MARKER = "ZZQX-Marker-Patient-Öbersteiner-4711"
CHUNK = 1 << 20


def _encodings(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), text.encode("utf-16-be")]


def scan(root: Path, text: str) -> list[str]:
    """Files under ``root`` containing ``text`` in any encoding we look for."""
    needles = _encodings(text)
    hits: list[str] = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits.extend(f"{path.relative_to(root)}" for n in needles if n in data)
    return hits


def test_scanner_finds_clear_text(tmp_path: Path) -> None:
    """The scan below must be able to fail: it finds the marker where it is in clear."""
    (tmp_path / "a").write_text(f"x{MARKER}y", encoding="utf-8")
    (tmp_path / "b").write_text(MARKER, encoding="utf-16-le")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c").write_bytes(MARKER.encode("utf-16-be"))
    assert scan(tmp_path, MARKER) == ["a", "b", "sub/c"]


@pytest.fixture
def log_to_profile(profile: Profile) -> Iterator[None]:
    """Send the core's log, at DEBUG, into the profile's logs/ folder for the scan."""
    profile.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(profile.root / "logs" / "reviewer.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("reviewer_app")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()


def _write_marker(vault: Vault) -> tuple[str, str]:
    vault.write_sync(
        lambda c: c.execute(
            "INSERT INTO cases (case_id, patient_name, clinical_question) VALUES (?, ?, ?)",
            ("case-1", MARKER, f"Question about {MARKER}"),
        )
    )
    payload = (MARKER + "\n").encode("utf-8") * 2000 + MARKER.encode("utf-16-le") * 2000
    ref = vault.objects.put(payload, kind="pdf")
    # A download in progress: more than a chunk, so ciphertext is on disk in partial/.
    partial = vault.objects.begin_partial(None, kind="dicom")
    partial.append((MARKER.encode("utf-8") * (CHUNK // len(MARKER) + 10))[: CHUNK + 1000])
    partial.close()
    return ref.object_id, partial.object_id


def test_marker_never_in_clear(profile: Profile, log_to_profile: None) -> None:
    # Passphrase mode (cheap KDF): profile.json then holds the wrapped key too.
    vault = create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT
    )
    try:
        object_id, partial_id = _write_marker(vault)
        wal = profile.db_path.with_name("vault.db-wal")
        # The commit is still in the WAL (not checkpointed into vault.db yet).
        assert wal.stat().st_size > 0
        assert (profile.partial_dir / partial_id).stat().st_size > CHUNK
        assert scan(profile.root, MARKER) == []
    finally:
        vault.close()
    assert scan(profile.root, MARKER) == []

    with open_profile(profile, passphrase=PASSPHRASE) as vault:
        # The data is really there (the scan is not passing because nothing was stored).
        assert vault.cases()[0].patient_name == MARKER
        assert MARKER.encode() in vault.objects.read_bytes(object_id)
    assert scan(profile.root, MARKER) == []
    assert (profile.root / "logs" / "reviewer.log").stat().st_size > 0  # the log was written


CHILD = """
import os, sys
from reviewer_app.vault import Profile, open_profile
vault = open_profile(Profile(sys.argv[1]), key=bytes.fromhex(sys.argv[2]))
vault.write_sync(lambda c: c.execute(
    "INSERT INTO cases (case_id, patient_name) VALUES ('case-2', ?)", (sys.argv[3],)))
vault.objects.put(sys.argv[3].encode() * 1000, kind="pdf")
os._exit(0)  # dies without closing: the WAL is left as it was
"""


def test_marker_not_in_clear_in_an_unclosed_wal(profile: Profile, memory_key: bytes) -> None:
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ).close()
    subprocess.run(
        [sys.executable, "-c", CHILD, str(profile.root), memory_key.hex(), MARKER],
        env=child_env(),
        check=True,
        timeout=60,
    )
    wal = profile.db_path.with_name("vault.db-wal")
    assert wal.stat().st_size > 0
    assert scan(profile.root, MARKER) == []
    with open_profile(profile, key=memory_key) as vault:
        assert [c.patient_name for c in vault.cases()] == [MARKER]
