"""The audit trail: what the specialist did with a case, kept in the vault, sent later.

Every view (a case opened), export, sign and upload is written to the vault's ``audit``
table the moment it happens (through the vault's single writer), and goes to the
platform as FHIR AuditEvents in batches when a sync runs (docs/exchange.md, "Audit").
Offline, events simply wait; nothing about them blocks the specialist.

Each event's id is a UUID derived from the profile and the event's sequence number, so
it is fixed when the event is recorded: a batch sent again after a dropped connection
updates the same AuditEvents on the server instead of making new ones.
"""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from reviewer_app.vault import Vault

#: At most this many unsent events go in one sync (the client splits them in batches).
SEND_LIMIT = 1000

_NAMESPACE = uuid.UUID("5d7b9f0e-2c41-4b8e-9a63-0f4c1f2b7a10")
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"


class AuditAction(StrEnum):
    """What the specialist did."""

    VIEW = "view"
    EXPORT = "export"
    SIGN = "sign"
    UPLOAD = "upload"


# action → (DCM type code, its display, FHIR action, ISO 21089 lifecycle event)
_CODING: dict[AuditAction, tuple[str, str, str, str]] = {
    AuditAction.VIEW: ("110110", "Patient Record", "R", "access"),
    AuditAction.EXPORT: ("110106", "Export", "R", "disclose"),
    AuditAction.SIGN: ("110110", "Patient Record", "U", "attest"),
    AuditAction.UPLOAD: ("110110", "Patient Record", "C", "transmit"),
}


@dataclass(frozen=True)
class AuditEntry:
    """One recorded event, as the vault keeps it."""

    seq: int
    at: str
    action: AuditAction
    case_id: str
    patient_id: str | None


class AuditSink(Protocol):
    """Where events go: ``FhirClient.post_audit_events`` (returns the ids not accepted)."""

    def post_audit_events(self, events: list[dict[str, Any]]) -> list[str]: ...


def write_event(
    conn: Any, action: AuditAction, case_id: str, *, at: dt.datetime | None = None
) -> None:
    """Insert one event; runs inside a vault write (``Vault.write`` or ``ops.write``)."""
    when = (at or _utcnow()).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    conn.execute(
        "INSERT INTO audit (at, action, case_id, detail, sent) VALUES (?, ?, ?, '', 0)",
        (when, str(action), case_id),
    )


def record(
    vault: Vault, action: AuditAction, case_id: str, *, at: dt.datetime | None = None
) -> Future[None]:
    """Record that the specialist did ``action`` on ``case_id`` (now, or ``at``).

    Returns the writer's future; callers on the UI thread need not wait for it.
    """
    return vault.write(lambda conn: write_event(conn, action, case_id, at=at))


def unsent(vault: Vault, limit: int = SEND_LIMIT) -> list[AuditEntry]:
    """The oldest events not yet accepted by the platform."""
    rows = (
        vault.read()
        .execute(
            "SELECT a.seq, a.at, a.action, a.case_id, s.patient_id FROM audit a "
            "LEFT JOIN case_sync s ON s.case_id = a.case_id "
            "WHERE a.sent = 0 ORDER BY a.seq LIMIT ?",
            (limit,),
        )
        .fetchall()
    )
    return [
        AuditEntry(seq, at, AuditAction(action), case, pid) for seq, at, action, case, pid in rows
    ]


def event_id(profile_id: str, seq: int) -> str:
    """The AuditEvent id of event ``seq`` of this profile: the same at every send."""
    return str(uuid.uuid5(_NAMESPACE, f"{profile_id}:{seq}"))


def to_fhir(entry: AuditEntry, *, profile_id: str, practitioner_id: str) -> dict[str, Any]:
    """The FHIR R4 AuditEvent for ``entry`` (docs/exchange.md, "Audit")."""
    code, display, action, lifecycle = _CODING[entry.action]
    entities = [{"what": {"reference": f"Task/{entry.case_id}"}}]
    if entry.patient_id:
        entities.append({"what": {"reference": f"Patient/{entry.patient_id}"}})
    return {
        "resourceType": "AuditEvent",
        "id": event_id(profile_id, entry.seq),
        "type": {"system": _DCM, "code": code, "display": display},
        "subtype": [{"system": _LIFECYCLE, "code": lifecycle}],
        "action": action,
        "recorded": entry.at,
        "outcome": "0",
        "agent": [{"who": {"reference": f"Practitioner/{practitioner_id}"}, "requestor": True}],
        "source": {
            "observer": {"display": "Reviewer desktop"},
            "type": [{"system": _SOURCE_TYPE, "code": "1"}],
        },
        "entity": entities,
    }


def send_pending(vault: Vault, sink: AuditSink, practitioner_id: str) -> int:
    """Send unsent events; mark the accepted ones sent. Returns how many were accepted.

    Network errors propagate (the events stay unsent and go at the next sync).
    """
    entries = unsent(vault)
    if not entries:
        return 0
    profile_id = vault.profile_id
    events = [to_fhir(e, profile_id=profile_id, practitioner_id=practitioner_id) for e in entries]
    refused = set(sink.post_audit_events(events))
    accepted = [e.seq for e in entries if event_id(profile_id, e.seq) not in refused]

    def mark(conn: Any) -> None:
        conn.executemany("UPDATE audit SET sent = 1 WHERE seq = ?", [(s,) for s in accepted])

    vault.write_sync(mark)
    return len(accepted)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
