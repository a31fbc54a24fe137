"""The exchange parser keeps the panel and the reference range as the lab wrote them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reviewer_app.errors import MalformedServerData
from reviewer_app.exchange.resources import LAB_PANEL_SYSTEM, parse_lab

OBSERVATION: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o-1",
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "laboratory",
                }
            ]
        },
        {
            "coding": [{"system": LAB_PANEL_SYSTEM, "code": "cbc", "display": "Full blood count"}],
            "text": "Full blood count",
        },
    ],
    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}], "text": "Haemoglobin"},
    "effectiveDateTime": "2026-10-01T08:00:00Z",
    "valueQuantity": {"value": 10.9, "unit": "g/dL"},
    "referenceRange": [
        {"low": {"value": 12.0, "unit": "g/dL"}, "high": {"value": 16, "unit": "g/dL"}}
    ],
}


def _obs(**changes: Any) -> dict[str, Any]:
    obs = copy.deepcopy(OBSERVATION)
    for key, value in changes.items():
        if value is None:
            obs.pop(key, None)
        else:
            obs[key] = value
    return obs


def test_panel_from_the_lab_panel_category() -> None:
    assert parse_lab(OBSERVATION).panel == "Full blood count"
    only_code = _obs(category=[{"coding": [{"system": LAB_PANEL_SYSTEM, "code": "cbc"}]}])
    assert parse_lab(only_code).panel == "cbc"
    # Another deployment's host name, same path: still the panel.
    other_host = _obs(
        category=[{"coding": [{"system": "https://x.test/CodeSystem/lab-panel", "code": "x"}]}]
    )
    assert parse_lab(other_host).panel == "x"
    assert parse_lab(_obs(category=None)).panel is None


def test_range_text_is_kept_verbatim() -> None:
    ranged = _obs(referenceRange=[{"text": "12-16 g/dL (adult women)", "low": {"value": 12}}])
    assert parse_lab(ranged).range_text == "12-16 g/dL (adult women)"


def test_range_text_built_from_the_numbers_as_written() -> None:
    # 12.0 stays "12.0" and 16 stays "16": nothing is reformatted or recomputed.
    assert parse_lab(OBSERVATION).range_text == "12.0\u201316 g/dL"
    high_only = _obs(referenceRange=[{"high": {"value": 5, "unit": "mg/L"}}])
    assert parse_lab(high_only).range_text == "\u2264 5 mg/L"
    low_only = _obs(referenceRange=[{"low": {"value": 40, "unit": "mg/dL"}}])
    assert parse_lab(low_only).range_text == "\u2265 40 mg/dL"
    assert parse_lab(_obs(referenceRange=None)).range_text is None


def test_a_range_in_another_unit_is_shown_but_not_used_as_numbers() -> None:
    mixed = _obs(
        referenceRange=[
            {"low": {"value": 7.4, "unit": "mmol/L"}, "high": {"value": 9.9, "unit": "mmol/L"}}
        ]
    )
    lab = parse_lab(mixed)
    assert (lab.value, lab.unit, lab.low, lab.high) == (10.9, "g/dL", None, None)
    assert lab.range_text == "7.4\u20139.9 mmol/L"


def test_a_censored_quantity_is_text_not_a_number() -> None:
    lab = parse_lab(_obs(valueQuantity={"value": 0.1, "comparator": "<", "unit": "ng/mL"}))
    assert (lab.value, lab.value_text, lab.unit) == (None, "<0.1", "ng/mL")
    with pytest.raises(MalformedServerData) as caught:
        parse_lab(_obs(valueQuantity={"value": 0.1, "comparator": "~"}))
    assert caught.value.field == "valueQuantity.comparator"
