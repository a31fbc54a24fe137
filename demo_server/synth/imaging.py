"""Which studies a case has, their UIDs and dates, and their FHIR ImagingStudy.

No pixels here: the plans are cheap, and dicom.py renders an instance when asked.
"""

from __future__ import annotations

import datetime as dt

from demo_server.synth.dicom import KINDS
from demo_server.synth.ids import rng, uid
from demo_server.synth.model import InstanceSpec, PatientInfo, SeriesPlan, StudyPlan

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
_BODY_SITE = {
    "CHEST": ("51185008", "Thoracic structure"),
    "HEAD": ("69536005", "Head structure"),
    "ABDOMEN": ("818983003", "Abdomen"),
    "HEART": ("80891009", "Heart structure"),
    "KNEE": ("72696002", "Knee region structure"),
}
_MODALITY_DISPLAY = {
    "CT": "Computed Tomography",
    "MR": "Magnetic Resonance",
    "CR": "Computed Radiography",
    "US": "Ultrasound",
}


def plan_series(
    seed: int,
    index: int,
    *,
    key: str,
    kinds: tuple[str, ...],
    patient: PatientInfo,
    referring: str,
    referral_date: dt.date,
    ct_slices: int,
) -> list[tuple[SeriesPlan, list[InstanceSpec]]]:
    """One study of one series per kind, dated in the weeks before the referral."""
    r = rng(seed, "case", index, "imaging")
    planned = []
    for s, kind in enumerate(kinds, start=1):
        k = KINDS[kind]
        study = StudyPlan(
            kind=kind,
            study_uid=uid(seed, "case", index, kind, "study"),
            study_id=f"{s}",
            accession=f"{key}-A{s:02d}",
            date=referral_date - dt.timedelta(days=r.randint(4, 90)),
            time=f"{r.randint(8, 17):02d}{r.choice((0, 15, 30, 45)):02d}00",
            referring=referring,
            patient=patient,
        )
        count = ct_slices if k.slices == 0 else k.slices
        # Round the spacing to micrometres so positions written as DS add up exactly.
        spacing = round(k.coverage / count, 3) if k.coverage else 0.0
        series = SeriesPlan(
            study=study,
            kind=kind,
            series_uid=uid(seed, "case", index, kind, "series"),
            series_number=s * 100 + 1,
            frame_of_reference_uid=uid(seed, "case", index, kind, "frame-of-reference"),
            count=count,
            slice_spacing=spacing,
        )
        instances = [
            InstanceSpec(
                study_uid=study.study_uid,
                series_uid=series.series_uid,
                sop_instance_uid=uid(seed, "case", index, kind, "instance", n),
                sop_class_uid=k.sop_class,
                transfer_syntax_uid=k.transfer_syntax,
                modality=k.modality,
                number=n,
                series=series,
            )
            for n in range(1, count + 1)
        ]
        planned.append((series, instances))
    return planned


def imaging_study_resource(
    resource_id: str,
    series: SeriesPlan,
    instances: list[InstanceSpec],
    *,
    patient_ref: str,
    referrer_ref: str,
) -> dict:
    """FHIR R4 ImagingStudy for a single-series study (the server adds the endpoint)."""
    k = KINDS[series.kind]
    study = series.study
    modality = {"system": DCM, "code": k.modality, "display": _MODALITY_DISPLAY[k.modality]}
    started = dt.datetime.combine(
        study.date, dt.time(int(study.time[:2]), int(study.time[2:4])), tzinfo=dt.UTC
    )
    return {
        "resourceType": "ImagingStudy",
        "id": resource_id,
        "identifier": [
            {"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_uid}"},
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
                "value": study.accession,
            },
        ],
        "status": "available",
        "modality": [modality],
        "subject": {"reference": patient_ref},
        "started": started.isoformat(),
        "referrer": {"reference": referrer_ref},
        "numberOfSeries": 1,
        "numberOfInstances": len(instances),
        "description": k.study_description,
        "series": [
            {
                "uid": series.series_uid,
                "number": series.series_number,
                "modality": modality,
                "description": k.series_description,
                "numberOfInstances": len(instances),
                "bodySite": {
                    "system": SNOMED,
                    "code": _BODY_SITE[k.body_part][0],
                    "display": _BODY_SITE[k.body_part][1],
                },
                "started": started.isoformat(),
                "instance": [
                    {
                        "uid": i.sop_instance_uid,
                        "sopClass": {
                            "system": "urn:ietf:rfc:3986",
                            "code": f"urn:oid:{i.sop_class_uid}",
                        },
                        "number": i.number,
                    }
                    for i in instances
                ],
            }
        ],
    }
