"""Schema v2 (the sync engine's tables), migrated from a real v1 database with data."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from reviewer_app.vault.database import Connection, configure_writer, connect, quick_check
from reviewer_app.vault.migrations import MIGRATIONS, migrate
from reviewer_app.vault.profile import create_private_file

NEW_TABLES = {
    "patients",
    "case_questions",
    "records",
    "lab_results",
    "studies",
    "series",
    "instances",
    "sync_items",
    "case_sync",
    "purges",
}


def seed_v1(conn: Connection) -> None:
    """A v1 database as the app left it: a case, a draft, an unsent opinion, an object."""
    conn.execute(
        "INSERT INTO cases (case_id, patient_name, status, sync_state, pinned) "
        "VALUES ('c-1', 'Testpatient, Alpha', 'requested', 'complete', 1)"
    )
    conn.execute(
        "INSERT INTO drafts (draft_id, case_id, body, updated_at) "
        "VALUES ('d-1', 'c-1', 'draft text', '2026-11-29T10:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO outbox (item_id, case_id, kind, object_id, state, attempts) "
        "VALUES ('o-1', 'c-1', 'opinion', 'ab12', 'queued', 0)"
    )
    conn.execute(
        "INSERT INTO objects (object_id, key, kind, size, sha256, state, created_at) "
        "VALUES ('ab12', x'00112233', 'opinion', 3, 'aa', 'complete', 'now')"
    )
    conn.execute("INSERT INTO settings (key, value) VALUES ('idle_minutes', '5')")


def check_v2(conn: Connection) -> None:
    """The v2 tables exist, v1 rows survived, unsent work can be flagged."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names >= NEW_TABLES
    assert conn.execute("SELECT case_id, pinned FROM cases").fetchall() == [("c-1", 1)]
    assert conn.execute("SELECT draft_id, body, orphaned FROM drafts").fetchall() == [
        ("d-1", "draft text", None)
    ]
    assert conn.execute("SELECT item_id, orphaned FROM outbox").fetchall() == [("o-1", None)]
    assert conn.execute("SELECT count(*) FROM objects").fetchone()[0] == 1
    conn.execute("BEGIN")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute(
            "INSERT INTO sync_items (case_id, kind, ref, phase, state) "
            "VALUES ('c-1', 'record', 'r', 1, 'lost')"
        )
    with pytest.raises(Exception, match="CHECK"):
        conn.execute(
            "INSERT INTO purges (at, case_id, reason, objects_shredded, drafts_kept) "
            "VALUES ('now', 'c-1', 'because', 0, 0)"
        )
    conn.execute("ROLLBACK")


def test_v1_database_with_data_migrates_to_v2(tmp_path: Path) -> None:
    path = tmp_path / "vault.db"
    create_private_file(path)
    key = secrets.token_bytes(32)
    conn = connect(path, key, writer=True)
    try:
        configure_writer(conn)
        assert migrate(conn, MIGRATIONS[:1]) == 1
        conn.execute("BEGIN IMMEDIATE")
        seed_v1(conn)
        conn.execute("COMMIT")
    finally:
        conn.close()

    # Reopened, as the app does after an update.
    conn = connect(path, key, writer=True)
    try:
        configure_writer(conn)
        assert migrate(conn, MIGRATIONS[:2]) == 2
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        check_v2(conn)
        assert quick_check(conn) == ["ok"]
    finally:
        conn.close()
