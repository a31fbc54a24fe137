"""What the worklist and status bar say about sync: per-case offline state and the
progress line, as plain text.

:func:`load_worklist` runs off the UI thread (an operation) and reads, in one go, the
worklist rows and each case's offline state (:func:`reviewer_app.sync.readiness.readiness`
plus image counts), so the view shows live per-case progress while a sync runs: the
engine commits every finished item, and a reload reads them. Cases removed by the
platform whose unsent draft or opinion was kept still get a row, so the specialist sees
why the case went and that the work was not lost. The text helpers are pure functions,
shared by the worklist, the status bar and the travel summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from reviewer_app.domain import CaseSummary

#: Why the platform removed a case (purges.reason) → what the worklist says.
PURGE_REASON = {
    "withdrawn": "Withdrawn",
    "reassigned": "Reassigned",
    "retention": "Retention ended",
}
ORPHAN_STATUS = "removed"


@dataclass(frozen=True)
class CaseSyncStatus:
    """One case's offline state, as the worklist shows it."""

    complete: bool = False
    metadata_done: bool = False
    bytes_on_disk: int = 0
    records_done: int = 0
    records_total: int = 0
    images_done: int = 0
    images_total: int = 0
    errors: tuple[str, ...] = ()
    #: Set for a case the platform removed whose unsent work was kept (purge reason).
    removed: str | None = None


@dataclass(frozen=True)
class WorklistRows:
    """The worklist's rows and their offline state (by case id)."""

    cases: list[CaseSummary]
    status: dict[str, CaseSyncStatus] = field(default_factory=dict)


def size_text(size: float) -> str:
    """Bytes as a specialist reads them: '610 MB', '1.2 GB' (decimal units, like disks)."""
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    if size >= 1e6:
        return f"{size / 1e6:.0f} MB"
    if size >= 1e3:
        return f"{size / 1e3:.0f} kB"
    return f"{int(size)} B"


def duration_text(seconds: float) -> str:
    """'20 s', '3 min', '1 h 5 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def progress_text(
    cases_done: int,
    cases_total: int,
    *,
    bytes_done: int,
    bytes_total: int,
    rate: float,
    eta: float | None,
    bytes_estimated: bool = False,
) -> str:
    """'Syncing 3/12 cases · 142 MB of 610 MB · 24 MB/s · 20 s left'; "of about 610 MB"
    when the total counts images at their average size so far, and "142 MB so far"
    (no end promised) before any image has come to estimate from."""
    parts = [f"Syncing {cases_done}/{cases_total} cases"]
    if bytes_total > 0:
        about = "about " if bytes_estimated else ""
        parts.append(f"{size_text(bytes_done)} of {about}{size_text(bytes_total)}")
    elif bytes_done > 0:
        parts.append(f"{size_text(bytes_done)} so far")
    if rate > 0:
        parts.append(f"{size_text(rate)}/s")
    if eta is not None and bytes_total > 0:
        parts.append(f"{duration_text(eta)} left")
    return " · ".join(parts)


def sync_text(status: CaseSyncStatus | None) -> str:
    """The worklist's Sync column for one case."""
    if status is None:
        return "—"
    if status.removed is not None:
        reason = PURGE_REASON.get(status.removed, "Removed")
        return f"{reason} — unsent draft kept"
    if status.errors:
        return f"Error: {status.errors[0]}"
    if status.complete:
        return f"Ready offline ✓ {size_text(status.bytes_on_disk)}"
    if not status.metadata_done:
        return "Waiting for case details"
    if status.records_done < status.records_total:
        return f"Documents {status.records_done}/{status.records_total}"
    if status.images_done < status.images_total:
        return f"Images {status.images_done}/{status.images_total}"
    return "Waiting"


def sync_rank(status: CaseSyncStatus | None) -> int:
    """Sort key of the Sync column: errors first, then least ready, ready offline last."""
    if status is None:
        return 5
    if status.removed is not None:
        return 0
    if status.errors:
        return 1
    if status.complete:
        return 4
    return 2 if not status.metadata_done else 3


def load_worklist(vault: Any) -> WorklistRows:
    """The worklist rows and each case's offline state; call off the UI thread."""
    from reviewer_app.sync.readiness import readiness

    cases = vault.cases()
    ready = readiness(vault)
    conn = vault.read()
    counts: dict[tuple[str, str], tuple[int, int]] = {
        (row[0], row[1]): (int(row[2]), int(row[3] or 0))
        for row in conn.execute(
            "SELECT case_id, kind, count(*), sum(state = 'done') FROM sync_items "
            "WHERE kind IN ('record', 'instance') GROUP BY case_id, kind"
        )
    }
    metadata = {
        row[0]: row[1] == "done"
        for row in conn.execute("SELECT case_id, metadata_state FROM case_sync")
    }
    status: dict[str, CaseSyncStatus] = {}
    for case_id, info in ready.items():
        records_total, records_done = counts.get((case_id, "record"), (0, 0))
        images_total, images_done = counts.get((case_id, "instance"), (0, 0))
        status[case_id] = CaseSyncStatus(
            complete=info.complete,
            metadata_done=metadata.get(case_id, False),
            bytes_on_disk=info.bytes_on_disk,
            records_done=records_done,
            records_total=records_total,
            images_done=images_done,
            images_total=images_total,
            errors=tuple(error.message for error in info.errors),
        )
    known = {case.case_id for case in cases}
    for case_id, reason in _removed_with_work(conn):
        if case_id in known:
            continue
        known.add(case_id)
        cases.append(
            CaseSummary(
                case_id=case_id,
                patient_name="",
                patient_sex="",
                patient_birth_date=None,
                specialty="",
                priority="",
                due_date=None,
                status=ORPHAN_STATUS,
                clinical_question="",
                sync_state="",
                pinned=False,
            )
        )
        status[case_id] = CaseSyncStatus(removed=reason)
    return WorklistRows(cases, status)


def _removed_with_work(conn: Any) -> list[tuple[str, str]]:
    """Cases the platform removed whose unsent drafts or opinions were kept."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT case_id, orphaned FROM drafts WHERE orphaned IS NOT NULL "
            "UNION SELECT case_id, orphaned FROM outbox WHERE orphaned IS NOT NULL "
            "AND state != 'sent' ORDER BY 1"
        )
    ]


def last_synced(vault: Any) -> dt.datetime | None:
    """When a case last became complete offline (None: never); off the UI thread."""
    row = vault.read().execute("SELECT max(last_synced_at) FROM case_sync").fetchone()
    if not row or not row[0]:
        return None
    try:
        return dt.datetime.fromisoformat(row[0])
    except ValueError:
        return None
