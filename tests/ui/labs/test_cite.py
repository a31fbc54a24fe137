"""Citing a lab result or a trend from the Labs pane, and opening it again (synced cases)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from reviewer_app.casefile import CaseFile, load_case
from reviewer_app.labs.flags import Flag, FlagKind, FlagSource
from reviewer_app.labs.flowsheet import Analyte, LabValue
from reviewer_app.opinion.evidence import (
    CitationKind,
    add_citation,
    citation_image,
    citations,
    get_citation,
)
from tests.fixtures.synced_case import synced_case, synced_source  # noqa: F401
from ui.labs.cite import result_label
from ui.labs.models import VALUES_ROLE
from ui.labs.pane import CITED_OTHER_CASE, LabsPane
from ui.qt import QImage, QItemSelectionModel, QKeySequence, Qt

SELECT = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows


@pytest.fixture
def pane(qtbot: Any, ops: Any) -> LabsPane:
    widget = LabsPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1000, 700)
    widget.show()
    return widget


def lab_case(synced: Any) -> CaseFile:
    cases = [load_case(synced.vault, c) for c in synced.case_ids]
    return max(cases, key=lambda c: len(c.labs))


def show(qtbot: Any, pane: LabsPane, case: CaseFile, vault: Any) -> None:
    pane.show_case(case, vault)
    qtbot.waitUntil(lambda: pane._loaded, timeout=5000)


def flagged_list_row(pane: LabsPane) -> tuple[int, LabValue]:
    for row in range(pane.list_proxy.rowCount()):
        value = pane.list_proxy.index(row, 0).data(VALUES_ROLE)
        if value.flag.kind.abnormal and value.unit and value.range_text:
            return row, value
    raise AssertionError("the synced labs include a flagged result with unit and range")


def long_trend(pane: LabsPane) -> Analyte:
    analytes = pane.flowsheet_model.flowsheet().analytes()
    return max(analytes, key=lambda a: sum(1 for v in a.values if v.value is not None))


def test_cite_a_result_from_the_list_and_open_it_again(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    case = lab_case(synced)
    show(qtbot, pane, case, synced.vault)
    pane.list_button.setChecked(True)
    row, value = flagged_list_row(pane)
    pane.list_view.selectionModel().setCurrentIndex(pane.list_proxy.index(row, 0), SELECT)
    analyte, picked = pane.selected_result()  # type: ignore[misc]
    assert picked == value

    with qtbot.waitSignal(pane.cite_requested, timeout=5000) as blocker:
        pane.cite_action.trigger()
    citation = get_citation(synced.vault, blocker.args[0].citation_id)
    assert [c.citation_id for c in citations(synced.vault, case.case_id)] == [citation.citation_id]
    assert citation.kind is CitationKind.LAB
    assert citation.ref == f"lab:{value.lab_id}"
    assert citation.image_object_id is None
    label = citation.label
    assert label.startswith(f"{analyte.name} {value.text} {value.unit} (")
    assert value.flag.words.lower() in label
    assert f"reference range {value.range_text}" in label
    assert value.effective is not None and value.effective.date().isoformat() in label
    assert case.patient.name not in label
    assert citation.view["lab_id"] == value.lab_id and citation.view["mode"] == "list"

    # Somewhere else, then back to the cited result.
    pane.flowsheet_button.setChecked(True)
    pane.select_analyte(long_trend(pane).key)
    pane.filter_box.setText("zzz-no-such-analyte")
    pane.open_citation(citation)
    assert pane.list_button.isChecked()
    assert pane.selected_result() == (analyte, value)
    assert pane.selected_analyte() == analyte


def test_cite_a_flowsheet_cell_and_open_it_in_the_flowsheet(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    case = lab_case(synced)
    show(qtbot, pane, case, synced.vault)
    analyte = long_trend(pane)
    value = analyte.values[0]  # the oldest: the last column
    pane.select_analyte(analyte.key)
    index = pane._result_index(analyte, value)
    assert index is not None
    pane.flowsheet_view.selectionModel().setCurrentIndex(index, SELECT)
    with qtbot.waitSignal(pane.cite_requested, timeout=5000) as blocker:
        pane.cite()
    citation = blocker.args[0]
    assert citation.ref == f"lab:{value.lab_id}"
    assert citation.view["mode"] == "flowsheet"
    assert f" {value.unit} (" in citation.label

    pane.select_analyte(pane.flowsheet_model.flowsheet().analytes()[0].key)
    pane.list_button.setChecked(True)
    pane.open_citation(citation)
    assert pane.flowsheet_button.isChecked()
    assert pane.selected_result() == (analyte, value)


def test_cite_the_trend_with_its_dates_and_plot(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    case = lab_case(synced)
    show(qtbot, pane, case, synced.vault)
    analyte = long_trend(pane)
    pane.select_analyte(analyte.key)
    dated = [v.effective for v in analyte.values if v.effective is not None]
    # The reader zoomed onto the later results only.
    first = dated[len(dated) // 2] - timedelta(hours=1)
    last = dated[-1] + timedelta(days=1)
    pane.trend_plot.set_x_range(first.timestamp(), last.timestamp())
    shown = [v for v in analyte.values if v.effective and first <= v.effective <= last]

    with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
        pane.cite()  # the analyte (not one result) is selected: its trend
    citation = get_citation(synced.vault, blocker.args[0].citation_id)
    assert citation.kind is CitationKind.TREND
    assert citation.ref == f"trend:{analyte.code}"
    label = citation.label
    assert label.startswith(f"{analyte.name} trend ({analyte.unit}), ")
    assert f"{shown[0].effective.date().isoformat()} to " in label  # type: ignore[union-attr]
    assert f": {len(shown)} results" in label
    assert case.patient.name not in label
    assert citation.view["x_range"] == pytest.approx(list(pane.trend_plot.x_range()))
    png = citation_image(synced.vault, citation)
    assert png is not None and png.startswith(b"\x89PNG")
    figure = QImage.fromData(png)
    assert (figure.width(), figure.height()) == (1800, 840)  # print quality: 2x
    # Black on white, whatever the screen's theme.
    assert figure.pixelColor(figure.width() - 4, 4).name() == "#ffffff"
    dark = sum(
        1
        for x in range(0, figure.width(), 9)
        for y in range(0, figure.height(), 9)
        if figure.pixelColor(x, y).lightness() < 100
    )
    assert dark > 40, "axes, dates, unit, caption and curve are drawn"

    # Another analyte, all dates: then the citation brings back the cited range.
    pane.select_analyte(pane.flowsheet_model.flowsheet().analytes()[0].key)
    pane.open_citation(citation)
    assert pane.selected_analyte() == analyte
    assert pane.trend_plot.x_range() == pytest.approx(citation.view["x_range"])


def test_a_citation_arriving_after_a_case_switch_keeps_its_own_case(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    case = lab_case(synced)
    other = load_case(synced.vault, next(c for c in synced.case_ids if c != case.case_id))
    show(qtbot, pane, case, synced.vault)
    pane.select_analyte(long_trend(pane).key)
    with qtbot.waitSignal(pane.cite_requested, timeout=10_000) as blocker:
        pane.cite()
        pane.show_case(other, synced.vault)  # before the citation is stored
    citation = blocker.args[0]
    assert pane.case_id() == other.case_id
    assert citation.case_id == case.case_id
    assert len(citations(synced.vault, case.case_id)) == 1
    assert citations(synced.vault, other.case_id) == []
    assert pane.citation_message() == ""  # nothing said about the other case's citation
    qtbot.waitUntil(lambda: pane._loaded)
    pane.open_citation(citation)
    assert pane.citation_message() == CITED_OTHER_CASE
    assert pane.selected_analyte() is None


def test_a_result_the_case_no_longer_has_gives_a_message(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    case = lab_case(synced)
    show(qtbot, pane, case, synced.vault)
    gone = add_citation(
        synced.vault,
        case.case_id,
        CitationKind.LAB,
        "lab:no-such-result",
        "Haemoglobin 9.8 g/dL (low; reference range 12.0–15.5 g/dL), 2026-04-01",
        {"lab_id": "no-such-result", "analyte_key": "nope", "mode": "list"},
    )
    pane.open_citation(gone)
    assert "no longer in this case" in pane.citation_message()
    assert "9.8 g/dL" in pane.citation_message()


def test_the_cite_key_and_nothing_selected(
    qtbot: Any,
    synced_case: Any,  # noqa: F811
    ops: Any,
    pane: LabsPane,
) -> None:
    synced = synced_case()
    show(qtbot, pane, lab_case(synced), synced.vault)
    assert QKeySequence("Ctrl+Shift+C") in pane.cite_action.shortcuts()
    assert pane.cite_action.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    pane.cite()
    assert pane.citation_message().startswith("Select a result")
    pane.select_analyte(long_trend(pane).key)
    pane.activateWindow()
    pane.flowsheet_view.setFocus()
    qtbot.waitUntil(pane.flowsheet_view.hasFocus)
    with qtbot.waitSignal(pane.cite_requested, timeout=10_000):
        qtbot.keyClick(
            pane.flowsheet_view,
            Qt.Key.Key_C,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )


def test_a_result_without_unit_or_range_says_so() -> None:
    # The label must never let a bare number pass for a value with a known unit.
    flag = Flag(FlagKind.NONE, FlagSource.NONE)
    value = LabValue(
        "l1", "x|", datetime(2026, 4, 1, 8, 30), 3.0, "3", "", None, None, "", None, flag
    )
    analyte = Analyte("x|", "", "Ratio", "", "Panel", (value,))
    assert result_label(analyte, value) == (
        "Ratio 3, no unit (reference range not given), 2026-04-01 08:30"
    )
    high = dataclasses.replace(
        value, unit="g/dL", range_text="12.0–15.5 g/dL", flag=Flag(FlagKind.HIGH, FlagSource.RANGE)
    )
    assert result_label(analyte, high) == (
        "Ratio 3 g/dL (high, flagged from the reference range; reference range "
        "12.0–15.5 g/dL), 2026-04-01 08:30"
    )
