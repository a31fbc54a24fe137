"""Citing a page from the Records pane, and opening the citation again (synced cases)."""

from __future__ import annotations

from typing import Any

import pytest

from reviewer_app.casefile import CaseFile, RecordEntry, load_case
from reviewer_app.opinion.evidence import CitationKind, add_citation, citations, get_citation
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from ui.qt import QKeySequence, Qt
from ui.records.page_view import FIT_PAGE
from ui.records.pane import CITED_OTHER_CASE, RecordsPane


@pytest.fixture
def pane(qtbot: Any, ops: Any) -> RecordsPane:
    widget = RecordsPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1000, 800)
    widget.show()
    return widget


def wait_open(qtbot: Any, pane: RecordsPane, record_id: str) -> None:
    qtbot.waitUntil(
        lambda: pane.current_record_id() == record_id and pane.view.page_count() > 0,
        timeout=5000,
    )


def longest_record(qtbot: Any, pane: RecordsPane, synced: Any) -> tuple[CaseFile, RecordEntry]:
    """The synced record with the most pages (shown in the pane), and its case."""
    best: tuple[int, str, str] | None = None
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id)
        pane.show_case(case, synced.vault)
        for entry in case.records:
            if entry.object_id is None:
                continue
            pane.open_record(entry.record_id)
            qtbot.waitUntil(
                lambda e=entry: (
                    pane.current_record_id() == e.record_id
                    and (pane.view.page_count() > 0 or pane.message() != "Opening record…")
                ),
                timeout=5000,
            )
            if best is None or pane.view.page_count() > best[0]:
                best = (pane.view.page_count(), case_id, entry.record_id)
    assert best is not None and best[0] >= 2, "the synced cases hold a multi-page record"
    case = load_case(synced.vault, best[1])
    pane.show_case(case, synced.vault)
    pane.open_record(best[2])
    wait_open(qtbot, pane, best[2])
    return case, next(r for r in case.records if r.record_id == best[2])


def test_cite_a_page_and_open_it_again_at_the_same_place(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: RecordsPane,
) -> None:
    synced = synced_case()
    case, entry = longest_record(qtbot, pane, synced)
    pages = pane.view.page_count()
    pane.set_zoom(150.0)
    pane.view.show_page(1)
    pane.view.verticalScrollBar().setValue(pane.view.verticalScrollBar().value() + 120)
    page = pane.view.current_page()
    place = pane.view.view_state()
    assert page >= 1

    with qtbot.waitSignal(pane.cite_requested, timeout=5000) as blocker:
        pane.cite_action.trigger()
    citation = get_citation(synced.vault, blocker.args[0].citation_id)
    assert [c.citation_id for c in citations(synced.vault, case.case_id)] == [citation.citation_id]
    assert citation.kind is CitationKind.PAGE
    assert citation.ref == f"record:{entry.record_id}#{page + 1}"
    assert citation.image_object_id is None
    assert entry.date is not None
    assert citation.label.startswith(entry.title)
    assert entry.date.date().isoformat() in citation.label
    assert citation.label.endswith(f"page {page + 1} of {pages}")
    assert case.patient.name not in citation.label
    assert citation.view["zoom"] == 150.0
    assert citation.view["object_id"] == entry.object_id

    # Elsewhere: another record, fitted, rotated; then back to the cited place.
    other = next(r for r in case.records if r.record_id != entry.record_id and r.object_id)
    pane.open_record(other.record_id)
    wait_open(qtbot, pane, other.record_id)
    pane.set_zoom(FIT_PAGE)
    pane.rotate()
    pane.open_citation(citation)
    wait_open(qtbot, pane, entry.record_id)
    qtbot.waitUntil(lambda: pane.view.current_page() == page, timeout=5000)
    restored = pane.view.view_state()
    assert (restored.page, restored.mode, restored.rotation) == (
        place.page,
        place.mode,
        place.rotation,
    )
    assert restored.fraction == pytest.approx(place.fraction, abs=0.01)
    assert pane.view.zoom_percent() == pytest.approx(150.0)
    assert pane.citation_message() == ""

    # Within the open record too (no reopening): zoom and place come back.
    pane.set_zoom(75.0)
    pane.view.show_page(0)
    pane.open_citation(citation)
    assert pane.view.zoom_percent() == pytest.approx(150.0)
    assert pane.view.current_page() == page


def test_a_citation_arriving_after_a_case_switch_keeps_its_own_case(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: RecordsPane,
) -> None:
    synced = synced_case()
    case = load_case(synced.vault, synced.case_ids[0])
    other = load_case(synced.vault, synced.case_ids[1])
    pane.show_case(case, synced.vault)
    qtbot.waitUntil(lambda: pane.view.page_count() > 0, timeout=5000)
    with qtbot.waitSignal(pane.cite_requested, timeout=5000) as blocker:
        pane.cite()
        pane.show_case(other, synced.vault)  # before the citation is stored
    citation = blocker.args[0]
    assert pane.case_id() == other.case_id
    assert citation.case_id == case.case_id
    assert citation.ref.startswith("record:")
    assert citation.ref.removeprefix("record:").split("#")[0] in {r.record_id for r in case.records}
    assert citations(synced.vault, other.case_id) == []
    assert pane.citation_message() == ""
    shown = pane.current_record_id()
    pane.open_citation(citation)
    assert pane.citation_message() == CITED_OTHER_CASE
    assert pane.current_record_id() == shown


def test_a_record_the_case_no_longer_has_gives_a_message(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: RecordsPane,
) -> None:
    synced = synced_case()
    case = load_case(synced.vault, synced.case_ids[0])
    pane.show_case(case, synced.vault)
    qtbot.waitUntil(lambda: pane.view.page_count() > 0, timeout=5000)
    gone = add_citation(
        synced.vault,
        case.case_id,
        CitationKind.PAGE,
        "record:no-such-record#2",
        "Discharge summary (2026-03-02), page 2 of 3",
        {"zoom": "fit-width"},
    )
    pane.open_citation(gone)
    assert "no longer in this case" in pane.citation_message()
    assert "Discharge summary (2026-03-02), page 2 of 3" in pane.citation_message()
    assert pane.view.page_count() > 0  # the record shown stays


def test_nothing_open_nothing_cited_and_the_key(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: RecordsPane,
) -> None:
    synced = synced_case()
    pane.cite()
    assert pane.citation_message().startswith("Open a record first")
    assert QKeySequence("Ctrl+Shift+C") in pane.cite_action.shortcuts()
    assert pane.cite_action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    pane.show_case(load_case(synced.vault, synced.case_ids[0]), synced.vault)
    qtbot.waitUntil(lambda: pane.view.page_count() > 0, timeout=5000)
    pane.activateWindow()
    pane.view.setFocus()
    qtbot.waitUntil(pane.view.hasFocus)
    with qtbot.waitSignal(pane.cite_requested, timeout=5000):
        qtbot.keyClick(
            pane.view,
            Qt.Key.Key_C,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
