"""An analyte's trend: the numbers to plot, the reference band, and what is not plotted.

Only plain numeric results are points. Censored results ("<0.1") and text results
("positive") are listed beside the plot instead: drawn at 0.1 they would claim a value
the laboratory did not measure. Undated results cannot be placed on a time axis and are
listed too. The band follows each draw's own range (ranges can change over time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reviewer_app.labs.flowsheet import Analyte, LabValue


@dataclass(frozen=True)
class TrendPoint:
    """One plotted result."""

    when: datetime
    value: float
    result: LabValue

    @property
    def flagged(self) -> bool:
        return self.result.flag.kind.abnormal


@dataclass(frozen=True)
class BandPoint:
    """The reference range at one draw; a missing side is None (one-sided range)."""

    when: datetime
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Trend:
    """What the trend plot of one analyte shows."""

    analyte: Analyte
    points: tuple[TrendPoint, ...]
    band: tuple[BandPoint, ...]
    not_plotted: tuple[LabValue, ...]  # censored, text or undated, in date order

    @property
    def flagged(self) -> tuple[TrendPoint, ...]:
        """The plotted points that carry an abnormal flag."""
        return tuple(p for p in self.points if p.flagged)


def trend_of(analyte: Analyte) -> Trend:
    """The trend of one flowsheet row (its values are already oldest first)."""
    points = []
    band = []
    not_plotted = []
    for v in analyte.values:
        if v.value is None or v.effective is None:
            not_plotted.append(v)
            continue
        points.append(TrendPoint(v.effective, v.value, v))
        if v.low is not None or v.high is not None:
            band.append(BandPoint(v.effective, v.low, v.high))
    return Trend(analyte, tuple(points), tuple(band), tuple(not_plotted))
