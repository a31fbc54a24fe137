"""The sync engine's reads and writes of the vault (every write is a ``vault.write`` job).

Everything here is idempotent: a sync killed at any point and run again converges to the
same rows, which, with the object store's atomic objects, makes a SIGKILL harmless.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from reviewer_app.domain import CaseTask, LabResult, PatientInfo, RecordRef, Referral
from reviewer_app.sync.events import Phase
from reviewer_app.sync.remote import StudyListing, Unreadable, error_text
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

#: Object kinds the sync engine owns (others, e.g. signed opinions, are never swept).
RECORD_KIND = "record"
INSTANCE_KIND = "dicom"
SYNC_KINDS = (RECORD_KIND, INSTANCE_KIND)


def now_text(moment: datetime | None = None) -> str:
    """UTC ISO 8601 with seconds."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class CaseMetadata:
    """Everything the metadata phase learned about one case."""

    task: CaseTask
    patient: PatientInfo
    referral: Referral | None
    labs: list[LabResult]
    records: list[RecordRef]
    studies: list[StudyListing]
    unreadable: list[Unreadable]


@dataclass(frozen=True)
class WorkItem:
    """A payload to fetch."""

    case_id: str
    kind: str
    ref: str
    phase: Phase
    object_id: str | None
    bytes_expected: int | None
    # Records: the RecordRef fields needed to fetch; instances: base, study, series.
    record: RecordRef | None = None
    dicomweb_base: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None


# --- cases and metadata ---------------------------------------------------------------------


def local_case_ids(vault: Vault) -> set[str]:
    """Cases the sync engine knows about."""
    rows = vault.read().execute("SELECT case_id FROM case_sync").fetchall()
    return {row[0] for row in rows}


def known_versions(vault: Vault) -> dict[str, tuple[str, str]]:
    """case_id → (task version, metadata state)."""
    rows = (
        vault.read()
        .execute("SELECT case_id, task_version, metadata_state FROM case_sync")
        .fetchall()
    )
    return {row[0]: (row[1] or "", row[2]) for row in rows}


def incomplete_cases(vault: Vault) -> set[str]:
    """Cases whose metadata or some item is not done."""
    rows = (
        vault.read()
        .execute(
            "SELECT case_id FROM case_sync WHERE metadata_state != 'done' "
            "UNION SELECT case_id FROM sync_items WHERE state != 'done'"
        )
        .fetchall()
    )
    return {row[0] for row in rows}


def save_task(vault: Vault, task: CaseTask) -> None:
    """Record a Task (new or changed); its metadata is to be fetched."""

    def write(conn: Connection) -> None:
        _upsert_case_sync(conn, task, metadata_state="pending")
        conn.execute(
            "INSERT INTO cases (case_id, status, received_at, updated_at, sync_state) "
            "VALUES (?, ?, ?, ?, 'pending') ON CONFLICT (case_id) DO UPDATE SET "
            "status = excluded.status, updated_at = excluded.updated_at",
            (task.case_id, task.status, now_text(), task.last_updated),
        )

    vault.write_sync(write)


def _upsert_case_sync(conn: Connection, task: CaseTask, *, metadata_state: str) -> None:
    completed_at = task.last_updated if task.status == "completed" else None
    conn.execute(
        "INSERT INTO case_sync (case_id, case_key, patient_id, referral_id, task_version, "
        "task_status, task_last_updated, retention_days, completed_at, metadata_state) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO UPDATE SET "
        "case_key = excluded.case_key, patient_id = excluded.patient_id, "
        "referral_id = excluded.referral_id, "
        "task_version = excluded.task_version, task_status = excluded.task_status, "
        "task_last_updated = excluded.task_last_updated, "
        "retention_days = excluded.retention_days, completed_at = excluded.completed_at, "
        "metadata_state = excluded.metadata_state",
        (
            task.case_id,
            task.case_key,
            task.patient_id,
            task.referral_id,
            task.version_id,
            task.status,
            task.last_updated,
            task.retention_days,
            completed_at,
            metadata_state,
        ),
    )


def save_metadata_failure(vault: Vault, case_id: str, exc: Exception) -> None:
    """The case's Patient or referral could not be read: show it on the case."""
    message, _ = error_text(exc)

    def write(conn: Connection) -> None:
        conn.execute(
            "UPDATE case_sync SET metadata_state = 'failed', last_error = ? WHERE case_id = ?",
            (message, case_id),
        )
        _replace_metadata_items(conn, case_id, [Unreadable("Task", exc)])

    vault.write_sync(write)


def _replace_metadata_items(conn: Connection, case_id: str, bad: Sequence[Unreadable]) -> None:
    conn.execute("DELETE FROM sync_items WHERE case_id = ? AND kind = 'metadata'", (case_id,))
    stamp = now_text()
    for seq, item in enumerate(bad):
        message, kind = error_text(item.error)
        conn.execute(
            "INSERT OR REPLACE INTO sync_items (case_id, kind, ref, phase, seq, state, "
            "attempts, error, error_kind, updated_at) "
            "VALUES (?, 'metadata', ?, 0, ?, 'failed', 1, ?, ?, ?)",
            (case_id, item.ref, seq, message, kind, stamp),
        )


def save_metadata(vault: Vault, meta: CaseMetadata) -> list[str]:
    """Store a case's metadata and its to-do list in one transaction.

    Returns the object ids that no longer belong to the case (a record whose content
    changed, an instance no longer listed): the caller shreds them after the commit.
    """
    task = meta.task
    case_id = task.case_id

    def write(conn: Connection) -> list[str]:
        stale: list[str] = []
        _upsert_case_sync(conn, task, metadata_state="done")
        conn.execute("UPDATE case_sync SET last_error = NULL WHERE case_id = ?", (case_id,))
        patient = meta.patient
        conn.execute(
            "INSERT OR REPLACE INTO patients (patient_id, name, sex, birth_date, identifiers) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                patient.patient_id,
                patient.name,
                patient.sex,
                patient.birth_date.isoformat() if patient.birth_date else None,
                json.dumps(list(patient.identifiers)),
            ),
        )
        clinical = list(meta.referral.clinical_questions) if meta.referral else []
        conn.execute("DELETE FROM case_questions WHERE case_id = ?", (case_id,))
        questions = [("clinical", q) for q in clinical]
        # The background reads with the reason for referral (it is not a question).
        questions += [("reason", meta.referral.reason)] if meta.referral else []
        questions += [("reason", b) for b in meta.referral.background] if meta.referral else []
        questions += [("patient", q) for q in task.patient_questions]
        counters: dict[str, int] = {}
        for kind, text in questions:
            if not text:
                continue
            seq = counters[kind] = counters.get(kind, -1) + 1
            conn.execute(
                "INSERT INTO case_questions (case_id, kind, seq, text) VALUES (?, ?, ?, ?)",
                (case_id, kind, seq, text),
            )
        conn.execute(
            "INSERT INTO cases (case_id, patient_name, patient_sex, patient_birth_date, "
            "specialty, priority, due_date, status, clinical_question, received_at, "
            "updated_at, sync_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') "
            "ON CONFLICT (case_id) DO UPDATE SET patient_name = excluded.patient_name, "
            "patient_sex = excluded.patient_sex, "
            "patient_birth_date = excluded.patient_birth_date, "
            "specialty = excluded.specialty, priority = excluded.priority, "
            "due_date = excluded.due_date, status = excluded.status, "
            "clinical_question = excluded.clinical_question, updated_at = excluded.updated_at",
            (
                case_id,
                patient.name,
                patient.sex,
                patient.birth_date.isoformat() if patient.birth_date else None,
                task.specialty,
                task.priority,
                task.due.date().isoformat() if task.due else None,
                task.status,
                clinical[0] if clinical else "",
                now_text(),
                task.last_updated,
            ),
        )
        labs_listed = not any(u.ref == "Observation" for u in meta.unreadable)
        if labs_listed:
            conn.execute("DELETE FROM lab_results WHERE case_id = ?", (case_id,))
        for lab in meta.labs:
            conn.execute(
                "INSERT OR REPLACE INTO lab_results (case_id, lab_id, status, code, name, "
                "effective, value, value_text, unit, low, high, interpretation, panel, "
                "range_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    lab.lab_id,
                    lab.status,
                    lab.code,
                    lab.name,
                    _iso(lab.effective),
                    lab.value,
                    lab.value_text,
                    lab.unit,
                    lab.low,
                    lab.high,
                    lab.interpretation,
                    lab.panel,
                    lab.range_text,
                ),
            )
        # What a list that failed (wholly or in part) does not show is kept, not dropped.
        records_listed = not any(u.ref.startswith("DocumentReference") for u in meta.unreadable)
        studies_listed = not any(u.ref.startswith("ImagingStudy") for u in meta.unreadable)
        stale += _save_records(conn, case_id, meta.records, drop_unlisted=records_listed)
        stale += _save_studies(conn, case_id, meta.studies, drop_unlisted=studies_listed)
        _replace_metadata_items(conn, case_id, meta.unreadable)
        return stale

    return vault.write_sync(write)


def _save_records(
    conn: Connection, case_id: str, records: list[RecordRef], *, drop_unlisted: bool
) -> list[str]:
    stale: list[str] = []
    existing = {
        row[0]: (row[1], row[2])
        for row in conn.execute(
            "SELECT record_id, sha1, object_id FROM records WHERE case_id = ?", (case_id,)
        )
    }
    listed = set()
    for seq, record in enumerate(records):
        listed.add(record.record_id)
        sha1 = base64.b64encode(record.sha1).decode()
        old = existing.get(record.record_id)
        changed = old is not None and old[0] != sha1
        if changed and old is not None and old[1]:
            stale.append(old[1])
        conn.execute(
            "INSERT INTO records (case_id, record_id, title, type_code, type_display, date, "
            "content_type, size, sha1, file_title, url, object_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
            "ON CONFLICT (case_id, record_id) DO UPDATE SET title = excluded.title, "
            "type_code = excluded.type_code, type_display = excluded.type_display, "
            "date = excluded.date, content_type = excluded.content_type, "
            "size = excluded.size, sha1 = excluded.sha1, file_title = excluded.file_title, "
            "url = excluded.url",
            (
                case_id,
                record.record_id,
                record.title,
                record.type_code,
                record.type_display,
                _iso(record.date),
                record.content_type,
                record.size,
                sha1,
                record.file_title,
                record.url,
            ),
        )
        if changed:
            conn.execute(
                "UPDATE records SET object_id = NULL WHERE case_id = ? AND record_id = ?",
                (case_id, record.record_id),
            )
        stale += _ensure_item(
            conn,
            case_id,
            "record",
            record.record_id,
            phase=Phase.DOCUMENTS,
            seq=seq,
            expected=record.size,
            reset=changed,
        )
    for record_id, (_, object_id) in existing.items():
        if drop_unlisted and record_id not in listed:
            if object_id:
                stale.append(object_id)
            stale += _drop_item(conn, case_id, "record", record_id)
            conn.execute(
                "DELETE FROM records WHERE case_id = ? AND record_id = ?", (case_id, record_id)
            )
    return stale


def _ensure_item(
    conn: Connection,
    case_id: str,
    kind: str,
    ref: str,
    *,
    phase: Phase,
    seq: int,
    expected: int | None,
    reset: bool,
) -> list[str]:
    row = conn.execute(
        "SELECT object_id FROM sync_items WHERE case_id = ? AND kind = ? AND ref = ?",
        (case_id, kind, ref),
    ).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO sync_items (case_id, kind, ref, phase, seq, state, bytes_expected, "
            "updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
            (case_id, kind, ref, int(phase), seq, expected, now_text()),
        )
        return []
    conn.execute(
        "UPDATE sync_items SET seq = ?, bytes_expected = ? WHERE case_id = ? AND kind = ? "
        "AND ref = ?",
        (seq, expected, case_id, kind, ref),
    )
    if not reset:
        return []
    conn.execute(
        "UPDATE sync_items SET state = 'pending', object_id = NULL, bytes_done = 0, "
        "error = NULL, error_kind = NULL WHERE case_id = ? AND kind = ? AND ref = ?",
        (case_id, kind, ref),
    )
    return [row[0]] if row[0] else []


def _drop_item(conn: Connection, case_id: str, kind: str, ref: str) -> list[str]:
    row = conn.execute(
        "SELECT object_id FROM sync_items WHERE case_id = ? AND kind = ? AND ref = ?",
        (case_id, kind, ref),
    ).fetchone()
    conn.execute(
        "DELETE FROM sync_items WHERE case_id = ? AND kind = ? AND ref = ?", (case_id, kind, ref)
    )
    return [row[0]] if row and row[0] else []


def _save_studies(
    conn: Connection, case_id: str, studies: list[StudyListing], *, drop_unlisted: bool
) -> list[str]:
    stale: list[str] = []
    listed: set[str] = set()
    seq = 0
    for listing in studies:
        study = listing.study
        # An upsert, not INSERT OR REPLACE: a study the specialist imported from a CD keeps
        # its source, so its local instances are never reconciled away below.
        conn.execute(
            "INSERT INTO studies (case_id, study_uid, imaging_study_id, "
            "description, started, modalities, dicomweb_base) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (case_id, study_uid) DO UPDATE SET "
            "imaging_study_id = excluded.imaging_study_id, description = excluded.description, "
            "started = excluded.started, modalities = excluded.modalities, "
            "dicomweb_base = excluded.dicomweb_base",
            (
                case_id,
                study.study_uid,
                study.imaging_study_id,
                study.description,
                _iso(study.started),
                ",".join(m for m in study.modalities if m),
                listing.dicomweb_base,
            ),
        )
        for series in listing.series:
            conn.execute(
                "INSERT OR REPLACE INTO series (case_id, series_uid, study_uid, modality, "
                "description, number, instance_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    series.series_uid,
                    study.study_uid,
                    series.modality,
                    series.description,
                    series.number,
                    series.instance_count
                    if series.instance_count is not None
                    else len(series.instances),
                ),
            )
            for instance in series.instances:
                uid = instance.sop_instance_uid
                listed.add(uid)
                conn.execute(
                    "INSERT INTO instances (case_id, sop_instance_uid, series_uid, study_uid, "
                    "sop_class_uid, number) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (case_id, sop_instance_uid) DO UPDATE SET "
                    "series_uid = excluded.series_uid, study_uid = excluded.study_uid, "
                    "sop_class_uid = excluded.sop_class_uid, number = excluded.number",
                    (
                        case_id,
                        uid,
                        series.series_uid,
                        study.study_uid,
                        instance.sop_class_uid,
                        instance.number,
                    ),
                )
                _ensure_item(
                    conn,
                    case_id,
                    "instance",
                    uid,
                    phase=Phase.IMAGING,
                    seq=seq,
                    expected=None,
                    reset=False,
                )
                seq += 1
    if drop_unlisted:
        # Imported studies are not the platform's to list: their instances stay.
        rows = conn.execute(
            "SELECT sop_instance_uid, object_id FROM instances WHERE case_id = ?1 "
            "AND study_uid NOT IN "
            "(SELECT study_uid FROM studies WHERE case_id = ?1 AND source = 'import')",
            (case_id,),
        ).fetchall()
        for uid, object_id in rows:
            if uid in listed:
                continue
            if object_id:
                stale.append(object_id)
            stale += _drop_item(conn, case_id, "instance", uid)
            conn.execute(
                "DELETE FROM instances WHERE case_id = ? AND sop_instance_uid = ?",
                (case_id, uid),
            )
    return stale


# --- the to-do list --------------------------------------------------------------------------


def retry_failed(vault: Vault) -> None:
    """Failed payloads get another chance in this run (metadata failures are refetched)."""
    vault.write_sync(
        lambda conn: conn.execute(
            "UPDATE sync_items SET state = 'pending' WHERE state = 'failed' AND kind != 'metadata'"
        )
    )


def pending_items(vault: Vault, phase: Phase, case_order: Sequence[str]) -> list[WorkItem]:
    """Payloads still to fetch in ``phase``, cases in ``case_order`` then the rest."""
    conn = vault.read()
    rank = {case_id: i for i, case_id in enumerate(case_order)}
    items: list[tuple[int, int, WorkItem]] = []
    if phase is Phase.DOCUMENTS:
        rows = conn.execute(
            "SELECT i.case_id, i.ref, i.seq, i.object_id, r.title, r.type_code, "
            "r.type_display, r.content_type, r.url, r.size, r.sha1, r.file_title "
            "FROM sync_items i JOIN records r ON r.case_id = i.case_id AND r.record_id = i.ref "
            "WHERE i.kind = 'record' AND i.state = 'pending'"
        ).fetchall()
        for row in rows:
            record = RecordRef(
                record_id=row[1],
                title=row[4] or "",
                type_code=row[5],
                type_display=row[6],
                date=None,
                content_type=row[7] or "",
                url=row[8],
                size=int(row[9]),
                sha1=base64.b64decode(row[10]),
                file_title=row[11],
            )
            work = WorkItem(row[0], "record", row[1], phase, row[3], record.size, record=record)
            items.append((rank.get(row[0], len(rank)), row[2], work))
    else:
        rows = conn.execute(
            "SELECT i.case_id, i.ref, i.seq, i.object_id, n.study_uid, n.series_uid, "
            "s.dicomweb_base FROM sync_items i "
            "JOIN instances n ON n.case_id = i.case_id AND n.sop_instance_uid = i.ref "
            "JOIN studies s ON s.case_id = n.case_id AND s.study_uid = n.study_uid "
            "WHERE i.kind = 'instance' AND i.state = 'pending'"
        ).fetchall()
        for row in rows:
            work = WorkItem(
                row[0],
                "instance",
                row[1],
                phase,
                row[3],
                None,
                dicomweb_base=row[6],
                study_uid=row[4],
                series_uid=row[5],
            )
            items.append((rank.get(row[0], len(rank)), row[2], work))
    items.sort(key=lambda entry: (entry[0], entry[2].case_id, entry[1]))
    return [work for _, _, work in items]


def pending_by_case(vault: Vault) -> dict[str, int]:
    """Payload items still to fetch, by case."""
    rows = (
        vault.read()
        .execute(
            "SELECT case_id, count(*) FROM sync_items WHERE state = 'pending' "
            "AND kind != 'metadata' GROUP BY case_id"
        )
        .fetchall()
    )
    return {row[0]: int(row[1]) for row in rows}


def set_item_object(vault: Vault, item: WorkItem, object_id: str) -> None:
    """Remember the partial object a download writes into (so a restart resumes it)."""
    vault.write_sync(
        lambda conn: conn.execute(
            "UPDATE sync_items SET object_id = ? WHERE case_id = ? AND kind = ? AND ref = ?",
            (object_id, item.case_id, item.kind, item.ref),
        )
    )


def item_done(vault: Vault, item: WorkItem, object_id: str, size: int) -> None:
    """The item is stored and verified."""

    def write(conn: Connection) -> None:
        conn.execute(
            "UPDATE sync_items SET state = 'done', object_id = ?, bytes_done = ?, "
            "bytes_expected = ?, error = NULL, error_kind = NULL, attempts = attempts + 1, "
            "updated_at = ? WHERE case_id = ? AND kind = ? AND ref = ?",
            (object_id, size, size, now_text(), item.case_id, item.kind, item.ref),
        )
        if item.kind == "record":
            conn.execute(
                "UPDATE records SET object_id = ? WHERE case_id = ? AND record_id = ?",
                (object_id, item.case_id, item.ref),
            )
        else:
            conn.execute(
                "UPDATE instances SET object_id = ? WHERE case_id = ? AND sop_instance_uid = ?",
                (object_id, item.case_id, item.ref),
            )

    vault.write_sync(write)


def item_failed(
    vault: Vault, item: WorkItem, exc: BaseException, *, keep_pending: bool, object_id: str | None
) -> None:
    """The item failed: for good in this run, or (network) left pending for the next."""
    message, kind = error_text(exc)
    state = "pending" if keep_pending else "failed"
    vault.write_sync(
        lambda conn: conn.execute(
            "UPDATE sync_items SET state = ?, error = ?, error_kind = ?, object_id = ?, "
            "attempts = attempts + 1, updated_at = ? WHERE case_id = ? AND kind = ? AND ref = ?",
            (state, message, kind, object_id, now_text(), item.case_id, item.kind, item.ref),
        )
    )


def refresh_case_states(vault: Vault, case_ids: Sequence[str] | None = None) -> None:
    """Set ``cases.sync_state`` (the worklist's column) from the to-do list."""

    def write(conn: Connection) -> None:
        rows = conn.execute(
            "SELECT c.case_id, c.metadata_state, "
            "(SELECT count(*) FROM sync_items i WHERE i.case_id = c.case_id "
            " AND i.state = 'pending'), "
            "(SELECT count(*) FROM sync_items i WHERE i.case_id = c.case_id "
            " AND i.state = 'failed') FROM case_sync c"
        ).fetchall()
        wanted = set(case_ids) if case_ids is not None else None
        for case_id, metadata_state, pending, failed in rows:
            if wanted is not None and case_id not in wanted:
                continue
            if metadata_state != "done" or failed:
                state = "errors" if failed or metadata_state == "failed" else "pending"
            else:
                state = "partial" if pending else "complete"
            conn.execute("UPDATE cases SET sync_state = ? WHERE case_id = ?", (state, case_id))
            if state == "complete":
                conn.execute(
                    "UPDATE case_sync SET last_synced_at = ? WHERE case_id = ?",
                    (now_text(), case_id),
                )

    vault.write_sync(write)


def orphan_objects(vault: Vault) -> list[str]:
    """Sync-owned objects no row refers to (left by a sync killed between two writes)."""
    marks = ",".join("?" * len(SYNC_KINDS))
    rows = (
        vault.read()
        .execute(
            f"SELECT object_id FROM objects WHERE kind IN ({marks}) AND object_id NOT IN "
            "(SELECT object_id FROM sync_items WHERE object_id IS NOT NULL "
            " UNION SELECT object_id FROM records WHERE object_id IS NOT NULL "
            " UNION SELECT object_id FROM instances WHERE object_id IS NOT NULL)",
            SYNC_KINDS,
        )
        .fetchall()
    )
    return [row[0] for row in rows]


def get_cursor(vault: Vault, server: str) -> str | None:
    """The incremental-sync cursor for one platform."""
    row = (
        vault.read()
        .execute("SELECT value FROM sync_state WHERE key = ?", (f"task-cursor:{server}",))
        .fetchone()
    )
    return row[0] if row else None


def set_cursor(vault: Vault, server: str, cursor: str) -> None:
    """Store the cursor, once the cases it covers are saved."""
    vault.write_sync(
        lambda conn: conn.execute(
            "INSERT OR REPLACE INTO sync_state (key, value) VALUES (?, ?)",
            (f"task-cursor:{server}", cursor),
        )
    )
