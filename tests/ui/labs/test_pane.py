"""The Labs pane: flowsheet, list, filter, sort, trend, and never the wrong patient."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from reviewer_app.casefile import load_case
from reviewer_app.labs.flags import FlagKind
from reviewer_app.labs.flowsheet import Flowsheet
from tests.fixtures.synced_case import SyncedCopy, synced_case, synced_source  # noqa: F401
from tests.reviewer_app.labs.entries import lab
from tests.ui.labs.cases import anna_labs, bruno_labs, case_file
from ui.labs.models import ANALYTE_ROLE, ListColumn
from ui.labs.pane import LabsPane
from ui.operations import Operations
from ui.qt import QFont, Qt

DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole

ANNA = case_file("case-anna", "Doe, Anna", anna_labs(), key="SYN-0001")
BRUNO = case_file("case-bruno", "Roe, Bruno", bruno_labs(), key="SYN-0002")


@pytest.fixture
def pane(qtbot: Any, ops: Operations) -> LabsPane:
    widget = LabsPane(ops)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    return widget


def show(qtbot: Any, pane: LabsPane, case: Any) -> None:
    pane.show_case(case, None)
    qtbot.waitUntil(lambda: pane.list_model.rowCount() == len(case.labs), timeout=5000)


def rows(pane: LabsPane) -> list[str]:
    proxy = pane.flowsheet_proxy
    return [proxy.index(r, 0).data(DISPLAY) for r in range(proxy.rowCount())]


def cell(pane: LabsPane, label: str, column: int, role: int = DISPLAY) -> Any:
    model = pane.flowsheet_model
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == label)
    return model.index(row, column).data(role)


def test_flowsheet_rows_are_analytes_by_panel_and_columns_are_draws(
    qtbot: Any, pane: LabsPane
) -> None:
    show(qtbot, pane, ANNA)
    assert pane.header.text() == "Doe, Anna · SYN-0001"
    assert pane.case_id() == "case-anna"
    assert rows(pane) == [
        "Diabetes",
        "HbA1c",
        "Full blood count",
        "Haemoglobin",
        "Metabolic panel",
        "Glucose (mg/dL)",
        "Glucose (mmol/L)",
        "Tumour markers",
        "PSA",
    ]
    model = pane.flowsheet_model
    headers = [
        model.headerData(c, Qt.Orientation.Horizontal, DISPLAY) for c in range(model.columnCount())
    ]
    # The newest draw first, next to the names.
    assert headers == [
        "Analyte",
        "Reference range",
        "2026-10-12\n08:00",
        "2026-10-08\n08:00",
        "2026-10-04\n08:00",
        "2026-10-01\n08:00",
    ]
    # Every value shows its unit; flags carry a symbol; censored values stay text.
    assert [cell(pane, "Haemoglobin", c) for c in range(2, 6)] == [
        "9.9 g/dL \u25bc L",
        "6.8 g/dL \u25bc\u25bc LL",
        "11.2 g/dL \u25bc L",
        "13.1 g/dL",
    ]
    assert cell(pane, "PSA", 4) == "<0.1 ng/mL"
    assert cell(pane, "Glucose (mg/dL)", 3) == ""
    assert cell(pane, "Glucose (mmol/L)", 3) == "7.9 mmol/L \u25b2 H"
    assert cell(pane, "HbA1c", 1) == "4-5.6 %"


def test_tooltips_give_value_unit_range_interpretation_date_and_flag_source(
    qtbot: Any, pane: LabsPane
) -> None:
    show(qtbot, pane, ANNA)
    critical = cell(pane, "Haemoglobin", 3, TOOLTIP)
    assert "Haemoglobin (LOINC 718-7)" in critical
    assert "Value: 6.8 g/dL" in critical
    assert "Reference range: 12-15.5 g/dL" in critical
    assert "Critical low \u2014 laboratory interpretation (LL)" in critical
    assert "Drawn: 2026-10-08 08:00 UTC" in critical
    from_range = cell(pane, "Haemoglobin", 2, TOOLTIP)
    assert "computed by Reviewer from the reference range" in from_range


def test_flag_colours_only_reinforce_and_critical_is_bold(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    assert cell(pane, "Haemoglobin", 5, Qt.ItemDataRole.ForegroundRole) is None
    low = cell(pane, "Haemoglobin", 4, Qt.ItemDataRole.ForegroundRole)
    high = cell(pane, "Glucose (mmol/L)", 3, Qt.ItemDataRole.ForegroundRole)
    assert low is not None and high is not None and low != high
    font = cell(pane, "Haemoglobin", 3, Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    assert cell(pane, "Haemoglobin", 3, Qt.ItemDataRole.BackgroundRole) is not None
    assert cell(pane, "Haemoglobin", 4, Qt.ItemDataRole.BackgroundRole) is None


def test_filter_by_text_and_abnormal_only(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    assert pane.count_label.text() == "11 results"
    qtbot.keyClicks(pane.filter_box, "hba1c")
    assert rows(pane) == ["Diabetes", "HbA1c"]
    assert pane.list_proxy.rowCount() == 2
    assert pane.count_label.text() == "2 of 11 results"
    pane.filter_box.setText("4548-4")  # the LOINC code works too
    assert rows(pane) == ["Diabetes", "HbA1c"]
    pane.filter_box.clear()
    pane.abnormal_only.setChecked(True)
    assert rows(pane) == [
        "Diabetes",
        "HbA1c",
        "Full blood count",
        "Haemoglobin",
        "Metabolic panel",
        "Glucose (mmol/L)",
    ]
    flagged = {
        pane.list_proxy.index(r, ListColumn.FLAG).data() for r in range(pane.list_proxy.rowCount())
    }
    assert flagged == {"\u25bc L", "\u25bc\u25bc LL", "\u25b2 H"}
    assert pane.count_label.text() == "5 of 11 results"


def test_sorting_keeps_panels_together(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    pane.flowsheet_proxy.sort(0, Qt.SortOrder.DescendingOrder)
    assert rows(pane)[4:7] == ["Metabolic panel", "Glucose (mmol/L)", "Glucose (mg/dL)"]
    assert rows(pane)[0] == "Diabetes"
    # A click on a header sorts by that draw; the panels stay in place.
    pane.flowsheet_view.horizontalHeader().sectionClicked.emit(2)
    assert rows(pane)[0] == "Diabetes"
    assert pane.flowsheet_view.horizontalHeader().isSortIndicatorShown()


def test_list_view_sorts_numbers_as_numbers_and_censored_after(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    qtbot.mouseClick(pane.list_button, Qt.MouseButton.LeftButton)
    assert pane.stack.currentWidget() is pane.list_view
    proxy = pane.list_proxy
    headers = [proxy.headerData(c, Qt.Orientation.Horizontal) for c in range(proxy.columnCount())]
    assert headers == [
        "Date",
        "Analyte",
        "Value",
        "Unit",
        "Reference range",
        "Flag",
        "Flag source",
    ]
    pane.list_view.sortByColumn(ListColumn.VALUE, Qt.SortOrder.AscendingOrder)
    values = [proxy.index(r, ListColumn.VALUE).data() for r in range(proxy.rowCount())]
    assert values == ["1.4", "2.2", "5.2", "6.1", "6.8", "7.9", "9.9", "11.2", "13.1", "90", "<0.1"]
    sources = {
        proxy.index(r, ListColumn.VALUE).data(): proxy.index(r, ListColumn.SOURCE).data()
        for r in range(proxy.rowCount())
    }
    assert (sources["9.9"], sources["6.8"], sources["13.1"]) == (
        "reference range",
        "laboratory",
        "",
    )
    qtbot.mouseClick(pane.flowsheet_button, Qt.MouseButton.LeftButton)
    assert pane.stack.currentWidget() is pane.flowsheet_view


def test_open_ref_plots_the_trend_with_band_and_flagged_points(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    plot = pane.trend_plot
    assert plot.plot.isHidden()  # no empty axes before an analyte is chosen
    pane.open_ref("lab:718-7")
    assert not plot.plot.isHidden()
    selected = pane.selected_analyte()
    assert selected is not None and selected.name == "Haemoglobin"
    current = pane.flowsheet_view.currentIndex()
    assert current.data(ANALYTE_ROLE).code == "718-7"
    assert plot.plotted_points() == 4
    xs, ys = plot.curve_item.getData()
    assert list(ys) == [13.1, 11.2, 6.8, 9.9]
    assert plot.band_item is not None
    low_curve, high_curve = plot.band_item.curves
    assert set(low_curve.yData) == {12.0} and set(high_curve.yData) == {15.5}
    assert low_curve.xData.min() < xs.min() and low_curve.xData.max() > xs.max()
    kinds = {kind: len(item.data) for kind, item in plot.flag_items.items()}
    assert kinds == {FlagKind.LOW: 2, FlagKind.CRITICAL_LOW: 1}
    assert plot.flag_items[FlagKind.LOW].opts["symbol"] == "t"
    assert plot.not_plotted.text() == ""


def test_censored_values_are_listed_not_plotted(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    pane.open_ref("lab:2857-1")
    plot = pane.trend_plot
    _, ys = plot.curve_item.getData()
    assert list(ys) == [1.4, 2.2]
    assert "<0.1 ng/mL" in plot.not_plotted.text()
    # Its draw is marked by a vertical line carrying its text, at no height on the axis.
    (marker,) = plot.unplotted_items
    assert marker.angle == 90 and marker.label.format == "<0.1"
    xs, _ = plot.curve_item.getData()
    assert xs.min() < marker.value() < xs.max()
    # One-sided range: the band runs from the floor (0) up to the limit.
    low_curve, high_curve = plot.band_item.curves
    assert set(low_curve.yData) == {0.0} and set(high_curve.yData) == {4.0}
    assert plot.flag_items == {}


def test_selecting_a_row_plots_it_and_a_ref_clears_a_hiding_filter(
    qtbot: Any, pane: LabsPane
) -> None:
    show(qtbot, pane, ANNA)
    proxy = pane.flowsheet_proxy
    hba1c = next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data() == "HbA1c")
    pane.flowsheet_view.setCurrentIndex(proxy.index(hba1c, 3))
    assert pane.trend_plot.plotted_points() == 2
    assert pane.trend_plot.title.text().startswith("HbA1c")
    pane.filter_box.setText("psa")
    pane.open_ref("lab:718-7")
    assert pane.filter_box.text() == ""
    assert pane.flowsheet_view.currentIndex().data(ANALYTE_ROLE).code == "718-7"
    # Two units: the ref opens the row with the latest result.
    pane.open_ref("lab:2345-7")
    assert pane.selected_analyte().unit == "mmol/L"


def test_switching_case_replaces_everything(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    pane.open_ref("lab:718-7")
    pane.filter_box.setText("haem")
    show(qtbot, pane, BRUNO)
    assert pane.header.text() == "Roe, Bruno · SYN-0002"
    assert pane.case_id() == "case-bruno"
    assert rows(pane) == ["Inflammation", "CRP"]
    assert pane.filter_box.text() == ""
    assert pane.trend_plot.trend is None and pane.trend_plot.plotted_points() == 0
    pane.clear()
    assert (pane.case_id(), pane.header.text(), rows(pane)) == (None, "", [])
    assert pane.list_model.rowCount() == 0


def test_a_result_built_for_the_previous_case_is_never_shown(
    qtbot: Any, pane: LabsPane, ops: Operations, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[set[str]] = []
    original = pane.flowsheet_model.set_flowsheet

    def record(sheet: Flowsheet) -> None:
        shown.append({a.name for a in sheet.analytes()})
        original(sheet)

    monkeypatch.setattr(pane.flowsheet_model, "set_flowsheet", record)
    pane.show_case(ANNA, None)
    pane.show_case(BRUNO, None)  # before Anna's flowsheet has come back
    pane.open_ref("lab:718-7")  # Anna's code: pending, and dropped with her case
    qtbot.waitUntil(lambda: ops.pending() == 0, timeout=5000)
    assert {"CRP"} in shown
    assert not any("Haemoglobin" in names for names in shown)
    assert rows(pane) == ["Inflammation", "CRP"]
    assert pane.header.text() == "Roe, Bruno · SYN-0002"
    # Cleared while loading: nothing arrives afterwards either.
    pane.show_case(ANNA, None)
    pane.clear()
    qtbot.waitUntil(lambda: ops.pending() == 0, timeout=5000)
    assert rows(pane) == [] and pane.case_id() is None


def test_a_case_without_results_says_so(qtbot: Any, pane: LabsPane, ops: Operations) -> None:
    pane.show_case(case_file("case-empty", "Poe, Cleo", []), None)
    qtbot.waitUntil(lambda: ops.pending() == 0, timeout=5000)
    assert pane.stack.currentWidget() is pane.empty_label
    assert pane.empty_label.text() == "No lab results in this case"


def test_a_synced_case_from_the_reference_server(
    qtbot: Any,
    synced_case: Callable[[], SyncedCopy],  # noqa: F811 - fixture imported above
    ops: Operations,
) -> None:
    synced = synced_case()
    pane = LabsPane(ops)
    qtbot.addWidget(pane)
    case = load_case(synced.vault, synced.case_ids[0])
    show(qtbot, pane, case)
    panels = {r for r in rows(pane) if pane.flowsheet_model.panel_analytes(r)}
    assert panels and "Other results" not in panels
    assert pane.list_model.rowCount() == len(case.labs)
    ref = next(e.ref for e in case.timeline() if e.kind == "lab")
    pane.open_ref(ref)
    analyte = pane.selected_analyte()
    assert analyte is not None and f"lab:{analyte.code}" == ref
    numeric = [v for v in analyte.values if v.value is not None and v.effective is not None]
    assert pane.trend_plot.plotted_points() == len(numeric) > 0


def test_a_flowsheet_that_cannot_be_built_says_so_and_reaches_the_error_hook(
    qtbot: Any, pane: LabsPane, ops: Operations
) -> None:
    broken = case_file("case-broken", "Poe, Cleo", [lab_with_bad_date()])
    with qtbot.waitSignal(ops.unhandled, timeout=5000) as caught:
        pane.show_case(broken, None)
    assert isinstance(caught.args[0], AttributeError)
    assert pane.empty_label.text() == "The lab results of this case could not be shown"
    assert pane.stack.currentWidget() is pane.empty_label


def lab_with_bad_date() -> Any:
    # A row whose date is not a datetime: grouping it fails inside the worker.
    return dataclasses.replace(anna_labs()[0], effective="2026-10-01")  # type: ignore[arg-type]


def test_the_same_case_again_keeps_filter_and_selection(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    pane.open_ref("lab:718-7")
    pane.filter_box.setText("haem")
    # A sync brought one more haemoglobin result.
    newer = case_file("case-anna", "Doe, Anna", [*anna_labs(), lab("hb5", day=20, value=10.4)])
    show(qtbot, pane, newer)
    assert pane.filter_box.text() == "haem"
    assert rows(pane) == ["Full blood count", "Haemoglobin"]
    assert pane.trend_plot.plotted_points() == 5
    assert pane.flowsheet_view.currentIndex().data(ANALYTE_ROLE).code == "718-7"


def test_the_same_case_with_the_same_results_is_left_exactly_as_it_is(
    qtbot: Any, pane: LabsPane
) -> None:
    show(qtbot, pane, ANNA)
    pane.open_ref("lab:718-7")
    pane.flowsheet_proxy.sort(0, Qt.SortOrder.DescendingOrder)
    before = rows(pane)
    # A sync that brought images or records only: the flowsheet is not even rebuilt.
    again = case_file("case-anna", "Doe, Anna", anna_labs())
    pane.show_case(again, None)
    assert pane.stack.currentWidget() is not pane.empty_label
    assert rows(pane) == before
    assert pane.flowsheet_proxy.sortOrder() == Qt.SortOrder.DescendingOrder
    assert pane.flowsheet_view.currentIndex().data(ANALYTE_ROLE).code == "718-7"


def test_it_is_a_case_pane(pane: LabsPane) -> None:
    from ui.workspace.panes import CasePane, pane_for_ref

    assert isinstance(pane, CasePane)
    assert pane_for_ref([pane], "lab:718-7") is pane


def test_the_list_starts_newest_first(qtbot: Any, pane: LabsPane) -> None:
    show(qtbot, pane, ANNA)
    proxy = pane.list_proxy
    dates = [proxy.index(r, ListColumn.DATE).data() for r in range(proxy.rowCount())]
    assert dates[0] == "2026-10-12 08:00" and dates[-1] == "2026-10-01 08:00"
    assert dates == sorted(dates, reverse=True)


def test_keys_filter_switch_view_and_abnormal_only(qtbot: Any, pane: LabsPane) -> None:
    pane.show()
    show(qtbot, pane, ANNA)
    pane.flowsheet_view.setFocus()
    qtbot.waitUntil(pane.flowsheet_view.hasFocus)
    qtbot.keyClick(pane.flowsheet_view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert pane.filter_box.hasFocus()
    qtbot.keyClicks(pane.filter_box, "hba1c")
    assert rows(pane) == ["Diabetes", "HbA1c"]
    # Ctrl+F again selects the text: typing replaces it.
    qtbot.keyClick(pane.filter_box, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(pane.filter_box, "glucose")
    assert pane.filter_box.text() == "glucose"
    pane.filter_box.clear()

    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(pane.filter_box, Qt.Key.Key_A, ctrl_shift)
    assert pane.abnormal_only.isChecked()
    assert pane.count_label.text() == "5 of 11 results"
    qtbot.keyClick(pane.filter_box, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert pane.stack.currentWidget() is pane.list_view
    assert pane.list_button.isChecked()
    qtbot.keyClick(pane.filter_box, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    assert pane.stack.currentWidget() is pane.flowsheet_view
    qtbot.keyClick(pane.flowsheet_view, Qt.Key.Key_A, ctrl_shift)
    assert not pane.abnormal_only.isChecked()
    assert pane.count_label.text() == "11 results"
