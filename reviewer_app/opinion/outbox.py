"""The outbox: signed opinions waiting to go to the platform, each uploaded exactly once.

Queuing stores the signed PDF as an encrypted vault object (never modified afterwards)
and mints the opinion's identifier (``urn:uuid:…``) once; every retry sends the same
transaction (docs/exchange.md, "Opinion upload"): the DocumentReference is created
with ``ifNoneExist`` on that identifier, so a retry after a lost reply cannot make a
second one, and the Task update carries ``ifMatch`` with the version the specialist
worked on. A 412 is first checked against the server (did the lost attempt succeed?)
before it is shown as a conflict.

States: ``queued`` → ``uploaded`` (receipt kept) | ``conflict`` (the case changed; the
opinion is kept and can be sent again with :func:`resend`) | ``rejected`` (the platform
refused it, with the reason). Network trouble and 5xx leave it ``queued``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol

from reviewer_app import audit
from reviewer_app.errors import (
    CaseNotFound,
    HashMismatch,
    MalformedServerData,
    NotAPdf,
    OpinionAlreadyQueued,
    ReviewerError,
    ServerError,
    SignInRequired,
    VersionConflict,
)
from reviewer_app.exchange.http import RetryPolicy, is_retryable
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

log = logging.getLogger(__name__)

KIND = "opinion"
PDF_KIND = "opinion-pdf"
_RFC3986 = "urn:ietf:rfc:3986"
_NAMESPACE = uuid.UUID("0e6f3f0a-4f55-4d7e-8d1c-6a9b2f1d7c35")
_LOCATION = re.compile(r"DocumentReference/([A-Za-z0-9\-.]{1,64})(?:/_history/([^/]+))?")

CONFLICT_MESSAGE = (
    "The case changed on the platform after you signed. Your opinion is kept; review the "
    "case and send it again."
)
#: Why the platform refuses an opinion, by status (docs/exchange.md, "Errors").
_REJECTED = {
    400: "The platform found the opinion invalid.",
    403: "This case is no longer assigned to you.",
    404: "The case no longer exists on the platform.",
    409: "The case is closed (withdrawn, rejected or already completed).",
    428: "The platform needs the case version; please sync and send again.",
}


class State(StrEnum):
    """Where an opinion is on its way to the platform."""

    QUEUED = "queued"
    UPLOADED = "uploaded"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Receipt:
    """What the platform answered: the DocumentReference it keeps."""

    document_reference: str
    version: str | None
    uploaded_at: str


@dataclass(frozen=True)
class OutboxItem:
    """One opinion in the outbox."""

    item_id: str
    case_id: str
    opinion_id: str
    object_id: str
    state: State
    attempts: int
    last_error: str | None
    message: str | None
    receipt: Receipt | None


class OpinionTransport(Protocol):
    """What the outbox needs from ``FhirClient``."""

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]: ...

    def find_opinion(self, identifier: str) -> str | None: ...


@dataclass(frozen=True)
class DrainReport:
    """How one drain went: item ids by outcome."""

    uploaded: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    still_queued: tuple[str, ...] = ()


def queue_opinion(
    vault: Vault,
    case_id: str,
    signed_pdf: bytes,
    *,
    signed_at: dt.datetime,
    referral_id: str | None = None,
) -> OutboxItem:
    """Put a signed opinion in the outbox for the case, answering the Task version the
    vault has now. OpinionAlreadyQueued if one is still waiting for this case."""
    if not signed_pdf.startswith(b"%PDF-"):
        raise NotAPdf()
    conn = vault.read()
    if _active(conn, case_id):
        raise OpinionAlreadyQueued()
    ref = vault.objects.put(signed_pdf, kind=PDF_KIND)
    item_id = uuid.uuid4().hex
    opinion_id = f"urn:uuid:{uuid.uuid4()}"
    now = _stamp(dt.datetime.now(dt.UTC))

    def write(conn: Connection) -> None:
        task = conn.execute(
            "SELECT patient_id, task_version, case_key FROM case_sync WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        if task is None or not task[0] or not task[1]:
            raise CaseNotFound()
        if _active(conn, case_id):
            raise OpinionAlreadyQueued()
        conn.execute(
            "INSERT INTO outbox (item_id, case_id, kind, object_id, state, attempts, "
            "created_at, updated_at, opinion_id, pdf_sha256, patient_id, referral_id, "
            "task_version, case_key, signed_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            (
                item_id,
                case_id,
                KIND,
                ref.object_id,
                State.QUEUED,
                now,
                now,
                opinion_id,
                hashlib.sha256(signed_pdf).hexdigest(),
                task[0],
                referral_id,
                task[1],
                task[2],
                _stamp(signed_at),
            ),
        )

    try:
        vault.write_sync(write)
    except BaseException:
        vault.objects.shred([ref.object_id])
        raise
    return get(vault, item_id)


def _active(conn: Connection, case_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM outbox WHERE case_id = ? AND kind = ? AND state IN (?, ?)",
        (case_id, KIND, State.QUEUED, State.CONFLICT),
    ).fetchone()
    return row is not None


_COLUMNS = "item_id, case_id, opinion_id, object_id, state, attempts, last_error, message, receipt"


def get(vault: Vault, item_id: str) -> OutboxItem:
    """One outbox item by id (KeyError if unknown: a caller's bug)."""
    row = (
        vault.read()
        .execute(f"SELECT {_COLUMNS} FROM outbox WHERE item_id = ?", (item_id,))
        .fetchone()
    )
    if row is None:
        raise KeyError(item_id)
    return _item(row)


def items(vault: Vault, case_id: str | None = None) -> list[OutboxItem]:
    """Outbox opinions (of one case, or all), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE kind = ? AND opinion_id IS NOT NULL"
    params: tuple[str, ...] = (KIND,)
    if case_id is not None:
        sql += " AND case_id = ?"
        params += (case_id,)
    rows = vault.read().execute(sql + " ORDER BY created_at, rowid", params).fetchall()
    return [_item(r) for r in rows]


def _item(row: tuple[Any, ...]) -> OutboxItem:
    receipt = Receipt(**json.loads(row[8])) if row[8] else None
    return OutboxItem(
        row[0], row[1], row[2], row[3], State(row[4]), row[5] or 0, row[6], row[7], receipt
    )


def signed_pdf(vault: Vault, item_id: str) -> bytes:
    """The signed PDF as queued; HashMismatch if the stored bytes no longer match."""
    object_id, expected = (
        vault.read()
        .execute("SELECT object_id, pdf_sha256 FROM outbox WHERE item_id = ?", (item_id,))
        .fetchone()
    )
    data = vault.objects.read_bytes(object_id)
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), expected):
        raise HashMismatch("The stored signed opinion is damaged.")
    return data


def resend(vault: Vault, item_id: str) -> OutboxItem:
    """After a conflict the specialist reviewed: queue the opinion again, against the
    Task version the vault has now (the same opinion identifier, so still at most once)."""

    def write(conn: Connection) -> None:
        row = conn.execute(
            "SELECT s.task_version FROM outbox o JOIN case_sync s ON s.case_id = o.case_id "
            "WHERE o.item_id = ? AND o.state = ?",
            (item_id, State.CONFLICT),
        ).fetchone()
        if row is None:
            raise CaseNotFound()
        conn.execute(
            "UPDATE outbox SET state = ?, task_version = ?, message = NULL, last_error = NULL, "
            "updated_at = ? WHERE item_id = ?",
            (State.QUEUED, row[0], _stamp(dt.datetime.now(dt.UTC)), item_id),
        )

    vault.write_sync(write)
    return get(vault, item_id)


def build_bundle(vault: Vault, item_id: str, practitioner_id: str) -> dict[str, Any]:
    """The transaction Bundle for one opinion; the same on every retry."""
    (case_id, opinion_id, patient_id, referral_id, version, case_key, signed_at, created_at) = (
        vault.read()
        .execute(
            "SELECT case_id, opinion_id, patient_id, referral_id, task_version, case_key, "
            "signed_at, created_at FROM outbox WHERE item_id = ?",
            (item_id,),
        )
        .fetchone()
    )
    pdf = signed_pdf(vault, item_id)
    practitioner = {"reference": f"Practitioner/{practitioner_id}"}
    related = [{"reference": f"Task/{case_id}"}]
    if referral_id:
        related.append({"reference": f"ServiceRequest/{referral_id}"})
    document = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": _RFC3986, "value": opinion_id}],
        "status": "current",
        "docStatus": "final",
        "type": {
            "coding": [{"system": "http://loinc.org", "code": "11488-4", "display": "Consult note"}]
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": signed_at,
        "author": [practitioner],
        "description": "Second opinion",
        "context": {"related": related},
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "data": base64.b64encode(pdf).decode("ascii"),
                    "size": len(pdf),
                    "hash": base64.b64encode(
                        hashlib.sha1(pdf, usedforsecurity=False).digest()
                    ).decode("ascii"),
                    "title": f"Second opinion {case_key or case_id}",
                    "creation": signed_at,
                }
            }
        ],
    }
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": opinion_id}],
        "recorded": created_at,
        "activity": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                    "code": "CREATE",
                }
            ]
        },
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/"
                            "provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": practitioner,
            }
        ],
        "signature": [
            {
                "type": [
                    {
                        "system": "urn:iso-astm:E1762-95:2013",
                        "code": "1.2.840.10065.1.12.1.1",
                        "display": "Author's Signature",
                    }
                ],
                "when": signed_at,
                "who": practitioner,
                "sigFormat": "application/pdf",
            }
        ],
    }
    # The platform takes only status and output from the Task update and keeps the rest.
    task = {
        "resourceType": "Task",
        "id": case_id,
        "status": "completed",
        "output": [{"type": {"text": "opinion"}, "valueReference": {"reference": opinion_id}}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": opinion_id,
                "resource": document,
                "request": {
                    "method": "POST",
                    "url": "DocumentReference",
                    "ifNoneExist": f"identifier={_RFC3986}|{opinion_id}",
                },
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, opinion_id)}",
                "resource": provenance,
                "request": {"method": "POST", "url": "Provenance"},
            },
            {
                "fullUrl": f"Task/{case_id}",
                "resource": task,
                "request": {"method": "PUT", "url": f"Task/{case_id}", "ifMatch": f'W/"{version}"'},
            },
        ],
    }


def drain(
    vault: Vault,
    fhir: OpinionTransport,
    practitioner_id: str,
    *,
    retry: RetryPolicy | None = None,
) -> DrainReport:
    """Upload every queued opinion, oldest first (see module for the outcomes).

    Transient failures are retried with ``retry``; when they persist the opinion stays
    queued and the drain stops (the next opinions would meet the same network). A
    SignInRequired propagates with the opinion still queued.
    """
    policy = retry or RetryPolicy(max_attempts=3)
    report: dict[str, list[str]] = {s: [] for s in State}
    queued = [i.item_id for i in items(vault) if i.state is State.QUEUED]
    for position, item_id in enumerate(queued):
        state = _upload_one(vault, fhir, practitioner_id, item_id, policy)
        report[state].append(item_id)
        if state is State.QUEUED:
            report[State.QUEUED].extend(queued[position + 1 :])
            break
    return DrainReport(
        uploaded=tuple(report[State.UPLOADED]),
        conflicts=tuple(report[State.CONFLICT]),
        rejected=tuple(report[State.REJECTED]),
        still_queued=tuple(report[State.QUEUED]),
    )


def _upload_one(
    vault: Vault, fhir: OpinionTransport, practitioner_id: str, item_id: str, policy: RetryPolicy
) -> State:
    bundle = build_bundle(vault, item_id, practitioner_id)
    opinion_id = bundle["entry"][0]["fullUrl"]
    tries = 0

    def attempt() -> Receipt | None:
        nonlocal tries
        tries += 1
        try:
            answer = fhir.transaction(bundle)
        except VersionConflict:
            # A lost reply to an earlier attempt that succeeded looks like this too.
            found = fhir.find_opinion(opinion_id)
            if found is None:
                return None
            return Receipt(f"DocumentReference/{found}", None, _now())
        return _receipt(answer)

    try:
        receipt = policy.run(attempt)
    except SignInRequired:
        _record_failure(vault, item_id, tries - 1, None, None)
        raise
    except ServerError as exc:
        if is_retryable(exc):
            return _record_failure(vault, item_id, tries, exc, None)
        message = _REJECTED.get(exc.status, f"The platform refused the opinion ({exc.status}).")
        return _record_failure(vault, item_id, tries, exc, message)
    except ReviewerError as exc:
        # Network trouble, or an answer we could not read: the transaction may have
        # happened; the next try finds out (ifNoneExist, then the 412 check).
        return _record_failure(vault, item_id, tries, exc, None)
    if receipt is None:
        _finish(vault, item_id, tries, State.CONFLICT, message=CONFLICT_MESSAGE)
        return State.CONFLICT
    _finish(vault, item_id, tries, State.UPLOADED, receipt=receipt)
    return State.UPLOADED


def _receipt(answer: dict[str, Any]) -> Receipt:
    response = answer["entry"][0]["response"]
    match = _LOCATION.search(str(response.get("location", "")))
    if match is None:
        raise MalformedServerData("Bundle", "entry.response.location", "no DocumentReference")
    version = match.group(2)
    return Receipt(f"DocumentReference/{match.group(1)}", version, _now())


def _record_failure(
    vault: Vault, item_id: str, tries: int, exc: ReviewerError | None, rejected: str | None
) -> State:
    error = None if exc is None else f"{type(exc).__name__}: {exc.message}"
    if rejected is not None:
        _finish(vault, item_id, tries, State.REJECTED, message=rejected, error=error)
        return State.REJECTED
    if exc is not None:
        log.warning("opinion not sent yet: %s", type(exc).__name__)
    _finish(vault, item_id, tries, State.QUEUED, error=error)
    return State.QUEUED


def _finish(
    vault: Vault,
    item_id: str,
    tries: int,
    state: State,
    *,
    receipt: Receipt | None = None,
    message: str | None = None,
    error: str | None = None,
) -> None:
    def write(conn: Connection) -> None:
        conn.execute(
            "UPDATE outbox SET state = ?, attempts = COALESCE(attempts, 0) + ?, "
            "last_error = COALESCE(?, last_error), message = ?, "
            "receipt = COALESCE(?, receipt), updated_at = ? WHERE item_id = ?",
            (
                state,
                max(tries, 0),
                error,
                message,
                None if receipt is None else json.dumps(asdict(receipt)),
                _now(),
                item_id,
            ),
        )
        if state is State.UPLOADED:
            (case_id,) = conn.execute(
                "SELECT case_id FROM outbox WHERE item_id = ?", (item_id,)
            ).fetchone()
            audit.write_event(conn, audit.AuditAction.UPLOAD, case_id)

    vault.write_sync(write)


def _now() -> str:
    return _stamp(dt.datetime.now(dt.UTC))


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
