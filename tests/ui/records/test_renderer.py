"""The page renderer: only what is on screen (plus one page ahead) is rendered, the
cache stays within its byte budget, and results for a replaced document are dropped."""

from __future__ import annotations

from typing import Any

from reviewer_app.records import ENGINE_LOCK, RecordDocument
from tests.reviewer_app.records.pdfs import letter, simple
from ui.operations import Operations
from ui.records.page_view import PageView
from ui.records.renderer import PageRenderer, _render


def wait_idle(qtbot: Any, ops: Operations) -> None:
    qtbot.waitUntil(lambda: ops.pending() == 0, timeout=5000)


def test_only_visible_pages_and_one_ahead_are_rendered(qtbot: Any, ops: Operations) -> None:
    renderer = PageRenderer(ops)
    view = PageView(renderer)
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    doc = RecordDocument(letter(10))
    renderer.set_document(doc)
    view.set_zoom(100.0)
    view.set_pages(doc.page_sizes)
    qtbot.waitUntil(lambda: len(renderer.cache) >= 2, timeout=5000)
    wait_idle(qtbot, ops)
    assert view.visible_pages() == [0]
    assert {key[0] for key in renderer.cache} == {0, 1}
    # Scrolling to the end renders the last pages, not the ones in between.
    view.show_page(9)
    qtbot.waitUntil(lambda: 9 in {key[0] for key in renderer.cache}, timeout=5000)
    wait_idle(qtbot, ops)
    visible = view.visible_pages()
    assert visible[-1] == 9
    wanted = {0, 1, *visible, visible[0] - 1}
    assert {key[0] for key in renderer.cache} == wanted
    assert len(wanted) < 10
    zoom = view.render_zoom()
    assert all(key[1] == round(zoom, 3) for key in renderer.cache)


def test_cache_stays_within_its_byte_budget(qtbot: Any, ops: Operations) -> None:
    doc = RecordDocument(letter(6))
    page_bytes = _render(doc, 0, 1.0, 0).sizeInBytes()
    renderer = PageRenderer(ops, budget=int(page_bytes * 2.5))
    renderer.set_document(doc)
    for page in range(6):
        # One at a time: the order they arrive in is the order they were used.
        renderer.request(page, 1.0, 0)
        wait_idle(qtbot, ops)
        assert renderer.cache.used <= renderer.cache.budget
    assert len(renderer.cache) == 2
    # The most recent pages are the ones kept.
    assert {key[0] for key in renderer.cache} == {4, 5}


def test_results_for_a_replaced_document_are_dropped(qtbot: Any, ops: Operations) -> None:
    renderer = PageRenderer(ops)
    ready: list[int] = []
    renderer.page_ready.connect(ready.append)
    first = RecordDocument(simple(["first"], ["first"], ["first"]))
    second = RecordDocument(simple(["second"]))
    renderer.set_document(first)
    with ENGINE_LOCK:  # the first document's renders start and wait here
        renderer.request(2, 1.0, 0)
        qtbot.wait(200)
        renderer.set_document(second)
    renderer.request(0, 1.0, 0)
    wait_idle(qtbot, ops)
    assert ready == [0]
    assert [key[0] for key in renderer.cache] == [0]
    assert renderer.image(0, 1.0, 0) is not None
