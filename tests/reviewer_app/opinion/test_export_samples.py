"""Synthetic opinion documents for the export tests and bench/sign_export.py (no tests
here: the builders are shared). Names, cases and values are invented."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

import pymupdf

from reviewer_app.opinion.document import OpinionDocument, ReviewedRecord
from reviewer_app.opinion.drafts import DraftKind, OpinionDraft, Section, Verdict
from reviewer_app.opinion.evidence import Citation, CitationKind
from reviewer_app.opinion.keys import SignerInfo

CREATED = dt.datetime(2026, 11, 29, 14, 2, tzinfo=dt.UTC)
AUTHOR = SignerInfo(
    name="Dr Ilse Vantongeren",
    credentials="MD PhD, Consultant Haematologist",
    licence="SYN-44021",
    not_after="2027-11-29",
)
ARABIC = "المريض يعاني من فقر الدم"
CHINESE = "患者贫血，建议复查血常规"


def png(width: int = 256, height: int = 256, shade: int = 40) -> bytes:
    """A synthetic grey-gradient image (a stand-in for a key image or trend plot)."""
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, width, height), False)
    pix.set_rect(pix.irect, (shade,))
    for y in range(0, height, 8):
        pix.set_rect(pymupdf.IRect(0, y, width, y + 4), ((shade + y) % 256,))
    return bytes(pix.tobytes("png"))


def citation(kind: CitationKind, label: str, ref: str) -> Citation:
    return Citation(
        citation_id=uuid.uuid4().hex,
        case_id="case-1",
        kind=kind,
        ref=ref,
        label=label,
        view={},
        image_object_id=None,
        created_at=CREATED,
    )


def anchor(c: Citation, number: int) -> str:
    return f'<a href="cite:{c.citation_id}">[{number}]</a>'


def lab_table(rows: int) -> str:
    """A table as QTextEdit writes it, with a header row."""
    body = "".join(
        f"<tr><td><p>2026-{1 + i % 12:02d}-{1 + i % 28:02d}</p></td><td><p>Haemoglobin</p></td>"
        f"<td><p>{9 + (i % 30) / 10:.1f} g/dL</p></td></tr>"
        for i in range(rows)
    )
    return (
        '<table border="1" cellspacing="0" cellpadding="2"><thead><tr><th><p>Date</p></th>'
        "<th><p>Test</p></th><th><p>Result</p></th></tr></thead>" + body + "</table>"
    )


def qt_html(*paragraphs: str) -> str:
    """Paragraphs wrapped the way QTextEdit.toHtml() wraps them."""
    body = "".join(
        '<p style=" margin-top:0px; margin-bottom:0px; margin-left:0px; -qt-block-indent:0; '
        f'text-indent:0px;">{p}</p>'
        for p in paragraphs
    )
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"><html><head><meta name="qrichtext" '
        'content="1" /><style type="text/css">p, li { white-space: pre-wrap; }</style></head>'
        "<body style=\" font-family:'Sans Serif'; font-size:10pt;\">" + body + "</body></html>"
    )


def sample_document(
    *,
    pages_of_text: int = 1,
    key_images: int = 2,
    table_rows: int = 12,
    kind: DraftKind = DraftKind.OPINION,
    patient_name: str = "Marta Kowalczyk-Synthetic",
    extra: str = "",
    records: int = 4,
) -> OpinionDocument:
    """An opinion citing a document page, a lab value, a trend and ``key_images`` key
    images; ``pages_of_text`` adds filler paragraphs, ``table_rows`` a lab table."""
    page = citation(CitationKind.PAGE, "Discharge summary (2026-03-02), page 3", "record:r1#3")
    lab = citation(
        CitationKind.LAB, "Haemoglobin 9.8 g/dL (low; ref 12.0–15.5 g/dL), 2026-04-01", "lab:l1"
    )
    trend = citation(
        CitationKind.TREND, "Haemoglobin trend, 2026-01-03 to 2026-05-01", "trend:718-7"
    )
    images = [
        citation(
            CitationKind.KEY_IMAGE,
            f"CT Chest (2026-02-11), series 3, image {40 + i}, W 400 / L 40",
            f"image:1.2.3/1.2.3.{i}#0",
        )
        for i in range(key_images)
    ]
    all_citations = [page, lab, trend, *images]
    filler = [
        "The haematological findings were reviewed in the context of the full record. "
        "Iron studies, vitamin B12 and folate levels are within the reference ranges, and "
        "there is no evidence of haemolysis on the available laboratory results. " * 3
    ] * (5 * pages_of_text)
    image_refs = " ".join(anchor(c, 4 + i) for i, c in enumerate(images))
    assessment = qt_html(
        f"The current diagnosis of iron-deficiency anaemia <b>is not supported</b> by the "
        f"iron studies {anchor(page, 1)}; the haemoglobin is low {anchor(lab, 2)} and has "
        f"fallen steadily {anchor(trend, 3)}.",
        f'<span style=" font-style:italic;">Imaging</span> shows no mass {image_refs}.',
        *filler,
    ) + lab_table(table_rows)
    sections = {
        Section.CASE_SUMMARY: qt_html(
            "A 58-year-old woman with progressive fatigue over six months. " + extra,
            f"Arabic note from the referring clinic: {ARABIC}.",
            f"Chinese note from the patient: {CHINESE}",
        ),
        Section.RECORDS_REVIEWED: qt_html("All records listed in the appendix."),
        Section.ASSESSMENT: assessment,
        Section.DIFFERENTIAL: "<ol><li>Anaemia of chronic disease</li>"
        "<li>Myelodysplastic syndrome</li><li>Occult gastrointestinal blood loss</li></ol>",
        Section.TREATMENT: qt_html("Stop oral iron. Refer for bone-marrow examination."),
        Section.FURTHER_TESTS: "<ul><li>Bone-marrow aspirate and trephine</li>"
        "<li>Reticulocyte count</li></ul>",
        Section.LIMITATIONS: qt_html("No peripheral blood film was available for review."),
        Section.REFERENCES: qt_html("WHO Classification of Haematolymphoid Tumours, 5th ed."),
    }
    answers: Sequence[str] = (
        qt_html("No. The test results do not show a lack of iron."),
        qt_html("A bone-marrow test is the next step; it is done as an outpatient."),
    )
    if kind is DraftKind.ADDENDUM:
        sections = {
            Section.ADDENDUM: qt_html(
                f"The bone-marrow report has since arrived {anchor(lab, 1)}; it confirms the "
                "assessment.",
                f"{ARABIC}",
                f"{CHINESE}",
            )
        }
        answers = ()
    draft = OpinionDraft(sections=sections, verdict=Verdict.DISAGREE, answers=tuple(answers))
    documents = [
        ReviewedRecord(
            kind="Document",
            title=f"Clinic letter {i + 1}",
            date=dt.date(2026, 3, 1 + i),
            sha256=hashlib.sha256(f"record {i}".encode()).hexdigest(),
            detail=f"{i + 2} pages",
        )
        for i in range(records)
    ]
    reviewed = (
        *documents,
        ReviewedRecord(
            "Laboratory results",
            "Laboratory results",
            None,
            None,
            "42 results, 2026-01-03 to 2026-05-01",
        ),
        ReviewedRecord(
            "Imaging study",
            "CT Chest",
            dt.datetime(2026, 2, 11, 9, 30),
            None,
            "CT, 3 series, 212 images, StudyInstanceUID 1.2.3",
        ),
    )
    figures = {c.citation_id: png(shade=30 + 20 * i) for i, c in enumerate([trend, *images])}
    return OpinionDocument(
        kind=kind,
        case_id="case-1",
        case_key="SO-2026-0042",
        patient_name=patient_name,
        patient_birth_date=dt.date(1968, 5, 17),
        patient_sex="Female",
        patient_identifiers=("MRN SYN-778812",),
        specialty="Haematology",
        clinical_questions=(
            "Is the diagnosis of iron-deficiency anaemia correct?",
            "What further work-up is needed?",
        ),
        patient_questions=("Do I need to keep taking iron tablets?", "What happens next?")
        if kind is DraftKind.OPINION
        else (),
        draft=draft,
        author=AUTHOR,
        records=reviewed,
        citations={c.citation_id: c for c in all_citations},
        figures=figures,
        addendum_to=("opinion-7f3a", dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.UTC))
        if kind is DraftKind.ADDENDUM
        else None,
        created_at=CREATED,
    )


def pdftotext(pdf: bytes, tmp: Path, *, page: int | None = None) -> str:
    """poppler's text of ``pdf`` (of one 1-based page if given)."""
    path = tmp / f"{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run(
        [*args, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
