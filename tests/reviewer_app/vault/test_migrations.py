"""Every schema migration, tested from the version before it.

Adding migration N means adding one entry to ``CASES``: ``seed`` fills a database at
version N-1 with rows, ``check`` asserts what version N must look like (and that the
seeded rows survived). ``test_every_migration_has_a_case`` fails until you do.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from reviewer_app.errors import DatabaseTooNew
from reviewer_app.vault.database import Connection, configure_writer, connect
from reviewer_app.vault.migrations import LATEST_VERSION, MIGRATIONS, migrate
from reviewer_app.vault.profile import create_private_file


def _tables(conn: Connection) -> dict[str, list[str]]:
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {name: [col[1] for col in conn.execute(f"PRAGMA table_info({name})")] for name in names}


def _seed_nothing(conn: Connection) -> None:
    """Version 0 is an empty database: nothing to seed."""


def _check_v1(conn: Connection) -> None:
    tables = _tables(conn)
    assert tables == {
        "settings": ["key", "value"],
        "objects": ["object_id", "key", "kind", "size", "sha256", "state", "created_at"],
        "cases": [
            "case_id",
            "patient_name",
            "patient_sex",
            "patient_birth_date",
            "specialty",
            "priority",
            "due_date",
            "status",
            "clinical_question",
            "received_at",
            "updated_at",
            "sync_state",
            "pinned",
        ],
        "drafts": ["draft_id", "case_id", "body", "updated_at"],
        "outbox": [
            "item_id",
            "case_id",
            "kind",
            "object_id",
            "state",
            "attempts",
            "last_error",
            "created_at",
            "updated_at",
        ],
        "audit": ["seq", "at", "action", "case_id", "detail", "sent"],
        "sync_state": ["key", "value"],
    }
    # The constraints the rest of the vault relies on.
    conn.execute("BEGIN")
    conn.execute("INSERT INTO cases (case_id) VALUES ('c')")
    assert conn.execute("SELECT pinned FROM cases").fetchone()[0] == 0
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("INSERT INTO objects (object_id, key, state) VALUES ('o', x'00', 'odd')")
    with pytest.raises(Exception, match="NOT NULL"):
        conn.execute("INSERT INTO objects (object_id, state) VALUES ('o', 'complete')")
    conn.execute("ROLLBACK")


def _seed_v1_work(conn: Connection) -> None:
    """Unsent work at v1 that the sync schema (v2) must keep."""
    conn.execute("INSERT INTO cases (case_id, patient_name) VALUES ('c1', 'Synthetic')")
    conn.execute("INSERT INTO drafts (draft_id, case_id, body) VALUES ('d1', 'c1', 'draft')")
    conn.execute(
        "INSERT INTO outbox (item_id, case_id, kind, state) VALUES ('o1', 'c1', 'opinion', 'q')"
    )


def _check_v2(conn: Connection) -> None:
    tables = _tables(conn)
    assert "orphaned" in tables["drafts"]
    assert "orphaned" in tables["outbox"]
    assert {"patients", "records", "lab_results", "sync_items", "purges"} <= set(tables)
    # The v1 rows are all still there, untouched.
    assert conn.execute("SELECT body, orphaned FROM drafts").fetchall() == [("draft", None)]
    assert conn.execute("SELECT item_id, orphaned FROM outbox").fetchall() == [("o1", None)]
    assert conn.execute("SELECT patient_name FROM cases").fetchall() == [("Synthetic",)]


def _seed_v2_sync(conn: Connection) -> None:
    """Synced labs and a study at v2, which the workspace schema (v3) must keep."""
    conn.execute(
        "INSERT INTO lab_results (case_id, lab_id, code, value, unit, low, high)"
        " VALUES ('c1', 'l1', '718-7', 13.5, 'g/dL', 12.0, 16.0)"
    )
    conn.execute("INSERT INTO studies (case_id, study_uid, modalities) VALUES ('c1', '1.2', 'CT')")


def _check_v3(conn: Connection) -> None:
    tables = _tables(conn)
    assert {"panel", "range_text"} <= set(tables["lab_results"])
    assert "source" in tables["studies"]
    assert conn.execute("SELECT code, value, unit, panel FROM lab_results").fetchall() == [
        ("718-7", 13.5, "g/dL", None)
    ]
    # Studies synced before v3 came from the platform.
    assert conn.execute("SELECT study_uid, source FROM studies").fetchall() == [("1.2", "platform")]
    conn.execute("BEGIN")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("INSERT INTO studies (case_id, study_uid, source) VALUES ('c', 's', 'x')")
    conn.execute("ROLLBACK")


def _seed_v3_work(conn: Connection) -> None:
    """A v1-style draft and outbox row that the opinion schema (v4) must keep."""
    conn.execute("INSERT INTO drafts (draft_id, case_id, body) VALUES ('d1', 'c1', '<p>x</p>')")
    conn.execute(
        "INSERT INTO outbox (item_id, case_id, kind, state, attempts)"
        " VALUES ('o1', 'c1', 'opinion', 'queued', 2)"
    )


def _check_v4(conn: Connection) -> None:
    tables = _tables(conn)
    assert {"sections", "version"} <= set(tables["drafts"])
    assert tables["draft_versions"] == ["case_id", "version", "saved_at", "body"]
    assert {"opinion_id", "pdf_sha256", "task_version", "receipt", "message"} <= set(
        tables["outbox"]
    )
    assert conn.execute("SELECT body, sections, version FROM drafts").fetchall() == [
        ("<p>x</p>", None, 0)
    ]
    assert conn.execute("SELECT item_id, state, attempts, opinion_id FROM outbox").fetchall() == [
        ("o1", "queued", 2, None)
    ]
    # An opinion identifier is minted once: two rows can never share one.
    conn.execute("BEGIN")
    conn.execute("INSERT INTO outbox (item_id, opinion_id) VALUES ('o2', 'urn:uuid:1')")
    with pytest.raises(Exception, match="UNIQUE"):
        conn.execute("INSERT INTO outbox (item_id, opinion_id) VALUES ('o3', 'urn:uuid:1')")
    with pytest.raises(Exception, match="UNIQUE"):
        conn.execute(
            "INSERT INTO draft_versions (case_id, version, saved_at, body)"
            " VALUES ('c1', 1, 't', 'a'), ('c1', 1, 't', 'b')"
        )
    conn.execute("ROLLBACK")


def _seed_v4_work(conn: Connection) -> None:
    """v4 drafts: one whose opinion is already in the outbox, one still being written."""
    conn.execute(
        "INSERT INTO drafts (draft_id, case_id, sections, version, updated_at)"
        " VALUES ('c1', 'c1', '{}', 3, 't1'), ('c2', 'c2', '{\"a\": 1}', 1, 't2')"
    )
    conn.execute(
        "INSERT INTO draft_versions (case_id, version, saved_at, body)"
        " VALUES ('c1', 3, 't1', '{}'), ('c2', 1, 't2', 'x')"
    )
    conn.execute(
        "INSERT INTO outbox (item_id, case_id, kind, state, opinion_id, created_at)"
        " VALUES ('o1', 'c1', 'opinion', 'uploaded', 'urn:uuid:1', 't1')"
    )


def _check_v5(conn: Connection) -> None:
    tables = _tables(conn)
    assert tables["opinion_citations"] == [
        "citation_id",
        "case_id",
        "kind",
        "ref",
        "label",
        "view",
        "image_object_id",
        "created_at",
    ]
    assert {"kind", "state", "item_id", "created_at"} <= set(tables["drafts"])
    assert "draft_id" in tables["draft_versions"]
    assert "relates_to" in tables["outbox"]
    # The draft whose opinion was queued is that opinion's (signed); the other stays open.
    assert conn.execute(
        "SELECT draft_id, kind, state, item_id, sections, version FROM drafts ORDER BY draft_id"
    ).fetchall() == [
        ("c1", "opinion", "signed", "o1", "{}", 3),
        ("c2", "opinion", "open", None, '{"a": 1}', 1),
    ]
    assert conn.execute(
        "SELECT case_id, version, draft_id FROM draft_versions ORDER BY case_id"
    ).fetchall() == [("c1", 3, "c1"), ("c2", 1, "c2")]
    conn.execute("BEGIN")
    # A case has at most one open draft.
    conn.execute("INSERT INTO drafts (draft_id, case_id, kind) VALUES ('a1', 'c1', 'addendum')")
    with pytest.raises(Exception, match="UNIQUE"):
        conn.execute("INSERT INTO drafts (draft_id, case_id, kind) VALUES ('a2', 'c1', 'addendum')")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("INSERT INTO drafts (draft_id, case_id, kind) VALUES ('x', 'c3', 'memo')")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute("INSERT INTO drafts (draft_id, case_id, state) VALUES ('x', 'c3', 'gone')")
    with pytest.raises(Exception, match="CHECK"):
        conn.execute(
            "INSERT INTO opinion_citations VALUES ('i', 'c1', 'photo', 'r', 'l', '{}', NULL, 't')"
        )
    conn.execute("ROLLBACK")


def _seed_v5_sync(conn: Connection) -> None:
    """A case synced before v6, which must keep its row and gain an empty referral."""
    conn.execute(
        "INSERT INTO case_sync (case_id, patient_id, task_version, metadata_state)"
        " VALUES ('c1', 'p1', '3', 'done')"
    )


def _check_v6(conn: Connection) -> None:
    assert "referral_id" in _tables(conn)["case_sync"]
    assert conn.execute(
        "SELECT case_id, patient_id, task_version, metadata_state, referral_id FROM case_sync"
    ).fetchall() == [("c1", "p1", "3", "done", None)]


def _seed_v6_outbox(conn: Connection) -> None:
    """An opinion queued before v7: kept, not sealed yet."""
    conn.execute(
        "INSERT INTO outbox (item_id, case_id, kind, object_id, state, attempts) "
        "VALUES ('o1', 'c1', 'opinion', 'obj', 'queued', 0)"
    )


def _check_v7(conn: Connection) -> None:
    assert "sealed_at" in _tables(conn)["outbox"]
    assert conn.execute("SELECT item_id, state, sealed_at FROM outbox").fetchall() == [
        ("o1", "queued", None)
    ]


@dataclass(frozen=True)
class Case:
    seed: Callable[[Connection], None]
    check: Callable[[Connection], None]


#: CASES[v] tests the migration to version v.
CASES: dict[int, Case] = {
    1: Case(seed=_seed_nothing, check=_check_v1),
    2: Case(seed=_seed_v1_work, check=_check_v2),
    3: Case(seed=_seed_v2_sync, check=_check_v3),
    4: Case(seed=_seed_v3_work, check=_check_v4),
    5: Case(seed=_seed_v4_work, check=_check_v5),
    6: Case(seed=_seed_v5_sync, check=_check_v6),
    7: Case(seed=_seed_v6_outbox, check=_check_v7),
}


def _database(tmp_path: Path) -> tuple[Path, bytes]:
    path = tmp_path / "vault.db"
    create_private_file(path)
    return path, secrets.token_bytes(32)


def test_every_migration_has_a_case() -> None:
    assert sorted(CASES) == list(range(1, LATEST_VERSION + 1))


@pytest.mark.parametrize("target", sorted(CASES))
def test_migration_from_previous_version(tmp_path: Path, target: int) -> None:
    path, key = _database(tmp_path)
    conn = connect(path, key, writer=True)
    try:
        configure_writer(conn)
        assert migrate(conn, MIGRATIONS[: target - 1]) == target - 1
        assert conn.execute("PRAGMA user_version").fetchone()[0] == target - 1
        conn.execute("BEGIN IMMEDIATE")
        CASES[target].seed(conn)
        conn.execute("COMMIT")

        assert migrate(conn, MIGRATIONS[:target]) == target
        assert conn.execute("PRAGMA user_version").fetchone()[0] == target
        CASES[target].check(conn)
    finally:
        conn.close()


def test_fresh_database_reaches_latest_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path, key = _database(tmp_path)
    conn = connect(path, key, writer=True)
    try:
        assert migrate(conn) == LATEST_VERSION
        before = _tables(conn)
        assert migrate(conn) == LATEST_VERSION
        assert _tables(conn) == before
    finally:
        conn.close()


def test_failed_migration_rolls_back_everything(tmp_path: Path) -> None:
    path, key = _database(tmp_path)

    def broken(conn: Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    conn = connect(path, key, writer=True)
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            migrate(conn, [*MIGRATIONS, broken])
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert _tables(conn) == {}
    finally:
        conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path, key = _database(tmp_path)
    conn = connect(path, key, writer=True)
    try:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
        with pytest.raises(DatabaseTooNew):
            migrate(conn)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION + 1
    finally:
        conn.close()
