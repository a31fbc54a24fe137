"""The opinion as a letter-quality PDF (see docs/opinion-pdf.md for the engine choice).

PyMuPDF's Story lays out HTML and CSS with MuPDF's engine (HarfBuzz shaping, Unicode
bidi), so Arabic and Chinese come out shaped, in order and extractable. On top of it:

* pages: the body flows page by page (:func:`_layout`); the letterhead heads page 1, a
  running header (case key, patient) and footer ("Page X of Y") go on every page once
  the page count is known;
* tables repeat their header rows: MuPDF does not, so a table that runs over a page
  break is cut there and continued, header first, on the next page (found by where each
  row landed, then laid out again);
* the last page keeps :data:`SIGNATURE_BOX` free for the visible signature that
  :func:`reviewer_app.opinion.signing.sign_pdf` adds;
* fonts are the bundled Noto fonts (resources/fonts), embedded and subset.

Everything from the draft is cleaned by :mod:`html_clean` (whitelist) and every other
string is escaped: the PDF shows exactly the text typed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

from reviewer_app.errors import LetterheadInvalid
from reviewer_app.opinion.document import OpinionDocument, ReviewedRecord
from reviewer_app.opinion.drafts import SECTION_TITLES, DraftKind, Section, Verdict
from reviewer_app.opinion.evidence import Citation, CitationKind
from reviewer_app.opinion.html_clean import Block, Table, block, clean, inline
from reviewer_app.records.document import ENGINE_LOCK

_RESOURCES = Path(__file__).resolve().parents[2] / "resources"
FONTS_DIR = _RESOURCES / "fonts"
LETTERHEAD_DIR = _RESOURCES / "templates" / "letterhead"
_MAX_LOGO = 2 * 1024 * 1024

PAGE = pymupdf.paper_rect("a4")  # 595 x 842 pt
_MARGIN_X = 62.0
_BODY_TOP = 78.0
_BODY_BOTTOM = PAGE.height - 62.0
#: Where the visible signature goes on the last page, PDF points from the bottom left
#: (x0, y0, x1, y1), as :class:`reviewer_app.opinion.signing.Placement` takes it. The
#: body never runs into it.
SIGNATURE_BOX: tuple[int, int, int, int] = (62, 70, 342, 146)
#: On the last page the body ends above the box and its caption.
_LAST_PAGE_BOTTOM = PAGE.height - SIGNATURE_BOX[3] - 22.0

_VERDICTS = {
    Verdict.AGREE: "I agree with the current diagnosis.",
    Verdict.PARTLY: "I partly agree with the current diagnosis.",
    Verdict.DISAGREE: "I do not agree with the current diagnosis.",
}
_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_MAX_PASSES = 64

_FONT_FACES = """
@font-face { font-family: serif; src: url(NotoSerif-Regular.ttf); }
@font-face { font-family: serif; src: url(NotoSerif-Bold.ttf); font-weight: bold; }
@font-face { font-family: serif; src: url(NotoSerif-Italic.ttf); font-style: italic; }
@font-face { font-family: serif; src: url(NotoSerif-BoldItalic.ttf);
             font-weight: bold; font-style: italic; }
@font-face { font-family: sans; src: url(NotoSans-Regular.otf); }
@font-face { font-family: sans; src: url(NotoSans-Bold.otf); font-weight: bold; }
@font-face { font-family: arabic; src: url(NotoSansArabic-Regular.ttf); }
@font-face { font-family: arabic; src: url(NotoSansArabic-Bold.ttf); font-weight: bold; }
@font-face { font-family: cjk; src: url(NotoSansCJKsc-Regular.ttf); }
"""

_CSS = (
    _FONT_FACES
    + """
body { font-family: serif; font-size: 10.5pt; line-height: 1.38; color: #1a1a1a; }
.ar { font-family: arabic; }
.cjk { font-family: cjk; }
p { margin: 0 0 6pt 0; }
h1 { font-family: sans; font-size: 17pt; font-weight: bold; color: #0b2e4f;
     margin: 10pt 0 2pt 0; }
h2 { font-family: sans; font-size: 12pt; font-weight: bold; color: #0b2e4f;
     margin: 14pt 0 5pt 0; padding-bottom: 2pt; border-bottom: 0.6pt solid #9fb3c8; }
h3 { font-family: sans; font-size: 10.5pt; font-weight: bold; margin: 8pt 0 3pt 0; }
h4 { font-family: sans; font-size: 10pt; font-weight: bold; font-style: italic;
     margin: 6pt 0 2pt 0; }
ul, ol { margin: 0 0 6pt 0; padding-left: 18pt; }
li { margin: 0 0 2pt 0; }
table { border-collapse: collapse; margin: 2pt 0 8pt 0; }
th { font-family: sans; font-size: 9pt; font-weight: bold; text-align: left;
     background-color: #e8eef4; border: 0.5pt solid #9fb3c8; padding: 3pt 4pt; }
td { font-size: 9.5pt; border: 0.5pt solid #c5d2de; padding: 3pt 4pt; vertical-align: top; }
.subtitle { font-family: sans; font-size: 10pt; color: #4a5a6a; margin: 0 0 10pt 0; }
.facts td { border: none; padding: 1pt 6pt 1pt 0; font-size: 10pt; }
.facts td.key { font-family: sans; font-size: 8.5pt; color: #4a5a6a; }
.head td { border: none; padding: 0; vertical-align: middle; }
.head td.logo { padding-right: 10pt; }
.nowrap { white-space: nowrap; }
.org { font-family: sans; font-size: 15pt; font-weight: bold; color: #0b2e4f; }
.address { font-family: sans; font-size: 8.5pt; color: #4a5a6a; }
.contact { font-family: sans; font-size: 8.5pt; color: #4a5a6a; text-align: right; }
.rule { border-bottom: 1.2pt solid #0b2e4f; margin: 6pt 0 12pt 0; }
.verdict { font-weight: bold; margin: 0 0 6pt 0; }
.question { font-style: italic; margin: 6pt 0 3pt 0; }
.qlabel { font-family: sans; font-size: 8.5pt; font-weight: bold; color: #4a5a6a; }
.figure { text-align: center; margin: 8pt 0 2pt 0; }
.caption { font-family: sans; font-size: 8.5pt; color: #333333; text-align: center;
           margin: 0 0 10pt 0; }
.evidence td { border: none; border-bottom: 0.4pt solid #dde5ec; font-size: 9pt; }
.records td { font-size: 8.5pt; }
.hash { font-family: sans; font-size: 6.8pt; color: #4a5a6a; }
.signoff { margin: 14pt 0 0 0; }
.signer { font-family: sans; font-weight: bold; }
"""
)

_RUNNING_CSS = (
    _FONT_FACES
    + """
p { margin: 0; font-family: sans; font-size: 7.8pt; color: #4a5a6a; }
.ar { font-family: arabic; }
.cjk { font-family: cjk; }
.right { text-align: right; }
"""
)


@dataclass(frozen=True)
class Letterhead:
    """The organisation the opinion is written for (resources/templates/letterhead)."""

    organisation: str
    address: tuple[str, ...]
    contact: str
    logo_png: bytes | None
    footer_note: str


def letterhead(override: Path | None = None) -> Letterhead:
    """The letterhead in ``override`` (a platform's folder), else the bundled one.

    The folder holds ``letterhead.json`` and the logo it names. LetterheadInvalid if
    the file is missing, not JSON of the documented shape, or the logo is not a PNG.
    """
    folder = override if override is not None else LETTERHEAD_DIR
    try:
        data = json.loads((folder / "letterhead.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LetterheadInvalid() from exc
    if not isinstance(data, dict):
        raise LetterheadInvalid()
    organisation = data.get("organisation")
    address = data.get("address", [])
    contact = data.get("contact", "")
    note = data.get("footer_note", "")
    logo = data.get("logo")
    if (
        not isinstance(organisation, str)
        or not organisation.strip()
        or not isinstance(address, list)
        or not all(isinstance(line, str) for line in address)
        or not isinstance(contact, str)
        or not isinstance(note, str)
        or not (logo is None or isinstance(logo, str))
    ):
        raise LetterheadInvalid()
    logo_png = None
    if logo:
        path = folder / logo
        if path.resolve().parent != folder.resolve():
            raise LetterheadInvalid("The letterhead's logo must be a file in its folder.")
        try:
            logo_png = path.read_bytes()
        except OSError as exc:
            raise LetterheadInvalid() from exc
        if len(logo_png) > _MAX_LOGO or _png_size(logo_png) is None:
            raise LetterheadInvalid("The letterhead's logo is not a PNG image of at most 2 MB.")
    return Letterhead(organisation.strip(), tuple(address), contact, logo_png, note)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header, None if it is not a PNG."""
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def long_date(value: dt.date | dt.datetime) -> str:
    """'29 November 2026': unambiguous in every country, unlike 11/29/2026."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


# --- the body -----------------------------------------------------------------------


@dataclass
class _Body:
    """The document as top-level blocks, with the citation numbers given so far."""

    doc: OpinionDocument
    blocks: list[Block] = field(default_factory=list)
    numbers: dict[str, int] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)  # archive name -> PNG

    def add(self, html: str) -> None:
        self.blocks.append(html)

    def cite(self, citation_id: str, text: str) -> str:
        """The reference that replaces a ``cite:`` link: [n], numbered in reading order."""
        if citation_id not in self.doc.citations:
            # Not among the document's citations: keep what the editor showed.
            return inline(text)
        number = self.numbers.setdefault(citation_id, len(self.numbers) + 1)
        return f"[{number}]"

    def draft_html(self, body: str) -> None:
        self.blocks.extend(clean(body, self.cite))


def _body(doc: OpinionDocument, head: Letterhead) -> _Body:
    body = _Body(doc)
    _letterhead_block(body, head)
    _title_block(body)
    _facts_block(body)
    if doc.clinical_questions:
        body.add(
            "<h2>Clinical question" + ("s" if len(doc.clinical_questions) > 1 else "") + "</h2>"
        )
        if len(doc.clinical_questions) == 1:
            body.add(block("p", doc.clinical_questions[0]))
        else:
            body.add("<ol>" + "".join(block("li", q) for q in doc.clinical_questions) + "</ol>")
    for section, html in _sections(doc):
        body.add(f"<h2>{inline(SECTION_TITLES[section])}</h2>")
        if section is Section.ASSESSMENT and doc.draft.verdict is not None:
            body.add(f'<p class="verdict">{_VERDICTS[doc.draft.verdict]}</p>')
        body.draft_html(html)
    _patient_questions(body)
    _evidence(body)
    _records(body)
    _signoff(body)
    return body


def _sections(doc: OpinionDocument) -> Iterator[tuple[Section, str]]:
    if doc.kind is DraftKind.ADDENDUM:
        wanted: Sequence[Section] = (Section.ADDENDUM,)
    else:
        wanted = [s for s in Section if s is not Section.ADDENDUM]
    for section in wanted:
        html = doc.draft.text(section)
        if html.strip():
            yield section, html


def _letterhead_block(body: _Body, head: Letterhead) -> None:
    logo = ""
    if head.logo_png is not None:
        size = _png_size(head.logo_png)
        assert size is not None  # letterhead() checked it
        height = 46.0
        width = height * size[0] / size[1]
        body.images["logo.png"] = head.logo_png
        image = f'<img src="logo.png" width="{width:.1f}" height="{height:.1f}">'
        logo = f'<td class="logo">{image}</td>'
    address = "<br>".join(inline(line) for line in head.address)
    contact = "<br>".join(inline(line) for line in head.contact.splitlines())
    name = inline(head.organisation)
    cells = (
        f'{logo}<td><div class="org nowrap">{name}</div><div class="address">{address}</div></td>'
    )
    if contact:
        cells += f'<td class="contact">{contact}</td>'
    body.add(f'<table class="head"><tr>{cells}</tr></table><div class="rule"></div>')


def _title_block(body: _Body) -> None:
    doc = body.doc
    if doc.kind is DraftKind.ADDENDUM:
        body.add("<h1>Addendum</h1>")
        if doc.addendum_to is not None:
            opinion_id, signed_at = doc.addendum_to
            body.add(
                f'<p class="subtitle">Addendum to the opinion of {long_date(signed_at)} '
                f"({inline(opinion_id)})</p>"
            )
    else:
        body.add("<h1>Second medical opinion</h1>")
        specialty = f" in {inline(doc.specialty)}" if doc.specialty else ""
        body.add(f'<p class="subtitle">Independent specialist review{specialty}</p>')


def _facts_block(body: _Body) -> None:
    doc = body.doc
    rows = [("Patient", inline(doc.patient_name))]
    if doc.patient_birth_date is not None:
        rows.append(("Date of birth", long_date(doc.patient_birth_date)))
    if doc.patient_sex:
        rows.append(("Sex", inline(doc.patient_sex)))
    if doc.patient_identifiers:
        rows.append(("Identifiers", "<br>".join(inline(i) for i in doc.patient_identifiers)))
    rows.append(("Case", inline(doc.case_key)))
    if doc.specialty:
        rows.append(("Specialty", inline(doc.specialty)))
    rows.append(("Date", long_date(doc.created_at)))
    author = ", ".join(x for x in (doc.author.name, doc.author.credentials) if x)
    rows.append(("Reviewing specialist", inline(author)))
    body.add(
        '<table class="facts">'
        # No wrapping in labels: MuPDF sizes columns by their narrowest content.
        + "".join(f'<tr><td class="key nowrap">{k}</td><td>{v}</td></tr>' for k, v in rows)
        + "</table>"
    )


def _patient_questions(body: _Body) -> None:
    doc = body.doc
    if not doc.patient_questions or doc.kind is DraftKind.ADDENDUM:
        return
    body.add("<h2>Your questions</h2>")
    for index, question in enumerate(doc.patient_questions):
        body.add(f'<p class="qlabel">Question {index + 1}</p>')
        body.add(block("p", question, "question"))
        answer = doc.draft.answers[index] if index < len(doc.draft.answers) else ""
        if answer.strip():
            body.draft_html(answer)
        else:
            body.add("<p>(No answer given.)</p>")


def _evidence(body: _Body) -> None:
    """Figures for cited images and trends, then the numbered list of all citations."""
    doc = body.doc
    if not body.numbers:
        return
    cited = sorted(body.numbers.items(), key=lambda item: item[1])
    figures: dict[str, int] = {}
    for citation_id, _ in cited:
        citation = doc.citations[citation_id]
        png = doc.figures.get(citation_id)
        pictured = citation.kind in (CitationKind.KEY_IMAGE, CitationKind.TREND)
        if pictured and png and _png_size(png) is not None:
            figures[citation_id] = len(figures) + 1
    if figures:
        body.add("<h2>Figures</h2>")
        for citation_id, number in figures.items():
            _figure(body, doc.citations[citation_id], doc.figures[citation_id], number)
    body.add("<h2>Cited evidence</h2>")
    rows = []
    for citation_id, number in cited:
        citation = doc.citations[citation_id]
        text = _evidence_text(citation, figures.get(citation_id))
        rows.append(f"<tr><td>[{number}]</td><td>{text}</td></tr>")
    body.add('<table class="evidence">' + "".join(rows) + "</table>")


def _evidence_text(citation: Citation, figure: int | None) -> str:
    label = inline(citation.label)
    if citation.kind is CitationKind.LAB:
        return f"Laboratory result: {label}"
    if citation.kind is CitationKind.PAGE:
        return f"Record: {label}"
    what = "Image" if citation.kind is CitationKind.KEY_IMAGE else "Trend"
    see = f" (Figure {figure})" if figure is not None else ""
    return f"{what}: {label}{see}"


def _figure(body: _Body, citation: Citation, png: bytes, number: int) -> None:
    size = _png_size(png)
    assert size is not None
    scale = min(380.0 / size[0], 250.0 / size[1])
    name = f"figure{number}.png"
    body.images[name] = png
    body.add(
        f'<div class="figure"><img src="{name}" width="{size[0] * scale:.1f}" '
        f'height="{size[1] * scale:.1f}"></div>'
    )
    body.add(f'<p class="caption">Figure {number}. {inline(citation.label)}</p>')


def _records(body: _Body) -> None:
    records = body.doc.records
    if not records:
        return
    body.add("<h2>Appendix: records reviewed</h2>")
    body.add(
        "<p>Every record below was reviewed for this opinion. For documents, the SHA-256 "
        "digest identifies the exact file that was read.</p>"
    )
    table = Table(
        header=["<tr><th>Record</th><th>Date</th><th>Details</th></tr>"],
        rows=[_record_row(record) for record in records],
    )
    body.blocks.append(table)


def _record_row(record: ReviewedRecord) -> str:
    when = long_date(record.date) if record.date is not None else "Undated"
    title = f"<b>{inline(record.title)}</b><br>{inline(record.kind)}"
    if record.sha256:
        title += f'<br><span class="hash">SHA-256: {inline(record.sha256)}</span>'
    # A non-breaking date: MuPDF sizes table columns by their longest word and ignores
    # white-space: nowrap there.
    when = when.replace(" ", "&nbsp;")
    return f"<tr><td>{title}</td><td>{when}</td><td>{inline(record.detail)}</td></tr>"


def _signoff(body: _Body) -> None:
    author = body.doc.author
    lines = [f'<span class="signer">{inline(author.name)}</span>']
    if author.credentials:
        lines.append(inline(author.credentials))
    if author.licence:
        lines.append(f"Licence no. {inline(author.licence)}")
    body.add(
        '<p class="signoff">I have reviewed the records listed above; this opinion is my own '
        "independent assessment.</p><p>" + "<br>".join(lines) + "</p>"
    )


# --- layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    """Body rows ``start`` to ``stop`` of table number ``number`` (a table cut at a page
    break continues, header first, in the next segment)."""

    number: int
    table: Table
    start: int
    stop: int


_Part = str | _Rows


def _parts(blocks: Sequence[Block]) -> list[_Part]:
    parts: list[_Part] = []
    for item in blocks:
        if isinstance(item, Table):
            number = sum(isinstance(p, _Rows) for p in parts)
            parts.append(_Rows(number, item, 0, len(item.rows)))
        else:
            parts.append(item)
    return parts


def _html(segment: Sequence[_Part]) -> str:
    out = []
    for part in segment:
        if isinstance(part, _Rows):
            out.append(part.table.html(part.number, part.start, part.stop))
        else:
            out.append(part)
    return "".join(out)


def _archive(images: Mapping[str, bytes]) -> pymupdf.Archive:
    archive = pymupdf.Archive(str(FONTS_DIR))
    for name, data in images.items():
        archive.add(data, name)
    return archive


@dataclass
class _Pages:
    """What a layout pass found."""

    count: int = 0
    rows: list[tuple[int, str]] = field(default_factory=list)  # (page, row id)
    bottom: float = _BODY_TOP  # where the last page's body ends


@dataclass(frozen=True)
class _Running:
    """What the final pass draws around the body of each page."""

    header_left: str
    header_right: str
    footer: str
    total: int


def _layout(
    segments: Sequence[Sequence[_Part]],
    archive: pymupdf.Archive,
    reserve_from: int | None,
    writer: pymupdf.DocumentWriter | None = None,
) -> _Pages:
    """Lay the segments out page by page, each from the top of a fresh page (drawing
    them if ``writer`` is given). Pages from ``reserve_from`` on stop above the
    signature box."""
    pages = _Pages()

    def note(position: Any) -> None:  # pymupdf.ElementPosition, attributes set at run time
        if position.open_close & 1 and (position.id or "").startswith("t"):
            pages.rows.append((position.page, position.id))

    for segment in segments:
        story = pymupdf.Story(_html(segment), user_css=_CSS, archive=archive)
        more = True
        while more:
            reserved = reserve_from is not None and pages.count >= reserve_from
            bottom = _LAST_PAGE_BOTTOM if reserved else _BODY_BOTTOM
            more, filled = story.place(
                pymupdf.Rect(_MARGIN_X, _BODY_TOP, PAGE.width - _MARGIN_X, bottom)
            )
            story.element_positions(note, {"page": pages.count})
            if writer is not None:
                device = writer.begin_page(PAGE)
                story.draw(device)
                writer.end_page()
            else:
                story.draw(None)  # moves the story on without drawing
            pages.bottom = pymupdf.Rect(filled).y1
            pages.count += 1
    return pages


def _first_break(
    rows: Sequence[tuple[int, str]], segments: Sequence[Sequence[_Part]]
) -> tuple[int, int] | None:
    """The first (table number, row) that landed on a later page than the row (or the
    header) before it, other than at the top of a segment (already a fresh page)."""
    tops = {
        (part.number, part.start)
        for segment in segments
        for index, part in enumerate(segment)
        if isinstance(part, _Rows) and (part.start or index == 0)
    }
    previous: dict[int, int] = {}
    for page, row_id in rows:
        if row_id.endswith("h"):
            previous[int(row_id[1:-1])] = page
            continue
        table_text, _, row_text = row_id[1:].partition("r")
        table, row = int(table_text), int(row_text)
        if table in previous and page > previous[table] and (table, row) not in tops:
            return table, row
        previous[table] = page
    return None


def _cut(segments: list[list[_Part]], number: int, row: int) -> None:
    """Cut table ``number`` before body row ``row``: the rest of the table (header
    first) and everything after it start on a fresh page. At its first row, the whole
    table moves, with the heading just before it (no header alone at a page's foot)."""
    for position, segment in enumerate(segments):
        for index, part in enumerate(segment):
            if isinstance(part, _Rows) and part.number == number and row == part.start:
                first = index - 1 if index > 1 and _is_heading(segment[index - 1]) else index
                segments[position] = list(segment[:first])
                segments.insert(position + 1, list(segment[first:]))
                return
            if isinstance(part, _Rows) and part.number == number and part.start < row < part.stop:
                head = _Rows(number, part.table, part.start, row)
                tail = _Rows(number, part.table, row, part.stop)
                segments[position] = [*segment[:index], head]
                segments.insert(position + 1, [tail, *segment[index + 1 :]])
                return
    raise AssertionError("table break outside the laid-out rows")  # pragma: no cover


def _is_heading(part: _Part) -> bool:
    return isinstance(part, str) and part.startswith(("<h2", "<h3", "<h4"))


def _paginate(
    parts: list[_Part], archive: pymupdf.Archive
) -> tuple[list[list[_Part]], int | None, int]:
    """The segments (tables cut where they cross pages), the first page that keeps the
    signature's room free and the page count: layout passes until nothing changes."""
    segments = [parts]
    reserve_from: int | None = None
    for _ in range(_MAX_PASSES):
        pages = _layout(segments, archive, reserve_from)
        cut = _first_break(pages.rows, segments)
        if cut is not None:
            _cut(segments, *cut)
        elif reserve_from is None and pages.bottom > _LAST_PAGE_BOTTOM:
            # The last page is too full for the signature: its end moves to a new page.
            reserve_from = pages.count - 1
        else:
            break
    return segments, reserve_from, pages.count


# --- the whole PDF ------------------------------------------------------------------


def render_pdf(doc: OpinionDocument, head: Letterhead) -> bytes:
    """The unsigned opinion PDF of ``doc`` on ``head`` (see the module docstring)."""
    with ENGINE_LOCK:
        body = _body(doc, head)
        archive = _archive(body.images)
        segments, reserve_from, total = _paginate(_parts(body.blocks), archive)
        buffer = io.BytesIO()
        writer = pymupdf.DocumentWriter(buffer)
        _layout(segments, archive, reserve_from, writer)
        writer.close()
        pdf = pymupdf.open("pdf", buffer.getvalue())
        try:
            _stamp_running(pdf, _running(doc, head, total), archive)
            pdf.subset_fonts()
            pdf.set_metadata(_metadata(doc))
            return bytes(pdf.tobytes(garbage=3, deflate=True))
        finally:
            pdf.close()


def _running(doc: OpinionDocument, head: Letterhead, total: int) -> _Running:
    patient = inline(doc.patient_name)
    if doc.patient_birth_date is not None:
        patient += f" · born {long_date(doc.patient_birth_date)}"
    title = "Addendum" if doc.kind is DraftKind.ADDENDUM else "Second opinion"
    return _Running(
        header_left=f"{title} · Case {inline(doc.case_key)}",
        header_right=patient,
        footer=inline(head.footer_note),
        total=total,
    )


_WIDTH = PAGE.width - 2 * _MARGIN_X
_FOOTER_Y = PAGE.height - 44


def _running_template(running: _Running, archive: pymupdf.Archive) -> pymupdf.Document:
    """One page holding the header and footer text, stamped on every page as a shared
    form XObject: laying the same stories out again on each page cost half the time."""
    right = _MARGIN_X + _WIDTH
    boxes = [
        (
            f"<p>{running.header_left}</p>",
            pymupdf.Rect(_MARGIN_X, 36, _MARGIN_X + _WIDTH * 0.5, 60),
        ),
        (
            f'<p class="right">{running.header_right}</p>',
            pymupdf.Rect(_MARGIN_X + _WIDTH * 0.4, 36, right, 60),
        ),
        (
            f"<p>{running.footer}</p>",
            pymupdf.Rect(_MARGIN_X, _FOOTER_Y - 4, _MARGIN_X + _WIDTH * 0.8, _FOOTER_Y + 30),
        ),
    ]
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    device = writer.begin_page(PAGE)
    for html, rect in boxes:
        story = pymupdf.Story(html, user_css=_RUNNING_CSS, archive=archive)
        story.place(rect)
        story.draw(device)
    writer.end_page()
    writer.close()
    template = pymupdf.open("pdf", buffer.getvalue())
    page = template[0]
    # A story's first line sits about 10 pt below its rectangle's top.
    for y in (62.0, _FOOTER_Y):
        page.draw_line((_MARGIN_X, y), (right, y), color=_RULE, width=0.5)
    return template


def _stamp_running(pdf: pymupdf.Document, running: _Running, archive: pymupdf.Archive) -> None:
    """Header, footer, "Page X of Y" and the signature's caption on every page."""
    template = _running_template(running, archive)
    try:
        font = pymupdf.Font(fontfile=str(FONTS_DIR / "NotoSans-Regular.otf"))
        for index in range(pdf.page_count):
            page = pdf[index]
            page.show_pdf_page(page.rect, template, 0)
            writer = pymupdf.TextWriter(page.rect, color=_GREY)
            number = f"Page {index + 1} of {running.total}"
            x = _MARGIN_X + _WIDTH - font.text_length(number, _SMALL)
            writer.append((x, _FOOTER_Y + 6 + _SMALL * 1.1), number, font=font, fontsize=_SMALL)
            if index == running.total - 1:
                x0, _, _, y1 = SIGNATURE_BOX
                writer.append(
                    (x0, PAGE.height - y1 - 5),
                    "Electronic signature (PAdES)",
                    font=font,
                    fontsize=_SMALL,
                )
            writer.write_text(page)
    finally:
        template.close()


_RULE = (0.62, 0.70, 0.78)
_GREY = (0.29, 0.35, 0.42)
_SMALL = 7.8


def _metadata(doc: OpinionDocument) -> dict[str, str]:
    # No patient data in the metadata: it shows in file managers and search indexes.
    stamp = doc.created_at.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")
    title = "Addendum to a second opinion" if doc.kind is DraftKind.ADDENDUM else "Second opinion"
    return {
        "title": f"{title}, case {doc.case_key}",
        "author": doc.author.name,
        "subject": "Medical second opinion",
        "creator": "Reviewer",
        "producer": "Reviewer (PyMuPDF)",
        "creationDate": stamp,
        "modDate": stamp,
    }
