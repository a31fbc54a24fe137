"""The lab flowsheet: LabResults grouped by panel and analyte, one column per draw.

Built on a worker thread from a Case's ``LabEntry`` list and handed whole to the UI,
which only displays it. An analyte is a (LOINC code, unit) pair: when one code comes in
two units (a lab switching from mg/dL to mmol/L) they stay two rows, each labelled with
its unit, because converting would put numbers on screen the laboratory never reported.
Values keep their text as reported: a censored "<0.1" or a "positive" is never turned
into a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from reviewer_app.labs.flags import Flag, flag_for

OTHER_PANEL = "Other results"


class LabRow(Protocol):
    """What the flowsheet needs of a lab result (``casefile.LabEntry`` provides it)."""

    @property
    def lab_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def panel(self) -> str: ...
    @property
    def effective(self) -> datetime | None: ...
    @property
    def value(self) -> float | None: ...
    @property
    def value_text(self) -> str | None: ...
    @property
    def unit(self) -> str | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def range_text(self) -> str | None: ...
    @property
    def interpretation(self) -> str | None: ...


def format_number(value: float) -> str:
    """A reported number as text: 140.0 → "140", 0.04 → "0.04" (no rounding)."""
    value = float(value)  # an int from a hand-built row behaves the same
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class LabValue:
    """One result as the flowsheet shows it."""

    lab_id: str
    analyte_key: str
    effective: datetime | None
    value: float | None  # None for text and censored results
    text: str  # exactly what is shown: "10.9", "<0.1", "positive"
    unit: str
    low: float | None
    high: float | None
    range_text: str
    interpretation: str | None
    flag: Flag

    @property
    def numeric(self) -> bool:
        """True when the result is a plain number (it can be plotted)."""
        return self.value is not None


@dataclass(frozen=True)
class Analyte:
    """One flowsheet row: a code in one unit, with its results oldest first."""

    key: str  # "code|unit", unique in a flowsheet
    code: str
    name: str
    unit: str
    panel: str
    values: tuple[LabValue, ...]
    #: Another row has the same code in another unit: the label must say which.
    unit_differs: bool = False

    @property
    def label(self) -> str:
        """The row's name; with the unit when the same code also appears in another."""
        return f"{self.name} ({self.unit or 'no unit'})" if self.unit_differs else self.name

    @property
    def abnormal(self) -> bool:
        """True if any of its results is flagged."""
        return any(v.flag.kind.abnormal for v in self.values)


@dataclass(frozen=True)
class Panel:
    """A group of rows: the panel the results were ordered in."""

    name: str
    analytes: tuple[Analyte, ...]


@dataclass(frozen=True)
class Flowsheet:
    """Panels → analytes → values by draw time; ``draws`` are the columns, oldest first
    (results without a date last, as one column of their own)."""

    panels: tuple[Panel, ...]
    draws: tuple[datetime | None, ...]
    _cells: dict[tuple[str, datetime | None], tuple[LabValue, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def cell(self, analyte: Analyte, draw: datetime | None) -> tuple[LabValue, ...]:
        """The analyte's results at one draw (usually one; a repeat gives two)."""
        return self._cells.get((analyte.key, draw), ())

    def analytes(self) -> list[Analyte]:
        """Every row, panel by panel."""
        return [a for p in self.panels for a in p.analytes]

    def values(self) -> list[LabValue]:
        """Every result, oldest first (the list view)."""
        found = [v for a in self.analytes() for v in a.values]
        return sorted(found, key=lambda v: (v.effective is None, _instant(v.effective)))

    def analyte(self, key: str) -> Analyte | None:
        """The row with this key, if any."""
        return next((a for a in self.analytes() if a.key == key), None)

    def find_code(self, code: str) -> list[Analyte]:
        """The rows of a LOINC code (one per unit it was reported in)."""
        return [a for a in self.analytes() if a.code == code]


def _instant(when: datetime | None) -> float:
    # Aware and naive date-times cannot be compared; naive ones are taken as UTC.
    if when is None:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def analyte_key(code: str, unit: str) -> str:
    """The row key of a code in a unit."""
    return f"{code}|{unit}"


def to_value(row: LabRow) -> LabValue:
    """One LabEntry as a flowsheet value, its flag decided."""
    unit = row.unit or ""
    text = format_number(row.value) if row.value is not None else row.value_text or ""
    return LabValue(
        lab_id=row.lab_id,
        analyte_key=analyte_key(row.code, unit),
        effective=row.effective,
        value=row.value,
        text=text,
        unit=unit,
        low=row.low,
        high=row.high,
        range_text=row.range_text or _plain_range(row.low, row.high, unit),
        interpretation=row.interpretation,
        flag=flag_for(row.interpretation, row.value, row.value_text, row.low, row.high),
    )


def _plain_range(low: float | None, high: float | None, unit: str) -> str:
    # Rows synced before schema v3 have numbers but no range text.
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{format_number(low)}\u2013{format_number(high)}{suffix}"
    if high is not None:
        return f"\u2264 {format_number(high)}{suffix}"
    if low is not None:
        return f"\u2265 {format_number(low)}{suffix}"
    return ""


def build_flowsheet(rows: Iterable[LabRow]) -> Flowsheet:
    """Group lab results into a flowsheet (pure; run it off the UI thread)."""
    by_key: dict[str, list[tuple[LabRow, LabValue]]] = {}
    for row in rows:
        value = to_value(row)
        by_key.setdefault(value.analyte_key, []).append((row, value))
    units_of: dict[str, set[str]] = {}
    for items in by_key.values():
        units_of.setdefault(items[0][0].code, set()).add(items[0][1].unit)

    panels: dict[str, list[Analyte]] = {}
    cells: dict[tuple[str, datetime | None], list[LabValue]] = {}
    draws: set[datetime | None] = set()
    for key, items in by_key.items():
        items.sort(key=lambda item: (item[1].effective is None, _instant(item[1].effective)))
        first, _ = items[0]
        # The latest result names the row and its panel (names get corrected over time).
        latest = items[-1][0]
        values = tuple(value for _, value in items)
        analyte = Analyte(
            key=key,
            code=first.code,
            name=latest.name or first.code,
            unit=items[0][1].unit,
            panel=latest.panel or OTHER_PANEL,
            values=values,
            unit_differs=len(units_of[first.code]) > 1,
        )
        panels.setdefault(analyte.panel, []).append(analyte)
        for value in values:
            draws.add(value.effective)
            cells.setdefault((key, value.effective), []).append(value)

    ordered = sorted(panels, key=lambda name: (name == OTHER_PANEL, name.casefold()))
    return Flowsheet(
        panels=tuple(
            Panel(name, tuple(sorted(panels[name], key=lambda a: (a.name.casefold(), a.unit))))
            for name in ordered
        ),
        draws=tuple(sorted(draws, key=lambda d: (d is None, _instant(d)))),
        _cells={k: tuple(v) for k, v in cells.items()},
    )


def draw_label(when: datetime | None) -> str:
    """A column header: "2026-10-01\\n08:00" (UTC as stored), or "undated"."""
    if when is None:
        return "undated"
    return when.strftime("%Y-%m-%d\n%H:%M")


def sequence_text(values: Sequence[LabValue]) -> str:
    """A cell's text: each result with its unit and flag ("10.9 g/dL ▼ L")."""
    parts = []
    for v in values:
        text = f"{v.text} {v.unit}".strip() if v.unit else v.text
        if v.flag.label:
            text = f"{text} {v.flag.label}"
        parts.append(text)
    return " / ".join(parts)
