"""Parsing the platform's FHIR JSON: good resources become domain objects, bad ones a
MalformedServerData naming the resource and field (and never the value)."""

from __future__ import annotations

import base64
import copy
import hashlib
from datetime import UTC, date, datetime
from typing import Any

import pytest

from reviewer_app.errors import MalformedServerData
from reviewer_app.exchange import resources

SECRET = "Testpatient-Secret-Value"

TASK: dict[str, Any] = {
    "resourceType": "Task",
    "id": "t-SYN-0001",
    "meta": {"versionId": "2", "lastUpdated": "2026-11-29T17:30:00.123456Z"},
    "extension": [
        {
            "url": resources.RETENTION_URL,
            "valueDuration": {"value": 2, "unit": "weeks", "code": "wk"},
        }
    ],
    "identifier": [{"system": resources.CASE_KEY_SYSTEM, "value": "SYN-0001"}],
    "status": "requested",
    "priority": "urgent",
    "performerType": [{"coding": [{"code": "394592004"}], "text": "oncology"}],
    "for": {"reference": "Patient/p-SYN-0001"},
    "focus": {"reference": "ServiceRequest/sr-SYN-0001"},
    "owner": {"reference": "http://127.0.0.1:8080/fhir/Practitioner/spec-1"},
    "restriction": {"period": {"end": "2026-12-06T17:00:00Z"}},
    "input": [
        {
            "type": {
                "coding": [{"system": resources.TASK_INPUT_SYSTEM, "code": "patient-question"}]
            },
            "valueString": "Is surgery\u202e still an option?",
        },
        {"type": {"text": "something-else"}, "valueString": "ignored"},
    ],
    "output": [
        {"valueReference": {"reference": "DocumentReference/dr-7"}},
        {"valueReference": {"reference": "urn:uuid:6f1c0e8e"}},
    ],
}


def test_task() -> None:
    case = resources.parse_task(TASK)
    assert case.case_id == "t-SYN-0001"
    assert case.case_key == "SYN-0001"
    assert case.version_id == "2"
    assert case.last_updated == "2026-11-29T17:30:00.123456Z"
    assert case.patient_id == "p-SYN-0001"
    assert case.referral_id == "sr-SYN-0001"
    assert case.owner_id == "spec-1"
    # The right-to-left override is stripped from display text.
    assert case.patient_questions == ("Is surgery still an option?",)
    assert case.due == datetime(2026, 12, 6, 17, tzinfo=UTC)
    assert case.priority == "urgent"
    assert case.specialty == "oncology"
    assert case.retention_days == 14
    assert case.opinion_ids == ("dr-7",)


def test_task_defaults() -> None:
    task = copy.deepcopy(TASK)
    for key in ("extension", "restriction", "priority", "focus", "owner", "input", "output"):
        del task[key]
    case = resources.parse_task(task)
    assert case.retention_days == resources.DEFAULT_RETENTION_DAYS
    assert case.due is None
    assert case.priority == "routine"
    assert case.referral_id is None
    assert case.patient_questions == ()


def _set(resource: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    node: Any = out
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last = keys[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("resourceType", "Patient", "resourceType"),
        ("id", SECRET + "/../x", "id"),
        ("id", 12, "id"),
        ("meta", _DELETE, "meta"),
        ("meta.versionId", 2, "meta.versionId"),
        ("meta.lastUpdated", SECRET, "meta.lastUpdated"),
        ("status", _DELETE, "status"),
        ("for", _DELETE, "for"),
        ("for.reference", "Group/g-1", "for"),
        ("for", "Patient/p-1", "for"),
        ("restriction.period.end", SECRET, "restriction.period.end"),
        ("input", {"not": "a list"}, "input"),
        ("input.0.valueString", 42, "input.valueString"),
        ("extension.0.valueDuration.value", "thirty", "extension.valueDuration.value"),
        ("extension.0.valueDuration.code", "ms", "extension.valueDuration.code"),
        ("identifier", "SYN-0001", "identifier"),
    ],
)
def test_malformed_task(path: str, value: Any, field: str) -> None:
    with pytest.raises(MalformedServerData) as caught:
        resources.parse_task(_set(TASK, path, value))
    assert caught.value.resource == "Task"
    assert caught.value.field == field
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("bad", [None, [], "Task", 3])
def test_not_an_object(bad: Any) -> None:
    with pytest.raises(MalformedServerData, match="not a JSON object"):
        resources.parse_task(bad)


def test_referral() -> None:
    referral = resources.parse_referral(
        {
            "resourceType": "ServiceRequest",
            "id": "sr-1",
            "requester": {"reference": "Practitioner/ref-1", "display": "Dr Referrer"},
            "reasonCode": [{"text": "Suspected recurrence"}],
            "note": [
                {"text": "Progression? Second-line chemo?"},
                {"text": "CEA rising since May."},
                {"text": "Declined surgery in 2025."},
            ],
        }
    )
    assert referral.reason == "Suspected recurrence"
    # note[0] holds the question(s); the notes after it are background (docs/exchange.md).
    assert referral.clinical_questions == ("Progression? Second-line chemo?",)
    assert referral.background == ("CEA rising since May.", "Declined surgery in 2025.")
    assert referral.requester == "Dr Referrer"
    with pytest.raises(MalformedServerData, match=r"note\.text"):
        resources.parse_referral(
            {"resourceType": "ServiceRequest", "id": "sr-1", "note": [{"text": ["x"]}]}
        )


def test_patient() -> None:
    patient = resources.parse_patient(
        {
            "resourceType": "Patient",
            "id": "p-1",
            "name": [{"family": "Testpatient", "given": ["Alpha", "Beta"]}],
            "gender": "female",
            "birthDate": "1961-04-09",
            "identifier": [{"value": "SYN-123"}],
        }
    )
    assert patient.name == "Testpatient, Alpha Beta"
    assert patient.sex == "female"
    assert patient.birth_date == date(1961, 4, 9)
    assert patient.identifiers == ("SYN-123",)
    with pytest.raises(MalformedServerData, match="birthDate"):
        resources.parse_patient({"resourceType": "Patient", "id": "p-1", "birthDate": SECRET})
    with pytest.raises(MalformedServerData, match=r"name\.given"):
        resources.parse_patient(
            {"resourceType": "Patient", "id": "p-1", "name": [{"given": "Alpha"}]}
        )


def test_practitioner_name() -> None:
    who = resources.parse_practitioner(
        {
            "resourceType": "Practitioner",
            "id": "spec-1",
            "name": [{"prefix": ["Dr"], "given": ["Demo"], "family": "Specialist"}],
        }
    )
    assert who.name == "Dr Demo Specialist"


PDF = b"%PDF-1.7 synthetic"
RECORD: dict[str, Any] = {
    "resourceType": "DocumentReference",
    "id": "d-1",
    "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5", "display": "DS"}]},
    "date": "2026-10-02T10:00:00Z",
    "description": "Discharge summary",
    "content": [
        {
            "attachment": {
                "contentType": "application/pdf",
                "url": "Binary/b-1",
                "size": len(PDF),
                "hash": base64.b64encode(hashlib.sha1(PDF).digest()).decode(),
                "title": "../../../etc/passwd\x00.pdf",
            }
        }
    ],
}


def test_record() -> None:
    record = resources.parse_record(RECORD)
    assert record.record_id == "d-1"
    assert record.title == "Discharge summary"
    assert record.type_code == "18842-5"
    assert record.size == len(PDF)
    assert record.sha1 == hashlib.sha1(PDF).digest()
    assert record.url == "Binary/b-1"
    # A hostile file name is kept as display text only, minus the NUL.
    assert record.file_title == "../../../etc/passwd.pdf"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("content", [], "content"),
        ("content.0.attachment.size", "48213", "content.attachment.size"),
        ("content.0.attachment.size", -1, "content.attachment.size"),
        ("content.0.attachment.size", True, "content.attachment.size"),
        ("content.0.attachment.size", _DELETE, "content.attachment.size"),
        ("content.0.attachment.hash", _DELETE, "content.attachment.hash"),
        ("content.0.attachment.hash", "not base64!", "content.attachment.hash"),
        (
            "content.0.attachment.hash",
            base64.b64encode(b"x" * 32).decode(),
            "content.attachment.hash",
        ),
        ("content.0.attachment.url", _DELETE, "content.attachment.url"),
        ("date", "yesterday", "date"),
    ],
)
def test_malformed_record(path: str, value: Any, field: str) -> None:
    with pytest.raises(MalformedServerData) as caught:
        resources.parse_record(_set(RECORD, path, value))
    assert caught.value.field == field


LAB: dict[str, Any] = {
    "resourceType": "Observation",
    "id": "o-1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hb"}]},
    "effectiveDateTime": "2026-10-01T08:00:00Z",
    "valueQuantity": {"value": 10.9, "unit": "g/dL"},
    "referenceRange": [{"low": {"value": 12.0}, "high": {"value": 16}}],
    "interpretation": [{"coding": [{"code": "L"}]}],
}


def test_lab() -> None:
    lab = resources.parse_lab(LAB)
    assert (lab.code, lab.name, lab.value, lab.unit) == ("718-7", "Hb", 10.9, "g/dL")
    assert (lab.low, lab.high, lab.interpretation) == (12.0, 16.0, "L")
    text = _set(_set(LAB, "valueQuantity", _DELETE), "valueString", "negative")
    text = _set(_set(text, "referenceRange", _DELETE), "interpretation", _DELETE)
    lab = resources.parse_lab(text)
    assert (lab.value, lab.value_text, lab.low, lab.interpretation) == (
        None,
        "negative",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("valueQuantity.value", "10.9", "valueQuantity.value"),
        ("referenceRange.0.low", 12, "referenceRange.low"),
        ("code", _DELETE, "code"),
        ("effectiveDateTime", 20261001, "effectiveDateTime"),
    ],
)
def test_malformed_lab(path: str, value: Any, field: str) -> None:
    with pytest.raises(MalformedServerData) as caught:
        resources.parse_lab(_set(LAB, path, value))
    assert caught.value.field == field


STUDY: dict[str, Any] = {
    "resourceType": "ImagingStudy",
    "id": "is-1",
    "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"}],
    "endpoint": [{"reference": "Endpoint/ep-dicomweb"}],
    "series": [
        {
            "uid": "1.2.826.0.1.3680043.8.498.2",
            "modality": {"code": "CT"},
            "number": 1,
            "numberOfInstances": 2,
            "instance": [
                {
                    "uid": "1.2.3.4",
                    "sopClass": {
                        "system": "urn:ietf:rfc:3986",
                        "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2",
                    },
                    "number": 1,
                },
                {"uid": "1.2.3.5", "number": 2},
            ],
        },
        {"uid": "1.2.826.0.1.3680043.8.498.3", "modality": {"code": "MR"}},
    ],
}


def test_study() -> None:
    study = resources.parse_study(STUDY)
    assert study.study_uid == "1.2.826.0.1.3680043.8.498.1"
    assert study.endpoint_reference == "Endpoint/ep-dicomweb"
    assert study.modalities == ("CT", "MR")
    ct, mr = study.series
    assert [i.sop_instance_uid for i in ct.instances] == ["1.2.3.4", "1.2.3.5"]
    assert ct.instances[0].sop_class_uid == "1.2.840.10008.5.1.4.1.1.2"
    assert mr.instances == ()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("identifier", [], "identifier"),
        ("identifier.0.value", "urn:oid:1.2/../../admin", "identifier"),
        ("series.0.uid", "1.02.3", "series.uid"),
        ("series.0.uid", "1." + "2" * 70, "series.uid"),
        ("series.0.instance.0.uid", None, "series.instance.uid"),
        ("series.0.numberOfInstances", -3, "series.numberOfInstances"),
    ],
)
def test_malformed_study(path: str, value: Any, field: str) -> None:
    with pytest.raises(MalformedServerData) as caught:
        resources.parse_study(_set(STUDY, path, value))
    assert caught.value.field == field


def test_endpoint() -> None:
    endpoint = {
        "resourceType": "Endpoint",
        "id": "e",
        "status": "active",
        "address": "https://x/dw/",
    }
    assert resources.parse_endpoint(endpoint) == "https://x/dw"
    with pytest.raises(MalformedServerData, match="address"):
        resources.parse_endpoint({"resourceType": "Endpoint", "id": "e"})
    with pytest.raises(MalformedServerData, match="status"):
        resources.parse_endpoint({**endpoint, "status": "off"})


def test_qido_instances() -> None:
    series = "1.2.3"
    payload = [
        {
            "0020000E": {"vr": "UI", "Value": [series]},
            "00080018": {"vr": "UI", "Value": ["1.2.3.9"]},
            "00200013": {"vr": "IS", "Value": [2]},
        },
        {"00080018": {"vr": "UI", "Value": ["1.2.3.8"]}, "00200013": {"vr": "IS", "Value": ["1"]}},
    ]
    got = resources.parse_qido_instances(payload, series)
    assert [(i.sop_instance_uid, i.number) for i in got] == [("1.2.3.8", 1), ("1.2.3.9", 2)]
    for bad, field in [
        ({"x": 1}, "body"),
        ([1], "item"),
        ([{"00080018": {"vr": "UI", "Value": "1.2"}}], "00080018"),
        ([{"00080018": {"vr": "UI", "Value": ["../x"]}}], "00080018"),
        ([{"0020000E": {"Value": ["9.9"]}, "00080018": {"Value": ["1.2"]}}], "0020000E"),
    ]:
        with pytest.raises(MalformedServerData) as caught:
            resources.parse_qido_instances(bad, series)
        assert caught.value.field == field


def test_qido_series() -> None:
    (series,) = resources.parse_qido_series(
        [
            {
                "0020000E": {"vr": "UI", "Value": ["1.2.3"]},
                "00080060": {"vr": "CS", "Value": ["CT"]},
                "00200011": {"vr": "IS", "Value": [4]},
                "00201209": {"vr": "IS", "Value": [220]},
            }
        ]
    )
    assert (series.series_uid, series.modality, series.number, series.instance_count) == (
        "1.2.3",
        "CT",
        4,
        220,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-03", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-04", datetime(2026, 3, 4, tzinfo=UTC)),
        ("2026-03-04T05:06:07.123456Z", datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)),
        ("2026-13-04", None),
        ("soon", None),
    ],
)
def test_parse_datetime(text: str, expected: datetime | None) -> None:
    assert resources.parse_datetime(text) == expected
