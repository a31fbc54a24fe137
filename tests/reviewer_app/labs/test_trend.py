"""Trend series: numeric points with dates, the range band, flagged points."""

from __future__ import annotations

from reviewer_app.labs.flowsheet import build_flowsheet
from reviewer_app.labs.trend import trend_of
from tests.reviewer_app.labs.entries import lab, when


def test_points_band_and_flagged_points() -> None:
    sheet = build_flowsheet(
        [
            lab("a", day=1, value=13.0, interpretation="N"),
            lab("b", day=4, value=10.9, interpretation="L"),
            lab("c", day=9, value=6.5, interpretation="LL"),
            lab("d", day=12, value=14.0, low=13.5, high=17.5),  # the range changed
        ]
    )
    trend = trend_of(sheet.analytes()[0])
    assert [(p.when, p.value) for p in trend.points] == [
        (when(1), 13.0),
        (when(4), 10.9),
        (when(9), 6.5),
        (when(12), 14.0),
    ]
    assert [(b.low, b.high) for b in trend.band] == [(12.0, 15.5)] * 3 + [(13.5, 17.5)]
    assert [p.result.lab_id for p in trend.flagged] == ["b", "c"]
    assert trend.not_plotted == ()


def test_censored_text_and_undated_values_are_not_plotted() -> None:
    sheet = build_flowsheet(
        [
            lab("a", code="2857-1", name="PSA", unit="ng/mL", day=1, value=1.2, low=None, high=4),
            lab(
                "b",
                code="2857-1",
                name="PSA",
                unit="ng/mL",
                day=2,
                value=None,
                value_text="<0.1",
                low=None,
                high=4,
            ),
            lab(
                "c", code="2857-1", name="PSA", unit="ng/mL", day=None, value=2.0, low=None, high=4
            ),
        ]
    )
    trend = trend_of(sheet.analytes()[0])
    assert [p.value for p in trend.points] == [1.2]
    assert [v.text for v in trend.not_plotted] == ["<0.1", "2"]
    assert [(b.low, b.high) for b in trend.band] == [(None, 4.0)]


def test_no_range_no_band() -> None:
    sheet = build_flowsheet([lab("a", low=None, high=None, range_text=None)])
    trend = trend_of(sheet.analytes()[0])
    assert (len(trend.points), trend.band) == (1, ())
