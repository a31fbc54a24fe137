"""The opinion PDF, checked from outside with poppler (pdftotext, pdffonts, pdfinfo) the
way a reader's tools see it, and signed and verified with the real signing code."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import unicodedata
from pathlib import Path

import pymupdf
import pytest

from reviewer_app.errors import LetterheadInvalid
from reviewer_app.opinion import SigningIdentity, sign_pdf, verify_pdf
from reviewer_app.opinion.drafts import DraftKind, Section
from reviewer_app.opinion.enrollment import Enrollment
from reviewer_app.opinion.export import SIGNATURE_BOX, letterhead, render_pdf
from reviewer_app.opinion.html_clean import Table, clean
from reviewer_app.opinion.signing import Placement
from tests.reviewer_app.opinion.test_export_samples import (
    ARABIC,
    CHINESE,
    pdftotext,
    png,
    qt_html,
    sample_document,
)

_BIDI_MARKS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u200e\u200f"))


def readable(text: str) -> str:
    """pdftotext's output as a reader's search sees it: Arabic presentation forms
    folded to letters (NFKC), bidi embedding marks dropped."""
    return unicodedata.normalize("NFKC", text).translate(_BIDI_MARKS)


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces as single spaces (wrapping varies)."""
    return " ".join(text.split())


def page_count(pdf: bytes) -> int:
    with pymupdf.open("pdf", pdf) as doc:
        return doc.page_count


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    """Several pages, a 70-row table, four key images."""
    return render_pdf(sample_document(pages_of_text=2, key_images=4, table_rows=70), letterhead())


def test_every_page_has_the_header_and_page_x_of_y(long_pdf: bytes, tmp_path: Path) -> None:
    pages = page_count(long_pdf)
    assert pages >= 5
    for number in range(1, pages + 1):
        text = pdftotext(long_pdf, tmp_path, page=number)
        assert "Case SO-2026-0042" in text
        assert "Marta Kowalczyk-Synthetic · born 17 May 1968" in text
        assert f"Page {number} of {pages}" in text
        assert "Confidential medical information" in text


def test_latin_arabic_and_chinese_come_back_from_pdftotext(tmp_path: Path) -> None:
    name = "Łukasz Żółć-Synthetic"
    pdf = render_pdf(sample_document(patient_name=name), letterhead())
    raw = pdftotext(pdf, tmp_path)
    text = readable(raw)
    assert name in raw
    assert ARABIC in text  # shaped for display, yet extracts as the letters typed
    assert CHINESE in raw
    assert "Arabic note from the referring clinic:" in text


def test_an_arabic_patient_name_heads_every_page(tmp_path: Path) -> None:
    name = "فاطمة الزهراء"
    pdf = render_pdf(sample_document(patient_name=name, pages_of_text=1), letterhead())
    pages = page_count(pdf)
    assert pages >= 2
    for number in range(1, pages + 1):
        assert name in readable(pdftotext(pdf, tmp_path, page=number))


def test_table_header_repeats_on_every_page_the_table_runs_over(
    long_pdf: bytes, tmp_path: Path
) -> None:
    row = re.compile(r"^20\d\d-\d\d-\d\d Haemoglobin \d+\.\d g/dL$", re.MULTILINE)
    pages_with_rows = 0
    for number in range(1, page_count(long_pdf) + 1):
        text = pdftotext(long_pdf, tmp_path, page=number)
        if row.search(text):
            pages_with_rows += 1
            lines = text.splitlines()
            assert {"Date", "Test", "Result"} <= set(lines), f"page {number} lacks the header"
    assert pages_with_rows >= 2, "the table should run over a page break"
    # Every row is there exactly once: cutting the table lost or doubled nothing.
    assert len(row.findall(pdftotext(long_pdf, tmp_path))) == 70


def test_citations_figures_and_lab_values(long_pdf: bytes, tmp_path: Path) -> None:
    text = flat(pdftotext(long_pdf, tmp_path))
    assert "by the iron studies [1]; the haemoglobin is low [2]" in text
    assert "Figure 1. Haemoglobin trend, 2026-01-03 to 2026-05-01" in text
    for index in range(4):
        assert f"Figure {index + 2}. CT Chest (2026-02-11), series 3, image {40 + index}" in text
    assert "Cited evidence" in text
    assert "[1] Record: Discharge summary (2026-03-02), page 3" in text
    assert "[2] Laboratory result: Haemoglobin 9.8 g/dL (low; ref 12.0–15.5 g/dL)" in text
    assert "[3] Trend: Haemoglobin trend, 2026-01-03 to 2026-05-01 (Figure 1)" in text
    with pymupdf.open("pdf", long_pdf) as doc:
        images = sum(len(page.get_images()) for page in doc)
    assert images == 1 + 5  # the letterhead's logo and five figures


def test_sections_verdict_questions_and_answers(long_pdf: bytes, tmp_path: Path) -> None:
    text = flat(pdftotext(long_pdf, tmp_path))
    order = [
        "Second medical opinion",
        "Clinical questions",
        "Is the diagnosis of iron-deficiency anaemia correct?",
        "Case summary",
        "Assessment of the current diagnosis",
        "I do not agree with the current diagnosis.",
        "Differential diagnosis",
        "Recommended treatment and alternatives",
        "Further tests or trials",
        "Limitations",
        "Your questions",
        "Do I need to keep taking iron tablets?",
        "No. The test results do not show a lack of iron.",
        "What happens next?",
        "A bone-marrow test is the next step",
        "Appendix: records reviewed",
    ]
    positions = [text.index(item) for item in order]
    assert positions == sorted(positions)


def test_appendix_lists_every_record_with_its_sha256(long_pdf: bytes, tmp_path: Path) -> None:
    doc = sample_document(pages_of_text=2, key_images=4, table_rows=70)
    text = flat(pdftotext(long_pdf, tmp_path))
    appendix = text[text.index("Appendix: records reviewed") :]
    for record in doc.records:
        assert record.title in appendix
        assert record.detail.split(",")[0] in appendix
        if record.sha256:
            assert f"SHA-256: {record.sha256}" in appendix
    assert "11 February 2026" in appendix and "Undated" in appendix


def test_fonts_are_embedded_and_subset(long_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "o.pdf"
    path.write_bytes(long_pdf)
    report = subprocess.run(
        ["pdffonts", str(path)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    assert len(report) >= 4
    for line in report:
        name, flags = line.split()[0], line.split()[-5:-2]
        assert flags == ["yes", "yes", "yes"], line  # embedded, subset, ToUnicode
        assert re.match(r"[A-Z]{6}\+Noto", name), line


def test_the_last_page_keeps_the_signature_room_free(tmp_path: Path) -> None:
    x0, y0, x1, y1 = SIGNATURE_BOX
    for filler in range(4):
        pdf = render_pdf(sample_document(pages_of_text=filler, key_images=0), letterhead())
        with pymupdf.open("pdf", pdf) as doc:
            page = doc[-1]
            box = pymupdf.Rect(x0, page.rect.height - y1, x1, page.rect.height - y0)
            words = [w for w in page.get_text("words") if pymupdf.Rect(w[:4]).intersects(box)]
            assert words == [], (filler, words)
            assert "Electronic signature" in page.get_text()


def test_addendum_title_and_reference_to_the_opinion(tmp_path: Path) -> None:
    pdf = render_pdf(sample_document(kind=DraftKind.ADDENDUM), letterhead())
    text = readable(pdftotext(pdf, tmp_path))
    assert "Addendum\n" in text
    assert "Addendum to the opinion of 2 November 2026 (opinion-7f3a)" in text
    assert "The bone-marrow report has since arrived [1]" in text
    assert ARABIC in text and readable(CHINESE) in text
    assert "Second medical opinion" not in text
    assert "Assessment of the current diagnosis" not in text


def test_hostile_html_and_names_show_as_typed(tmp_path: Path) -> None:
    hostile = (
        "<html><head><style>p { color: white }</style><script>alert('x')</script></head><body>"
        '<p style="color:#fff; font-size:1pt; font-weight:600">Visible <img src="file:///etc/'
        'passwd"> text &lt;b&gt;not bold&lt;/b&gt; <a href="javascript:alert(1)">link</a>'
        '<a href="https://example.org/">site</a></p>'
        '<p><span style="font-style:italic; display:none">shown anyway</span></p>'
        "<object data='x'>fallback</object><iframe src='y'>frame</iframe></body></html>"
    )
    doc = sample_document(patient_name="<b>Eve</b> & Co")
    doc = dataclasses.replace(
        doc,
        draft=doc.draft.with_section(Section.LIMITATIONS, hostile),
        clinical_questions=("</p><h1>Injected</h1> & <script>?",),
        patient_questions=("Is it <i>bad</i>?", "What next?"),
    )
    pdf = render_pdf(doc, letterhead())
    text = flat(pdftotext(pdf, tmp_path))
    assert "Visible text <b>not bold</b> linksite" in text
    assert "shown anyway" in text
    assert "</p><h1>Injected</h1> & <script>?" in text
    assert "Is it <i>bad</i>?" in text
    assert "<b>Eve</b> & Co" in text
    for absent in ("alert", "color", "fallback", "frame", "passwd"):
        assert absent not in text
    with pymupdf.open("pdf", pdf) as opened:
        assert all(not page.get_links() for page in opened)
        images = sum(len(page.get_images()) for page in opened)
    assert images == 1 + 3  # logo, trend and two key images: the <img> was dropped


def test_cleaner_keeps_structure_and_the_editors_styles_only() -> None:
    html = (
        qt_html(
            '<span style=" font-weight:600;">bold</span> '
            '<span style=" font-style:italic;">it</span> '
            '<span style=" text-decoration: underline; color:#ff0000;">under</span> '
            '<a href="cite:' + "a" * 32 + '">[9]</a>'
        )
        + "<ul><li>one</li><li>two</li></ul><h1>Heading</h1>"
    )
    blocks = clean(html, lambda cid, text: f"[{cid[:2]}]")
    assert blocks == [
        "<p><b>bold</b> <i>it</i> <u>under</u> [aa]</p>",
        "<ul><li>one</li><li>two</li></ul>",
        "<h3>Heading</h3>",
    ]


def test_cleaner_separates_tables_and_their_header() -> None:
    html = (
        "<table><thead><tr><th>A</th><th>B</th></tr></thead>"
        "<tr><td><p>1</p></td><td>2</td></tr><tr><td>3</td><td dir='rtl'>" + ARABIC + "</td></tr>"
        "</table><p>after</p>"
    )
    table, after = clean(html, lambda cid, text: "")
    assert isinstance(table, Table)
    assert table.header == ["<tr><th>A</th><th>B</th></tr>"]
    assert table.rows == [
        "<tr><td>1<br></td><td>2</td></tr>",
        f'<tr><td>3</td><td dir="rtl"><span class="ar">{ARABIC}</span></td></tr>',
    ]
    assert after == "<p>after</p>"


def test_platform_letterhead_replaces_the_bundled_one(tmp_path: Path) -> None:
    folder = tmp_path / "head"
    folder.mkdir()
    (folder / "logo.png").write_bytes(png(120, 60))
    (folder / "letterhead.json").write_text(
        json.dumps(
            {
                "organisation": "Synthetic University Hospital",
                "address": ["1 Example Road", "Testville"],
                "contact": "opinions@hospital.example",
                "logo": "logo.png",
                "footer_note": "Synthetic footer",
            }
        ),
        encoding="utf-8",
    )
    head = letterhead(folder)
    assert head.address == ("1 Example Road", "Testville")
    text = pdftotext(render_pdf(sample_document(), head), tmp_path)
    assert "Synthetic University Hospital" in text
    assert "opinions@hospital.example" in text
    assert "Synthetic footer" in text
    assert "Reviewer Second Opinion Service" not in text


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"address": []}),
        json.dumps({"organisation": "X", "logo": "../logo.png"}),
        json.dumps({"organisation": "X", "logo": "fake.png"}),
        json.dumps({"organisation": "X", "address": "one line"}),
    ],
)
def test_a_broken_letterhead_is_refused(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "head"
    folder.mkdir()
    (tmp_path / "logo.png").write_bytes(png(10, 10))
    (folder / "fake.png").write_bytes(b"GIF89a not a png")
    (folder / "letterhead.json").write_text(content, encoding="utf-8")
    with pytest.raises(LetterheadInvalid):
        letterhead(folder)


def test_missing_letterhead_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LetterheadInvalid):
        letterhead(tmp_path / "nowhere")


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    doc = sample_document(key_images=1)
    first, second = render_pdf(doc, letterhead()), render_pdf(doc, letterhead())
    assert pdftotext(first, tmp_path) == pdftotext(second, tmp_path)


def test_rendered_opinion_signs_and_verifies(
    long_pdf: bytes, signing_key: object, enrollment: Enrollment, tmp_path: Path
) -> None:
    identity = SigningIdentity(signing_key, enrollment.chain)  # type: ignore[arg-type]
    signed = sign_pdf(long_pdf, identity, placement=Placement(page=-1, box=SIGNATURE_BOX))
    assert signed.startswith(long_pdf)
    report = verify_pdf(signed, list(enrollment.platform_ca))
    assert report.ok, report.reason
    # The visible block landed on the last page, inside the reserved room.
    last = pdftotext(signed, tmp_path, page=page_count(signed))
    assert "Digitally signed by Dr Demo Specialist" in last


def test_a_table_whose_first_row_misses_the_page_moves_with_its_heading() -> None:
    from reviewer_app.opinion import export

    table = Table(header=["<tr><th>A</th></tr>"], rows=["<tr><td>1</td></tr>"] * 3)
    parts = export._parts(["<p>intro</p>", "<h2>Appendix</h2>", table, "<p>end</p>"])
    segments = [parts]
    # The header landed at the foot of page 0, the first row on page 1.
    rows = [(0, "t0h"), (1, "t0r0"), (1, "t0r1"), (1, "t0r2")]
    cut = export._first_break(rows, segments)
    assert cut == (0, 0)
    export._cut(segments, *cut)
    assert segments[0] == ["<p>intro</p>"]
    assert segments[1][0] == "<h2>Appendix</h2>" and segments[1][-1] == "<p>end</p>"
    # On its fresh page the table is whole: nothing more to cut.
    assert export._first_break([(1, "t0h"), (1, "t0r0")], segments) is None
