"""Finishing an opinion: gather what the PDF shows, preview it, sign exactly that, queue
it, export the signed copy, and tell the worklist where each opinion stands.

The order matters for trust: :func:`prepare` reads everything once (the case, the open
draft, the cited evidence, a SHA-256 of each record's exact bytes); :func:`preview`
renders the unsigned PDF the specialist looks at; :func:`sign_and_queue` signs *those*
bytes (pyHanko appends an incremental update, so the signed file begins with exactly the
previewed bytes), puts them in the outbox and closes the draft in one vault transaction.
Nothing rewrites a signed PDF afterwards; :func:`export_signed` copies it unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

from reviewer_app import audit
from reviewer_app.casefile import CaseFile, LabEntry, RecordEntry, StudyEntry, load_case
from reviewer_app.errors import (
    CitationMissing,
    DraftSigned,
    ExportFailed,
    IncompleteOpinion,
)
from reviewer_app.opinion import completeness, outbox
from reviewer_app.opinion.document import OpinionDocument, ReviewedRecord
from reviewer_app.opinion.drafts import (
    DraftKind,
    OpinionDraft,
    Section,
    can_start_opinion,
    load_draft,
    open_draft_kind,
)
from reviewer_app.opinion.evidence import Citation, CitationKind, citation_image, citations
from reviewer_app.opinion.evidence import cited_ids as _cited_ids
from reviewer_app.opinion.keys import SignerInfo, SigningIdentity
from reviewer_app.opinion.outbox import OutboxItem, Receipt, State
from reviewer_app.opinion.signing import Placement, sign_pdf
from reviewer_app.records.document import ENGINE_LOCK
from reviewer_app.vault import Vault

#: Environment variable naming a platform's letterhead folder (replaces resources/).
LETTERHEAD_ENV = "REVIEWER_LETTERHEAD"
_FIGURE_KINDS = frozenset({CitationKind.KEY_IMAGE, CitationKind.TREND})


@dataclass(frozen=True)
class OpinionState:
    """Where a case's opinion stands, for the worklist's Opinion column.

    ``stage``: ``draft`` | ``signed`` (in the outbox, not tried yet) | ``queued``
    (waiting for the connection) | ``uploaded`` | ``conflict`` | ``rejected``.
    """

    case_id: str
    stage: str
    detail: str
    addenda: int


# --- prepare and preview ----------------------------------------------------------------


def prepare(
    vault: Vault, case_id: str, author: SignerInfo, *, now: dt.datetime | None = None
) -> OpinionDocument:
    """Everything the case's open draft's PDF shows, read from the vault once.

    DraftSigned when no draft is open and the opinion is already signed; CaseNotFound if
    the case left the vault; CitationMissing if the draft cites evidence that is gone.
    """
    kind = open_draft_kind(vault, case_id)
    if kind is None:
        if can_start_opinion(vault, case_id):
            kind = DraftKind.OPINION
        else:
            raise DraftSigned()
    draft = load_draft(vault, case_id) or OpinionDraft()
    case = load_case(vault, case_id)
    cited = _cited(vault, case_id, draft)
    figures = {}
    for citation in cited.values():
        if citation.kind in _FIGURE_KINDS:
            image = citation_image(vault, citation)
            if image is not None:
                figures[citation.citation_id] = image
    addendum_to = None
    if kind is DraftKind.ADDENDUM:
        original = outbox.original_opinion(vault.read(), case_id)
        if original is not None:
            addendum_to = (original[0], _parse(original[1]))
    return OpinionDocument(
        kind=kind,
        case_id=case_id,
        case_key=case.display_key,
        patient_name=case.patient.name,
        patient_birth_date=case.patient.birth_date,
        patient_sex=case.patient.sex or None,
        patient_identifiers=tuple(case.patient.identifiers),
        specialty=case.specialty or None,
        clinical_questions=tuple(case.clinical_questions),
        patient_questions=tuple(case.patient_questions),
        draft=draft,
        author=author,
        records=reviewed_records(vault, case),
        citations=cited,
        figures=figures,
        addendum_to=addendum_to,
        created_at=now or dt.datetime.now(dt.UTC),
    )


def cited_ids(draft: OpinionDraft) -> list[str]:
    """The citation ids the draft refers to, in reading order (sections, then answers)."""
    bodies = [draft.text(section) for section in Section] + list(draft.answers)
    return list(dict.fromkeys(i for body in bodies for i in _cited_ids(body)))


def _cited(vault: Vault, case_id: str, draft: OpinionDraft) -> dict[str, Citation]:
    wanted = set(cited_ids(draft))
    # In the case's citation order, which is what numbers them ([1], [2], ...).
    found = {c.citation_id: c for c in citations(vault, case_id) if c.citation_id in wanted}
    if len(found) != len(wanted):
        raise CitationMissing(
            "The draft cites evidence that is no longer in the vault.",
            hint="Remove that reference from the draft, or cite the view again.",
        )
    return found


def reviewed_records(vault: Vault, case: CaseFile) -> tuple[ReviewedRecord, ...]:
    """The appendix: each document (with the SHA-256 of its exact bytes, computed from
    the decrypted vault object chunk by chunk), each lab panel, each imaging study."""
    lines = [_document_line(vault, record) for record in case.records]
    lines += _lab_lines(case.labs)
    lines += [_study_line(study) for study in case.studies]
    return tuple(lines)


def _document_line(vault: Vault, record: RecordEntry) -> ReviewedRecord:
    title = record.title or record.type_display or "Document"
    if record.object_id is None:
        return ReviewedRecord("Document", title, record.date, None, "not downloaded")
    digest = hashlib.sha256()
    chunks = []
    for chunk in vault.objects.open(record.object_id).iter_chunks():
        digest.update(chunk)
        chunks.append(chunk)
    return ReviewedRecord("Document", title, record.date, digest.hexdigest(), _pages(chunks))


def _pages(chunks: list[bytes]) -> str:
    data = b"".join(chunks)
    with ENGINE_LOCK:
        try:
            with pymupdf.open(stream=data, filetype="pdf") as doc:
                count = doc.page_count
        except (pymupdf.FileDataError, RuntimeError, ValueError):
            return f"{len(data)} bytes"
    return "1 page" if count == 1 else f"{count} pages"


def _lab_lines(labs: Iterable[LabEntry]) -> list[ReviewedRecord]:
    panels: dict[str, list[LabEntry]] = {}
    for lab in labs:
        panels.setdefault(lab.panel or lab.name, []).append(lab)
    lines = []
    for panel, entries in panels.items():
        dates = sorted(e.effective for e in entries if e.effective is not None)
        count = f"{len(entries)} result" + ("" if len(entries) == 1 else "s")
        if dates:
            first, last = dates[0].date().isoformat(), dates[-1].date().isoformat()
            count += f", {first}" if first == last else f", {first} to {last}"
        last_date = dates[-1] if dates else None
        lines.append(ReviewedRecord("Laboratory results", panel, last_date, None, count))
    return lines


def _study_line(study: StudyEntry) -> ReviewedRecord:
    modalities = "/".join(study.modalities)
    title = study.description or modalities or "Imaging study"
    images = sum(s.instance_count for s in study.series)
    parts = [
        modalities,
        f"{len(study.series)} series",
        f"{images} image" + ("" if images == 1 else "s"),
        f"StudyInstanceUID {study.study_uid}",
    ]
    if study.source == "import":
        parts.append("imported from the patient's disc")
    detail = ", ".join(p for p in parts if p)
    return ReviewedRecord("Imaging study", title, study.started, None, detail)


def preview(doc: OpinionDocument) -> bytes:
    """The unsigned PDF of ``doc`` on the letterhead (the platform's, if set): the exact
    bytes :func:`sign_and_queue` is to sign."""
    from reviewer_app.opinion import export  # the renderer (and its fonts) load on first use

    override = os.environ.get(LETTERHEAD_ENV)
    return export.render_pdf(doc, export.letterhead(Path(override) if override else None))


# --- sign and queue -----------------------------------------------------------------------


def sign_and_queue(
    vault: Vault,
    case_id: str,
    pdf: bytes,
    identity: SigningIdentity,
    patient_questions: Sequence[str],
) -> OutboxItem:
    """Sign exactly ``pdf`` (what the specialist previewed) and put it in the outbox.

    The draft is checked again first: IncompleteOpinion lists what is missing and
    nothing is signed. Queuing, closing the draft (kept read-only) and the SIGN audit
    event happen in one transaction. DraftSigned if no draft is open.
    """
    kind = open_draft_kind(vault, case_id)
    if kind is None:
        raise DraftSigned()
    draft = load_draft(vault, case_id) or OpinionDraft()
    findings = completeness.check(draft, patient_questions, kind)
    if findings:
        raise IncompleteOpinion([f.message for f in findings])
    reason = "Addendum to second opinion" if kind is DraftKind.ADDENDUM else "Second opinion"
    signed = sign_pdf(pdf, identity, reason=reason, placement=_placement())
    signed_at = dt.datetime.now(dt.UTC)
    if kind is DraftKind.ADDENDUM:
        return outbox.queue_addendum(vault, case_id, signed, signed_at=signed_at, close_draft=True)
    return outbox.queue_opinion(vault, case_id, signed, signed_at=signed_at, close_draft=True)


def _placement() -> Placement:
    """The signature block goes in the space the renderer keeps free on the last page."""
    from reviewer_app.opinion.export import SIGNATURE_BOX

    return Placement(page=-1, box=SIGNATURE_BOX)


# --- export -------------------------------------------------------------------------------


def export_signed(vault: Vault, item_id: str, destination: Path) -> None:
    """Write the signed PDF of outbox item ``item_id``, byte for byte, to
    ``destination`` (where the user chose), replacing it atomically; record EXPORT.

    HashMismatch if the vault's copy is damaged (nothing is written); ExportFailed if
    the place cannot be written (nothing is left behind there).
    """
    item = outbox.get(vault, item_id)
    data = outbox.signed_pdf(vault, item_id)
    _write_atomically(destination, data)
    audit.record(vault, audit.AuditAction.EXPORT, item.case_id).result()


def _write_atomically(destination: Path, data: bytes) -> None:
    folder = destination.parent
    partial = folder / f".{destination.name}.{uuid.uuid4().hex[:8]}.part"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, destination)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ExportFailed(f"The signed opinion could not be written ({exc.strerror}).") from None
    with contextlib.suppress(OSError):
        # Make the rename itself durable; some file systems cannot open a directory.
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --- the worklist -------------------------------------------------------------------------


def opinion_states(vault: Vault) -> dict[str, OpinionState]:
    """Each case's opinion stage (cases with neither draft nor opinion are left out),
    read in one query."""
    rows = (
        vault.read()
        .execute(
            "SELECT case_id, 'outbox', kind, state, attempts, message, last_error, receipt, "
            "created_at FROM outbox WHERE kind IN ('opinion', 'addendum') "
            "AND opinion_id IS NOT NULL "
            "UNION ALL SELECT case_id, 'draft', kind, state, NULL, NULL, NULL, NULL, "
            "COALESCE(updated_at, created_at) FROM drafts WHERE sections IS NOT NULL "
            "ORDER BY 1, 9"
        )
        .fetchall()
    )
    by_case: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_case.setdefault(row[0], []).append(row)
    states = {}
    for case_id, case_rows in by_case.items():
        state = _state(case_id, case_rows)
        if state is not None:
            states[case_id] = state
    return states


def _state(case_id: str, rows: list[tuple[Any, ...]]) -> OpinionState | None:
    sent = [r for r in rows if r[1] == "outbox"]
    opinions = [r for r in sent if r[2] == DraftKind.OPINION]
    addenda = [r for r in sent if r[2] == DraftKind.ADDENDUM]
    open_drafts = [r for r in rows if r[1] == "draft" and r[3] == "open"]
    if not opinions:
        if not open_drafts:
            return None
        return OpinionState(case_id, "draft", f"Saved {_local(open_drafts[-1][8])}", 0)
    stage, detail = _item_stage(opinions[-1])
    pending = [r for r in addenda if r[3] != State.UPLOADED]
    if stage == "uploaded" and pending:
        # The opinion arrived; what still needs the specialist is the addendum.
        stage, addendum_detail = _item_stage(pending[-1])
        detail = f"Addendum: {addendum_detail}"
    elif open_drafts and open_drafts[-1][2] == DraftKind.ADDENDUM:
        detail += " · addendum being written"
    return OpinionState(case_id, stage, detail, len(addenda))


def _item_stage(row: tuple[Any, ...]) -> tuple[str, str]:
    state, attempts, message, error, receipt = State(row[3]), row[4] or 0, row[5], row[6], row[7]
    if state is State.UPLOADED:
        if receipt:
            got = Receipt(**json.loads(receipt))
            return "uploaded", f"{got.document_reference} · {_local(got.uploaded_at)}"
        return "uploaded", "Sent"
    if state is State.QUEUED:
        if attempts == 0:
            return "signed", f"Signed {_local(row[8])}, not sent yet"
        reason = (error or "").partition(": ")[2] or "the platform could not be reached"
        return "queued", f"Waiting to be sent ({attempts} attempts): {reason}"
    return str(state), message or ""


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local(stamp: str) -> str:
    """A stored UTC time as the specialist's local date and minute."""
    return _parse(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
