"""The outbox: signed opinions waiting to go to the platform, each uploaded exactly once.

Queuing stores the signed PDF as an encrypted vault object (never modified afterwards)
and mints the opinion's identifier (``urn:uuid:…``) once; every retry sends the same
transaction (docs/exchange.md, "Opinion upload"): the DocumentReference is created
with ``ifNoneExist`` on that identifier, so a retry after a lost reply cannot make a
second one, and the Task update carries ``ifMatch`` with the version the specialist
worked on. A 412 is first checked against the server (did the lost attempt succeed?)
before it is shown as a conflict.

An addendum (a correction or follow-up signed after the opinion) is an outbox item of
kind ``addendum``: its DocumentReference ``appends`` to the opinion by the opinion's
identifier, it leaves the Task alone (no ``ifMatch``, no Task entry), and it is sent
only after its opinion is uploaded.

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
    AddendumNotAllowed,
    CaseNotFound,
    DraftSigned,
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
from reviewer_app.opinion.drafts import DraftKind, mark_signed
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

log = logging.getLogger(__name__)

KIND = "opinion"
ADDENDUM_KIND = "addendum"
_KINDS = (KIND, ADDENDUM_KIND)
PDF_KIND = "opinion-pdf"
_RFC3986 = "urn:ietf:rfc:3986"
_NAMESPACE = uuid.UUID("0e6f3f0a-4f55-4d7e-8d1c-6a9b2f1d7c35")
_LOCATION = re.compile(r"DocumentReference/([A-Za-z0-9\-.]{1,64})(?:/_history/([^/]+))?")

CONFLICT_MESSAGE = (
    "The case changed on the platform after you signed. Your opinion is kept; review the "
    "case and send it again."
)
ORIGINAL_REJECTED_MESSAGE = (
    "The platform refused the opinion this addendum adds to, so the addendum cannot be sent."
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
    #: ``opinion`` or ``addendum``.
    kind: str = KIND
    #: For an addendum: the identifier of the opinion it appends to.
    relates_to: str | None = None


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
    close_draft: bool = False,
) -> OutboxItem:
    """Put a signed opinion in the outbox for the case, answering the Task version the
    vault has now. OpinionAlreadyQueued if one is still waiting for this case.

    The referral it answers is the one the sync keeps for the case (``referral_id`` is
    used only when the sync has none). With ``close_draft`` the case's open draft is
    marked signed and the SIGN audit event recorded in the same transaction.
    """
    return _queue(vault, case_id, signed_pdf, KIND, signed_at, referral_id, close_draft=close_draft)


def queue_addendum(
    vault: Vault,
    case_id: str,
    signed_pdf: bytes,
    *,
    signed_at: dt.datetime,
    close_draft: bool = False,
) -> OutboxItem:
    """Put a signed addendum in the outbox; it appends to the case's opinion.

    AddendumNotAllowed if the case has no signed opinion the platform did not refuse;
    OpinionAlreadyQueued while another addendum to it is still waiting.
    """
    return _queue(
        vault, case_id, signed_pdf, ADDENDUM_KIND, signed_at, None, close_draft=close_draft
    )


def original_opinion(conn: Connection, case_id: str) -> tuple[str, str] | None:
    """(opinion identifier, signed_at) of the case's opinion an addendum appends to."""
    row = conn.execute(
        "SELECT opinion_id, signed_at FROM outbox WHERE case_id = ? AND kind = ? "
        "AND opinion_id IS NOT NULL AND state != ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (case_id, KIND, State.REJECTED),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def _queue(  # noqa: PLR0917 (private; the two public functions name everything)
    vault: Vault,
    case_id: str,
    signed_pdf: bytes,
    kind: str,
    signed_at: dt.datetime,
    referral_id: str | None,
    *,
    close_draft: bool,
) -> OutboxItem:
    if not signed_pdf.startswith(b"%PDF-"):
        raise NotAPdf()
    conn = vault.read()
    relates_to = _relates_to(conn, case_id, kind)
    if _active(conn, case_id, kind, relates_to):
        raise OpinionAlreadyQueued()
    ref = vault.objects.put(signed_pdf, kind=PDF_KIND)
    item_id = uuid.uuid4().hex
    opinion_id = f"urn:uuid:{uuid.uuid4()}"
    now = _stamp(dt.datetime.now(dt.UTC))

    def write(conn: Connection) -> None:
        task = conn.execute(
            "SELECT patient_id, task_version, case_key, referral_id FROM case_sync "
            "WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        if task is None or not task[0] or not task[1]:
            raise CaseNotFound()
        target = _relates_to(conn, case_id, kind)
        if _active(conn, case_id, kind, target):
            raise OpinionAlreadyQueued()
        conn.execute(
            "INSERT INTO outbox (item_id, case_id, kind, object_id, state, attempts, "
            "created_at, updated_at, opinion_id, pdf_sha256, patient_id, referral_id, "
            "task_version, case_key, signed_at, relates_to) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?)",
            (
                item_id,
                case_id,
                kind,
                ref.object_id,
                State.QUEUED,
                now,
                now,
                opinion_id,
                hashlib.sha256(signed_pdf).hexdigest(),
                task[0],
                task[3] or referral_id,
                task[1],
                task[2],
                _stamp(signed_at),
                target,
            ),
        )
        if close_draft:
            if mark_signed(conn, case_id, item_id) != DraftKind(kind):
                raise DraftSigned("The draft open for this case is not the one signed.")
            audit.write_event(conn, audit.AuditAction.SIGN, case_id, at=signed_at)

    try:
        vault.write_sync(write)
    except BaseException:
        vault.objects.shred([ref.object_id])
        raise
    return get(vault, item_id)


def _relates_to(conn: Connection, case_id: str, kind: str) -> str | None:
    if kind != ADDENDUM_KIND:
        return None
    original = original_opinion(conn, case_id)
    if original is None:
        raise AddendumNotAllowed("An addendum needs a signed opinion for this case.")
    return original[0]


def _active(conn: Connection, case_id: str, kind: str, relates_to: str | None) -> bool:
    """Whether an item of the same kind and target is still on its way (queued or in
    conflict): an opinion's target is its case, an addendum's the opinion it appends to."""
    row = conn.execute(
        "SELECT 1 FROM outbox WHERE case_id = ? AND kind = ? AND relates_to IS ? "
        "AND state IN (?, ?)",
        (case_id, kind, relates_to, State.QUEUED, State.CONFLICT),
    ).fetchone()
    return row is not None


_COLUMNS = (
    "item_id, case_id, opinion_id, object_id, state, attempts, last_error, message, receipt, "
    "kind, relates_to"
)


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
    """Outbox opinions and addenda (of one case, or all), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM outbox WHERE kind IN (?, ?) AND opinion_id IS NOT NULL"
    params: tuple[str, ...] = _KINDS
    if case_id is not None:
        sql += " AND case_id = ?"
        params += (case_id,)
    rows = vault.read().execute(sql + " ORDER BY created_at, rowid", params).fetchall()
    return [_item(r) for r in rows]


def _item(row: tuple[Any, ...]) -> OutboxItem:
    receipt = Receipt(**json.loads(row[8])) if row[8] else None
    return OutboxItem(
        row[0],
        row[1],
        row[2],
        row[3],
        State(row[4]),
        row[5] or 0,
        row[6],
        row[7],
        receipt,
        row[9] or KIND,
        row[10],
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
    """The transaction Bundle for one opinion or addendum; the same on every retry."""
    (
        case_id,
        opinion_id,
        patient_id,
        referral_id,
        version,
        case_key,
        signed_at,
        created_at,
        kind,
        relates_to,
    ) = (
        vault.read()
        .execute(
            "SELECT case_id, opinion_id, patient_id, referral_id, task_version, case_key, "
            "signed_at, created_at, kind, relates_to FROM outbox WHERE item_id = ?",
            (item_id,),
        )
        .fetchone()
    )
    addendum = kind == ADDENDUM_KIND
    title = "Addendum to second opinion" if addendum else "Second opinion"
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
        "description": title,
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
                    "title": f"{title} {case_key or case_id}",
                    "creation": signed_at,
                }
            }
        ],
    }
    if addendum:
        document["relatesTo"] = [
            {"code": "appends", "target": {"identifier": {"system": _RFC3986, "value": relates_to}}}
        ]
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
    entries: list[dict[str, Any]] = [
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
    ]
    if not addendum:
        # The platform takes only status and output from the Task update and keeps the
        # rest. An addendum leaves the Task as its opinion completed it.
        task = {
            "resourceType": "Task",
            "id": case_id,
            "status": "completed",
            "output": [{"type": {"text": "opinion"}, "valueReference": {"reference": opinion_id}}],
        }
        entries.append(
            {
                "fullUrl": f"Task/{case_id}",
                "resource": task,
                "request": {"method": "PUT", "url": f"Task/{case_id}", "ifMatch": f'W/"{version}"'},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def drain(
    vault: Vault,
    fhir: OpinionTransport,
    practitioner_id: str,
    *,
    retry: RetryPolicy | None = None,
) -> DrainReport:
    """Upload every queued opinion and addendum, oldest first (see module for the outcomes).

    Transient failures are retried with ``retry``; when they persist the item stays
    queued and the drain stops (the next items would meet the same network). An addendum
    waits while its opinion is not uploaded. A SignInRequired propagates with the item
    still queued.
    """
    policy = retry or RetryPolicy(max_attempts=3)
    report: dict[str, list[str]] = {s: [] for s in State}
    queued = [i for i in items(vault) if i.state is State.QUEUED]
    for position, item in enumerate(queued):
        item_id = item.item_id
        state = _original_state(vault, item)
        if state is State.UPLOADED:
            state = _upload_one(vault, fhir, practitioner_id, item_id, policy)
        elif state is State.REJECTED:
            _finish(vault, item_id, 0, State.REJECTED, message=ORIGINAL_REJECTED_MESSAGE)
        else:
            report[State.QUEUED].append(item_id)
            continue
        report[state].append(item_id)
        if state is State.QUEUED:
            report[State.QUEUED].extend(i.item_id for i in queued[position + 1 :])
            break
    return DrainReport(
        uploaded=tuple(report[State.UPLOADED]),
        conflicts=tuple(report[State.CONFLICT]),
        rejected=tuple(report[State.REJECTED]),
        still_queued=tuple(report[State.QUEUED]),
    )


def _original_state(vault: Vault, item: OutboxItem) -> State:
    """For an addendum, the state of the opinion it appends to; an opinion goes as is
    (reported as UPLOADED here: nothing holds it back)."""
    if item.kind != ADDENDUM_KIND:
        return State.UPLOADED
    row = (
        vault.read()
        .execute(
            "SELECT state FROM outbox WHERE opinion_id = ? AND kind = ?", (item.relates_to, KIND)
        )
        .fetchone()
    )
    # An opinion no longer in the vault was sent before this vault kept addenda.
    return State.UPLOADED if row is None else State(row[0])


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
            return Receipt(f"DocumentReference/{found}", None, now_stamp())
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
    return Receipt(f"DocumentReference/{match.group(1)}", version, now_stamp())


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
                now_stamp(),
                item_id,
            ),
        )
        if state is State.UPLOADED:
            (case_id,) = conn.execute(
                "SELECT case_id FROM outbox WHERE item_id = ?", (item_id,)
            ).fetchone()
            audit.write_event(conn, audit.AuditAction.UPLOAD, case_id)

    vault.write_sync(write)


def now_stamp() -> str:
    """The current UTC time as the outbox stores it (``2026-11-29T14:02:31Z``)."""
    return _stamp(dt.datetime.now(dt.UTC))


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
