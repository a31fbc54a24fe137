"""Page images and words for the Records pane, rendered off the UI thread and cached.

The page view and the thumbnail strip ask :class:`PageRenderer` for a page at a zoom;
it answers from a cache bounded in bytes or, on a miss, starts one background render
through :class:`~ui.operations.Operations` and answers with the nearest image it has
(the same page at another zoom) meanwhile. ``page_ready`` says when to repaint.

Every request carries the renderer's generation; switching document (or case) bumps
it, so late results for a record no longer shown are dropped, never painted.
"""

from __future__ import annotations

from typing import Any

from reviewer_app.records import ByteBudgetCache, RecordDocument, Word
from ui.operations import OpContext, Operation, Operations, Priority
from ui.qt import QImage, QObject, Signal

#: Cap on the memory held by rendered pages (several screens of pages at 2x).
DEFAULT_BUDGET = 192 * 1024 * 1024

# (page, zoom in device pixels per point rounded, rotation, is_thumbnail)
Key = tuple[int, float, int, bool]


def _render(doc: RecordDocument, page: int, zoom: float, rotation: int) -> QImage:
    # Runs on a worker: the core renders bytes, this (UI-layer) function wraps them in a
    # QImage, which, unlike QPixmap, may be built off the UI thread.
    raw = doc.render(page, zoom, rotation)
    image = QImage(raw.samples, raw.width, raw.height, raw.stride, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: ``raw.samples`` is freed with ``raw``


class PageRenderer(QObject):
    """Cached, asynchronous page images and words of one RecordDocument at a time."""

    #: A page image (full or thumbnail) or a page's words arrived: repaint that page.
    page_ready = Signal(int)
    #: A page could not be rendered (damaged content); it shows a message instead.
    page_failed = Signal(int)

    def __init__(self, ops: Operations, *, budget: int = DEFAULT_BUDGET) -> None:
        super().__init__()
        self._ops = ops
        self._cache: ByteBudgetCache[Key, QImage] = ByteBudgetCache(budget)
        self._doc: RecordDocument | None = None
        self._generation = 0
        self._inflight: dict[Key, Operation] = {}
        self._words: dict[int, tuple[Word, ...]] = {}
        self._words_inflight: set[int] = set()
        self.failed_pages: set[int] = set()

    @property
    def document(self) -> RecordDocument | None:
        return self._doc

    @property
    def cache(self) -> ByteBudgetCache[Key, QImage]:
        return self._cache

    def set_document(self, doc: RecordDocument | None) -> None:
        """Show ``doc`` from now on (None: nothing); pending work for the old one is
        cancelled and its results will be dropped."""
        self._generation += 1
        for op in self._inflight.values():
            op.cancel()
        self._inflight.clear()
        self._words_inflight.clear()
        self._cache.clear()
        self._words.clear()
        self.failed_pages.clear()
        self._doc = doc

    def pending(self) -> int:
        """Renders started and not yet delivered."""
        return len(self._inflight)

    def image(
        self, page: int, zoom: float, rotation: int, *, thumbnail: bool = False
    ) -> QImage | None:
        """The page at ``zoom`` device pixels per point, or the best stand-in (the page
        at another zoom, to be scaled) while the exact one renders; None if none yet."""
        key = (page, round(zoom, 3), rotation, thumbnail)
        exact = self._cache.get(key)
        if exact is not None:
            return exact
        self.request(page, zoom, rotation, thumbnail=thumbnail)
        # Prefer the same kind (page or thumbnail), then the nearest zoom.
        near = sorted(
            (k for k in list(self._cache) if k[0] == page and k[2] == rotation),
            key=lambda k: (k[3] != thumbnail, abs(k[1] - zoom)),
        )
        return self._cache.get(near[0]) if near else None

    def has_image(self, page: int, zoom: float, rotation: int, *, thumbnail: bool = False) -> bool:
        """Whether exactly this image is cached (not a stand-in)."""
        return (page, round(zoom, 3), rotation, thumbnail) in self._cache

    def request(
        self,
        page: int,
        zoom: float,
        rotation: int,
        *,
        thumbnail: bool = False,
        ahead: bool = False,
    ) -> None:
        """Start rendering the page unless it is cached, failed or already on its way.

        A page on screen renders first (HIGH); thumbnails and pages rendered ``ahead``
        of scrolling are fill-in work (LOW)."""
        doc = self._doc
        key = (page, round(zoom, 3), rotation, thumbnail)
        if doc is None or key in self._cache:
            return
        priority = Priority.LOW if thumbnail or ahead else Priority.HIGH
        queued = self._inflight.get(key)
        if queued is not None:
            if queued.priority >= priority or queued.done:
                return
            queued.cancel()  # scrolled into view while waiting as LOW: render it now
        if page in self.failed_pages:
            return
        generation = self._generation
        mine: list[Operation] = []

        def settle() -> None:
            # A render superseded by a HIGH one may still finish: leave the newer entry.
            if mine and self._inflight.get(key) is mine[0]:
                del self._inflight[key]

        def done(image: QImage) -> None:
            if generation != self._generation:
                return  # another record (or case) is shown now
            settle()
            self._cache.put(key, image, image.sizeInBytes())
            self.page_ready.emit(page)

        def failed(error: BaseException) -> None:
            if generation != self._generation:
                return
            settle()
            if isinstance(error, ValueError | IndexError):
                return  # the document was closed under us: nothing to show
            self.failed_pages.add(page)
            self.page_failed.emit(page)

        op = self._ops.run(
            lambda ctx: _render(doc, page, zoom, rotation),
            success=done,
            failure=failed,
            priority=priority,
            label="render record page",
        )
        mine.append(op)
        self._inflight[key] = op

    def keep_only(self, pages: set[int]) -> None:
        """Cancel full-size renders not yet started for pages outside ``pages`` (the
        user scrolled past them)."""
        for key, op in list(self._inflight.items()):
            if not key[3] and key[0] not in pages:
                op.cancel()
                del self._inflight[key]

    def words(self, page: int) -> tuple[Word, ...] | None:
        """The page's words, or None while they load (``page_ready`` follows)."""
        cached = self._words.get(page)
        if cached is not None:
            return cached
        doc = self._doc
        if doc is None or page in self._words_inflight:
            return None
        self._words_inflight.add(page)
        generation = self._generation

        def done(words: tuple[Word, ...]) -> None:
            if generation != self._generation:
                return
            self._words_inflight.discard(page)
            self._words[page] = words
            self.page_ready.emit(page)

        def failed(_error: BaseException) -> None:
            if generation == self._generation:
                self._words_inflight.discard(page)
                self._words[page] = ()

        self._ops.run(
            lambda ctx: doc.words(page), success=done, failure=failed, label="record words"
        )
        return None

    def run_on_document(self, fn: Any, success: Any, failure: Any = None) -> Operation | None:
        """Run ``fn(doc, ctx)`` in the background for the current document; ``success``
        runs only if the same document is still shown."""
        doc = self._doc
        if doc is None:
            return None
        generation = self._generation

        def done(result: object) -> None:
            if generation == self._generation:
                success(result)

        def failed(error: BaseException) -> None:
            if generation == self._generation and failure is not None:
                failure(error)

        def work(ctx: OpContext) -> object:
            return fn(doc, ctx)

        return self._ops.run(work, success=done, failure=failed, label="record task")
