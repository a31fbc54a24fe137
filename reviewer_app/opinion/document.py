"""What a signed opinion shows: everything the PDF needs, gathered once by
``finalize.prepare`` so that rendering reads no vault and the preview is exactly what
gets signed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from reviewer_app.opinion.drafts import DraftKind, OpinionDraft
from reviewer_app.opinion.evidence import Citation
from reviewer_app.opinion.keys import SignerInfo


@dataclass(frozen=True)
class ReviewedRecord:
    """One line of the appendix: a record the specialist reviewed."""

    kind: str  # "Document" | "Laboratory results" | "Imaging study"
    title: str
    date: dt.datetime | dt.date | None
    sha256: str | None  # documents: SHA-256 of the exact bytes reviewed
    detail: str  # e.g. "3 pages", "42 results, 2026-01-03 to 2026-05-01"


@dataclass(frozen=True)
class OpinionDocument:
    """Everything the opinion PDF shows (built by ``finalize.prepare``)."""

    kind: DraftKind
    case_id: str
    case_key: str
    patient_name: str
    patient_birth_date: dt.date | None
    patient_sex: str | None
    patient_identifiers: tuple[str, ...]
    specialty: str | None
    clinical_questions: tuple[str, ...]
    patient_questions: tuple[str, ...]
    draft: OpinionDraft
    author: SignerInfo  # name, credentials, licence (from the signing certificate)
    records: tuple[ReviewedRecord, ...]
    citations: Mapping[str, Citation]  # by id, those cited in the draft
    figures: Mapping[str, bytes]  # citation_id -> PNG, for KEY_IMAGE/TREND citations
    addendum_to: tuple[str, dt.datetime] | None  # (original opinion_id, signed_at)
    created_at: dt.datetime
