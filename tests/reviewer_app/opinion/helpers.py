"""Helpers for the signing tests: a small opinion PDF made with PyMuPDF, cheap scrypt."""

from __future__ import annotations

import pymupdf

from reviewer_app.vault.keystore import ScryptParams

#: Tests do not measure the KDF's cost; the wrapping logic is the same.
FAST_SCRYPT = ScryptParams(n=2**12)
PASSPHRASE = "correct horse battery staple"


def opinion_pdf(pages: int = 2) -> bytes:
    """A synthetic opinion: a few lines of text on each page."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page()
        page.insert_text((72, 72), f"Second opinion, page {number + 1}", fontsize=16)
        for line in range(20):
            page.insert_text((72, 110 + 18 * line), f"Synthetic finding {number}.{line}: stable.")
    data = doc.tobytes(garbage=3, deflate=True)
    doc.close()
    return bytes(data)
