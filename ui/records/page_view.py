"""The Records pane's page view: every page of a Record in one continuous vertical scroll.

It lays the pages out at the current zoom and rotation and paints only what is on
screen, asking the :class:`~ui.records.renderer.PageRenderer` for each visible page (and
one page either side, ahead of scrolling) at the screen's device pixel ratio. Search
hits are painted over the pages (the current one stronger); a drag selects words in
reading order, for copying. Ctrl+wheel zooms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reviewer_app.records import PageSize, SearchHit, Word
from reviewer_app.records.geometry import (
    SCREEN_SCALE,
    clamp_percent,
    fit_page_percent,
    fit_width_percent,
    normalise_rotation,
    rotated_size,
    step_zoom,
    to_page,
    to_view,
)
from reviewer_app.records.selection import select_between, selected_text
from ui.qt import (
    QAbstractScrollArea,
    QColor,
    QFrame,
    QPainter,
    QPalette,
    QPointF,
    QRectF,
    Qt,
    Signal,
)
from ui.records.renderer import PageRenderer


@dataclass(frozen=True)
class ViewState:
    """Where a reader was in a Record: the page at the top of the view and how far down
    it (0-1), the zoom mode and the rotation."""

    page: int
    fraction: float
    mode: str | float
    rotation: int


FIT_WIDTH = "fit-width"
FIT_PAGE = "fit-page"
ZoomMode = str | float  # FIT_WIDTH, FIT_PAGE, or a percentage

GAP = 12.0
MARGIN = 16.0
HIT = QColor(255, 214, 0, 90)
CURRENT_HIT = QColor(255, 120, 0, 150)
SELECTION = QColor(47, 120, 200, 90)


class PageView(QAbstractScrollArea):
    """Continuous scroll of a Record's pages with zoom, rotation, hits and selection."""

    #: The zoom in percent changed (a fit mode recomputes it on every resize).
    zoom_changed = Signal(float)
    #: The page mostly in view changed (0-based).
    current_page_changed = Signal(int)

    def __init__(self, renderer: PageRenderer) -> None:
        super().__init__()
        self.setObjectName("recordPages")
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Always on: a scroll bar appearing would change the fit-width zoom, which
        # changes the height, which could hide it again.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setCursor(Qt.CursorShape.IBeamCursor)
        self.viewport().setAutoFillBackground(True)
        pal = self.viewport().palette()
        pal.setColor(QPalette.ColorRole.Window, QColor("#3a3f45"))
        self.viewport().setPalette(pal)
        self._renderer = renderer
        renderer.page_ready.connect(self._on_page_ready)
        renderer.page_failed.connect(lambda _page: self.viewport().update())
        self._sizes: list[PageSize] = []
        self._rects: list[QRectF] = []
        self._content_width = 0.0
        self._mode: ZoomMode = FIT_WIDTH
        self._percent = 100.0
        self._rotation = 0
        self._hits: list[SearchHit] = []
        self._current_hit = -1
        self._drag: tuple[int, tuple[float, float], tuple[float, float]] | None = None
        self._press: tuple[int, tuple[float, float]] | None = None
        self._selection: tuple[int, list[Word]] | None = None
        self._current_page = 0
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.horizontalScrollBar().valueChanged.connect(lambda _v: self.viewport().update())

    # --- content ------------------------------------------------------------------------

    def set_pages(self, sizes: Sequence[PageSize]) -> None:
        """Show pages of these sizes (a newly opened Record), from the top, unrotated."""
        self._sizes = list(sizes)
        self._rotation = 0
        self._hits = []
        self._current_hit = -1
        self._drag = None
        self._press = None
        self._selection = None
        self._current_page = 0
        self._relayout(anchor=False)
        self.verticalScrollBar().setValue(0)
        self.horizontalScrollBar().setValue(0)
        self.viewport().update()

    def clear(self) -> None:
        self.set_pages([])

    def view_state(self) -> ViewState:
        """Where the reader is now (see :class:`ViewState`)."""
        page, fraction = self._anchor()
        return ViewState(page, fraction, self._mode, self._rotation)

    def restore_state(self, state: ViewState) -> None:
        """Go back to ``state`` in the pages shown (the same Record, opened again)."""
        if not self._sizes:
            return
        self._mode = state.mode
        self._rotation = normalise_rotation(state.rotation)
        self._relayout(anchor=False)
        rect = self._rects[min(max(state.page, 0), len(self._rects) - 1)]
        self.verticalScrollBar().setValue(int(rect.top() + state.fraction * rect.height()))
        self.zoom_changed.emit(self._percent)

    def page_count(self) -> int:
        return len(self._sizes)

    # --- zoom and rotation --------------------------------------------------------------

    def zoom_mode(self) -> ZoomMode:
        return self._mode

    def zoom_percent(self) -> float:
        return self._percent

    def set_zoom(self, mode: ZoomMode) -> None:
        """Fit width, fit page, or a percentage (clamped to 10-800 %)."""
        if not isinstance(mode, str):
            mode = clamp_percent(float(mode))
        self._mode = mode
        self._relayout(anchor=True)

    def zoom_by(self, steps: int) -> None:
        """Zoom in (positive) or out by ``steps`` stops; leaves any fit mode."""
        self.set_zoom(step_zoom(self._percent, steps))

    def rotation(self) -> int:
        return self._rotation

    def rotate(self, degrees: int = 90) -> None:
        """Turn every page clockwise by ``degrees``."""
        self._rotation = normalise_rotation(self._rotation + degrees)
        self._selection = None
        self._relayout(anchor=True)

    def render_zoom(self) -> float:
        """Device pixels per point the pages are rendered at."""
        return self._scale() * self.devicePixelRatioF()

    def _scale(self) -> float:
        return self._percent / 100 * SCREEN_SCALE

    def _relayout(self, *, anchor: bool) -> None:
        page, fraction = self._anchor() if anchor else (0, 0.0)
        vw = self.viewport().width()
        vh = self.viewport().height()
        old = self._percent
        if self._mode == FIT_WIDTH:
            self._percent = fit_width_percent(self._sizes, self._rotation, vw - 2 * MARGIN)
        elif self._mode == FIT_PAGE:
            size = self._sizes[min(page, len(self._sizes) - 1)] if self._sizes else None
            if size is not None:
                self._percent = fit_page_percent(
                    size, self._rotation, vw - 2 * MARGIN, vh - 2 * GAP
                )
        else:
            self._percent = float(self._mode)
        scale = self._scale()
        turned = [rotated_size(s, self._rotation) for s in self._sizes]
        widest = max((t.width for t in turned), default=0.0) * scale
        self._content_width = widest + 2 * MARGIN
        self._rects = []
        y = GAP
        for t in turned:
            w, h = t.width * scale, t.height * scale
            self._rects.append(QRectF((self._content_width - w) / 2, y, w, h))
            y += h + GAP
        content_height = y if self._sizes else 0.0
        vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
        vbar.setRange(0, max(0, int(content_height - vh)))
        vbar.setPageStep(max(vh, 1))
        vbar.setSingleStep(40)
        hbar.setRange(0, max(0, int(self._content_width - vw)))
        hbar.setPageStep(max(vw, 1))
        hbar.setSingleStep(40)
        if anchor and self._rects:
            rect = self._rects[page]
            vbar.setValue(int(rect.top() + fraction * rect.height()))
        if abs(old - self._percent) > 1e-6:
            self.zoom_changed.emit(self._percent)
        self.viewport().update()

    def _anchor(self) -> tuple[int, float]:
        """The page at the top of the view and how far down it the view starts."""
        if not self._rects:
            return 0, 0.0
        top = self.verticalScrollBar().value()
        for n, rect in enumerate(self._rects):
            if rect.bottom() + GAP > top:
                return n, max(0.0, (top - rect.top()) / rect.height())
        return len(self._rects) - 1, 0.0

    # --- navigation ---------------------------------------------------------------------

    def current_page(self) -> int:
        return self._current_page

    def show_page(self, page: int) -> None:
        """Scroll so that ``page`` (0-based) starts at the top of the view."""
        if 0 <= page < len(self._rects):
            self.verticalScrollBar().setValue(int(self._rects[page].top() - GAP))

    def _on_scrolled(self, _value: int) -> None:
        page = self._page_in_view()
        if page != self._current_page:
            self._current_page = page
            self.current_page_changed.emit(page)
        self.viewport().update()

    def _page_in_view(self) -> int:
        if not self._rects:
            return 0
        # The page under a line a third of the way down the view.
        y = self.verticalScrollBar().value() + self.viewport().height() / 3
        for n, rect in enumerate(self._rects):
            if rect.bottom() + GAP >= y:
                return n
        return len(self._rects) - 1

    # --- search hits --------------------------------------------------------------------

    def set_hits(self, hits: Sequence[SearchHit], current: int = -1) -> None:
        """Highlight every hit; scroll to ``current`` if it is one."""
        self._hits = list(hits)
        self.show_hit(current)

    def show_hit(self, index: int) -> None:
        self._current_hit = index
        if 0 <= index < len(self._hits):
            box = self._hit_box(self._hits[index])
            vbar, hbar = self.verticalScrollBar(), self.horizontalScrollBar()
            view = QRectF(
                hbar.value(), vbar.value(), self.viewport().width(), self.viewport().height()
            )
            if not view.contains(box):
                vbar.setValue(int(box.center().y() - self.viewport().height() / 2))
                if box.left() < view.left() or box.right() > view.right():
                    hbar.setValue(int(box.center().x() - self.viewport().width() / 2))
        self.viewport().update()

    def hit_rects(self) -> list[QRectF]:
        """Where each hit is drawn, in content coordinates (for tests and the strip)."""
        return [self._hit_box(hit) for hit in self._hits]

    def _hit_box(self, hit: SearchHit) -> QRectF:
        page = self._rects[hit.page]
        box = to_view(hit.rect, self._sizes[hit.page], self._scale(), self._rotation)
        return QRectF(page.left() + box.x0, page.top() + box.y0, box.width, box.height)

    # --- selection ----------------------------------------------------------------------

    def selected_text(self) -> str:
        """The text of the selected words ('' when nothing is selected)."""
        if self._selection is None:
            return ""
        return selected_text(self._selection[1])

    def select(self, page: int, start: tuple[float, float], end: tuple[float, float]) -> None:
        """Select from the word nearest ``start`` to the one nearest ``end`` (page points)."""
        self._drag = (page, start, end)
        self._update_selection()

    def _update_selection(self) -> None:
        if self._drag is None:
            return
        page, start, end = self._drag
        words = self._renderer.words(page)
        if words is None:
            return  # loading; page_ready brings us back
        self._selection = (page, select_between(words, start, end))
        self.viewport().update()

    def _page_point(self, pos: QPointF) -> tuple[int, tuple[float, float]] | None:
        x, y = self._to_content(pos)
        for n, rect in enumerate(self._rects):
            if rect.top() - GAP / 2 <= y <= rect.bottom() + GAP / 2:
                point = to_page(
                    x - rect.left(), y - rect.top(), self._sizes[n], self._scale(), self._rotation
                )
                return n, point
        return None

    def _to_content(self, pos: QPointF) -> tuple[float, float]:
        return (
            pos.x() + self.horizontalScrollBar().value() - self._x_offset(),
            pos.y() + self.verticalScrollBar().value(),
        )

    def _x_offset(self) -> float:
        # Centre the pages when the view is wider than they are.
        return max(0.0, (self.viewport().width() - self._content_width) / 2)

    def mousePressEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            # A click clears the selection; only a drag (or a double-click) selects.
            hit = self._page_point(event.position())
            self._selection = None
            self._drag = None
            self._press = hit
            if hit is not None:
                self._renderer.words(hit[0])  # load them while the drag starts
            self.viewport().update()
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self._page_point(event.position())
            if hit is not None:
                page, point = hit
                self.select(page, point, point)  # the word under the pointer
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: Any) -> None:
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            page, start = self._press
            hit = self._page_point(event.position())
            if hit is not None and hit[0] == page:
                self.select(page, start, hit[1])
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: Any) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = None
        super().mouseReleaseEvent(event)

    def _on_page_ready(self, page: int) -> None:
        if self._drag is not None and self._drag[0] == page and self._selection is None:
            self._update_selection()
        self.viewport().update()

    # --- events -------------------------------------------------------------------------

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._relayout(anchor=True)

    def wheelEvent(self, event: Any) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = 1 if event.angleDelta().y() > 0 else -1
            if event.angleDelta().y():
                self.zoom_by(steps)
            event.accept()
            return
        super().wheelEvent(event)

    def visible_pages(self) -> list[int]:
        """Pages at least partly on screen."""
        top = self.verticalScrollBar().value()
        bottom = top + self.viewport().height()
        return [n for n, r in enumerate(self._rects) if r.bottom() >= top and r.top() <= bottom]

    def paintEvent(self, _event: Any) -> None:
        painter = QPainter(self.viewport())
        try:
            self._paint(painter)
        finally:
            painter.end()

    def _paint(self, painter: QPainter) -> None:
        visible = self.visible_pages()
        if not visible:
            return
        zoom = self.render_zoom()
        dx = self._x_offset() - self.horizontalScrollBar().value()
        dy = -self.verticalScrollBar().value()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        for n in visible:
            target = self._rects[n].translated(dx, dy)
            painter.fillRect(target, QColor("white"))
            if n in self._renderer.failed_pages:
                painter.setPen(QColor("#8a1c1c"))
                painter.drawText(
                    target, Qt.AlignmentFlag.AlignCenter, "This page is damaged and cannot be shown"
                )
                continue
            image = self._renderer.image(n, zoom, self._rotation)
            if image is not None:
                painter.drawImage(target, image)
            else:
                painter.setPen(QColor("#8a939c"))
                painter.drawText(target, Qt.AlignmentFlag.AlignCenter, f"Page {n + 1}")
            self._paint_marks(painter, n, dx, dy)
        # Render one page either side ahead of scrolling; forget pages scrolled past.
        ahead = {visible[0] - 1, visible[-1] + 1} & set(range(len(self._rects)))
        for n in sorted(ahead):
            self._renderer.request(n, zoom, self._rotation, ahead=True)
        self._renderer.keep_only(set(visible) | ahead)

    def request_visible(self) -> None:
        """Start rendering the pages on screen now, before the first paint asks."""
        for n in self.visible_pages():
            if n not in self._renderer.failed_pages:
                self._renderer.request(n, self.render_zoom(), self._rotation)

    def _paint_marks(self, painter: QPainter, page: int, dx: float, dy: float) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        for index, hit in enumerate(self._hits):
            if hit.page == page:
                colour = CURRENT_HIT if index == self._current_hit else HIT
                painter.fillRect(self._hit_box(hit).translated(dx, dy), colour)
        if self._selection is not None and self._selection[0] == page:
            origin = self._rects[page]
            size = self._sizes[page]
            for word in self._selection[1]:
                box = to_view(word.rect, size, self._scale(), self._rotation)
                painter.fillRect(
                    QRectF(
                        origin.left() + box.x0 + dx,
                        origin.top() + box.y0 + dy,
                        box.width,
                        box.height,
                    ),
                    SELECTION,
                )
