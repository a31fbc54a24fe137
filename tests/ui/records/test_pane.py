"""The Records pane on real vaults: list, open, search, zoom, rotate, copy, unreadable
records, and never a record of the wrong patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from reviewer_app.casefile import CaseFile, PatientHeader, RecordEntry, load_case
from reviewer_app.records import ENGINE_LOCK
from tests.fixtures.synced_case import SyncedCopy
from tests.reviewer_app.records.pdfs import encrypted, letter, simple
from tests.ui.helpers import visible_texts
from ui.operations import Operations
from ui.qt import QApplication, QPoint, Qt
from ui.records.pane import STILL_DOWNLOADING, RecordsPane
from ui.records.record_list import Column

DISPLAY = Qt.ItemDataRole.DisplayRole


def make_case(
    case_id: str, name: str, records: list[tuple[str, str, str | None]], key: str = "SYN-1"
) -> CaseFile:
    """A CaseFile holding ``records`` as (record_id, title, object_id)."""
    entries = [
        RecordEntry(
            record_id=rid,
            title=title,
            type_display="Consult note",
            date=dt.datetime(2029, 11, n + 1, 9, 0, tzinfo=dt.UTC),
            content_type="application/pdf",
            size=None,
            object_id=oid,
        )
        for n, (rid, title, oid) in enumerate(records)
    ]
    return CaseFile(
        case_id=case_id,
        case_key=key,
        patient=PatientHeader(name, "female", dt.date(1970, 5, 4), 59, []),
        specialty="cardiology",
        priority="routine",
        due_date=None,
        status="new",
        clinical_questions=[],
        patient_questions=[],
        reasons=[],
        records=entries,
        labs=[],
        studies=[],
    )


@pytest.fixture
def pane(qtbot: Any, ops: Operations) -> RecordsPane:
    widget = RecordsPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    return widget


def put(vault: Any, data: bytes) -> str:
    return str(vault.objects.put(data, kind="record").object_id)


def wait_open(qtbot: Any, pane: RecordsPane, record_id: str | None = None) -> None:
    def ready() -> bool:
        same = record_id is None or pane.current_record_id() == record_id
        return same and pane.view.page_count() > 0

    qtbot.waitUntil(ready, timeout=5000)


def wait_idle(qtbot: Any, ops: Operations) -> None:
    qtbot.waitUntil(lambda: ops.pending() == 0, timeout=5000)


def column(pane: RecordsPane, col: Column) -> list[str]:
    model = pane.records
    return [model.index(r, col).data(DISPLAY) for r in range(model.rowCount())]


def test_synced_case_lists_its_records_and_opens_the_first(
    qtbot: Any, synced_case: Callable[[], SyncedCopy], ops: Operations, pane: RecordsPane
) -> None:
    synced = synced_case()
    case = load_case(synced.vault, synced.case_ids[0])
    assert case.records, "the reference server gives every case a referral letter"
    pane.show_case(case, synced.vault)
    assert pane.case_id() == case.case_id
    assert pane.header.text() == f"{case.patient.name} · {case.display_key}"
    assert column(pane, Column.TITLE) == [r.title for r in case.records]
    wait_open(qtbot, pane)
    wait_idle(qtbot, ops)
    pages = column(pane, Column.PAGES)
    assert all(p.isdigit() and int(p) >= 1 for p in pages), pages
    assert pane.view.page_count() == int(
        pages[
            column(pane, Column.TITLE).index(
                next(r.title for r in case.records if r.record_id == pane.current_record_id())
            )
        ]
    )
    # The referral letter names the clinic on every page: search finds it on each.
    pane.open_search()
    qtbot.keyClicks(pane.search_bar.field, "Testville")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(pane.hits()), timeout=5000)
    # The page thumbnails arrive for the rows the strip shows.
    qtbot.waitUntil(lambda: len(pane.renderer.cache) > 0, timeout=5000)
    wait_idle(qtbot, ops)


@pytest.fixture
def letters(vault: Any) -> dict[str, Any]:
    """Two cases in a real vault: Anna with a 3-page letter and more, Bruno with one."""
    anna_letter = put(
        vault,
        simple(
            ["Anna letter page one", "ejection fraction 55 %"],
            ["page two", "ejection fraction again", "and ejection once more"],
            ["Left ventricle normal size", "Mild mitral regurgitation"],
        ),
    )
    anna = make_case(
        "case-anna",
        "Doe, Anna",
        [
            ("r1", "Anna referral letter", anna_letter),
            ("r2", "Anna damaged scan", put(vault, letter(3)[:40])),
            ("r3", "Anna locked report", put(vault, encrypted(simple(["locked"])))),
            ("r4", "Anna pending report", None),
            ("r5", "Anna not a pdf", put(vault, b"Plain text, not a PDF." * 10)),
            ("r6", "Anna lost file", "0" * 32),
        ],
        key="SYN-0001",
    )
    bruno = make_case(
        "case-bruno",
        "Roe, Bruno",
        [("b1", "Bruno discharge summary", put(vault, letter(2, seed=7, scanned=True)))],
        key="SYN-0002",
    )
    return {"vault": vault, "anna": anna, "bruno": bruno}


def test_search_highlights_every_hit_and_steps_through_them(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any]
) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert pane.search_bar.isVisible()
    assert pane.search_bar.field.hasFocus()
    qtbot.keyClicks(pane.search_bar.field, "ejection")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(pane.hits()) == 3, timeout=5000)
    assert [h.page for h in pane.hits()] == [0, 1, 1]
    assert pane.current_hit() == 0
    assert pane.search_bar.count.text() == "1 of 3"
    assert len(pane.view.hit_rects()) == 3
    assert not pane.search_bar.unsearched.isVisible()  # every page has text
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return)
    assert (pane.current_hit(), pane.search_bar.count.text()) == (1, "2 of 3")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_F3)
    assert pane.current_hit() == 2
    # The current hit is scrolled into view.
    box = pane.view.hit_rects()[2]
    top = pane.view.verticalScrollBar().value()
    assert top <= box.top() and box.bottom() <= top + pane.view.viewport().height()
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_F3)
    assert pane.current_hit() == 0  # wraps round
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert (pane.current_hit(), pane.search_bar.count.text()) == (2, "3 of 3")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert pane.current_hit() == 1
    pane.search_bar.field.setText("absent")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pane.search_bar.count.text() == "No matches", timeout=5000)
    assert pane.hits() == []
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Escape)
    assert not pane.search_bar.isVisible()


def test_zoom_by_keys_wheel_and_fit_modes(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any]
) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    view = pane.view
    fit_width = view.zoom_percent()
    # Fit width: the A4 page fills the view's width, less the margins.
    page_px = 595 * 96 / 72 * fit_width / 100
    assert abs(page_px - (view.viewport().width() - 32)) < 1
    pane.set_zoom(100.0)
    assert view.zoom_percent() == 100
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_percent() == 110
    qtbot.keyClick(pane, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(pane, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_percent() == 90
    assert pane._zoom_label.text() == "90 %"
    wheel(view, +120, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom_percent() == 100
    wheel(view, -120, Qt.KeyboardModifier.NoModifier)  # plain wheel scrolls, no zoom
    assert view.zoom_percent() == 100
    pane._on_zoom_chosen("Fit page")
    # A whole page fits the view's height.
    page_height = 842 * 96 / 72 * view.zoom_percent() / 100
    assert page_height <= view.viewport().height()
    assert view.zoom_percent() < fit_width
    pane._on_zoom_chosen("250 %")
    assert view.zoom_percent() == 250
    # Pages are rendered at the new zoom once they come back from the workers.
    zoom = view.render_zoom()
    qtbot.waitUntil(
        lambda: any(k[1] == round(zoom, 3) and not k[3] for k in pane.renderer.cache), timeout=5000
    )


def wheel(view: Any, delta: int, modifiers: Any) -> None:
    from ui.qt import QPointF, QWheelEvent

    pos = QPointF(view.viewport().width() / 2, view.viewport().height() / 2)
    event = QWheelEvent(
        pos,
        view.viewport().mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_rotate_turns_the_pages(qtbot: Any, pane: RecordsPane, letters: dict[str, Any]) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    pane.set_zoom(100.0)
    first = pane.view._rects[0]
    assert first.height() > first.width()
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_R)
    assert pane.view.rotation() == 90
    turned = pane.view._rects[0]
    assert turned.width() == pytest.approx(first.height())
    assert turned.height() == pytest.approx(first.width())
    qtbot.waitUntil(lambda: any(k[2] == 90 and not k[3] for k in pane.renderer.cache), timeout=5000)
    for _ in range(3):
        qtbot.keyClick(pane, Qt.Key.Key_R)
    assert pane.view.rotation() == 0


@pytest.mark.parametrize("rotation", [0, 90])
def test_drag_selects_text_and_ctrl_c_copies_it(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], rotation: int
) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    pane.set_zoom(100.0)
    if rotation:
        pane.rotate()
    pane.open_ref("record:r1#3")
    doc = pane.renderer.document
    assert doc is not None
    words = doc.words(2)
    normal = next(w for w in words if w.text == "normal")
    mitral = next(w for w in words if w.text == "mitral")
    start = screen_point(pane, 2, normal.rect.x0 + 2, (normal.rect.y0 + normal.rect.y1) / 2)
    end = screen_point(pane, 2, mitral.rect.x1 - 2, (mitral.rect.y0 + mitral.rect.y1) / 2)
    viewport = pane.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, pos=end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    qtbot.waitUntil(lambda: pane.view.selected_text() != "", timeout=5000)
    QApplication.clipboard().clear()
    pane.view.setFocus()
    qtbot.keyClick(pane.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "normal size\nMild mitral"
    # A click clears the selection; a double-click selects one word.
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=start)
    assert pane.view.selected_text() == ""
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert pane.view.selected_text() == "mitral"
    pane.copy_selection()
    assert QApplication.clipboard().text() == "mitral"


def screen_point(pane: RecordsPane, page: int, x: float, y: float) -> QPoint:
    """Where page point (x, y) is in the page view's viewport now."""
    from reviewer_app.records.geometry import Rect, to_view

    view = pane.view
    box = to_view(Rect(x, y, x, y), view._sizes[page], view._scale(), view.rotation())
    rect = view._rects[page]
    px = rect.left() + box.x0 + view._x_offset() - view.horizontalScrollBar().value()
    py = rect.top() + box.y0 - view.verticalScrollBar().value()
    assert 0 <= py < view.viewport().height(), "the point must be on screen"
    return QPoint(round(px), round(py))


@pytest.mark.parametrize(
    ("record_id", "expected"),
    [
        ("r2", "This record is damaged"),
        ("r3", "password-protected"),
        ("r4", STILL_DOWNLOADING),
        ("r5", "not a PDF"),
        ("r6", "not in the vault"),
    ],
)
def test_unreadable_records_say_why(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], record_id: str, expected: str
) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    row = pane.records.row_of(record_id)
    assert row is not None
    pane.record_table.selectRow(row)
    qtbot.waitUntil(lambda: expected in pane.message(), timeout=5000)
    assert pane.current_record_id() == record_id
    assert pane.view.page_count() == 0
    assert any(expected in text for text in visible_texts(pane))
    # The pane stays usable: the letter opens again.
    pane.open_ref("record:r1")
    wait_open(qtbot, pane, "r1")
    assert pane.message() == ""


def test_switching_case_replaces_everything(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    vault = letters["vault"]
    pane.show_case(letters["anna"], vault)
    wait_open(qtbot, pane, "r1")
    pane.open_search()
    qtbot.keyClicks(pane.search_bar.field, "ejection")
    qtbot.keyClick(pane.search_bar.field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(pane.hits()) == 3, timeout=5000)
    pane.show_case(letters["bruno"], vault)
    assert pane.case_id() == "case-bruno"
    wait_open(qtbot, pane, "b1")
    wait_idle(qtbot, ops)
    texts = " ".join(visible_texts(pane))
    assert "Anna" not in texts and "SYN-0001" not in texts
    assert "Roe, Bruno · SYN-0002" in texts
    assert pane.view.page_count() == 2
    # The search bar searched Bruno's record again: "ejection" words are in his letter,
    # and it says that his scanned page could not be searched.
    assert pane.hits() and all(h.page == 0 for h in pane.hits())
    assert pane.search_bar.unsearched.isVisible()
    assert pane.search_bar.unsearched.text() == "1 scanned page not searched"


def test_late_results_for_the_previous_case_are_dropped(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    """Anna's record is still opening (on a worker) when Bruno's case replaces her:
    whatever finishes later, only Bruno's two pages are ever shown."""
    vault = letters["vault"]
    shown: list[int] = []
    set_pages = pane.view.set_pages

    def spy(sizes: Any) -> None:
        shown.append(len(sizes))
        set_pages(sizes)

    pane.view.set_pages = spy  # type: ignore[method-assign]
    # Holding the engine lock parks Anna's open on its worker, mid-way, until Bruno is shown.
    with ENGINE_LOCK:
        pane.show_case(letters["anna"], vault)
        qtbot.wait(300)
        pane.show_case(letters["bruno"], vault)
    wait_open(qtbot, pane, "b1")
    wait_idle(qtbot, ops)
    assert pane.view.page_count() == 2
    assert pane.current_record_id() == "b1"
    assert column(pane, Column.TITLE) == ["Bruno discharge summary"]
    assert column(pane, Column.PAGES) == ["2"]
    assert 2 in shown
    assert 3 not in shown  # Anna's 3-page letter never reached the view


def test_clear_shows_nothing_of_any_patient(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    pane.clear()
    wait_idle(qtbot, ops)
    assert pane.case_id() is None
    assert pane.records.rowCount() == 0
    assert pane.view.page_count() == 0
    assert pane.renderer.document is None
    assert len(pane.renderer.cache) == 0
    assert not any("Anna" in text for text in visible_texts(pane))


def test_open_ref_goes_to_the_page(qtbot: Any, pane: RecordsPane, letters: dict[str, Any]) -> None:
    pane.show_case(letters["anna"], letters["vault"])
    wait_open(qtbot, pane, "r1")
    pane.set_zoom(100.0)
    pane.open_ref("record:r1#2")
    assert pane.view.current_page() == 1
    assert pane.thumbnails.selected_page() == 1
    # The strip shows each page in small (rendered apart from the pages).
    thumbs = pane.thumbnails.model()
    qtbot.waitUntil(lambda: any(k[3] for k in pane.renderer.cache), timeout=5000)
    assert thumbs.rowCount() == 3
    assert thumbs.index(0, 0).data(Qt.ItemDataRole.DecorationRole).width() > 0
    # A thumbnail click goes to that page.
    index = pane.thumbnails.model().index(2, 0)
    rect = pane.thumbnails.visualRect(index)
    qtbot.mouseClick(pane.thumbnails.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert pane.view.current_page() == 2


def test_the_same_case_shown_again_keeps_the_place_in_the_open_record(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    """A sync or an unlock shows the open case again: the reader stays where they were
    (page, zoom, rotation); another case starts from the top of its first record."""
    vault, anna = letters["vault"], letters["anna"]
    pane.show_case(anna, vault)
    wait_open(qtbot, pane, "r1")
    pane.set_zoom(150.0)
    pane.rotate()
    pane.view.show_page(2)
    wait_idle(qtbot, ops)
    place = pane.view.verticalScrollBar().value()
    assert place > 0 and pane.view.current_page() == 2
    document = pane.renderer.document

    # Shown again as a sync does it: a new CaseFile of the same case, same file.
    pane.show_case(
        make_case(
            anna.case_id,
            "Doe, Anna",
            [(r.record_id, r.title, r.object_id) for r in anna.records],
            key="SYN-0001",
        ),
        vault,
    )
    assert pane.renderer.document is document  # not even reopened
    assert pane.current_record_id() == "r1"
    assert pane.view.verticalScrollBar().value() == place
    assert pane.view.zoom_mode() == 150.0 and pane.view.rotation() == 90
    assert pane.record_table.currentIndex().row() == 0

    # Locked, then unlocked: cleared (nothing shown), then back at the same place.
    pane.clear()
    assert pane.renderer.document is None and pane.view.page_count() == 0
    pane.show_case(anna, vault)
    wait_open(qtbot, pane, "r1")
    assert pane.view.verticalScrollBar().value() == place
    assert pane.view.current_page() == 2
    assert pane.view.zoom_mode() == 150.0 and pane.view.rotation() == 90
    assert pane.thumbnails.model()._rotation == 90
    assert "150 %" in pane._zoom_box.currentText()

    # Another case: its first record from the top, unrotated.
    pane.show_case(letters["bruno"], vault)
    wait_open(qtbot, pane, "b1")
    state = pane.view.view_state()
    assert (state.page, state.fraction, state.rotation) == (0, 0.0, 0)
    # And Anna again after Bruno: her place was not kept through another case.
    pane.show_case(anna, vault)
    wait_open(qtbot, pane, "r1")
    assert pane.view.view_state().page == 0 and pane.view.view_state().fraction == 0.0
    wait_idle(qtbot, ops)


def test_a_changed_file_is_opened_afresh(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    vault, anna = letters["vault"], letters["anna"]
    pane.show_case(anna, vault)
    wait_open(qtbot, pane, "r1")
    pane.view.show_page(2)
    document = pane.renderer.document
    replaced = put(vault, letter(2, seed=3))
    records = [(r.record_id, r.title, r.object_id) for r in anna.records]
    records[0] = ("r1", "Anna referral letter (corrected)", replaced)
    pane.show_case(make_case(anna.case_id, "Doe, Anna", records, key="SYN-0001"), vault)
    wait_open(qtbot, pane, "r1")
    assert pane.renderer.document is not document
    assert pane.view.page_count() == 2
    assert pane.view.view_state().page == 0 and pane.view.view_state().fraction == 0.0
    wait_idle(qtbot, ops)


def test_a_record_the_sync_brings_opens_where_the_reader_waits_for_it(
    qtbot: Any, pane: RecordsPane, letters: dict[str, Any], ops: Operations
) -> None:
    """The reader opened a Record not downloaded yet; the sync brings it and shows the
    case again: that Record opens, not the first one."""
    vault, anna = letters["vault"], letters["anna"]
    pane.show_case(anna, vault)
    wait_open(qtbot, pane, "r1")
    pane.open_record("r4")
    wait_idle(qtbot, ops)
    assert pane.current_record_id() == "r4" and pane.renderer.document is None
    arrived = [
        (r.record_id, r.title, r.object_id if r.record_id != "r4" else anna.records[0].object_id)
        for r in anna.records
    ]
    pane.show_case(make_case(anna.case_id, "Doe, Anna", arrived, key="SYN-0001"), vault)
    wait_open(qtbot, pane, "r4")
    assert pane.renderer.document is not None
    # Another case still starts from its first Record.
    pane.show_case(letters["bruno"], vault)
    wait_open(qtbot, pane)
    assert pane.current_record_id() == letters["bruno"].records[0].record_id


def test_a_narrow_pane_gives_the_title_the_room_of_the_type(qtbot: Any, pane: RecordsPane) -> None:
    table = pane.record_table
    pane.resize(330, 700)
    qtbot.waitUntil(lambda: table.isColumnHidden(Column.TYPE))
    # Date and pages take what they need; the title has the rest, not a letter.
    assert table.columnWidth(Column.TITLE) > 100
    pane.resize(1000, 700)
    qtbot.waitUntil(lambda: not table.isColumnHidden(Column.TYPE))
    assert table.columnWidth(Column.TYPE) >= 80
