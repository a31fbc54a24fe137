"""RecordDocument on PDFs generated here: sizes, pixels, search, words, and every way a
record can be unreadable, each with its own error. Runs without Qt."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pymupdf
import pytest

from reviewer_app.errors import (
    DamagedDocument,
    EmptyDocument,
    EncryptedDocument,
    NotAPdf,
    ObjectMissing,
    ReviewerError,
)
from reviewer_app.records import RecordDocument, open_record
from reviewer_app.records.geometry import PageSize, to_view
from reviewer_app.records.selection import select_between, selected_text
from reviewer_app.vault import KeySource, Profile, ScryptParams, create_profile
from tests.reviewer_app.records.pdfs import encrypted, letter, scanned_page, simple, zero_pages

SCREEN = 96 / 72


def pixels(image: object) -> np.ndarray:
    """The rendered page as an (h, w, 3) array."""
    h, w, stride = image.height, image.width, image.stride  # type: ignore[attr-defined]
    raw = np.frombuffer(image.samples, np.uint8).reshape(h, stride)  # type: ignore[attr-defined]
    return raw[:, : w * 3].reshape(h, w, 3)


def test_page_count_and_sizes() -> None:
    doc = pymupdf.open()
    doc.new_page(width=595, height=842)
    doc.new_page(width=842, height=595)
    doc[1].insert_text((72, 72), "landscape")
    record = RecordDocument(doc.tobytes())
    assert record.page_count == 2
    assert record.page_sizes == (PageSize(595, 842), PageSize(842, 595))
    assert not record.repaired


@pytest.mark.parametrize(("zoom", "rotation"), [(1.0, 0), (SCREEN, 0), (2.0, 90), (0.5, 270)])
def test_render_size_follows_zoom_and_rotation(zoom: float, rotation: int) -> None:
    record = RecordDocument(simple(["Hello"]))
    image = record.render(0, zoom, rotation)
    w, h = 595 * zoom, 842 * zoom
    if rotation in (90, 270):
        w, h = h, w
    # MuPDF rounds the pixel box outwards: at most one pixel more.
    assert w <= image.width < w + 1
    assert h <= image.height < h + 1
    assert image.stride >= image.width * 3
    assert image.nbytes == image.stride * image.height
    assert (image.page, image.zoom, image.rotation) == (0, zoom, rotation)


def test_rendered_text_lands_where_search_says() -> None:
    """The hit rectangle, mapped to pixels, covers the dark pixels of the word, at every
    rotation: the pane's highlights sit on the words."""
    record = RecordDocument(simple(["", "", "", "Marker"]))
    (hit,) = record.search("marker")
    for rotation in (0, 90, 180, 270):
        image = record.render(0, 1.0, rotation)
        ink = pixels(image).min(axis=2) < 128
        box = to_view(hit.rect, record.page_sizes[0], 1.0, rotation)
        inside = ink[int(box.y0) : int(box.y1) + 1, int(box.x0) : int(box.x1) + 1]
        assert ink.sum() > 50
        assert inside.sum() == ink.sum(), rotation


def test_page_rotate_attribute_is_applied_to_sizes_and_hits() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.insert_text((72, 72), "Rotated", fontsize=20)
    page.set_rotation(90)
    record = RecordDocument(doc.tobytes())
    assert record.page_sizes[0] == PageSize(800, 600)
    (hit,) = record.search("rotated")
    ink = pixels(record.render(0, 1.0)).min(axis=2) < 128
    ys, xs = np.nonzero(ink)
    assert hit.rect.x0 - 1 <= xs.min() and xs.max() <= hit.rect.x1 + 1
    assert hit.rect.y0 - 1 <= ys.min() and ys.max() <= hit.rect.y1 + 1


def test_search_finds_every_hit_in_page_order() -> None:
    record = RecordDocument(
        simple(["Ejection fraction 55 %", "no EJECTION here"], ["nothing"], ["ejection again"])
    )
    hits = record.search("ejection")
    assert [h.page for h in hits] == [0, 0, 2]
    assert hits[0].rect.y1 <= hits[1].rect.y0 + 1
    assert record.search("absent") == []
    assert record.search("   ") == []


def test_search_can_be_cancelled_between_pages() -> None:
    record = RecordDocument(simple(["a"], ["a"], ["a"]))
    seen: list[int] = []

    def check() -> None:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record.search("a", check)
    assert len(seen) == 2


def test_words_and_selected_text() -> None:
    record = RecordDocument(simple(["Left ventricle normal size", "Mild mitral regurgitation"]))
    words = record.words(0)
    assert [w.text for w in words] == [
        "Left",
        "ventricle",
        "normal",
        "size",
        "Mild",
        "mitral",
        "regurgitation",
    ]
    # Drag from inside "normal" (line 1) to inside "mitral" (line 2), backwards too.
    normal, mitral = words[2].rect, words[5].rect
    start = (normal.x0 + 2, (normal.y0 + normal.y1) / 2)
    end = (mitral.x1 - 2, (mitral.y0 + mitral.y1) / 2)
    assert selected_text(select_between(words, start, end)) == "normal size\nMild mitral"
    assert selected_text(select_between(words, end, start)) == "normal size\nMild mitral"


def test_scanned_page_renders_and_has_no_text() -> None:
    doc = pymupdf.open()
    scanned_page(doc)
    record = RecordDocument(doc.tobytes())
    assert record.words(0) == ()
    assert record.text(0) == ""
    image = record.render(0, SCREEN)
    grey = pixels(image).mean(axis=2)
    # Paper and print: both light and dark pixels, not a blank page.
    assert (grey > 200).mean() > 0.5
    assert (grey < 100).sum() > 500


def test_letter_with_table_and_scan() -> None:
    record = RecordDocument(letter(4, table=True, scanned=True))
    assert record.page_count == 4
    assert len(record.search("haemoglobin")) == 40
    assert {h.page for h in record.search("haemoglobin")} == {2}
    assert record.pages_without_text() == (3,)


def test_encrypted_says_so() -> None:
    with pytest.raises(EncryptedDocument) as raised:
        RecordDocument(encrypted(simple(["Confidential Testpatient"])))
    assert "password" in raised.value.user_text()
    assert "Testpatient" not in raised.value.user_text()


def test_owner_password_only_opens() -> None:
    """Restrictions without a user password do not stop reading."""
    doc = pymupdf.open(stream=simple(["Readable"]), filetype="pdf")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="")
    assert RecordDocument(data).search("readable")


def test_truncated_header_is_damaged() -> None:
    with pytest.raises(DamagedDocument):
        RecordDocument(letter(3)[:40])


def test_truncated_body_is_repaired_and_flagged() -> None:
    """MuPDF rebuilds a PDF cut in half; the record opens but says it was repaired."""
    data = letter(3)
    record = RecordDocument(data[: len(data) // 2])
    assert record.repaired
    record.render(0, 1.0)


def test_empty_file_and_zero_pages_are_empty() -> None:
    with pytest.raises(EmptyDocument):
        RecordDocument(b"")
    with pytest.raises(EmptyDocument):
        RecordDocument(zero_pages())


@pytest.mark.parametrize(
    "data",
    [b"Dear colleague, this is plain text." * 20, b"\x89PNG\r\n\x1a\n" + bytes(200), bytes(64)],
)
def test_not_a_pdf(data: bytes) -> None:
    with pytest.raises(NotAPdf):
        RecordDocument(data)


def test_errors_are_distinct_reviewer_errors() -> None:
    kinds = {EncryptedDocument, DamagedDocument, EmptyDocument, NotAPdf}
    assert all(issubclass(k, ReviewerError) for k in kinds)
    assert len({k().user_text() for k in kinds}) == 4


def test_javascript_is_never_enabled() -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Form")
    doc.set_xml_metadata("")
    root = doc.pdf_catalog()
    action = doc.get_new_xref()
    doc.update_object(action, "<< /S /JavaScript /JS (app.alert('x');) >>")
    doc.xref_set_key(root, "OpenAction", f"{action} 0 R")
    record = RecordDocument(doc.tobytes())
    pdf = pymupdf._as_pdf_document(record._doc)
    assert not pymupdf.mupdf.pdf_js_supported(pdf)
    record.render(0, 1.0)


def test_closed_document_refuses_work() -> None:
    record = RecordDocument(simple(["x"]))
    record.close()
    record.close()
    assert record.closed
    with pytest.raises(ValueError, match="closed"):
        record.render(0, 1.0)


def test_threads_share_the_engine_safely() -> None:
    """Renders and searches from several threads at once give the same results as one
    thread: the engine lock serialises them."""
    records = [RecordDocument(letter(3, seed=n)) for n in range(3)]
    expected = [len(r.search("letter")) for r in records]
    errors: list[BaseException] = []
    results: dict[int, int] = {}

    def work(n: int) -> None:
        try:
            for page in range(3):
                records[n].render(page, 0.5)
            results[n] = len(records[n].search("letter"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert [results[n] for n in range(3)] == expected


def test_open_record_from_the_vault(tmp_path: Path) -> None:
    vault = create_profile(
        Profile(tmp_path / "p"),
        "correct horse battery staple",
        key_source=KeySource.PASSPHRASE,
        scrypt=ScryptParams(n=2**10, r=8, p=1),
    )
    try:
        ref = vault.objects.put(simple(["From the vault"]), kind="record")
        record = open_record(vault.objects, ref.object_id)
        assert record.search("vault")
        with pytest.raises(ObjectMissing):
            open_record(vault.objects, "0" * 32)
    finally:
        vault.close()
