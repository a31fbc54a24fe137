"""Opening, creating and closing profiles; the single writer; the errors that change nothing."""

from __future__ import annotations

import functools
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest

from reviewer_app.errors import (
    DatabaseCorrupt,
    DatabaseTooNew,
    MemoryKeyLost,
    PassphraseRequired,
    PassphraseTooShort,
    ProfileDamaged,
    ProfileExists,
    ProfileFolderNotEmpty,
    ProfileInUse,
    ProfileMissing,
    WrongKey,
    WrongPassphrase,
)
from reviewer_app.vault import (
    KeySource,
    Profile,
    Vault,
    VaultClosed,
    create_profile,
    open_profile,
    reset_profile,
)
from reviewer_app.vault.database import Connection, connect
from reviewer_app.vault.migrations import LATEST_VERSION

from .conftest import CHEAP_SCRYPT, PASSPHRASE, child_env, snapshot, vault_threads


def _add_case(vault: Vault, case_id: str, **fields: object) -> None:
    columns = {"case_id": case_id, **fields}
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    vault.write_sync(
        lambda c: c.execute(f"INSERT INTO cases ({names}) VALUES ({marks})", list(columns.values()))
    )


def _passphrase_profile(profile: Profile) -> None:
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT
    ).close()


# --- create / open ----------------------------------------------------------------------


def test_memory_profile_round_trip(profile: Profile, memory_key: bytes) -> None:
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ) as vault:
        assert vault.key_source is KeySource.MEMORY
        assert vault.schema_version == LATEST_VERSION
        _add_case(vault, "c1", status="new")
    with open_profile(profile, key=memory_key) as vault:
        assert [c.case_id for c in vault.cases()] == ["c1"]
    with pytest.raises(MemoryKeyLost):
        open_profile(profile)


def test_passphrase_profile_round_trip(profile: Profile) -> None:
    _passphrase_profile(profile)
    meta = json.loads(profile.meta_path.read_text())
    assert meta["key_source"] == "passphrase"
    assert set(meta["wrapped_key"]) == {"salt", "n", "r", "p", "nonce", "ciphertext"}
    with pytest.raises(PassphraseRequired):
        open_profile(profile)
    with pytest.raises(WrongPassphrase):
        open_profile(profile, passphrase="not the passphrase")
    with open_profile(profile, passphrase=PASSPHRASE) as vault:
        assert vault.key_source is KeySource.PASSPHRASE
        assert vault.lock.verify(PASSPHRASE)


def test_create_refuses_existing_profile_and_foreign_folder(
    profile: Profile, tmp_path: Path
) -> None:
    _passphrase_profile(profile)
    before = snapshot(profile.root)
    with pytest.raises(ProfileExists):
        create_profile(profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT)
    assert snapshot(profile.root) == before

    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("mine")
    with pytest.raises(ProfileFolderNotEmpty):
        create_profile(Profile(other), PASSPHRASE, key_source=KeySource.PASSPHRASE)
    assert sorted(p.name for p in other.iterdir()) == ["letter.txt"]


def test_create_rejects_short_passphrase(profile: Profile) -> None:
    with pytest.raises(PassphraseTooShort):
        create_profile(profile, "short", key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT)
    assert not profile.root.exists()


def test_open_missing_profile(profile: Profile) -> None:
    with pytest.raises(ProfileMissing):
        open_profile(profile)
    assert not profile.root.exists()


def test_damaged_profile_json(profile: Profile) -> None:
    _passphrase_profile(profile)
    profile.meta_path.write_text("{not json")
    before = snapshot(profile.root)
    with pytest.raises(ProfileDamaged):
        open_profile(profile, passphrase=PASSPHRASE)
    assert snapshot(profile.root) == before


def test_permissions(vault: Vault) -> None:
    vault.objects.put(b"payload", kind="pdf")
    _add_case(vault, "c1")
    root = vault.profile.root
    paths = [root, *root.rglob("*")]
    assert any(p.name == "vault.db-wal" for p in paths)  # includes the WAL while open
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        expected = 0o700 if path.is_dir() else 0o600
        assert mode == expected, f"{path.relative_to(root)}: {oct(mode)}"


def test_permissions_even_with_a_lax_umask(profile: Profile, memory_key: bytes) -> None:
    old = os.umask(0o022)
    try:
        with create_profile(
            profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
        ) as vault:
            _add_case(vault, "c1")
            vault.objects.put(b"x" * 10, kind="pdf")
            files = list(profile.root.rglob("*"))
    finally:
        os.umask(old)
    assert files
    for path in [profile.root, *profile.root.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


# --- errors that change nothing ---------------------------------------------------------


def test_wrong_key_changes_nothing(vault: Vault, memory_key: bytes) -> None:
    _add_case(vault, "c1", patient_name="Synthetic Patient")
    vault.objects.put(b"payload", kind="pdf")
    profile = vault.profile
    vault.close()
    before = snapshot(profile.root)
    wrong = secrets.token_bytes(32)
    with pytest.raises(WrongKey):
        open_profile(profile, key=wrong)
    assert snapshot(profile.root) == before
    # The right key still opens it: nothing was lost.
    with open_profile(profile, key=memory_key) as again:
        assert [c.patient_name for c in again.cases()] == ["Synthetic Patient"]


def test_wrong_key_detected_even_if_fingerprint_were_skipped(
    vault: Vault, memory_key: bytes
) -> None:
    """The fingerprint is what tells WrongKey from DatabaseCorrupt: check it is right."""
    profile = vault.profile
    vault.close()
    meta = json.loads(profile.meta_path.read_text())
    from reviewer_app.vault.keystore import key_check

    assert meta["key_check"] == key_check(memory_key)
    assert meta["key_check"] != key_check(secrets.token_bytes(32))


def test_database_too_new_is_left_byte_identical(vault: Vault, memory_key: bytes) -> None:
    profile = vault.profile
    vault.write_sync(lambda c: None)
    vault.close()
    conn = connect(profile.db_path, memory_key, writer=True)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    before = snapshot(profile.root)
    with pytest.raises(DatabaseTooNew):
        open_profile(profile, key=memory_key)
    assert snapshot(profile.root) == before


def test_corrupt_page_is_database_corrupt_and_changes_nothing(
    vault: Vault, memory_key: bytes
) -> None:
    profile = vault.profile
    # Enough rows for several pages, so the damage lands inside a table, not the header.
    vault.write_sync(
        lambda c: c.executemany(
            "INSERT INTO audit (at, action, detail) VALUES ('t', 'test', ?)",
            [(os.urandom(200).hex(),) for _ in range(400)],
        )
    )
    vault.close()
    size = profile.db_path.stat().st_size
    assert size > 20 * 4096
    with profile.db_path.open("r+b") as f:
        f.seek((size // 4096 // 2) * 4096 + 100)
        f.write(os.urandom(32))
    before = snapshot(profile.root)
    with pytest.raises(DatabaseCorrupt):
        open_profile(profile, key=memory_key)
    assert snapshot(profile.root) == before


def test_missing_database_file(vault: Vault, memory_key: bytes) -> None:
    profile = vault.profile
    vault.close()
    profile.db_path.unlink()
    with pytest.raises(DatabaseCorrupt):
        open_profile(profile, key=memory_key)
    assert not profile.db_path.exists()  # opening never creates an empty database


# --- one process per profile ------------------------------------------------------------


def test_profile_in_use_in_same_process(vault: Vault, memory_key: bytes) -> None:
    with pytest.raises(ProfileInUse):
        open_profile(vault.profile, key=memory_key)
    with pytest.raises(ProfileInUse):
        reset_profile(vault.profile)
    assert vault.cases() == []  # the first vault is unaffected


def test_profile_in_use_by_another_process(vault: Vault, memory_key: bytes) -> None:
    code = (
        "import sys\n"
        "from reviewer_app.errors import ProfileInUse\n"
        "from reviewer_app.vault import Profile, open_profile\n"
        "try:\n"
        f"    open_profile(Profile(sys.argv[1]), key=bytes.fromhex('{memory_key.hex()}'))\n"
        "except ProfileInUse:\n"
        "    print('in use')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(vault.profile.root)],
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "in use"
    vault.close()
    # Released on close: the other process can open it now.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code.replace("print('in use')", "pass") + "else:\n    print('opened')\n",
            str(vault.profile.root),
        ],
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "opened"


# --- the single writer ------------------------------------------------------------------


def test_writes_run_on_one_writer_thread(vault: Vault) -> None:
    seen: set[str] = set()

    def record(_conn: object) -> None:
        seen.add(threading.current_thread().name)

    futures = [vault.write(record) for _ in range(20)]
    for future in futures:
        future.result()
    assert seen == {"vault-writer"}


def test_write_rolls_back_on_exception(vault: Vault) -> None:
    class Boom(Exception):
        pass

    def half_then_fail(conn: object) -> None:
        conn.execute("INSERT INTO cases (case_id) VALUES ('c1')")  # type: ignore[attr-defined]
        raise Boom

    with pytest.raises(Boom):
        vault.write_sync(half_then_fail)
    assert vault.cases() == []
    _add_case(vault, "c2")  # the writer keeps working after a failed transaction
    assert [c.case_id for c in vault.cases()] == ["c2"]


def test_readers_see_commits_and_are_read_only(vault: Vault) -> None:
    _add_case(vault, "c1")
    results: list[int] = []

    def reader() -> None:
        conn = vault.read()
        results.append(conn.execute("SELECT count(*) FROM cases").fetchone()[0])
        with pytest.raises(Exception, match=r"readonly|read-only|query_only"):
            conn.execute("DELETE FROM cases")

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    assert results == [1]
    assert vault.read() is vault.read()  # one connection per thread


def test_write_sync_from_writer_thread_is_refused(vault: Vault) -> None:
    def nested(_conn: object) -> None:
        vault.write_sync(lambda c: None)

    with pytest.raises(RuntimeError, match="writer thread"):
        vault.write_sync(nested)


def test_close_stops_writer_and_closes_connections(vault: Vault) -> None:
    assert len(vault_threads()) == 1
    reader = vault.read()

    def insert(conn: Connection, i: int) -> None:
        conn.execute("INSERT INTO audit (action, detail) VALUES ('t', ?)", (str(i),))

    pending = [vault.write(functools.partial(insert, i=i)) for i in range(50)]
    vault.close()
    assert all(f.done() and f.exception() is None for f in pending)  # queued writes finished
    assert vault_threads() == []
    with pytest.raises(Exception, match="closed"):
        reader.execute("SELECT 1")
    with pytest.raises(VaultClosed):
        vault.write(lambda c: None)
    with pytest.raises(VaultClosed):
        vault.read()
    vault.close()  # idempotent
    assert not (vault.profile.root / "vault.db-wal").exists()  # checkpointed on close


# --- worklist ---------------------------------------------------------------------------


def test_cases_are_mapped_and_ordered(vault: Vault) -> None:
    _add_case(vault, "late", due_date="2030-05-01", pinned=0, patient_birth_date="1970-06-15")
    _add_case(vault, "early", due_date="2030-01-01", pinned=0)
    _add_case(vault, "pinned", due_date="2031-01-01", pinned=1)
    _add_case(vault, "undated", pinned=0, patient_birth_date="garbage")
    cases = vault.cases()
    assert [c.case_id for c in cases] == ["pinned", "early", "late", "undated"]
    late = cases[2]
    assert late.due_date == date(2030, 5, 1)
    assert late.patient_birth_date == date(1970, 6, 15)
    assert late.patient_age(date(2030, 6, 14)) == 59
    assert cases[0].pinned is True
    assert cases[3].patient_birth_date is None
    assert vault.count_cases() == 4


# --- reset ------------------------------------------------------------------------------


def test_reset_erases_profile_but_not_foreign_files(vault: Vault) -> None:
    profile = vault.profile
    vault.objects.put(b"payload", kind="pdf")
    vault.close()
    (profile.root / "notes-by-it.txt").write_text("keep me")
    result = reset_profile(profile)
    assert result.foreign_files_left
    assert sorted(p.name for p in profile.root.iterdir()) == ["notes-by-it.txt"]
    assert not profile.exists()


def test_reset_removes_folder_and_refuses_non_profiles(vault: Vault, tmp_path: Path) -> None:
    profile = vault.profile
    vault.close()
    result = reset_profile(profile)
    assert not result.foreign_files_left
    assert not profile.root.exists()
    home_like = tmp_path / "home"
    home_like.mkdir()
    (home_like / "thesis.txt").write_text("precious")
    with pytest.raises(ProfileMissing):
        reset_profile(Profile(home_like))
    assert (home_like / "thesis.txt").read_text() == "precious"
