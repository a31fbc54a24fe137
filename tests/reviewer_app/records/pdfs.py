"""Synthetic PDFs for the Records tests and benchmark, made with PyMuPDF in memory.

Like the reference server's letters: base-14 Helvetica text, a ruled table, and a
"scanned" page that is only a picture (no text layer). Synthetic data only.
"""

from __future__ import annotations

import numpy as np
import pymupdf

A4 = (595.0, 842.0)
WORDS = [
    "ejection",
    "fraction",
    "septal",
    "thickness",
    "follow-up",
    "echocardiogram",
    "rhythm",
    "sinus",
    "medication",
    "dose",
    "review",
    "clinic",
    "letter",
    "findings",
    "impression",
    "plan",
    "history",
]


def text_page(doc: pymupdf.Document, lines: list[str], *, top: float = 72.0) -> None:
    """Append an A4 page with ``lines`` of 11 pt Helvetica from ``top`` down."""
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_text((56, top), lines, fontname="helv", fontsize=11, lineheight=1.4)


def table_page(doc: pymupdf.Document, rows: list[tuple[str, ...]]) -> None:
    """Append a page holding a ruled table, one text line per row."""
    page = doc.new_page(width=A4[0], height=A4[1])
    shape = page.new_shape()
    x0, x1, top, row_h = 56.0, A4[0] - 56.0, 80.0, 16.0
    for n in range(len(rows) + 1):
        shape.draw_line((x0, top + n * row_h), (x1, top + n * row_h))
    shape.finish(width=0.4, color=(0, 0, 0))
    col_w = (x1 - x0) / max(len(r) for r in rows)
    for n, row in enumerate(rows):
        for c, cell in enumerate(row):
            shape.insert_text(
                (x0 + 3 + c * col_w, top + (n + 1) * row_h - 4), cell, fontname="helv", fontsize=9
            )
    shape.commit()


def scanned_page(doc: pymupdf.Document, seed: int = 0) -> None:
    """Append a page that is only a noisy greyscale picture of printed text."""
    src = pymupdf.open()
    page = src.new_page(width=A4[0], height=A4[1])
    page.insert_text((66, 90), ["Enclosure (scanned)", *WORDS[:8]], fontname="cour", fontsize=14)
    pix = page.get_pixmap(dpi=80, colorspace=pymupdf.csGRAY)
    src.close()
    rng = np.random.default_rng(seed)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, : pix.width]
    noisy = np.clip(img * 0.92 + rng.integers(0, 24, img.shape), 0, 255).astype(np.uint8)
    scan = pymupdf.Pixmap(pymupdf.csGRAY, pix.width, pix.height, noisy.tobytes(), 0)
    target = doc.new_page(width=A4[0], height=A4[1])
    target.insert_image(target.rect, pixmap=scan)


def letter(pages: int, *, seed: int = 0, scanned: bool = False, table: bool = False) -> bytes:
    """A letter of ``pages`` pages of prose (plus a table page and a scanned last page
    when asked, both counted in ``pages``)."""
    rng = np.random.default_rng(seed)
    doc = pymupdf.open()
    prose = pages - int(scanned) - int(table)
    for n in range(prose):
        lines = [f"Synthetic clinic letter, page {n + 1}"]
        for _ in range(40):
            lines.append(" ".join(rng.choice(WORDS, 9)))
        text_page(doc, lines)
    if table:
        rows = [("Date", "Test", "Result", "Unit")]
        rows += [
            (f"2029-0{1 + i % 9}-1{i % 9}", "Haemoglobin", f"{120 + i}", "g/L") for i in range(40)
        ]
        table_page(doc, rows)
    if scanned:
        scanned_page(doc, seed)
    data: bytes = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return data


def simple(*pages: list[str]) -> bytes:
    """A PDF with one page per list of lines."""
    doc = pymupdf.open()
    for lines in pages:
        text_page(doc, lines)
    data: bytes = doc.tobytes()
    doc.close()
    return data


def encrypted(data: bytes, user_password: str = "secret") -> bytes:
    """``data`` saved again with AES-256 and a user password."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    out: bytes = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=user_password, owner_pw="owner-pw"
    )
    doc.close()
    return out


def zero_pages() -> bytes:
    """A well-formed PDF (with a correct xref table) whose page tree is empty."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
