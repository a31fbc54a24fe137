"""The slice viewer: one image, its corner overlay, measurements, and the mouse and keys.

A QGraphicsView whose scene is in image pixel coordinates (the pixmap sits at 0,0 with
scale 1), so measurement points are (column, row) exactly as the core's geometry wants
them. The view knows nothing of DICOM: the pane gives it a QImage, the overlay texts and
a function that labels a measurement; the view reports what the user asks for (scroll,
window drag, a measurement's points) through signals.

Mouse: wheel scrolls slices (Ctrl+wheel zooms), right-drag changes the window, left-drag
pans (or places measurement points in a measuring mode), middle-drag pans.
Keys: arrows step a slice, Page Up/Down ten, Home/End the first/last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ui.qt import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QImage,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QPointF,
    QRect,
    QRectF,
    Qt,
    QTransform,
    QWheelEvent,
    QWidget,
    Signal,
)

Point = tuple[float, float]
#: How many points each measuring mode needs.
MODE_POINTS = {"distance": 2, "angle": 3}
CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def qimage_from(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of uint8 grey (rows, cols) or RGB (rows, cols, 3) pixels."""
    pixels = np.ascontiguousarray(pixels)
    rows, cols = pixels.shape[:2]
    fmt = QImage.Format.Format_RGB888 if pixels.ndim == 3 else QImage.Format.Format_Grayscale8
    image = QImage(pixels.data, cols, rows, int(pixels.strides[0]), fmt)
    # The QImage only borrows numpy's buffer; copy so it outlives the array.
    return image.copy()


class MeasurementLabel(QGraphicsSimpleTextItem):
    """A measurement's text on a dark box, readable on any image at any zoom."""

    def paint(self, painter: QPainter, option: object, widget: QWidget | None = None) -> None:
        painter.fillRect(self.boundingRect().adjusted(-3, -1, 3, 1), QColor(0, 0, 0, 190))
        super().paint(painter, option, widget)  # type: ignore[arg-type]


class ImageView(QGraphicsView):
    """Shows one image with its overlay; see the module docstring for the controls."""

    #: Slices to move by (negative: towards the first).
    scroll_requested = Signal(int)
    #: Right-drag since the press: (dx, dy) in screen pixels; None on release.
    window_dragged = Signal(object)
    #: A measurement was completed: (mode, [points]).
    measured = Signal(str, object)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageView")
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QBrush(QColor("black")))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        # The overlay is drawn in viewport coordinates: repaint it whole on every change.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap)
        self._has_image = False
        self._fit = True
        self._placeholder = ""
        self._overlay: dict[str, list[str]] = {c: [] for c in CORNERS}
        self._lossy = ""
        self._mode = "browse"
        self._points: list[Point] = []
        self._pending: list[QGraphicsItem] = []
        self._measurements: dict[object, list[QGraphicsItem]] = {}
        # What each slice's measurements are (mode, points, label), in the order drawn:
        # a citation stores them, and opening it draws them again.
        self._measured: dict[object, list[tuple[str, list[Point], str]]] = {}
        self._slice_key: object = None
        self._drag_button: Qt.MouseButton | None = None
        self._press = QPointF()
        self._last = QPointF()
        self.label_for: Callable[[str, list[Point]], str] | None = None

    # --- image ---------------------------------------------------------------------------

    def set_image(self, image: QImage) -> None:
        """Show ``image`` (same size as before: the zoom and pan stay)."""
        size_changed = not self._has_image or image.size() != self._pixmap.pixmap().size()
        self._pixmap.setPixmap(QPixmap.fromImage(image))
        self._pixmap.setVisible(True)
        self._has_image = True
        self._placeholder = ""
        if size_changed:
            # A scene much larger than the image, so the image can be panned anywhere.
            w, h = image.width(), image.height()
            self.scene().setSceneRect(QRectF(-4 * w, -4 * h, 9 * w, 9 * h))
            if self._fit:
                self.fit()
        self.viewport().update()

    def show_placeholder(self, text: str) -> None:
        """Show ``text`` in the image's place (an image that cannot be shown)."""
        self._pixmap.setVisible(False)
        self._placeholder = text
        self.viewport().update()

    def placeholder(self) -> str:
        """The placeholder's text ("" while an image is shown)."""
        return self._placeholder

    def has_image(self) -> bool:
        """Whether an image (not a placeholder) is shown."""
        return self._has_image and self._pixmap.isVisible()

    def image(self) -> QImage:
        """The image shown (for tests and screenshots)."""
        return self._pixmap.pixmap().toImage()

    def clear(self) -> None:
        """Show nothing: no image, no overlay, no measurements."""
        self._pixmap.setPixmap(QPixmap())
        self._has_image = False
        self._placeholder = ""
        self._overlay = {c: [] for c in CORNERS}
        self._lossy = ""
        self.clear_measurements()
        self._fit = True
        self.resetTransform()
        self.viewport().update()

    # --- overlay -------------------------------------------------------------------------

    def set_overlay(self, corners: dict[str, list[str]], lossy: str = "") -> None:
        """The corner texts, and the LOSSY mark's text ("" for none)."""
        self._overlay = {c: list(corners.get(c, [])) for c in CORNERS}
        self._lossy = lossy
        self.viewport().update()

    def overlay_text(self) -> str:
        """Every overlay line, corner by corner (what tests and screen readers read)."""
        lines = [line for c in CORNERS for line in self._overlay[c]]
        if self._lossy:
            lines.append(self._lossy)
        return "\n".join(lines)

    def overlay(self, corner: str) -> list[str]:
        """The lines of one corner."""
        return list(self._overlay[corner])

    def lossy_mark(self) -> str:
        """The LOSSY mark shown ("" when the image is not lossy)."""
        return self._lossy

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        painter.save()
        painter.resetTransform()
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        painter.setFont(font)
        metrics = QFontMetrics(font)
        area = self.viewport().rect().adjusted(8, 6, -8, -6)
        if self._placeholder:
            painter.setPen(QColor("#f0c040"))
            box = area.adjusted(area.width() // 8, 0, -area.width() // 8, 0)
            painter.drawText(
                box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder
            )
        line_h = metrics.height()
        corner_lines = {corner: list(self._overlay[corner]) for corner in CORNERS}
        if self._lossy:
            corner_lines["bottom_right"].append(self._lossy)
        # Width taken by the right-hand text on each screen row (keyed by top/bottom and
        # the row's distance from that edge), so left-hand text on the same row is elided
        # instead of running into it in a narrow pane.
        right_width: dict[tuple[bool, int], int] = {}
        for corner in ("top_right", "bottom_right"):
            lines = corner_lines[corner]
            for i, text in enumerate(lines):
                top = corner.startswith("top")
                row = i if top else len(lines) - i
                right_width[(top, row)] = metrics.horizontalAdvance(text)
        for corner in CORNERS:
            lines = corner_lines[corner]
            top = corner.startswith("top")
            right = corner.endswith("right")
            for i, line in enumerate(lines):
                y = area.top() + i * line_h if top else area.bottom() - (len(lines) - i) * line_h
                text = line
                if not right:
                    row = i if top else len(lines) - i
                    room = area.width() - right_width.get((top, row), 0) - 12
                    text = metrics.elidedText(line, Qt.TextElideMode.ElideRight, max(room, 0))
                width = metrics.horizontalAdvance(text)
                x = area.right() - width if right else area.left()
                if corner == "bottom_right" and self._lossy and i == len(lines) - 1:
                    # The LOSSY mark: white on red, impossible to overlook; in a narrow
                    # view its start ("LOSSY") stays, the detail is elided.
                    text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width())
                    width = metrics.horizontalAdvance(text)
                    x = area.right() - width
                    box = metrics.boundingRect(text).translated(x, y + metrics.ascent())
                    painter.fillRect(box.adjusted(-4, -1, 4, 1), QColor(200, 0, 0, 220))
                    painter.setPen(QColor("white"))
                    painter.drawText(x, y + metrics.ascent(), text)
                    continue
                self._text(painter, x, y + metrics.ascent(), text)
        painter.restore()

    @staticmethod
    def _text(painter: QPainter, x: int, y: int, text: str) -> None:
        # A dark shadow keeps the text readable on any image (a stroked outline looks
        # better but costs milliseconds per frame, and this is drawn on every slice).
        painter.setPen(QColor(0, 0, 0, 230))
        for dx, dy in ((1, 1), (-1, -1), (1, -1), (-1, 1)):
            painter.drawText(x + dx, y + dy, text)
        painter.setPen(QColor("#e8e8e8"))
        painter.drawText(x, y, text)

    # --- zoom and pan --------------------------------------------------------------------

    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return float(self.transform().m11())

    def fit(self) -> None:
        """Fit the whole image in the view (and keep fitting on resize)."""
        self._fit = True
        if self._has_image:
            self.fitInView(self._pixmap, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom())

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred."""
        self._fit = False
        self.resetTransform()
        self.centerOn(self._pixmap)
        self.zoom_changed.emit(self.zoom())

    def zoom_by(self, factor: float) -> None:
        """Zoom in (factor > 1) or out, around the mouse."""
        new = self.zoom() * factor
        if not 0.05 <= new <= 40:
            return
        self._fit = False
        self.scale(factor, factor)
        self.zoom_changed.emit(self.zoom())

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels."""
        self._fit = False
        zoom = self.zoom() or 1.0
        centre = self.mapToScene(self.viewport().rect().center())
        self.centerOn(centre - QPointF(dx / zoom, dy / zoom))

    def is_fitted(self) -> bool:
        """Whether the image is fitted to the view (and follows its size)."""
        return self._fit

    def centre(self) -> Point:
        """The image point (column, row) at the centre of the view: the pan."""
        point = self.mapToScene(self.viewport().rect().center())
        return (point.x(), point.y())

    def set_zoom_and_centre(self, zoom: float, centre: Point) -> None:
        """Show the image at ``zoom`` screen pixels per image pixel, ``centre`` in the
        middle of the view (a citation reopened); leaves fitting."""
        self._fit = False
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self.centerOn(QPointF(centre[0], centre[1]))
        self.zoom_changed.emit(self.zoom())

    def key_image(self, scale_mm_per_px: float | None = None, lossy: bool = False) -> QImage:
        """What the view shows, as a figure: the image in its current zoom, pan and
        window with the current slice's measurements, at twice the screen resolution.

        The corner overlay (patient name, study) is left out: the figure's caption says
        what it is. With ``scale_mm_per_px`` (image pixel size in mm) a scale bar is
        drawn; ``lossy`` burns in a LOSSY mark so no copy of the figure loses it."""
        # The part of the image on screen, without the empty view around it (a tall,
        # narrow pane would otherwise give a figure that is mostly black bands).
        shown = self.viewport().rect()
        image_on_screen = self.mapFromScene(self._pixmap.sceneBoundingRect()).boundingRect()
        if self.has_image() and image_on_screen.intersects(shown):
            shown = shown.intersected(image_on_screen)
        size = shown.size()
        ratio = 2.0
        image = QImage(
            int(size.width() * ratio), int(size.height() * ratio), QImage.Format.Format_RGB888
        )
        image.setDevicePixelRatio(ratio)
        image.fill(QColor("black"))
        painter = QPainter(image)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            pending = [i for i in self._pending if i.isVisible()]
            for item in pending:  # a measurement half drawn is not part of the figure
                item.setVisible(False)
            source = self.mapToScene(shown).boundingRect()
            target = QRectF(0, 0, size.width(), size.height())
            self.scene().render(painter, target, source, Qt.AspectRatioMode.IgnoreAspectRatio)
            for item in pending:
                item.setVisible(True)
            if scale_mm_per_px:
                self._scale_bar(painter, target, scale_mm_per_px * 1.0 / (self.zoom() or 1.0))
            if lossy:
                font = QFont(self.font())
                font.setPointSizeF(max(9.0, font.pointSizeF()))
                font.setBold(True)
                painter.setFont(font)
                metrics = QFontMetrics(font)
                text = "LOSSY"
                x = target.right() - metrics.horizontalAdvance(text) - 10
                y = target.bottom() - 8
                box = metrics.boundingRect(text).translated(int(x), int(y))
                painter.fillRect(box.adjusted(-4, -1, 4, 1), QColor(200, 0, 0, 220))
                painter.setPen(QColor("white"))
                painter.drawText(int(x), int(y), text)
        finally:
            painter.end()
        return image

    def _scale_bar(self, painter: QPainter, area: QRectF, mm_per_screen_px: float) -> None:
        # A round length about a fifth of the view wide: 1, 2, 5, 10, 20, 50 … mm.
        wanted = area.width() / 5 * mm_per_screen_px
        length = 1.0
        for step in (1, 2, 5, 10, 20, 50, 100, 200, 500):
            if step <= wanted:
                length = float(step)
        pixels = length / mm_per_screen_px
        x0, y = area.left() + 12, area.bottom() - 14
        pen = QPen(QColor("#e8e8e8"), 2)
        painter.setPen(QPen(QColor(0, 0, 0, 230), 4))
        painter.drawLine(QPointF(x0, y), QPointF(x0 + pixels, y))
        painter.setPen(pen)
        painter.drawLine(QPointF(x0, y), QPointF(x0 + pixels, y))
        for x in (x0, x0 + pixels):
            painter.drawLine(QPointF(x, y - 4), QPointF(x, y + 4))
        self._text(painter, int(x0), int(y - 8), f"{length:g} mm")

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        if self._fit and self._has_image:
            self.fit()

    # --- measurements --------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        """ "browse", "distance" or "angle"."""
        self._mode = mode
        self._cancel_pending()
        cursor = Qt.CursorShape.CrossCursor if mode in MODE_POINTS else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(cursor)

    def mode(self) -> str:
        return self._mode

    def set_slice_key(self, key: object) -> None:
        """Measurements belong to a slice: show those of ``key`` only."""
        self._cancel_pending()
        self._slice_key = key
        for owner, items in self._measurements.items():
            for item in items:
                item.setVisible(owner == key)

    def rekey_measurements(self, keys: Mapping[object, object]) -> None:
        """The slices were renumbered (old key → new key): measurements stay on their
        slice. One whose slice has no new key is kept hidden, never moved to another."""
        self._measurements = {
            keys.get(owner, ("gone", owner)): items for owner, items in self._measurements.items()
        }
        self._measured = {
            keys.get(owner, ("gone", owner)): done for owner, done in self._measured.items()
        }

    def measurement_labels(self) -> list[str]:
        """The labels of the current slice's measurements."""
        return [
            item.text().replace("\n", " ")
            for item in self._measurements.get(self._slice_key, [])
            if isinstance(item, QGraphicsSimpleTextItem)
        ]

    def measurements(self) -> list[tuple[str, list[Point], str]]:
        """The current slice's measurements: (mode, points in image pixels, label)."""
        return [(mode, list(points), label) for mode, points, label in self._current()]

    def _current(self) -> list[tuple[str, list[Point], str]]:
        return self._measured.get(self._slice_key, [])

    def add_measurement(self, mode: str, points: list[Point]) -> None:
        """Draw a finished measurement on the current slice (a citation reopened)."""
        if mode not in MODE_POINTS or len(points) != MODE_POINTS[mode]:
            raise ValueError(f"a {mode} measurement needs {MODE_POINTS.get(mode)} points")
        self._cancel_pending()
        previous = self._mode
        self._mode = mode
        try:
            for point in points:
                self._add_point((float(point[0]), float(point[1])))
        finally:
            self._mode = previous

    def clear_slice_measurements(self) -> None:
        """Remove the current slice's measurements (the others stay)."""
        self._cancel_pending()
        for item in self._measurements.pop(self._slice_key, []):
            self.scene().removeItem(item)
        self._measured.pop(self._slice_key, None)

    def clear_measurements(self) -> None:
        """Remove every measurement of every slice."""
        self._cancel_pending()
        for items in self._measurements.values():
            for item in items:
                self.scene().removeItem(item)
        self._measurements.clear()
        self._measured.clear()

    def _pen(self) -> QPen:
        pen = QPen(QColor("#40e0ff"), 1.5)
        pen.setCosmetic(True)  # the same width at every zoom
        return pen

    def _add_point(self, point: Point) -> None:
        self._points.append(point)
        dot = QGraphicsEllipseItem(point[0] - 2, point[1] - 2, 4, 4)
        dot.setPen(self._pen())
        dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, False)
        self.scene().addItem(dot)
        self._pending.append(dot)
        if len(self._points) >= 2:
            a, b = self._points[-2], self._points[-1]
            line = QGraphicsLineItem(a[0], a[1], b[0], b[1])
            line.setPen(self._pen())
            self.scene().addItem(line)
            self._pending.append(line)
        if len(self._points) == MODE_POINTS[self._mode]:
            self._complete()

    def _complete(self) -> None:
        points = list(self._points)
        label = self.label_for(self._mode, points) if self.label_for is not None else ""
        # Long labels ("… at detector (not corrected for magnification)") on two lines.
        text = MeasurementLabel(label.replace(" (", "\n("))
        text.setBrush(QBrush(QColor("#60e8ff")))
        font = QFont(self.font())
        font.setPointSizeF(max(10.0, font.pointSizeF() + 1))
        font.setBold(True)
        text.setFont(font)
        text.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        if self._mode == "distance":
            anchor = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
        else:
            anchor = points[1]
        text.setPos(anchor[0], anchor[1])
        # Below and right of its anchor in screen pixels, off the line it labels.
        text.setTransform(QTransform.fromTranslate(6, 8))
        self.scene().addItem(text)
        items = [*self._pending, text]
        self._measurements.setdefault(self._slice_key, []).extend(items)
        self._measured.setdefault(self._slice_key, []).append((self._mode, points, label))
        self._pending = []
        self._points = []
        self.measured.emit(self._mode, points)

    def _cancel_pending(self) -> None:
        for item in self._pending:
            self.scene().removeItem(item)
        self._pending = []
        self._points = []

    # --- input ---------------------------------------------------------------------------

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if not steps:
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 if steps > 0 else 0.8)
        else:
            # Wheel away from the user: towards the first slice, as in most viewers.
            self.scroll_requested.emit(-1 if steps > 0 else 1)
        event.accept()

    # Keys (slices, Escape) are the Imaging pane's shortcuts (ui/imaging/pane.py), so
    # that the workspace's help overlay lists them: no keyPressEvent here.

    def cancel_measurement(self) -> None:
        """Drop the measurement being drawn (its first points), if any."""
        self._cancel_pending()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        self._press = self._last = event.position()
        if button == Qt.MouseButton.LeftButton and self._mode in MODE_POINTS:
            if self._has_image:
                p = self.mapToScene(event.position().toPoint())
                self._add_point((p.x(), p.y()))
            event.accept()
            return
        if button in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.RightButton,
            Qt.MouseButton.MiddleButton,
        ):
            self._drag_button = button
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_button == Qt.MouseButton.RightButton:
            delta = event.position() - self._press
            self.window_dragged.emit((delta.x(), delta.y()))
        elif self._drag_button is not None:
            delta = event.position() - self._last
            self.pan_by(delta.x(), delta.y())
        self._last = event.position()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_button == Qt.MouseButton.RightButton:
            self.window_dragged.emit(None)
        self._drag_button = None
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event: object) -> None:
        # Right-drag is window/level; no context menu on the image.
        return
