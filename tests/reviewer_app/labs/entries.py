"""Hand-made LabEntry rows for the labs tests (synthetic values)."""

from __future__ import annotations

from datetime import UTC, datetime

from reviewer_app.casefile import LabEntry


def when(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 10, day, hour, 0, tzinfo=UTC)


def lab(
    lab_id: str,
    *,
    code: str = "718-7",
    name: str = "Haemoglobin",
    panel: str = "Full blood count",
    day: int | None = 1,
    value: float | None = 13.0,
    value_text: str | None = None,
    unit: str | None = "g/dL",
    low: float | None = 12.0,
    high: float | None = 15.5,
    range_text: str | None = "12-15.5 g/dL",
    interpretation: str | None = None,
) -> LabEntry:
    return LabEntry(
        lab_id=lab_id,
        code=code,
        name=name,
        panel=panel,
        effective=when(day) if day is not None else None,
        value=value,
        value_text=value_text,
        unit=unit,
        low=low,
        high=high,
        range_text=range_text,
        interpretation=interpretation,
    )
