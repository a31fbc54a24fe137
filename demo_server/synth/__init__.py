"""Deterministic synthetic second-opinion cases for the reference server.

`generate_cases(seed, count)` returns CaseBundles: FHIR R4 resources (Patient,
Practitioner, ServiceRequest, Task, DocumentReference, Observation, ImagingStudy), the
PDFs behind the DocumentReferences, and InstanceSpecs that render DICOM on demand.
Case i depends only on (seed, i), so fewer cases are always a prefix of more.
Nothing here is real: names are "Testpatient, ...", identifiers start with "SYN-".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from demo_server.synth.clinical import SPECIALTIES, SPECIALTY_CODES, Scenario, choose_scenario
from demo_server.synth.dicom import KINDS
from demo_server.synth.documents import DocumentContext, build_documents
from demo_server.synth.ids import rng
from demo_server.synth.imaging import imaging_study_resource, plan_series
from demo_server.synth.labs import lab_observations
from demo_server.synth.model import BinarySpec, CaseBundle, InstanceSpec, PatientInfo
from demo_server.synth.people import (
    Person,
    make_patient,
    make_referrer,
    patient_resource,
    practitioner_resource,
)

__all__ = ["BinarySpec", "CaseBundle", "InstanceSpec", "generate_cases"]

CASE_ID_SYSTEM = "https://reviewer.example/fhir/sid/synthetic-case"
SNOMED = "http://snomed.info/sct"
# Referral dates start here; a fixed date keeps the output independent of the clock.
_FIRST_REFERRAL = dt.date(2026, 9, 1)


def generate_cases(seed: int, count: int, *, ct_slices: int = 220) -> list[CaseBundle]:
    """`count` synthetic cases; case i is identical for the same seed whatever `count` is.

    `ct_slices` is the number of slices of every CT series (at least 1).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if ct_slices < 1:
        raise ValueError("ct_slices must be at least 1")
    return [_case(seed, i, ct_slices) for i in range(count)]


def _specialty_concept(specialty: str) -> dict:
    code, display = SPECIALTY_CODES[specialty]
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display}


def _case(seed: int, index: int, ct_slices: int) -> CaseBundle:
    key = f"SYN-{index + 1:04d}"
    r = rng(seed, "case", index, "plan")
    specialty = SPECIALTIES[index % len(SPECIALTIES)]
    scenario = choose_scenario(specialty, index // len(SPECIALTIES) + r.randint(0, 1))
    referral = _FIRST_REFERRAL + dt.timedelta(days=3 * index + r.randint(0, 10))
    due = referral + dt.timedelta(days=r.randint(14, 28))
    priority = r.choice(("routine", "routine", "urgent"))
    patient = make_patient(seed, index, key, referral, scenario.sex)
    referrer = make_referrer(seed, index, key)
    patient_ref = f"Patient/{patient.resource_id}"
    referrer_ref = f"Practitioner/{referrer.resource_id}"

    observations = lab_observations(
        seed,
        index,
        key=key,
        scenario=scenario,
        sex=patient.sex,
        patient_ref=patient_ref,
        end=referral - dt.timedelta(days=r.randint(2, 12)),
    )
    planned = plan_series(
        seed,
        index,
        key=key,
        kinds=scenario.imaging,
        patient=_dicom_patient(patient),
        referring=f"{referrer.family}^{referrer.given}^^Dr",
        referral_date=referral,
        ct_slices=ct_slices,
    )
    studies = [
        imaging_study_resource(
            f"{key.lower()}-study-{n}",
            series,
            instances,
            patient_ref=patient_ref,
            referrer_ref=referrer_ref,
        )
        for n, (series, instances) in enumerate(planned, start=1)
    ]
    ctx = DocumentContext(
        key=key,
        index=index,
        seed=seed,
        patient=patient,
        referrer=referrer,
        scenario=_with_questions(scenario, r.randint(2, len(scenario.patient_questions))),
        referral_date=referral,
        lab_rows=_latest_results(observations),
        studies=tuple((s.study.date, KINDS[s.kind].study_description) for s, _ in planned),
    )
    documents = build_documents(ctx)
    refs = {"patient_ref": patient_ref, "referrer_ref": referrer_ref, "priority": priority}
    request = _service_request(
        key, ctx, supporting=[d.reference for d in documents] + studies, **refs
    )
    task = _task(key, ctx, request_id=request["id"], due=due, **refs)
    resources = [
        patient_resource(patient, seed, index),
        practitioner_resource(referrer),
        request,
        task,
        *(d.reference for d in documents),
        *observations,
        *studies,
    ]
    return CaseBundle(
        case_key=key,
        specialty=specialty,
        resources=resources,
        binaries=[BinarySpec(d.binary_id, "application/pdf", d.data) for d in documents],
        instances=[i for _, instances in planned for i in instances],
    )


def _dicom_patient(patient: Person) -> PatientInfo:
    assert patient.birth_date is not None
    return PatientInfo(
        name=patient.dicom_name,
        patient_id=patient.identifier,
        birth_date=patient.birth_date.strftime("%Y%m%d"),
        sex="F" if patient.sex == "female" else "M",
    )


def _with_questions(scenario: Scenario, count: int) -> Scenario:
    """The scenario with the first `count` patient questions (2 to 4 per case)."""
    return replace(scenario, patient_questions=scenario.patient_questions[:count])


def _latest_results(observations: list[dict]) -> tuple[tuple[str, str, str, str, str], ...]:
    last = observations[-1]["effectiveDateTime"]
    rows = []
    for obs in observations:
        if obs["effectiveDateTime"] != last:
            continue
        if "valueQuantity" in obs:
            value, unit = str(obs["valueQuantity"]["value"]), obs["valueQuantity"]["unit"]
        else:
            value, unit = obs["valueString"], ""
        flag = obs["interpretation"][0]["coding"][0]["code"]
        rows.append((last[:10], obs["code"]["text"], value, unit, "" if flag == "N" else flag))
    return tuple(rows)


def _service_request(
    key: str,
    ctx: DocumentContext,
    *,
    patient_ref: str,
    referrer_ref: str,
    priority: str,
    supporting: list[dict],
) -> dict:
    sc = ctx.scenario
    return {
        "resourceType": "ServiceRequest",
        "id": f"{key.lower()}-request",
        "identifier": [{"system": CASE_ID_SYSTEM, "value": key}],
        "status": "active",
        "intent": "order",
        "priority": priority,
        "code": {"text": "Second opinion"},
        "subject": {"reference": patient_ref},
        "authoredOn": f"{ctx.referral_date.isoformat()}T08:00:00+00:00",
        "requester": {"reference": referrer_ref},
        "performerType": _specialty_concept(sc.specialty),
        "reasonCode": [{"text": sc.diagnosis}],
        # note[0] is the referring doctor's question, note[1] the background to it.
        "note": [{"text": sc.clinical_question}, {"text": sc.background}],
        "supportingInfo": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in supporting],
    }


def _task(
    key: str,
    ctx: DocumentContext,
    *,
    patient_ref: str,
    referrer_ref: str,
    request_id: str,
    priority: str,
    due: dt.date,
) -> dict:
    return {
        "resourceType": "Task",
        "id": f"{key.lower()}-task",
        "identifier": [{"system": CASE_ID_SYSTEM, "value": key}],
        "status": "requested",
        "intent": "order",
        "priority": priority,
        "code": {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/CodeSystem/task-code",
                    "code": "fulfill",
                    "display": "Fulfill the focal request",
                }
            ],
            "text": "Second opinion",
        },
        "description": ctx.scenario.clinical_question,
        "focus": {"reference": f"ServiceRequest/{request_id}"},
        "for": {"reference": patient_ref},
        "authoredOn": f"{ctx.referral_date.isoformat()}T08:00:00+00:00",
        "lastModified": f"{ctx.referral_date.isoformat()}T08:00:00+00:00",
        "requester": {"reference": referrer_ref},
        "performerType": [_specialty_concept(ctx.scenario.specialty)],
        "restriction": {"period": {"end": f"{due.isoformat()}T17:00:00+00:00"}},
        "input": [
            {"type": {"text": "patient-question"}, "valueString": q}
            for q in ctx.scenario.patient_questions
        ],
    }
