"""Schema v2 (and v6): what the sync engine keeps about each Case, and how far each item got.

Small, structured data (the patient, the questions, lab results, the study tree) lives in
tables; payloads (PDF records, DICOM instances) live in the object store and are
referenced by ``object_id``. ``sync_items`` is the engine's to-do list: one row per
payload or per item that failed, so a killed or cancelled sync resumes where it stopped
and every failure is shown on its Case.
"""

from __future__ import annotations

from reviewer_app.vault.database import Connection

_STATEMENTS = [
    """CREATE TABLE patients (
        patient_id TEXT PRIMARY KEY,
        name TEXT,
        sex TEXT,
        birth_date TEXT,
        identifiers TEXT
    )""",
    """CREATE TABLE case_questions (
        case_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('clinical', 'patient', 'reason')),
        seq INT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (case_id, kind, seq)
    )""",
    """CREATE TABLE records (
        case_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        title TEXT,
        type_code TEXT,
        type_display TEXT,
        date TEXT,
        content_type TEXT,
        size INT,
        sha1 TEXT,
        file_title TEXT,
        url TEXT,
        object_id TEXT,
        PRIMARY KEY (case_id, record_id)
    )""",
    """CREATE TABLE lab_results (
        case_id TEXT NOT NULL,
        lab_id TEXT NOT NULL,
        status TEXT,
        code TEXT,
        name TEXT,
        effective TEXT,
        value REAL,
        value_text TEXT,
        unit TEXT,
        low REAL,
        high REAL,
        interpretation TEXT,
        PRIMARY KEY (case_id, lab_id)
    )""",
    """CREATE TABLE studies (
        case_id TEXT NOT NULL,
        study_uid TEXT NOT NULL,
        imaging_study_id TEXT,
        description TEXT,
        started TEXT,
        modalities TEXT,
        dicomweb_base TEXT,
        PRIMARY KEY (case_id, study_uid)
    )""",
    """CREATE TABLE series (
        case_id TEXT NOT NULL,
        series_uid TEXT NOT NULL,
        study_uid TEXT NOT NULL,
        modality TEXT,
        description TEXT,
        number INT,
        instance_count INT,
        PRIMARY KEY (case_id, series_uid)
    )""",
    """CREATE TABLE instances (
        case_id TEXT NOT NULL,
        sop_instance_uid TEXT NOT NULL,
        series_uid TEXT NOT NULL,
        study_uid TEXT NOT NULL,
        sop_class_uid TEXT,
        number INT,
        object_id TEXT,
        PRIMARY KEY (case_id, sop_instance_uid)
    )""",
    "CREATE INDEX instances_series ON instances (case_id, series_uid, number)",
    # phase: 0 metadata and labs, 1 documents, 2 imaging (the order items are fetched in).
    # kind 'metadata' rows name a resource or listing that could not be read (ref
    # "DocumentReference/x", "ImagingStudy"...); they are replaced at each metadata fetch.
    """CREATE TABLE sync_items (
        case_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('metadata', 'record', 'instance')),
        ref TEXT NOT NULL,
        phase INT NOT NULL,
        seq INT NOT NULL DEFAULT 0,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
        attempts INT NOT NULL DEFAULT 0,
        error TEXT,
        error_kind TEXT,
        object_id TEXT,
        bytes_expected INT,
        bytes_done INT NOT NULL DEFAULT 0,
        updated_at TEXT,
        PRIMARY KEY (case_id, kind, ref)
    )""",
    "CREATE INDEX sync_items_todo ON sync_items (state, phase, case_id, seq)",
    """CREATE TABLE case_sync (
        case_id TEXT PRIMARY KEY,
        case_key TEXT,
        patient_id TEXT,
        task_version TEXT,
        task_status TEXT,
        task_last_updated TEXT,
        retention_days INT NOT NULL DEFAULT 30,
        completed_at TEXT,
        metadata_state TEXT NOT NULL DEFAULT 'pending',
        last_synced_at TEXT,
        last_error TEXT
    )""",
    """CREATE TABLE purges (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        case_id TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('withdrawn', 'reassigned', 'retention')),
        objects_shredded INT NOT NULL,
        drafts_kept INT NOT NULL
    )""",
    # An unsent draft or opinion of a purged case is kept; this says why it lost its case.
    "ALTER TABLE drafts ADD COLUMN orphaned TEXT",
    "ALTER TABLE outbox ADD COLUMN orphaned TEXT",
]


def v2_sync(conn: Connection) -> None:
    """Patients, questions, records, labs, the study tree, sync items, purges."""
    for statement in _STATEMENTS:
        conn.execute(statement)


def v6_referral(conn: Connection) -> None:
    """The Case's referral: the ServiceRequest id its Task.focus names (NULL if none).

    An opinion answers that referral (the outbox row and the uploaded DocumentReference
    point at it), so it is kept with the Task's other sync data. Cases synced before v6
    get it at their next metadata fetch.
    """
    conn.execute("ALTER TABLE case_sync ADD COLUMN referral_id TEXT")
