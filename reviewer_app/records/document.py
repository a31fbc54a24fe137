"""One Record's PDF, opened from the vault in memory: pages, pixels, search hits, words.

The Records pane asks this module, on worker threads, for everything it draws: page
sizes, a page rendered to raw RGB bytes (the UI builds the QImage), the rectangles of
every search hit, and the words of a page with their rectangles for text selection.
Bytes come from the vault's :class:`~reviewer_app.vault.objects.ObjectReader` and are
handed to PyMuPDF as a stream: a decrypted record never touches the disk.

Safety: PDF JavaScript never runs. PyMuPDF opens documents without MuPDF's JavaScript
engine (only ``pdf_enable_js`` would start it, and nothing here calls it); we also call
``pdf_disable_js`` on every document we open, so a future default cannot change that.
Nothing here fills forms, follows links or launches embedded files.

Threads: PyMuPDF runs MuPDF in single-threaded mode (one global context, no locks), so
two threads must never be inside it at once, even on different documents. Every call
into PyMuPDF from this module holds :data:`ENGINE_LOCK`.

Coordinates: every rectangle is in PDF points in the page's *displayed* space (the
page's own /Rotate applied, origin top-left), the space :attr:`RecordDocument.page_sizes`
describes; :mod:`reviewer_app.records.geometry` maps it to rendered pixels.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pymupdf

from reviewer_app.errors import DamagedDocument, EmptyDocument, EncryptedDocument, NotAPdf
from reviewer_app.records.geometry import PageSize, Rect, normalise_rotation
from reviewer_app.vault import ObjectStore

#: Held around every call into PyMuPDF (see the module docstring).
ENGINE_LOCK = threading.RLock()

#: A PDF's header may follow some leading junk; readers accept it within this many bytes.
_HEADER_WINDOW = 1024

# MuPDF prints its warnings and errors to stderr, where they would reach logs; they can
# quote a document's own strings (font names, metadata), which may be patient data.
pymupdf.TOOLS.mupdf_display_errors(False)
pymupdf.TOOLS.mupdf_display_warnings(False)


@dataclass(frozen=True)
class PageImage:
    """A rendered page: tightly described raw RGB888 pixels, rows ``stride`` bytes apart."""

    page: int
    width: int
    height: int
    stride: int
    samples: bytes
    zoom: float
    rotation: int

    @property
    def nbytes(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class SearchHit:
    """One place a search text occurs: its page and rectangle (displayed page space)."""

    page: int
    rect: Rect


@dataclass(frozen=True)
class Word:
    """A word of a page's text layer, in reading order (block, line, position)."""

    rect: Rect
    text: str
    block: int
    line: int


class RecordDocument:
    """An open PDF Record. Thread-safe: every method takes :data:`ENGINE_LOCK`.

    Raises, when opened: :class:`NotAPdf`, :class:`EncryptedDocument`,
    :class:`DamagedDocument`, :class:`EmptyDocument`. ``repaired`` is True when MuPDF had
    to rebuild a broken file to open it: what it shows may be incomplete.
    """

    def __init__(self, data: bytes) -> None:
        if not data:
            raise EmptyDocument("This record is empty: its file has no content.")
        if b"%PDF-" not in data[:_HEADER_WINDOW]:
            raise NotAPdf()
        with ENGINE_LOCK:
            try:
                doc = pymupdf.open(stream=data, filetype="pdf")
            except (pymupdf.FileDataError, RuntimeError):
                raise DamagedDocument() from None
            try:
                self._check(doc)
                self._doc = doc
                self.repaired = bool(doc.is_repaired)
                self.page_sizes = tuple(self._page_size(doc, n) for n in range(doc.page_count))
            except BaseException:
                doc.close()
                raise
        self._words: dict[int, tuple[Word, ...]] = {}
        self._textless: tuple[int, ...] | None = None

    @staticmethod
    def _check(doc: pymupdf.Document) -> None:
        if not doc.is_pdf:
            # The bytes looked like a PDF but MuPDF recognised another format.
            raise NotAPdf()
        if doc.needs_pass:
            raise EncryptedDocument()
        pdf = pymupdf._as_pdf_document(doc)
        pymupdf.mupdf.pdf_disable_js(pdf)
        if doc.page_count == 0:
            if doc.is_repaired:
                raise DamagedDocument()
            raise EmptyDocument()

    @staticmethod
    def _page_size(doc: pymupdf.Document, number: int) -> PageSize:
        try:
            rect = doc[number].rect
        except (pymupdf.FileDataError, RuntimeError, ValueError):
            raise DamagedDocument() from None
        if rect.is_empty or rect.is_infinite:
            raise DamagedDocument()
        return PageSize(rect.width, rect.height)

    @property
    def page_count(self) -> int:
        return len(self.page_sizes)

    @property
    def closed(self) -> bool:
        return self._doc.is_closed

    def close(self) -> None:
        """Free MuPDF's memory; later calls raise ``ValueError``. Idempotent."""
        with ENGINE_LOCK:
            if not self._doc.is_closed:
                self._doc.close()

    def _page(self, number: int) -> pymupdf.Page:
        if self._doc.is_closed:
            raise ValueError("this record is closed")
        if not 0 <= number < self.page_count:
            raise IndexError(f"page {number} out of range")
        return self._doc[number]

    def render(self, number: int, zoom: float, rotation: int = 0) -> PageImage:
        """Page ``number`` (0-based) at ``zoom`` pixels per point, turned clockwise by
        ``rotation`` degrees (a multiple of 90) on top of the page's own rotation."""
        if not zoom > 0:
            raise ValueError("zoom must be positive")
        rotation = normalise_rotation(rotation)
        matrix = pymupdf.Matrix(zoom, zoom).prerotate(rotation)
        with ENGINE_LOCK:
            page = self._page(number)
            try:
                pix = page.get_pixmap(matrix=matrix, colorspace=pymupdf.csRGB, alpha=False)
            except (pymupdf.FileDataError, RuntimeError):
                raise DamagedDocument() from None
            return PageImage(
                number, pix.width, pix.height, pix.stride, bytes(pix.samples), zoom, rotation
            )

    def search(self, text: str, check: Callable[[], None] | None = None) -> list[SearchHit]:
        """Every occurrence of ``text`` (case-insensitive), page by page in reading order.

        A hit that wraps onto the next line counts once per line. ``check`` is called
        between pages (it raises to stop: a cancelled search)."""
        needle = text.strip()
        hits: list[SearchHit] = []
        if not needle:
            return hits
        for number in range(self.page_count):
            if check is not None:
                check()
            with ENGINE_LOCK:
                page = self._page(number)
                to_display = page.rotation_matrix
                quads = page.search_for(needle, quads=True)
                rects = [(quad.rect * to_display) for quad in quads]
            hits += [SearchHit(number, _rect(r)) for r in rects]
        return hits

    def words(self, number: int) -> tuple[Word, ...]:
        """The words of page ``number`` in reading order (empty for a scanned page)."""
        cached = self._words.get(number)
        if cached is not None:
            return cached
        with ENGINE_LOCK:
            page = self._page(number)
            to_display = page.rotation_matrix
            raw = page.get_text("words", sort=False)
            words = tuple(
                Word(_rect(pymupdf.Rect(x0, y0, x1, y1) * to_display), text, block, line)
                for x0, y0, x1, y1, text, block, line, _n in raw
            )
        self._words[number] = words
        return words

    def pages_without_text(self) -> tuple[int, ...]:
        """Pages with no text layer (scans, photos): search cannot see into them.

        Computed once per document (a text extraction of every page)."""
        if self._textless is None:
            found = []
            for number in range(self.page_count):
                with ENGINE_LOCK:
                    if not self._page(number).get_text("text").strip():
                        found.append(number)
            self._textless = tuple(found)
        return self._textless

    def text(self, number: int) -> str:
        """The plain text of page ``number`` ('' for a scanned page)."""
        with ENGINE_LOCK:
            return str(self._page(number).get_text("text"))


def _rect(r: pymupdf.Rect) -> Rect:
    r = pymupdf.Rect(r).normalize()
    return Rect(r.x0, r.y0, r.x1, r.y1)


def open_record(objects: ObjectStore, object_id: str) -> RecordDocument:
    """Open a Record's PDF from the vault's object store (``vault.objects``), in memory.

    Besides the errors of :class:`RecordDocument`, the store's own ``ObjectMissing`` and
    ``CorruptObject`` pass through."""
    return RecordDocument(objects.open(object_id).read_all())
