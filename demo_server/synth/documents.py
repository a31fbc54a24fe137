"""Synthetic clinical documents: multi-page PDFs and their FHIR DocumentReferences.

Letters are laid out with PyMuPDF's base-14 Helvetica (nothing embedded, so the bytes
depend only on the text) and saved with fixed metadata and no random file id: the same
seed gives byte-identical PDFs. The referral letter ends with a "scanned" page, an
image of a noisy, slightly rotated printout with no text layer, the way faxed or
scanned enclosures arrive in practice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pymupdf

from demo_server.synth.clinical import Scenario
from demo_server.synth.ids import np_rng, rng
from demo_server.synth.people import Person

LOINC = "http://loinc.org"
_A4 = (595.0, 842.0)
_MARGIN = 56.0
_BOTTOM = _A4[1] - 60  # baseline of the last line of body text
_FONT = "helv"
_BOLD = "hebo"
_HOSPITAL = "Testville General Hospital (synthetic)"
_BANNER = "SYNTHETIC DEMO DATA - not a real patient"

# kind -> (LOINC document type, display, title)
KINDS = {
    "referral": ("57133-1", "Referral note", "Referral for second opinion"),
    "imaging": ("18748-4", "Diagnostic imaging study", "Imaging report"),
    "discharge": ("18842-5", "Discharge summary", "Discharge summary"),
    "pathology": ("11526-1", "Pathology study", "Pathology report"),
    "consult": ("11488-4", "Consult note", "Outpatient clinic letter"),
    "labs": ("11502-2", "Laboratory report", "Laboratory results summary"),
}


@dataclass(frozen=True)
class DocumentContext:
    """What the letters talk about."""

    key: str
    index: int
    seed: int
    patient: Person
    referrer: Person
    scenario: Scenario
    referral_date: dt.date
    # (date, test name, value text, unit, flag) of the most recent results.
    lab_rows: tuple[tuple[str, str, str, str, str], ...]
    # (date, description) of the imaging studies sent with the case.
    studies: tuple[tuple[dt.date, str], ...]


@dataclass(frozen=True)
class Document:
    """A generated PDF and the FHIR DocumentReference describing it."""

    binary_id: str
    data: bytes
    reference: dict


class _Writer:
    """Flows headings, paragraphs and tables down A4 pages.

    All drawing of a page goes through one Shape committed when the page is full:
    committing per line would rewrite the content stream hundreds of times.
    """

    def __init__(self, doc: pymupdf.Document, ctx: DocumentContext) -> None:
        self.doc = doc
        self.ctx = ctx
        self.shape: pymupdf.Shape | None = None
        self.y = 0.0
        self.new_page()

    @property
    def width(self) -> float:
        return _A4[0] - 2 * _MARGIN

    def close(self) -> None:
        if self.shape is not None:
            self.shape.commit()
            self.shape = None

    def new_page(self) -> None:
        self.close()
        page = self.doc.new_page(width=_A4[0], height=_A4[1])
        self.shape = sh = page.new_shape()
        sh.insert_text((_MARGIN, 40), _HOSPITAL, fontname=_BOLD, fontsize=11)
        sh.insert_text((_MARGIN, 54), _BANNER, fontname=_FONT, fontsize=8, color=(0.6, 0, 0))
        pat = self.ctx.patient
        assert pat.birth_date is not None
        ident = f"{pat.display}  |  {pat.identifier}  |  born {pat.birth_date.isoformat()}"
        sh.insert_text((_MARGIN, 68), ident, fontname=_FONT, fontsize=8)
        sh.draw_line((_MARGIN, 74), (_A4[0] - _MARGIN, 74))
        sh.finish(width=0.5, color=(0, 0, 0))
        self.y = 96.0

    def _need(self, height: float) -> pymupdf.Shape:
        if self.y + height > _BOTTOM:
            self.new_page()
        assert self.shape is not None
        return self.shape

    def heading(self, text: str, size: float = 13) -> None:
        sh = self._need(size + 24)
        self.y += 6
        sh.insert_text((_MARGIN, self.y), text, fontname=_BOLD, fontsize=size)
        self.y += size + 6

    def paragraph(self, text: str, size: float = 10) -> None:
        lines = _wrap(text, self.width, size)
        step = size + 4
        while lines:
            # One insert_text per page-full of lines: PyMuPDF's per-call cost dominates.
            sh = self._need(step)
            fit = max(int((_BOTTOM - self.y) // step), 1)
            chunk, lines = lines[:fit], lines[fit:]
            sh.insert_text(
                (_MARGIN, self.y), chunk, fontname=_FONT, fontsize=size, lineheight=step / size
            )
            self.y += step * len(chunk)
            if lines:
                self.new_page()
        self.y += 6

    def table(
        self, header: tuple[str, ...], rows: Sequence[tuple[str, ...]], widths: tuple[float, ...]
    ) -> None:
        """A grid with a shaded header row; repeats the header on each page it spans."""
        size, row_h = 9.0, 15.0
        scale = self.width / sum(widths)
        xs = [_MARGIN]
        for w in widths:
            xs.append(xs[-1] + w * scale)
        remaining = list(rows)
        while True:
            self._need(2 * row_h + 2)
            fit = max(int((_BOTTOM - self.y) // row_h) - 1, 1)
            chunk, remaining = remaining[:fit], remaining[fit:]
            self._table_block(header, chunk, xs, size, row_h)
            if not remaining:
                break
            self.new_page()
        self.y += 10

    def _table_block(
        self,
        header: tuple[str, ...],
        rows: list[tuple[str, ...]],
        xs: list[float],
        size: float,
        row_h: float,
    ) -> None:
        sh = self.shape
        assert sh is not None
        top = self.y - size - 3
        sh.draw_rect(pymupdf.Rect(xs[0], top, xs[-1], top + row_h))
        sh.finish(color=None, fill=(0.88, 0.88, 0.88), width=0)
        for n in range(1, len(rows) + 2):
            sh.draw_line((xs[0], top + n * row_h), (xs[-1], top + n * row_h))
        sh.finish(width=0.3, color=(0, 0, 0))
        for col, x in enumerate(xs[:-1]):
            sh.insert_text((x + 3, self.y), header[col], fontname=_BOLD, fontsize=size)
            if rows:
                # A whole column per call; " " keeps empty cells on their line.
                cells = [row[col] or " " for row in rows]
                sh.insert_text(
                    (x + 3, self.y + row_h),
                    cells,
                    fontname=_FONT,
                    fontsize=size,
                    lineheight=row_h / size,
                )
        self.y += row_h * (len(rows) + 1)


@lru_cache(maxsize=1)
def _advances() -> dict[str, float]:
    """Helvetica glyph advances (per 1 pt of font size), looked up once."""
    font = pymupdf.Font("helv")
    return {chr(c): font.glyph_advance(c) for c in range(32, 256)}


def _text_width(text: str, size: float) -> float:
    adv = _advances()
    return sum(adv.get(ch, 0.6) for ch in text) * size


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if _text_width(trial, size) <= width:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _finish(doc: pymupdf.Document, title: str, when: dt.date, scanned: bool) -> bytes:
    """Page numbers, fixed metadata, and bytes without a random file id.

    A scanned last page gets no page number: it must keep no text layer at all.
    """
    total = doc.page_count
    for n in range(1, total + 1):
        if scanned and n == total:
            break
        doc[n - 1].insert_text(
            (_A4[0] - _MARGIN - 60, _A4[1] - 30), f"Page {n} of {total}", fontname=_FONT, fontsize=8
        )
    stamp = f"D:{when:%Y%m%d}090000Z"
    doc.set_metadata(
        {
            "title": title,
            "author": "Synthetic case generator",
            "subject": _BANNER,
            "keywords": "synthetic",
            "creator": "demo_server.synth",
            "producer": "PyMuPDF",
            "creationDate": stamp,
            "modDate": stamp,
        }
    )
    return doc.tobytes(garbage=3, deflate=True, no_new_id=True)


def _scanned_page(doc: pymupdf.Document, ctx: DocumentContext) -> None:
    """Append a page that is only a picture of a printout: no text layer at all."""
    src = pymupdf.open()
    page = src.new_page(width=_A4[0], height=_A4[1])
    lines = [
        "Practice of Dr " + f"{ctx.referrer.given} {ctx.referrer.family}",
        "Enclosure - previous correspondence (scanned)",
        "",
        f"Re: {ctx.patient.given} {ctx.patient.family}, {ctx.patient.identifier}",
        "",
        *textwrap.wrap(ctx.scenario.background, 64),
        "",
        "Current medication:",
        *[f"  - {m}" for m in ctx.scenario.medication],
        "",
        "Kind regards,",
        f"Dr {ctx.referrer.given} {ctx.referrer.family}",
    ]
    shape = page.new_shape()
    for n, line in enumerate(lines):
        shape.insert_text((_MARGIN + 10, 90.0 + 17 * n), line, fontname="cour", fontsize=11)
    shape.commit()
    pix = page.get_pixmap(dpi=80, colorspace=pymupdf.csGRAY)
    src.close()
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
    h, w = pix.height, pix.width
    r = np_rng(ctx.seed, "case", ctx.index, "scan")
    angle = round(float(r.uniform(0.6, 1.6)), 1) * (1 if r.random() < 0.5 else -1)
    # Index `h * w` is the appended white pixel that uncovered corners take.
    flat = np.append(np.ascontiguousarray(img[:, :w]).ravel(), np.uint8(255))
    rotated = flat[_rotation_map((h, w), angle)].astype(np.float32)
    noisy = rotated * 0.92 + r.integers(0, 24, (h, w), dtype=np.uint8)  # paper grain
    specks = r.integers(0, h * w, size=h * w // 600)
    noisy.ravel()[specks] = r.uniform(20, 120, specks.size).astype(np.float32)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    scan = pymupdf.Pixmap(pymupdf.csGRAY, w, h, out.tobytes(), 0)
    target = doc.new_page(width=_A4[0], height=_A4[1])
    target.insert_image(target.rect, pixmap=scan)


@lru_cache(maxsize=32)
def _rotation_map(shape: tuple[int, int], angle_deg: float) -> np.ndarray:
    """For each target pixel, the flat index of its source pixel (nearest neighbour) in
    a rotation about the centre, or h*w where it falls outside. Cached: angles are
    rounded to 0.1 degree, so there are few distinct maps."""
    h, w = shape
    a = np.deg2rad(angle_deg)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h / 2, w / 2
    sy = np.rint(np.cos(a) * (yy - cy) - np.sin(a) * (xx - cx) + cy).astype(np.intp)
    sx = np.rint(np.sin(a) * (yy - cy) + np.cos(a) * (xx - cx) + cx).astype(np.intp)
    inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
    return np.where(inside, sy * w + sx, h * w)


def _greeting(w: _Writer, ctx: DocumentContext) -> None:
    pat = ctx.patient
    w.paragraph("Dear colleague,")
    w.paragraph(
        f"thank you for seeing {pat.given} {pat.family} ({'Ms' if pat.sex == 'female' else 'Mr'}"
        f" {pat.family}), born {pat.birth_date}, whom we have been following for "
        f"{ctx.scenario.diagnosis[0].lower()}{ctx.scenario.diagnosis[1:]}."
    )


def _sign(w: _Writer, ctx: DocumentContext) -> None:
    w.paragraph("Yours sincerely,")
    w.paragraph(f"Dr {ctx.referrer.given} {ctx.referrer.family} ({ctx.referrer.identifier})")


def _medication_table(w: _Writer, ctx: DocumentContext) -> None:
    rows = []
    for med in ctx.scenario.medication:
        name, _, rest = med.partition(" ")
        done = "stopped" in med or "completed" in med
        rows.append((name, rest or "-", "stopped" if done else "ongoing"))
    w.table(("Drug", "Dose / note", "Status"), rows, (2, 4, 1.3))


def _lab_table(w: _Writer, ctx: DocumentContext) -> None:
    rows = [(d, n, v, u, f) for d, n, v, u, f in ctx.lab_rows]
    w.table(("Date", "Test", "Result", "Unit", "Flag"), rows, (1.6, 2.6, 1.2, 1.2, 0.7))


def _compose(kind: str, ctx: DocumentContext, when: dt.date) -> bytes:
    loinc, _display, title = KINDS[kind]
    doc = pymupdf.open()
    w = _Writer(doc, ctx)
    sc = ctx.scenario
    w.heading(title, 16)
    w.paragraph(
        f"Date: {when.isoformat()}    Specialty: {sc.specialty}    Document type: LOINC {loinc}"
    )
    if kind == "referral":
        _greeting(w, ctx)
        w.heading("Question")
        w.paragraph(sc.clinical_question)
        w.heading("History")
        w.paragraph(sc.background)
        w.paragraph(sc.discharge)
        w.heading("Imaging enclosed")
        for day, desc in ctx.studies:
            w.paragraph(f"{day.isoformat()}: {desc}")
        w.paragraph(sc.imaging_findings)
        w.new_page()
        w.heading("Current medication")
        _medication_table(w, ctx)
        w.heading("Recent laboratory results")
        _lab_table(w, ctx)
        w.heading("What the patient would like to know")
        for q in sc.patient_questions:
            w.paragraph(f"- {q}")
        _sign(w, ctx)
        w.close()
        _scanned_page(doc, ctx)
    elif kind == "imaging":
        day, desc = ctx.studies[0]
        w.heading("Examination")
        w.paragraph(f"{desc}, performed {day.isoformat()}.")
        w.heading("Clinical information")
        w.paragraph(sc.diagnosis + ". " + sc.clinical_question)
        w.heading("Findings")
        w.paragraph(sc.imaging_findings)
        w.new_page()
        w.heading("Studies available for comparison")
        w.table(("Date", "Examination"), [(d.isoformat(), s) for d, s in ctx.studies], (1, 4))
        w.heading("Conclusion")
        w.paragraph(sc.imaging_findings.split(".")[0] + ".")
        w.paragraph("Reported by: Dr Testradiologist, Quinn (synthetic)")
    elif kind == "discharge":
        w.heading("Diagnosis")
        w.paragraph(sc.diagnosis)
        w.heading("Course")
        w.paragraph(sc.discharge)
        w.paragraph(sc.background)
        w.new_page()
        w.heading("Medication on discharge")
        _medication_table(w, ctx)
        w.heading("Follow-up")
        w.paragraph("Review in the outpatient clinic in six weeks with blood tests.")
    elif kind == "pathology":
        w.heading("Specimen")
        w.table(
            ("Block", "Site", "Description"),
            [
                ("A1-A4", "Primary", "Tumour, representative sections"),
                ("B1-B6", "Margins", "Proximal, distal and radial margins"),
                ("C1-C12", "Lymph nodes", "All nodes submitted"),
            ],
            (1, 1.4, 4),
        )
        w.heading("Microscopy")
        w.paragraph(sc.pathology)
        w.new_page()
        w.heading("Diagnosis")
        w.paragraph(sc.diagnosis)
        w.paragraph("Reported by: Dr Testpathologist, Rowan (synthetic)")
    elif kind == "consult":
        _greeting(w, ctx)
        w.heading("Assessment")
        w.paragraph(sc.background)
        w.paragraph(sc.imaging_findings)
        w.new_page()
        w.heading("Plan")
        w.paragraph(
            "We discussed the options and agreed to seek an external second "
            "opinion before deciding on further treatment."
        )
        _medication_table(w, ctx)
        _sign(w, ctx)
    else:  # labs
        w.heading("Most recent results")
        _lab_table(w, ctx)
        w.new_page()
        w.heading("Comment")
        w.paragraph(
            "Results outside the reference range are flagged H (high), L (low), "
            "HH/LL (critical). Full series available in the electronic record."
        )
    w.close()
    return _finish(doc, title, when, scanned=kind == "referral")


def _reference(
    ctx: DocumentContext, kind: str, *, doc_id: str, binary_id: str, data: bytes, when: dt.date
) -> dict:
    loinc, display, title = KINDS[kind]
    stamp = f"{when.isoformat()}T09:00:00Z"
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
        "category": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                        "code": "clinical-note",
                        "display": "Clinical Note",
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{ctx.patient.resource_id}"},
        "date": stamp,
        "author": [{"reference": f"Practitioner/{ctx.referrer.resource_id}"}],
        "description": f"{title} ({ctx.scenario.specialty})",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "url": f"Binary/{binary_id}",
                    "size": len(data),
                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
                    "title": f"{title}.pdf",
                    "creation": stamp,
                }
            }
        ],
    }


def build_documents(ctx: DocumentContext) -> list[Document]:
    """2 to 6 PDFs: always a referral letter (with a scanned page), then others."""
    r = rng(ctx.seed, "case", ctx.index, "documents")
    kinds = ["referral", "imaging", "discharge", "consult", "labs"]
    if not ctx.scenario.pathology.startswith("Not applicable"):
        kinds.insert(3, "pathology")
    count = min(r.randint(2, 6), len(kinds))
    documents = []
    for n, kind in enumerate(kinds[:count], start=1):
        if kind == "referral":
            when = ctx.referral_date
        elif kind == "imaging":
            when = ctx.studies[0][0]
        else:
            when = ctx.referral_date - dt.timedelta(days=r.randint(20, 200))
        data = _compose(kind, ctx, when)
        binary_id = f"{ctx.key.lower()}-pdf-{n}"
        ref = _reference(
            ctx,
            kind,
            doc_id=f"{ctx.key.lower()}-doc-{n}",
            binary_id=binary_id,
            data=data,
            when=when,
        )
        documents.append(Document(binary_id, data, ref))
    return documents
