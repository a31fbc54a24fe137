"""Synthetic laboratory results as FHIR R4 Observations.

Real LOINC codes and UCUM units; reference ranges and v3 interpretation flags; values
that follow the scenario's course over several months with a little assay noise.
Every Observation carries, besides the "laboratory" category, a second category coding
in PANEL_SYSTEM naming its panel ("cbc", "lipids", ...) so a client can group a
flowsheet without knowing LOINC panel memberships.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from demo_server.synth.clinical import Scenario
from demo_server.synth.ids import rng

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PANEL_SYSTEM = "https://reviewer.example/fhir/CodeSystem/lab-panel"

PANELS = {
    "cbc": "Full blood count",
    "metabolic": "Metabolic panel",
    "lipids": "Lipid panel",
    "diabetes": "Diabetes",
    "tumour-gi": "Tumour markers",
    "tumour-prostate": "Tumour markers",
    "cardiac": "Cardiac markers",
    "inflammation": "Inflammation",
    "urinalysis": "Urinalysis",
}

_INTERPRETATION_DISPLAY = {
    "N": "Normal",
    "H": "High",
    "L": "Low",
    "HH": "Critical high",
    "LL": "Critical low",
    "A": "Abnormal",
}


@dataclass(frozen=True)
class LabTest:
    """One quantitative test: codes, unit, reference range and how values scatter."""

    key: str
    loinc: str
    loinc_display: str
    name: str
    unit: str  # UCUM code, also used as the human-readable unit
    low: float | None
    high: float | None
    typical: float  # centre of a healthy person's values
    cv: float  # relative scatter between draws
    decimals: int
    critical_low: float | None = None
    critical_high: float | None = None
    detection_limit: float | None = None  # below it the lab reports "<limit" as text


# fmt: off
_TESTS = (
    LabTest("hb", "718-7", "Hemoglobin [Mass/volume] in Blood", "Haemoglobin", "g/dL",
            12.0, 15.5, 13.8, 0.04, 1, critical_low=7.0, critical_high=20.0),
    LabTest("wbc", "6690-2", "Leukocytes [#/volume] in Blood by Automated count",
            "White cell count", "10*3/uL", 4.0, 11.0, 6.5, 0.1, 1,
            critical_low=1.0, critical_high=30.0),
    LabTest("plt", "777-3", "Platelets [#/volume] in Blood by Automated count", "Platelets",
            "10*3/uL", 150.0, 400.0, 260.0, 0.08, 0, critical_low=50.0, critical_high=1000.0),
    LabTest("creatinine", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
            "Creatinine", "mg/dL", 0.6, 1.2, 0.9, 0.05, 2, critical_high=5.0),
    LabTest("sodium", "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Sodium",
            "mmol/L", 135.0, 145.0, 140.0, 0.01, 0, critical_low=125.0, critical_high=155.0),
    LabTest("potassium", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "Potassium",
            "mmol/L", 3.5, 5.1, 4.3, 0.04, 1, critical_low=3.0, critical_high=6.0),
    LabTest("glucose", "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "Glucose",
            "mg/dL", 70.0, 99.0, 88.0, 0.06, 0, critical_low=50.0, critical_high=400.0),
    LabTest("alt", "1742-6",
            "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "ALT",
            "U/L", 7.0, 56.0, 24.0, 0.12, 0),
    LabTest("chol", "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma",
            "Total cholesterol", "mg/dL", None, 200.0, 185.0, 0.05, 0),
    LabTest("ldl", "13457-7",
            "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
            "LDL cholesterol", "mg/dL", None, 100.0, 110.0, 0.06, 0),
    LabTest("hdl", "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
            "HDL cholesterol", "mg/dL", 40.0, None, 52.0, 0.06, 0),
    LabTest("tg", "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "Triglycerides",
            "mg/dL", None, 150.0, 130.0, 0.15, 0, critical_high=1000.0),
    LabTest("hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%",
            4.0, 5.6, 5.3, 0.02, 1),
    LabTest("cea", "2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma", "CEA",
            "ng/mL", None, 3.0, 1.6, 0.08, 1),
    LabTest("ca19-9", "24108-3", "Cancer Ag 19-9 [Units/volume] in Serum or Plasma",
            "CA 19-9", "U/mL", None, 37.0, 14.0, 0.1, 0),
    LabTest("psa", "2857-1", "Prostate specific Ag [Mass/volume] in Serum or Plasma", "PSA",
            "ng/mL", None, 4.0, 1.1, 0.06, 2, detection_limit=0.1),
    LabTest("troponin", "10839-9", "Troponin I.cardiac [Mass/volume] in Serum or Plasma",
            "Troponin I", "ng/mL", None, 0.04, 0.004, 0.1, 3, critical_high=1.0,
            detection_limit=0.01),
    LabTest("ntprobnp", "33762-6",
            "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
            "NT-proBNP", "pg/mL", None, 125.0, 60.0, 0.1, 0),
    LabTest("crp", "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "CRP",
            "mg/L", None, 5.0, 1.2, 0.15, 1, detection_limit=0.3),
)
# fmt: on
TESTS = {t.key: t for t in _TESTS}

PANEL_TESTS = {
    "cbc": ("hb", "wbc", "plt"),
    "metabolic": ("creatinine", "sodium", "potassium", "glucose", "alt"),
    "lipids": ("chol", "ldl", "hdl", "tg"),
    "diabetes": ("hba1c",),
    "tumour-gi": ("cea", "ca19-9"),
    "tumour-prostate": ("psa",),
    "cardiac": ("troponin", "ntprobnp"),
    "inflammation": ("crp",),
}

MIN_RESULTS = 20
MAX_RESULTS = 200


def _course_value(points: tuple[tuple[float, float], ...], t: float) -> float:
    """Linear interpolation through the scenario's (t, value) points."""
    if t <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t <= t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def _setpoint(test: LabTest, u: float) -> float:
    """A healthy person's own level: tightly regulated analytes (sodium) keep well inside
    their range; one-sided ones (CRP, tumour markers) scatter around the typical value."""
    if test.low is not None and test.high is not None:
        return test.typical + 0.2 * u * (test.high - test.low)
    return test.typical * (1 + 0.15 * u)


def _range(test: LabTest, sex: str) -> tuple[float | None, float | None]:
    if test.key == "hb" and sex == "male":
        return 13.5, 17.5
    return test.low, test.high


def _interpret(test: LabTest, value: float, sex: str) -> str:
    low, high = _range(test, sex)
    if test.critical_high is not None and value >= test.critical_high:
        return "HH"
    if test.critical_low is not None and value <= test.critical_low:
        return "LL"
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return "N"


def _quantity(value: float, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _codeable(system: str, code: str, display: str, text: str | None = None) -> dict:
    concept: dict = {"coding": [{"system": system, "code": code, "display": display}]}
    if text:
        concept["text"] = text
    return concept


def _observation(
    obs_id: str,
    *,
    patient_ref: str,
    panel: str,
    loinc: str,
    loinc_display: str,
    name: str,
    when: dt.datetime,
) -> dict:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "category": [
            _codeable(CATEGORY, "laboratory", "Laboratory"),
            _codeable(PANEL_SYSTEM, panel, PANELS[panel], PANELS[panel]),
        ],
        "code": _codeable(LOINC, loinc, loinc_display, name),
        "subject": {"reference": patient_ref},
        "effectiveDateTime": when.isoformat(),
        "issued": (when + dt.timedelta(hours=5)).isoformat(),
    }


def _schedule(
    seed: int, index: int, end: dt.date, panels: tuple[str, ...]
) -> list[tuple[dt.datetime, tuple[str, ...]]]:
    """Visit times over several months and the panels drawn at each visit."""
    r = rng(seed, "case", index, "lab-schedule")
    per_visit = sum(len(PANEL_TESTS[p]) for p in panels)
    visits = r.randint(5, 12)
    visits = max(visits, -(-MIN_RESULTS // per_visit))
    visits = min(visits, MAX_RESULTS // per_visit)
    span = r.randint(120, 480)
    offsets = sorted({0, span, *r.sample(range(1, span), visits - 2)})
    start = end - dt.timedelta(days=span)
    schedule = []
    for n, offset in enumerate(offsets):
        day = start + dt.timedelta(days=offset)
        hour, minute = r.randint(7, 10), r.choice((0, 15, 30, 45))
        when = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
        if n in (0, len(offsets) - 1):
            chosen = panels
        else:
            chosen = tuple(p for p in panels if r.random() < 0.75) or panels[:1]
        schedule.append((when, chosen))
    return schedule


def lab_observations(
    seed: int,
    index: int,
    *,
    key: str,
    scenario: Scenario,
    sex: str,
    patient_ref: str,
    end: dt.date,
) -> list[dict]:
    """The case's lab results: 20 to 200 Observations ending shortly before `end`."""
    r = rng(seed, "case", index, "lab-values")
    schedule = _schedule(seed, index, end, scenario.panels)
    # Each patient has their own healthy set point within the population scatter.
    setpoint = {k: _setpoint(t, r.uniform(-1, 1)) for k, t in TESTS.items()}
    if sex == "male":
        setpoint["hb"] += 1.4
    total = len(schedule) - 1 or 1
    observations: list[dict] = []
    for n, (when, panels) in enumerate(schedule):
        t = n / total
        for panel in panels:
            values: dict[str, float] = {}
            for test_key in PANEL_TESTS[panel]:
                test = TESTS[test_key]
                course = scenario.courses.get(test_key)
                centre = _course_value(course, t) if course else setpoint[test_key]
                values[test_key] = max(centre * (1 + r.gauss(0, test.cv)), 0.0)
            if panel == "lipids" and "ldl" in scenario.courses:
                # Friedewald: keeps total cholesterol consistent with the LDL course.
                values["chol"] = values["ldl"] + values["hdl"] + values["tg"] / 5
            for test_key, value in values.items():
                test = TESTS[test_key]
                obs = _observation(
                    f"{key.lower()}-obs-{len(observations) + 1:03d}",
                    patient_ref=patient_ref,
                    panel=panel,
                    loinc=test.loinc,
                    loinc_display=test.loinc_display,
                    name=test.name,
                    when=when,
                )
                rounded = round(value, test.decimals) if test.decimals else round(value)
                if test.detection_limit is not None and value < test.detection_limit:
                    obs["valueString"] = f"<{test.detection_limit:g}"
                    flag = "N"
                else:
                    obs["valueQuantity"] = _quantity(rounded, test.unit)
                    flag = _interpret(test, rounded, sex)
                obs["interpretation"] = [
                    _codeable(INTERPRETATION, flag, _INTERPRETATION_DISPLAY[flag])
                ]
                obs["referenceRange"] = [_reference_range(test, sex)]
                observations.append(obs)
        for q in scenario.qualitative:
            if round(q.at * total) == n:
                obs = _observation(
                    f"{key.lower()}-obs-{len(observations) + 1:03d}",
                    patient_ref=patient_ref,
                    panel=q.panel,
                    loinc=q.loinc,
                    loinc_display=q.display,
                    name=q.display,
                    when=when,
                )
                obs["valueString"] = q.value
                flag = "A" if q.abnormal else "N"
                obs["interpretation"] = [
                    _codeable(INTERPRETATION, flag, _INTERPRETATION_DISPLAY[flag])
                ]
                obs["referenceRange"] = [{"text": "negative"}]
                observations.append(obs)
    return observations


def _reference_range(test: LabTest, sex: str) -> dict:
    low, high = _range(test, sex)
    entry: dict = {}
    if low is not None:
        entry["low"] = _quantity(low, test.unit)
    if high is not None:
        entry["high"] = _quantity(high, test.unit)
    if low is not None and high is not None:
        entry["text"] = f"{low:g}-{high:g} {test.unit}"
    elif high is not None:
        entry["text"] = f"<{high:g} {test.unit}"
    else:
        entry["text"] = f">{low:g} {test.unit}"
    return entry
