"""Run by test_high_dpi.py in a process whose screen has a fractional scale factor
(QT_SCALE_FACTOR); not collected on its own (its name does not start with test_)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from reviewer_app.records import RecordDocument
from tests.reviewer_app.records.pdfs import letter
from ui.operations import Operations
from ui.records.page_view import PageView
from ui.records.renderer import PageRenderer


def test_pages_are_rendered_for_the_screens_device_pixels(qtbot: Any, ops: Operations) -> None:
    ratio = float(os.environ["QT_SCALE_FACTOR"])
    renderer = PageRenderer(ops)
    view = PageView(renderer)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    doc = RecordDocument(letter(1))
    renderer.set_document(doc)
    view.set_zoom(100.0)
    view.set_pages(doc.page_sizes)
    # The fractional factor is kept (PassThrough), not rounded to 1 or 2.
    assert view.devicePixelRatioF() == pytest.approx(ratio)
    zoom = view.render_zoom()
    assert zoom == pytest.approx(view._scale() * ratio)
    qtbot.waitUntil(lambda: renderer.has_image(0, zoom, 0), timeout=10_000)
    image = renderer.image(0, zoom, 0)
    assert image is not None
    # One image pixel per device pixel: sharp text, not a 1x page scaled up.
    width_points = doc.page_sizes[0].width
    assert image.width() == pytest.approx(width_points * zoom, abs=2)
