"""Citing a key image from the Imaging pane, and opening the citation again (synced cases)."""

from __future__ import annotations

from typing import Any

import pytest

from reviewer_app.casefile import CaseFile, SeriesEntry, load_case
from reviewer_app.opinion.evidence import (
    CitationKind,
    add_citation,
    citation_image,
    citations,
    get_citation,
)
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from ui.imaging.pane import CITED_OTHER_CASE, ImagingPane
from ui.qt import QImage, QKeySequence, QPointF, Qt


def find_series(synced: Any, modality: str) -> tuple[CaseFile, SeriesEntry]:
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id)
        for study in case.studies:
            for series in study.series:
                if series.modality == modality and len(series.instances) > 4:
                    return case, series
    raise AssertionError(f"the synced cases have no {modality} series")


@pytest.fixture
def pane(qtbot: Any, ops: Any) -> ImagingPane:
    widget = ImagingPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1000, 640)
    widget.show()
    return widget


def open_at(qtbot: Any, pane: ImagingPane, case: CaseFile, vault: Any, uid: str) -> None:
    pane.show_case(case, vault)
    pane.open_series(uid)
    qtbot.waitUntil(
        lambda: pane._stack is not None and pane._shown_index == 0 and pane.view.has_image(),
        timeout=10_000,
    )


def shown(pane: ImagingPane, index: int) -> bool:
    return pane._shown_index == index and pane.current_index() == index and pane.view.has_image()


def measure(qtbot: Any, pane: ImagingPane, mode: str, points: list[tuple[int, int]]) -> None:
    pane.mode_actions[mode].trigger()
    with qtbot.waitSignal(pane.view.measured):
        for x, y in points:
            pos = pane.view.mapFromScene(QPointF(x, y))
            qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    pane.mode_actions["browse"].trigger()


def test_cite_stores_the_key_image_and_opening_it_restores_the_exact_view(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    case, series = find_series(synced, "CT")
    open_at(qtbot, pane, case, synced.vault, series.series_uid)
    pane.go_to(3)
    qtbot.waitUntil(lambda: shown(pane, 3))
    pane.apply_preset("Lung")
    qtbot.waitUntil(lambda: pane.view.overlay("bottom_left")[0] == "W 1500 L -600")
    pane.view.zoom_by(1.5)
    pane.view.pan_by(40, -25)
    measure(qtbot, pane, "distance", [(100, 120), (160, 200)])
    measure(qtbot, pane, "angle", [(60, 60), (120, 60), (120, 20)])
    zoom, centre = pane.view.zoom(), pane.view.centre()
    measured = pane.measurement_views()
    sop = pane._stack.instances[pane._stack.slices[3].instance].sop_uid  # type: ignore[union-attr]

    with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
        pane.cite_action.trigger()
    citation = blocker.args[0]

    assert [c.citation_id for c in citations(synced.vault, case.case_id)] == [citation.citation_id]
    stored = get_citation(synced.vault, citation.citation_id)
    assert stored.case_id == case.case_id
    assert stored.kind is CitationKind.KEY_IMAGE
    assert stored.ref == f"image:{series.series_uid}/{sop}#0"
    study = next(st for st in case.studies if series in st.series)
    assert study.started is not None
    number = next(i.number for i in series.instances if i.sop_uid == sop)
    label = stored.label
    assert f"({study.started.date().isoformat()})" in label
    assert f"series {series.number}" in label
    assert f"image {number} (slice 4 of {pane.slice_count()})," in label
    assert "W 1500 / L -600" in label
    assert case.patient.name not in label
    # The measurements with their units, as the screen shows them.
    assert " mm" in label and "°" in label
    view = stored.view
    assert view["window"] == {
        "kind": "window",
        "center": -600.0,
        "width": 1500.0,
        "function": "LINEAR",
        "explanation": "Lung",
    }
    assert view["frame"] == 0 and view["index"] == 3
    assert view["zoom"] == pytest.approx(zoom)
    assert view["pan"] == pytest.approx(list(centre))
    assert [m["kind"] for m in view["measurements"]] == ["distance", "angle"]
    assert view["measurements"][0]["unit"] == "mm"
    assert view["measurements"][0]["value"] == pytest.approx(measured[0]["value"])
    assert view["measurements"][1]["unit"] == "°"
    # The figure: a PNG of the image as it is on screen (no empty view around it) at
    # twice the screen's resolution, the image in it (not a black frame).
    png = citation_image(synced.vault, stored)
    assert png is not None and png.startswith(b"\x89PNG")
    figure = QImage.fromData(png)
    shown_in = pane.view.viewport().rect()
    on_screen = pane.view.mapFromScene(pane.view._pixmap.sceneBoundingRect()).boundingRect()
    visible = on_screen.intersected(shown_in)
    assert visible.width() < shown_in.width() or visible.height() < shown_in.height()
    assert (figure.width(), figure.height()) == (2 * visible.width(), 2 * visible.height())
    middle = figure.pixelColor(figure.width() // 2, figure.height() // 2)
    greys = {figure.pixelColor(x, figure.height() // 2).red() for x in range(0, figure.width(), 7)}
    assert len(greys) > 5, "the figure shows the image"
    assert middle.isValid()

    # Somewhere else entirely, then back to the cited view.
    pane.reset()
    pane.go_to(7)
    pane.apply_preset("Bone")
    qtbot.waitUntil(lambda: shown(pane, 7))
    pane.open_citation(stored)
    qtbot.waitUntil(
        lambda: shown(pane, 3) and pane.view.overlay("bottom_left")[0] == "W 1500 L -600"
    )
    assert pane.view.zoom() == pytest.approx(zoom)
    # The pan to within one screen pixel (scroll bars move in whole pixels).
    assert pane.view.centre() == pytest.approx(centre, abs=1.01 / zoom)
    assert [(m["kind"], m["value"], m["unit"]) for m in pane.measurement_views()] == [
        (m["kind"], pytest.approx(m["value"]), m["unit"]) for m in measured
    ]
    assert pane.presets.currentText().startswith("Lung")


def test_open_citation_from_another_series_opens_it_at_the_cited_frame(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    case, series = find_series(synced, "CT")
    open_at(qtbot, pane, case, synced.vault, series.series_uid)
    pane.go_to(5)
    qtbot.waitUntil(lambda: shown(pane, 5))
    with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
        pane.cite()
    citation = blocker.args[0]
    assert citation.view["window_choice"] == "file"
    other = next(s for s in pane.series_model.all_series() if s.series_uid != series.series_uid)
    pane.open_series(other.series_uid)
    qtbot.waitUntil(lambda: pane.current_series() is other and pane._shown_index == 0)
    pane.open_citation(citation)
    qtbot.waitUntil(lambda: pane.current_series() is not other and shown(pane, 5))
    assert pane.current_series().series_uid == series.series_uid  # type: ignore[union-attr]
    assert pane.presets.currentIndex() == 0  # the file's own window, as cited


def test_a_citation_arriving_after_a_case_switch_keeps_its_own_case(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    case, series = find_series(synced, "CT")
    other = load_case(synced.vault, next(c for c in synced.case_ids if c != case.case_id))
    open_at(qtbot, pane, case, synced.vault, series.series_uid)
    with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
        pane.cite_action.trigger()
        pane.show_case(other, synced.vault)  # before the citation is stored
    citation = blocker.args[0]
    assert pane.case_id() == other.case_id
    assert citation.case_id == case.case_id
    assert [c.citation_id for c in citations(synced.vault, case.case_id)] == [citation.citation_id]
    assert citations(synced.vault, other.case_id) == []
    # Opened while another case is shown: nothing of it is shown, the pane says why.
    pane.open_citation(citation)
    assert pane.citation_message() == CITED_OTHER_CASE
    assert pane.case_id() == other.case_id


def test_a_cited_image_the_case_no_longer_has_gives_a_message(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    case, series = find_series(synced, "CT")
    open_at(qtbot, pane, case, synced.vault, series.series_uid)
    gone = add_citation(
        synced.vault,
        case.case_id,
        CitationKind.KEY_IMAGE,
        f"image:{series.series_uid}/1.2.3.999#0",
        "CT (2026-01-01), series 1, image 9, W 400 / L 40",
        {"zoom": 1.0},
    )
    pane.open_citation(gone)
    assert "no longer in this case" in pane.citation_message()
    assert pane.view.has_image()  # what was shown stays


def test_lossy_images_are_cited_as_lossy(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    for case_id in synced.case_ids:
        case = load_case(synced.vault, case_id)
        pane.show_case(case, synced.vault)
        for series in pane.series_model.all_series():
            pane.open_series(series.series_uid)
            qtbot.waitUntil(
                lambda s=series: pane.current_series() is s and pane._shown_index == 0,
                timeout=10_000,
            )
            if pane.view.lossy_mark():
                with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
                    pane.cite()
                label = blocker.args[0].label
                assert "; LOSSY-compressed image (" in label
                assert "lossy compressed" not in label  # said once, not twice
                assert blocker.args[0].view["lossy"] is True
                return
    raise AssertionError("the synced cases include a lossy-compressed series")


def test_the_cite_key_works_where_the_pane_has_the_focus(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: ImagingPane,
) -> None:
    synced = synced_case()
    case, series = find_series(synced, "CT")
    open_at(qtbot, pane, case, synced.vault, series.series_uid)
    assert QKeySequence("Ctrl+Shift+C") in pane.cite_action.shortcuts()
    assert pane.cite_action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    pane.activateWindow()
    pane.view.setFocus()
    qtbot.waitUntil(pane.view.hasFocus)
    with qtbot.waitSignal(pane.cite_requested, timeout=10_000):
        qtbot.keyClick(
            pane.view,
            Qt.Key.Key_C,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
