"""Hand-made CaseFiles for the Labs pane tests (synthetic patients and results)."""

from __future__ import annotations

from typing import Any

from reviewer_app.casefile import CaseFile, LabEntry, PatientHeader
from tests.reviewer_app.labs.entries import lab


def case_file(case_id: str, name: str, labs: list[LabEntry], key: str = "SYN-9") -> CaseFile:
    return CaseFile(
        case_id=case_id,
        case_key=key,
        patient=PatientHeader(name=name, sex="female", birth_date=None, age=None, identifiers=[]),
        specialty="oncology",
        priority="routine",
        due_date=None,
        status="in-progress",
        clinical_questions=[],
        patient_questions=[],
        reasons=[],
        records=[],
        labs=labs,
        studies=[],
    )


def anna_labs() -> list[LabEntry]:
    """Haemoglobin falling to critical, glucose in two units, a censored PSA, HbA1c."""
    psa: dict[str, Any] = {
        "code": "2857-1",
        "name": "PSA",
        "panel": "Tumour markers",
        "unit": "ng/mL",
        "low": None,
        "high": 4.0,
        "range_text": "<4 ng/mL",
    }
    a1c: dict[str, Any] = {
        "code": "4548-4",
        "name": "HbA1c",
        "panel": "Diabetes",
        "unit": "%",
        "low": 4.0,
        "high": 5.6,
        "range_text": "4-5.6 %",
    }
    glu: dict[str, Any] = {"code": "2345-7", "name": "Glucose", "panel": "Metabolic panel"}
    return [
        lab("hb1", day=1, value=13.1, interpretation="N"),
        lab("hb2", day=4, value=11.2, interpretation="L"),
        lab("hb3", day=8, value=6.8, interpretation="LL"),
        lab("hb4", day=12, value=9.9),  # no interpretation: flagged from the range
        lab("g1", day=1, value=90, unit="mg/dL", low=70, high=99, range_text="70-99 mg/dL", **glu),
        lab(
            "g2",
            day=8,
            value=7.9,
            unit="mmol/L",
            low=3.9,
            high=5.5,
            range_text="3.9-5.5 mmol/L",
            interpretation="H",
            **glu,
        ),
        lab("p1", day=1, value=1.4, **psa),
        lab("p2", day=4, value=None, value_text="<0.1", **psa),
        lab("p3", day=8, value=2.2, **psa),
        lab("a1", day=4, value=5.2, interpretation="N", **a1c),
        lab("a2", day=12, value=6.1, interpretation="H", **a1c),
    ]


def bruno_labs() -> list[LabEntry]:
    return [
        lab(
            "b1",
            code="1988-5",
            name="CRP",
            panel="Inflammation",
            unit="mg/L",
            low=None,
            high=5.0,
            range_text="<5 mg/L",
            day=2,
            value=1.2,
        )
    ]
