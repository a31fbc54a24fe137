"""Page geometry (rotation, zoom, pixel mapping) and the byte-bounded page cache."""

from __future__ import annotations

import pymupdf
import pytest

from reviewer_app.records import ByteBudgetCache
from reviewer_app.records.geometry import (
    MAX_PERCENT,
    MIN_PERCENT,
    SCREEN_SCALE,
    PageSize,
    Rect,
    fit_page_percent,
    fit_width_percent,
    rotated_size,
    step_zoom,
    to_page,
    to_view,
)

A4 = PageSize(595, 842)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_to_view_matches_pymupdf_and_to_page_inverts_it(rotation: int) -> None:
    zoom = 1.5
    rect = Rect(100, 200, 180, 230)
    matrix = pymupdf.Matrix(zoom, zoom).prerotate(rotation)
    page = pymupdf.Rect(0, 0, A4.width, A4.height) * matrix
    want = pymupdf.Rect(rect.x0, rect.y0, rect.x1, rect.y1) * matrix
    want = want - (page.x0, page.y0, page.x0, page.y0)
    got = to_view(rect, A4, zoom, rotation)
    assert got == pytest.approx(Rect(want.x0, want.y0, want.x1, want.y1))
    assert to_page(got.x0, got.y0, A4, zoom, rotation) in (
        pytest.approx((x, y)) for x in (rect.x0, rect.x1) for y in (rect.y0, rect.y1)
    )


def test_rotation_must_be_right_angles() -> None:
    assert rotated_size(A4, 450) == PageSize(842, 595)
    with pytest.raises(ValueError, match="multiple of 90"):
        rotated_size(A4, 45)


def test_fit_width_and_fit_page() -> None:
    # 100 % shows an A4 page 793 px wide.
    assert fit_width_percent([A4], 0, 595 * SCREEN_SCALE) == pytest.approx(100)
    assert fit_width_percent([A4, PageSize(842, 595)], 0, 842 * SCREEN_SCALE) == pytest.approx(100)
    assert fit_width_percent([A4], 90, 842 * SCREEN_SCALE) == pytest.approx(100)
    # A tall narrow area: width limits; a wide short one: height limits.
    assert fit_page_percent(A4, 0, 595 * SCREEN_SCALE, 5000) == pytest.approx(100)
    assert fit_page_percent(A4, 0, 5000, 421 * SCREEN_SCALE) == pytest.approx(50)
    assert fit_width_percent([A4], 0, 1) == MIN_PERCENT
    assert fit_width_percent([A4], 0, 10**7) == MAX_PERCENT


def test_zoom_steps() -> None:
    assert step_zoom(100, 1) == 110
    assert step_zoom(100, -1) == 90
    assert step_zoom(104, 1) == 110
    assert step_zoom(104, -1) == 100
    assert step_zoom(100, 3) == 150
    assert step_zoom(MAX_PERCENT, 1) == MAX_PERCENT
    assert step_zoom(MIN_PERCENT, -1) == MIN_PERCENT


def test_cache_keeps_within_budget_dropping_least_recent() -> None:
    cache: ByteBudgetCache[str, str] = ByteBudgetCache(100)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # now "b" is the least recently used
    cache.put("c", "C", 40)
    assert "b" not in cache
    assert list(cache) == ["a", "c"]
    assert cache.used == 80
    cache.put("a", "A2", 10)
    assert cache.used == 50
    assert cache.get("a") == "A2"
    cache.put("huge", "H", 101)
    assert "huge" not in cache
    assert cache.pop("c") == "C"
    assert cache.used == 10
    cache.clear()
    assert (len(cache), cache.used) == (0, 0)
    with pytest.raises(ValueError, match="positive"):
        ByteBudgetCache(0)
