"""CaseSummary's small derivations."""

from __future__ import annotations

from datetime import date

import pytest

from reviewer_app.domain import CaseSummary, parse_date


def _case(born: date | None) -> CaseSummary:
    return CaseSummary(
        case_id="c1",
        patient_name="Synthetic Patient",
        patient_sex="F",
        patient_birth_date=born,
        specialty="cardiology",
        priority="routine",
        due_date=None,
        status="new",
        clinical_question="",
        sync_state="synced",
        pinned=False,
    )


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1980, 3, 15), date(2026, 3, 14), 45),
        (date(1980, 3, 15), date(2026, 3, 15), 46),
        (date(2000, 2, 29), date(2026, 2, 28), 25),
        (date(2000, 2, 29), date(2026, 3, 1), 26),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
        (date(2026, 1, 2), date(2026, 1, 1), None),
        (None, date(2026, 1, 1), None),
    ],
)
def test_patient_age(born: date | None, on: date, age: int | None) -> None:
    assert _case(born).patient_age(on) == age


def test_parse_date() -> None:
    assert parse_date("1970-06-15") == date(1970, 6, 15)
    assert parse_date("2030-01-02T10:00:00Z") == date(2030, 1, 2)
    assert parse_date("") is None
    assert parse_date(None) is None
    assert parse_date("15.06.1970") is None
