"""Removing a case from this computer: crypto-shredding its payloads, deleting its rows.

Three reasons (docs/exchange.md §5): the platform withdrew it (Task cancelled, rejected,
entered-in-error), gave it to another specialist (it left the owned list), or its
retention after upload ran out. Unsent work is never removed with its case: drafts and
outbox entries stay, marked ``orphaned`` with the reason, for the specialist to decide.
The evidence cited in the opinion (citations and their key-image figures) goes with the
case: a signed PDF already carries its figures, and an orphaned draft can no longer be
signed. So does a signed draft (and its history) once its PDF has been uploaded; the
signed PDF stays in the outbox.

Pinning does not stop any of these. A pin keeps a case the specialist still works on
from being evicted to save disk; withdrawal, reassignment and the platform's retention
are the platform's decisions about data it owns, so they win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reviewer_app.domain import CaseTask
from reviewer_app.exchange.resources import parse_datetime
from reviewer_app.sync.local import now_text
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

_CASE_TABLES = (
    "case_questions",
    "records",
    "lab_results",
    "studies",
    "series",
    "instances",
    "sync_items",
    "opinion_citations",
    "case_sync",
    "cases",
)


@dataclass(frozen=True)
class PurgeResult:
    """What a purge removed and kept."""

    case_id: str
    reason: str
    objects_shredded: int
    drafts_kept: int


def case_objects(vault: Vault, case_id: str) -> list[str]:
    """Every object id the case's rows refer to."""
    rows = (
        vault.read()
        .execute(
            "SELECT object_id FROM records WHERE case_id = ?1 AND object_id IS NOT NULL "
            "UNION SELECT object_id FROM instances WHERE case_id = ?1 AND object_id IS NOT NULL "
            "UNION SELECT object_id FROM sync_items WHERE case_id = ?1 AND object_id IS NOT NULL "
            "UNION SELECT image_object_id FROM opinion_citations WHERE case_id = ?1 "
            "AND image_object_id IS NOT NULL",
            (case_id,),
        )
        .fetchall()
    )
    return [row[0] for row in rows]


def purge_case(vault: Vault, case_id: str, reason: str) -> PurgeResult:
    """Shred a case's objects (keys first), then delete its rows; keep unsent work.

    Idempotent: if the process dies half-way, the next sync purges the rest.
    """
    objects = case_objects(vault, case_id)
    vault.objects.shred(objects)
    shredded = set(objects)

    def write(conn: Connection) -> tuple[int, list[str]]:
        # A citation made while the objects above were shredded: its figure goes too.
        late = [
            row[0]
            for row in conn.execute(
                "SELECT image_object_id FROM opinion_citations WHERE case_id = ? "
                "AND image_object_id IS NOT NULL",
                (case_id,),
            )
            if row[0] not in shredded
        ]
        patient = conn.execute(
            "SELECT patient_id FROM case_sync WHERE case_id = ?", (case_id,)
        ).fetchone()
        for table in _CASE_TABLES:
            conn.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
        if patient is not None and patient[0]:
            still_used = conn.execute(
                "SELECT 1 FROM case_sync WHERE patient_id = ?", (patient[0],)
            ).fetchone()
            if still_used is None:
                conn.execute("DELETE FROM patients WHERE patient_id = ?", (patient[0],))
        # A signed draft whose PDF the platform has received is no longer work to keep:
        # the signed PDF in the outbox is the record of it.
        delivered = (
            "SELECT draft_id FROM drafts WHERE case_id = ?1 AND state = 'signed' AND item_id IN "
            "(SELECT item_id FROM outbox WHERE case_id = ?1 AND state = 'uploaded')"
        )
        conn.execute(f"DELETE FROM draft_versions WHERE draft_id IN ({delivered})", (case_id,))
        conn.execute(f"DELETE FROM drafts WHERE draft_id IN ({delivered})", (case_id,))
        kept = conn.execute(
            "UPDATE drafts SET orphaned = ? WHERE case_id = ?", (reason, case_id)
        ).rowcount
        kept += conn.execute(
            "UPDATE outbox SET orphaned = ? WHERE case_id = ? AND state != 'uploaded'",
            (reason, case_id),
        ).rowcount
        conn.execute(
            "INSERT INTO purges (at, case_id, reason, objects_shredded, drafts_kept) "
            "VALUES (?, ?, ?, ?, ?)",
            (now_text(), case_id, reason, len(objects) + len(late), kept),
        )
        return int(kept), late

    kept, late = vault.write_sync(write)
    vault.objects.shred(late)
    return PurgeResult(case_id, reason, len(objects) + len(late), kept)


def retention_over(task: CaseTask, now: datetime) -> bool:
    """Whether an uploaded (completed) Task's local retention has run out at ``now``."""
    if task.status != "completed":
        return False
    started = parse_datetime(task.last_updated)
    return started is not None and now >= started + timedelta(days=task.retention_days)


def expired_cases(vault: Vault, now: datetime) -> list[str]:
    """Uploaded (completed) cases whose retention period has run out at ``now``."""
    rows = (
        vault.read()
        .execute(
            "SELECT case_id, completed_at, retention_days FROM case_sync "
            "WHERE task_status = 'completed' AND completed_at IS NOT NULL"
        )
        .fetchall()
    )
    expired = []
    for case_id, completed_at, days in rows:
        started = parse_datetime(completed_at)
        if started is not None and now >= started + timedelta(days=int(days)):
            expired.append(case_id)
    return expired


def set_pinned(vault: Vault, case_id: str, pinned: bool) -> None:
    """Pin (keep, and sync first) or unpin a case."""
    vault.write_sync(
        lambda conn: conn.execute(
            "UPDATE cases SET pinned = ? WHERE case_id = ?", (int(pinned), case_id)
        )
    )
