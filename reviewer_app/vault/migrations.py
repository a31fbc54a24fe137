"""The vault's schema, as a list of forward migrations keyed by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1``. Opening a profile
runs the missing ones in one transaction on the writer connection. A database newer
than :data:`LATEST_VERSION` is refused (DatabaseTooNew) before anything is written.

To change the schema, append a migration (never edit a released one) and add its case
to ``tests/reviewer_app/vault/test_migrations.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from reviewer_app.errors import DatabaseTooNew
from reviewer_app.vault.database import Connection

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    """Settings, encrypted-object keys, cases, drafts, outbox, audit, sync state."""
    statements = [
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)",
        """CREATE TABLE objects (
            object_id TEXT PRIMARY KEY,
            key BLOB NOT NULL,
            kind TEXT,
            size INT,
            sha256 TEXT,
            state TEXT CHECK (state IN ('partial', 'complete')),
            created_at TEXT
        )""",
        """CREATE TABLE cases (
            case_id TEXT PRIMARY KEY,
            patient_name TEXT,
            patient_sex TEXT,
            patient_birth_date TEXT,
            specialty TEXT,
            priority TEXT,
            due_date TEXT,
            status TEXT,
            clinical_question TEXT,
            received_at TEXT,
            updated_at TEXT,
            sync_state TEXT,
            pinned INT DEFAULT 0
        )""",
        "CREATE TABLE drafts (draft_id TEXT PRIMARY KEY, case_id TEXT, body TEXT, updated_at TEXT)",
        """CREATE TABLE outbox (
            item_id TEXT PRIMARY KEY,
            case_id TEXT,
            kind TEXT,
            object_id TEXT,
            state TEXT,
            attempts INT,
            last_error TEXT,
            created_at TEXT,
            updated_at TEXT
        )""",
        """CREATE TABLE audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT,
            action TEXT,
            case_id TEXT,
            detail TEXT,
            sent INT DEFAULT 0
        )""",
        "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT)",
    ]
    for statement in statements:
        conn.execute(statement)


def _v2_sync(conn: Connection) -> None:
    """The sync engine's tables (defined next to the engine, in reviewer_app.sync.schema)."""
    # Imported here, not at the top: reviewer_app.sync imports the vault package, so a
    # top-level import would be circular whenever reviewer_app.sync is imported first.
    from reviewer_app.sync.schema import v2_sync

    v2_sync(conn)


def _v3_workspace(conn: Connection) -> None:
    """What the review workspace shows that v2 did not keep.

    Lab results get their panel (the flowsheet groups rows by it) and the reference
    range as the platform wrote it (shown verbatim, never recomputed); studies get their
    source, because a study imported from a patient's CD is not the platform's and must
    never be purged or reported as synced.
    """
    conn.execute("ALTER TABLE lab_results ADD COLUMN panel TEXT")
    conn.execute("ALTER TABLE lab_results ADD COLUMN range_text TEXT")
    conn.execute(
        "ALTER TABLE studies ADD COLUMN source TEXT NOT NULL DEFAULT 'platform'"
        " CHECK (source IN ('platform', 'import'))"
    )


def _v4_opinion(conn: Connection) -> None:
    """Opinion drafts with a browsable history, and the outbox fields an upload needs.

    A draft keeps its structured sections as JSON in ``drafts.sections`` (the editor's HTML
    verbatim); ``draft_versions`` holds the snapshots the specialist can browse and
    restore. An outbox opinion carries the identifier minted once when it was queued,
    the Task version it answers (``ifMatch``), and the server's receipt after upload.
    """
    conn.execute("ALTER TABLE drafts ADD COLUMN sections TEXT")
    conn.execute("ALTER TABLE drafts ADD COLUMN version INT NOT NULL DEFAULT 0")
    conn.execute(
        """CREATE TABLE draft_versions (
            case_id TEXT NOT NULL,
            version INT NOT NULL,
            saved_at TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (case_id, version)
        )"""
    )
    for column in (
        "opinion_id TEXT",
        "pdf_sha256 TEXT",
        "patient_id TEXT",
        "referral_id TEXT",
        "task_version TEXT",
        "case_key TEXT",
        "signed_at TEXT",
        "receipt TEXT",
        "message TEXT",
    ):
        conn.execute(f"ALTER TABLE outbox ADD COLUMN {column}")
    conn.execute(
        "CREATE UNIQUE INDEX outbox_opinion_id ON outbox (opinion_id) WHERE opinion_id IS NOT NULL"
    )


def _v5_evidence_and_addenda(conn: Connection) -> None:
    """Evidence citations, and drafts that are an opinion or an addendum to it.

    ``opinion_citations`` holds what the specialist cited (a page, a lab result, a trend,
    a key image) with the view to reopen; a figure's PNG is a vault object. A draft now
    has a kind and a state: a case has at most one ``open`` draft (the unique index); a
    ``signed`` one is kept read-only with the outbox item that carries its PDF. History
    versions name their draft (numbers stay per case, so the key is unchanged). An
    outbox addendum names the opinion it appends to (``relates_to``).

    A v4 draft whose case already has a signed opinion in the outbox is that opinion's
    draft, so it becomes ``signed``: the next draft of that case is an addendum.
    """
    conn.execute(
        """CREATE TABLE opinion_citations (
            citation_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('page', 'lab', 'trend', 'key_image')),
            ref TEXT NOT NULL,
            label TEXT NOT NULL,
            view TEXT NOT NULL,
            image_object_id TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX opinion_citations_case ON opinion_citations (case_id, created_at)")
    conn.execute(
        "ALTER TABLE drafts ADD COLUMN kind TEXT NOT NULL DEFAULT 'opinion'"
        " CHECK (kind IN ('opinion', 'addendum'))"
    )
    conn.execute(
        "ALTER TABLE drafts ADD COLUMN state TEXT NOT NULL DEFAULT 'open'"
        " CHECK (state IN ('open', 'signed'))"
    )
    conn.execute("ALTER TABLE drafts ADD COLUMN item_id TEXT")
    conn.execute("ALTER TABLE drafts ADD COLUMN created_at TEXT")
    conn.execute("UPDATE drafts SET created_at = updated_at")
    conn.execute(
        "UPDATE drafts SET state = 'signed', item_id = (SELECT o.item_id FROM outbox o "
        "WHERE o.case_id = drafts.case_id AND o.kind = 'opinion' AND o.opinion_id IS NOT NULL "
        "ORDER BY o.created_at DESC, o.rowid DESC LIMIT 1) "
        "WHERE draft_id = case_id AND EXISTS (SELECT 1 FROM outbox o WHERE "
        "o.case_id = drafts.case_id AND o.kind = 'opinion' AND o.opinion_id IS NOT NULL)"
    )
    # Before v4 a case's draft had any id; should a case hold two open ones, the v4 draft
    # (id = case id) stays open and older ones are closed, never deleted.
    conn.execute(
        "UPDATE drafts SET state = 'signed' WHERE state = 'open' AND draft_id != case_id "
        "AND EXISTS (SELECT 1 FROM drafts d WHERE d.case_id = drafts.case_id "
        "AND d.state = 'open' AND d.draft_id != drafts.draft_id "
        "AND (d.draft_id = d.case_id OR d.rowid > drafts.rowid))"
    )
    conn.execute("CREATE UNIQUE INDEX drafts_one_open ON drafts (case_id) WHERE state = 'open'")
    conn.execute("ALTER TABLE draft_versions ADD COLUMN draft_id TEXT")
    conn.execute("UPDATE draft_versions SET draft_id = case_id")
    conn.execute("ALTER TABLE outbox ADD COLUMN relates_to TEXT")


def _v6_referral(conn: Connection) -> None:
    """The Case's referral (Task.focus) kept by the sync (in reviewer_app.sync.schema)."""
    from reviewer_app.sync.schema import v6_referral  # imported here, as in _v2_sync

    v6_referral(conn)


#: Forward migrations; index i upgrades version i to i + 1. Append only.
def _v7_sealed(conn: Connection) -> None:
    """When the platform's timestamp and revocation data were added to a signed document
    in the outbox (NULL: not yet, or the platform offers none)."""
    conn.execute("ALTER TABLE outbox ADD COLUMN sealed_at TEXT")


MIGRATIONS: list[Migration] = [
    _v1_initial,
    _v2_sync,
    _v3_workspace,
    _v4_opinion,
    _v5_evidence_and_addenda,
    _v6_referral,
    _v7_sealed,
]
LATEST_VERSION = len(MIGRATIONS)


def check_not_too_new(version: int, latest: int = LATEST_VERSION) -> None:
    """DatabaseTooNew if a newer Reviewer wrote this database."""
    if version > latest:
        raise DatabaseTooNew()


def migrate(conn: Connection, migrations: list[Migration] | None = None) -> int:
    """Bring the database up to the newest schema; returns the version now in place.

    All pending steps run in one BEGIN IMMEDIATE transaction: either the database ends
    at the latest version or it stays exactly as it was.
    """
    steps = MIGRATIONS if migrations is None else migrations
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        check_not_too_new(version, len(steps))
        for index in range(version, len(steps)):
            steps[index](conn)
        if version != len(steps):
            # user_version lives in the header page, so it commits with the tables.
            conn.execute(f"PRAGMA user_version = {len(steps)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(steps)
