"""What a lab citation says and stores: a result, or a trend over a range of dates.

The Labs pane's "Cite in opinion" cites the selected result (``lab:<lab_id>``) or the
trend shown (``trend:<LOINC code>``). The label stands alone in the signed PDF, so a
result's says the analyte, value, unit, flag (and who flagged it), reference range and
draw date; a trend's says the analyte, unit, the dates and how many results it shows.
Nothing here names the patient: the caption goes under a figure in the opinion.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reviewer_app.labs.flags import FlagKind, FlagSource
from reviewer_app.labs.flowsheet import Analyte, LabValue
from reviewer_app.labs.trend import Trend

LAB_PREFIX = "lab:"
TREND_PREFIX = "trend:"


def when_text(when: datetime | None) -> str:
    """A draw date-time as the label gives it ("2026-04-01 08:30"; "date not given")."""
    if when is None:
        return "date not given"
    if when.hour == 0 and when.minute == 0 and when.second == 0:
        return when.date().isoformat()
    return when.strftime("%Y-%m-%d %H:%M")


def result_label(analyte: Analyte, value: LabValue) -> str:
    """E.g. "Haemoglobin 9.8 g/dL (low, laboratory flag L; reference range 12.0–15.5
    g/dL), 2026-04-01 08:30"."""
    unit = value.unit or analyte.unit
    amount = f"{value.text} {unit}" if unit else f"{value.text}, no unit"
    flag = value.flag
    notes = []
    if flag.kind is FlagKind.OTHER:
        notes.append(f"laboratory flag {flag.code}")
    elif flag.kind.abnormal or flag.source is not FlagSource.NONE:
        words = flag.words.lower()
        if flag.source is FlagSource.LABORATORY:
            words += f", laboratory flag {flag.code}" if flag.code else ", laboratory flag"
        elif flag.source is FlagSource.RANGE:
            words += ", flagged from the reference range"
        notes.append(words)
    notes.append(f"reference range {value.range_text or 'not given'}")
    return f"{analyte.name} {amount} ({'; '.join(notes)}), {when_text(value.effective)}"


def result_view(analyte: Analyte, value: LabValue, mode: str) -> dict[str, Any]:
    """What reopens the result: its id, its row and draw, the view it was cited in."""
    return {
        "lab_id": value.lab_id,
        "analyte_key": analyte.key,
        "code": analyte.code,
        "unit": value.unit,
        "effective": value.effective.isoformat() if value.effective else None,
        "value_text": value.text,
        "mode": mode,
    }


def trend_ref(analyte: Analyte) -> str:
    """``trend:<LOINC code>`` (the row key when the results carry no code)."""
    code = analyte.code or analyte.key
    return TREND_PREFIX + "".join(code.split())


def in_range(trend: Trend, first: float, last: float) -> list[LabValue]:
    """The analyte's dated results between ``first`` and ``last`` (timestamps)."""
    return [
        v
        for v in trend.analyte.values
        if v.effective is not None and first <= v.effective.timestamp() <= last
    ]


def trend_label(trend: Trend, first: float, last: float) -> str:
    """E.g. "Haemoglobin trend (g/dL), 2025-01-03 to 2026-05-01: 12 results, 3 flagged
    (reference range 12.0–15.5 g/dL)"."""
    analyte = trend.analyte
    values = in_range(trend, first, last)
    unit = analyte.unit or "no unit"
    if values:
        dates = [v.effective for v in values if v.effective is not None]
        span = f"{min(dates).date().isoformat()} to {max(dates).date().isoformat()}"
    else:
        span = f"{_day(first)} to {_day(last)}"
    flagged = sum(1 for v in values if v.flag.kind.abnormal)
    count = f"{len(values)} result{'s' if len(values) != 1 else ''}"
    if flagged:
        count += f", {flagged} flagged"
    ranges = list(dict.fromkeys(v.range_text for v in values if v.range_text))
    text = f"{analyte.name} trend ({unit}), {span}: {count}"
    if ranges:
        text += f" (reference range {', then '.join(ranges)})"
    return text


def trend_view(trend: Trend, first: float, last: float) -> dict[str, Any]:
    """What reopens the trend: its row and the dates shown (ISO and timestamps)."""
    analyte = trend.analyte
    return {
        "analyte_key": analyte.key,
        "code": analyte.code,
        "unit": analyte.unit,
        "start": _iso(first),
        "end": _iso(last),
        "x_range": [first, last],
    }


def x_range_of(view: Mapping[str, Any]) -> tuple[float, float] | None:
    """The dates of a trend view, as timestamps (None if the view has none)."""
    span = view.get("x_range")
    if isinstance(span, list) and len(span) == 2:
        return float(span[0]), float(span[1])
    return None


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


def _day(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()
