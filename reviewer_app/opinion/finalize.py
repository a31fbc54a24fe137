"""Finishing an opinion: gather what the PDF shows, preview it, sign exactly that, queue
it, and export the signed copy (where each opinion stands is ``states``).

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
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

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
from reviewer_app.opinion.outbox import OutboxItem
from reviewer_app.opinion.signing import Placement, sign_pdf
from reviewer_app.records.document import ENGINE_LOCK
from reviewer_app.vault import Vault

#: Environment variable naming a platform's letterhead folder (replaces resources/).
LETTERHEAD_ENV = "REVIEWER_LETTERHEAD"
_FIGURE_KINDS = frozenset({CitationKind.KEY_IMAGE, CitationKind.TREND})


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


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
