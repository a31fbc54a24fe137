"""The flowsheet: panels → analytes (code and unit) → values by draw."""

from __future__ import annotations

from reviewer_app.labs.flags import FlagKind, FlagSource
from reviewer_app.labs.flowsheet import OTHER_PANEL, build_flowsheet, draw_label, sequence_text
from tests.reviewer_app.labs.entries import lab, when


def test_grouping_by_panel_and_analyte_with_draw_columns() -> None:
    sheet = build_flowsheet(
        [
            lab("a", day=1, value=13.0),
            lab("b", day=5, value=11.0, interpretation="L"),
            lab(
                "c",
                code="6690-2",
                name="White cell count",
                unit="10*3/uL",
                day=5,
                value=7.0,
                low=4,
                high=11,
            ),
            lab("d", code="2345-7", name="Glucose", panel="Metabolic panel", day=3, value=90),
            lab("e", code="X-1", name="Note", panel="", day=3, value=None, value_text="seen"),
        ]
    )
    assert [p.name for p in sheet.panels] == ["Full blood count", "Metabolic panel", OTHER_PANEL]
    assert [a.name for a in sheet.panels[0].analytes] == ["Haemoglobin", "White cell count"]
    assert sheet.draws == (when(1), when(3), when(5))
    hb = sheet.panels[0].analytes[0]
    assert [v.text for v in hb.values] == ["13", "11"]
    assert sheet.cell(hb, when(1))[0].lab_id == "a"
    assert sheet.cell(hb, when(3)) == ()
    assert [v.lab_id for v in sheet.values()] == ["a", "d", "e", "b", "c"]
    assert hb.abnormal and not sheet.panels[0].analytes[1].abnormal


def test_one_code_in_two_units_is_two_rows_labelled_with_the_unit() -> None:
    sheet = build_flowsheet(
        [
            lab("a", code="2345-7", name="Glucose", unit="mg/dL", value=90, low=70, high=99),
            lab(
                "b",
                code="2345-7",
                name="Glucose",
                unit="mmol/L",
                day=2,
                value=5.1,
                low=3.9,
                high=5.5,
            ),
        ]
    )
    rows = sheet.find_code("2345-7")
    assert sorted(a.label for a in rows) == ["Glucose (mg/dL)", "Glucose (mmol/L)"]
    # Each keeps its own numbers: nothing was converted.
    assert {a.unit: [v.value for v in a.values] for a in rows} == {
        "mg/dL": [90],
        "mmol/L": [5.1],
    }
    single = build_flowsheet([lab("c")]).analytes()[0]
    assert single.label == "Haemoglobin"


def test_censored_and_text_values_are_kept_as_text() -> None:
    sheet = build_flowsheet(
        [
            lab(
                "a",
                code="2857-1",
                name="PSA",
                unit="ng/mL",
                value=None,
                value_text="<0.1",
                low=None,
                high=4.0,
                range_text="<4 ng/mL",
            ),
            lab(
                "b",
                code="5778-6",
                name="Urine colour",
                unit=None,
                value=None,
                value_text="positive",
                low=None,
                high=None,
                range_text="negative",
                interpretation="A",
            ),
        ]
    )
    psa, urine = sheet.find_code("2857-1")[0], sheet.find_code("5778-6")[0]
    assert (psa.values[0].text, psa.values[0].value, psa.values[0].numeric) == ("<0.1", None, False)
    assert psa.values[0].flag.kind is FlagKind.NORMAL
    assert psa.values[0].flag.source is FlagSource.RANGE
    assert (urine.values[0].text, urine.values[0].flag.label) == ("positive", "\u25c6 A")
    assert sequence_text(urine.values) == "positive \u25c6 A"
    assert sequence_text(psa.values) == "<0.1 ng/mL"


def test_values_keep_their_reported_digits_and_units() -> None:
    sheet = build_flowsheet([lab("a", value=140.0, unit="mmol/L"), lab("b", day=2, value=0.04)])
    texts = {v.lab_id: (v.text, v.unit) for v in sheet.values()}
    assert texts == {"a": ("140", "mmol/L"), "b": ("0.04", "g/dL")}


def test_range_text_is_the_labs_own_else_built_from_the_numbers() -> None:
    sheet = build_flowsheet(
        [lab("a"), lab("b", day=2, range_text=None), lab("c", day=3, range_text=None, low=None)]
    )
    assert [v.range_text for v in sheet.values()] == [
        "12-15.5 g/dL",
        "12\u201315.5 g/dL",
        "\u2264 15.5 g/dL",
    ]


def test_undated_results_come_last_as_their_own_column() -> None:
    sheet = build_flowsheet([lab("a", day=None), lab("b", day=2)])
    assert sheet.draws == (when(2), None)
    assert draw_label(None) == "undated"
    assert draw_label(when(2)) == "2026-10-02\n08:00"


def test_a_repeat_at_the_same_draw_shows_both() -> None:
    sheet = build_flowsheet([lab("a", value=13.0), lab("b", value=13.4)])
    hb = sheet.analytes()[0]
    assert [v.text for v in sheet.cell(hb, when(1))] == ["13", "13.4"]
    assert sequence_text(sheet.cell(hb, when(1))) == "13 g/dL / 13.4 g/dL"


def test_empty() -> None:
    sheet = build_flowsheet([])
    assert (sheet.panels, sheet.draws, sheet.values()) == ((), (), [])
