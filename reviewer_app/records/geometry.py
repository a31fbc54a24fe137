"""Page geometry for the Records pane: rotation, zoom, and page <-> pixel mapping.

Pure arithmetic, no PDF engine: the pane lays pages out, fits them to its width and
maps mouse positions to page points with it, on the UI thread, while
:mod:`reviewer_app.records.document` renders with the same conventions (rotation is
clockwise on screen, pixels = points x zoom, origin top-left).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Screen pixels per PDF point at 100 %: a point is 1/72 in, a logical screen pixel 1/96 in.
SCREEN_SCALE = 96 / 72
MIN_PERCENT = 10
MAX_PERCENT = 800
#: The steps Ctrl+= / Ctrl+- and Ctrl+wheel go through.
ZOOM_STEPS = (10, 25, 33, 50, 67, 75, 90, 100, 110, 125, 150, 175, 200, 250, 300, 400, 600, 800)


@dataclass(frozen=True)
class PageSize:
    """A page's displayed size in points (its own /Rotate applied)."""

    width: float
    height: float


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle, x0 <= x1 and y0 <= y1."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def distance(self, x: float, y: float) -> float:
        """Distance from a point to the rectangle (0 inside)."""
        dx = max(self.x0 - x, 0.0, x - self.x1)
        dy = max(self.y0 - y, 0.0, y - self.y1)
        return float((dx * dx + dy * dy) ** 0.5)


def normalise_rotation(rotation: int) -> int:
    """0, 90, 180 or 270 (``ValueError`` for other angles)."""
    if rotation % 90:
        raise ValueError("rotation must be a multiple of 90 degrees")
    return rotation % 360


def rotated_size(size: PageSize, rotation: int) -> PageSize:
    """The page's size once turned by ``rotation`` degrees."""
    if normalise_rotation(rotation) in (90, 270):
        return PageSize(size.height, size.width)
    return size


def to_view(rect: Rect, size: PageSize, zoom: float, rotation: int) -> Rect:
    """A page rectangle in the pixels of the page rendered at ``zoom`` and ``rotation``."""
    w, h = size.width, size.height
    corners = [_turn(x, y, w, h, rotation) for x, y in ((rect.x0, rect.y0), (rect.x1, rect.y1))]
    xs = [x * zoom for x, _ in corners]
    ys = [y * zoom for _, y in corners]
    return Rect(min(xs), min(ys), max(xs), max(ys))


def to_page(x: float, y: float, size: PageSize, zoom: float, rotation: int) -> tuple[float, float]:
    """A pixel of the rendered page back to page points (inverse of :func:`to_view`)."""
    u, v = x / zoom, y / zoom
    w, h = size.width, size.height
    rotation = normalise_rotation(rotation)
    if rotation == 90:
        return v, h - u
    if rotation == 180:
        return w - u, h - v
    if rotation == 270:
        return w - v, u
    return u, v


def _turn(x: float, y: float, w: float, h: float, rotation: int) -> tuple[float, float]:
    # Clockwise on screen (y points down): the top-left corner goes to the top-right.
    rotation = normalise_rotation(rotation)
    if rotation == 90:
        return h - y, x
    if rotation == 180:
        return w - x, h - y
    if rotation == 270:
        return y, w - x
    return x, y


def clamp_percent(percent: float) -> float:
    return min(max(percent, MIN_PERCENT), MAX_PERCENT)


def fit_width_percent(sizes: list[PageSize], rotation: int, available: float) -> float:
    """The zoom (percent) at which the widest page fills ``available`` pixels."""
    if not sizes or available <= 0:
        return 100.0
    widest = max(rotated_size(s, rotation).width for s in sizes)
    return clamp_percent(available / (widest * SCREEN_SCALE) * 100)


def fit_page_percent(size: PageSize, rotation: int, width: float, height: float) -> float:
    """The zoom (percent) at which one whole page fits a ``width`` x ``height`` area."""
    if width <= 0 or height <= 0:
        return 100.0
    turned = rotated_size(size, rotation)
    scale = min(width / turned.width, height / turned.height)
    return clamp_percent(scale / SCREEN_SCALE * 100)


def step_zoom(percent: float, steps: int) -> float:
    """The zoom ``steps`` stops up (positive) or down from ``percent``."""
    current = percent
    for _ in range(abs(steps)):
        if steps > 0:
            bigger = [z for z in ZOOM_STEPS if z > current + 0.5]
            current = bigger[0] if bigger else MAX_PERCENT
        else:
            smaller = [z for z in ZOOM_STEPS if z < current - 0.5]
            current = smaller[-1] if smaller else MIN_PERCENT
    return float(current)
