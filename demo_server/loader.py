"""Loads synthetic cases (``demo_server.synth``) into the store as the platform would
hold them: each Task owned by a demo specialist and announcing its retention, each
ImagingStudy pointing at a DICOMweb Endpoint, PDFs as Binaries, and an index of DICOM
instances whose bytes are rendered on demand.

With an external DICOMweb server (Orthanc, …) every instance is rendered now and
stored there with STOW-RS, and the Endpoint points at it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from typing import Any

from demo_server.accounts import ACCOUNTS, DEFAULT_OWNER, practitioner_resource
from demo_server.store import InstanceRow, Store

EXT = "https://reviewer.example/fhir"
RETENTION_URL = f"{EXT}/StructureDefinition/local-retention"
CASE_KEY_SYSTEM = f"{EXT}/sid/synthetic-case"
TASK_INPUT_SYSTEM = f"{EXT}/CodeSystem/task-input"
ENDPOINT_ID = "ep-dicomweb"
DEFAULT_RETENTION_DAYS = 30

SPECIALTY_CODES = {
    "oncology": ("394593009", "Medical oncology"),
    "cardiology": ("394579002", "Cardiology"),
    "neurology": ("394591006", "Neurology"),
    "orthopaedics": ("394801008", "Trauma & orthopaedics"),
}


def retention_extension(days: int) -> dict[str, Any]:
    """The Task extension announcing how long the app may keep an uploaded case."""
    return {
        "url": RETENTION_URL,
        "valueDuration": {
            "value": days,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        },
    }


def endpoint_resource(address: str) -> dict[str, Any]:
    """The DICOMweb Endpoint every ImagingStudy refers to."""
    return {
        "resourceType": "Endpoint",
        "id": ENDPOINT_ID,
        "status": "active",
        "connectionType": {
            "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
            "code": "dicom-wado-rs",
        },
        "name": "DICOMweb",
        "payloadType": [{"text": "DICOM"}],
        "payloadMimeType": ["application/dicom"],
        "address": address.rstrip("/"),
    }


# The synthetic cases are dated from a fixed day (so they are the same bytes every run);
# this is the day their worklist dates are centred on. At load time the Task's dates are
# moved by (today - this day), so a demo worklist shows cases due soon and a few overdue,
# whenever it is run, instead of every case long overdue.
_SYNTH_TODAY = dt.date(2026, 10, 1)


def _move_to_today(task: dict[str, Any], today: dt.date) -> None:
    shift = today - _SYNTH_TODAY
    period = task.get("restriction", {}).get("period", {})
    for holder, key in ((period, "end"), (task, "authoredOn")):
        if isinstance(holder.get(key), str):
            moved = dt.datetime.fromisoformat(holder[key]) + shift
            holder[key] = moved.isoformat()


def _task(
    resource: dict[str, Any],
    case_key: str,
    specialty: str,
    owner: str | None,
    retention_days: int,
    *,
    today: dt.date,
) -> dict[str, Any]:
    task = dict(resource)
    _move_to_today(task, today)
    if owner:
        account = next(a for a in ACCOUNTS if a.practitioner_id == owner)
        task["owner"] = {"reference": f"Practitioner/{owner}", "display": account.display}
    task.setdefault("extension", [])
    task["extension"] = [e for e in task["extension"] if e.get("url") != RETENTION_URL]
    task["extension"].append(retention_extension(retention_days))
    # The contract: identifier[0] carries the human case key.
    identifiers = [i for i in task.get("identifier", []) if i.get("value") != case_key]
    task["identifier"] = [{"system": CASE_KEY_SYSTEM, "value": case_key}, *identifiers]
    if not task.get("performerType") and specialty in SPECIALTY_CODES:
        code, display = SPECIALTY_CODES[specialty]
        task["performerType"] = [
            {
                "coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}],
                "text": specialty,
            }
        ]
    for item in task.get("input", []):
        kind = item.setdefault("type", {})
        if kind.get("text") == "patient-question" and not kind.get("coding"):
            kind["coding"] = [{"system": TASK_INPUT_SYSTEM, "code": "patient-question"}]
    return task


def load(
    store: Store,
    *,
    seed: int,
    cases: int,
    ct_slices: int,
    dicomweb_address: str,
    external: bool,
    unassigned: int = 0,
    omit_instances: bool = False,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Fill an empty store with ``cases`` synthetic cases; return the instance specs by
    SOP Instance UID (the renderers). The last ``unassigned`` cases have no owner yet;
    ``omit_instances`` leaves ``series[].instance`` out of every ImagingStudy, so clients
    must list instances with QIDO-RS."""
    bundles = generate(seed, cases, ct_slices)
    specs = {spec.sop_instance_uid: spec for b in bundles for spec in b.instances}
    with store.transaction():
        for account in ACCOUNTS:
            store.put(practitioner_resource(account))
        store.put(endpoint_resource(dicomweb_address))
        for index, bundle in enumerate(bundles):
            owner = DEFAULT_OWNER if index < cases - unassigned else None
            numbers: dict[str, int] = {}
            for generated in bundle.resources:
                resource = json.loads(json.dumps(generated))  # private copy
                if resource["resourceType"] == "Task":
                    resource = _task(
                        resource,
                        bundle.case_key,
                        bundle.specialty,
                        owner,
                        retention_days,
                        today=today or dt.date.today(),
                    )
                elif resource["resourceType"] == "ImagingStudy":
                    resource["endpoint"] = [{"reference": f"Endpoint/{ENDPOINT_ID}"}]
                    for series in resource.get("series", []):
                        for instance in series.get("instance", []):
                            if "number" in instance:
                                numbers[instance["uid"]] = int(instance["number"])
                        if omit_instances:
                            series.pop("instance", None)
                store.put(resource)
            for binary in bundle.binaries:
                store.put_binary(binary.id, binary.content_type, binary.data)
            ordinals: dict[str, int] = {}
            for spec in bundle.instances:
                ordinal = ordinals[spec.series_uid] = ordinals.get(spec.series_uid, 0) + 1
                store.add_instance(
                    InstanceRow(
                        sop_uid=spec.sop_instance_uid,
                        study_uid=spec.study_uid,
                        series_uid=spec.series_uid,
                        sop_class_uid=spec.sop_class_uid,
                        transfer_syntax_uid=spec.transfer_syntax_uid,
                        modality=spec.modality,
                        number=int(
                            getattr(spec, "number", 0)
                            or numbers.get(spec.sop_instance_uid, ordinal)
                        ),
                        case_key=bundle.case_key,
                        ordinal=ordinal,
                    )
                )
        store.set_meta(
            "loaded",
            json.dumps(
                {
                    "seed": seed,
                    "cases": cases,
                    "ct_slices": ct_slices,
                    "external": external,
                    "dicomweb": dicomweb_address,
                    "unassigned": unassigned,
                    "omit_instances": omit_instances,
                }
            ),
        )
    if external:
        stow_all(dicomweb_address, bundles)
    return specs


def generate(seed: int, cases: int, ct_slices: int) -> list[Any]:
    """The synthetic cases (deterministic from the seed)."""
    from demo_server.synth import generate_cases

    return list(generate_cases(seed, cases, ct_slices=ct_slices))


def stow_all(base: str, bundles: list[Any], batch: int = 32) -> int:
    """Store every instance on an external DICOMweb server with STOW-RS; return how many."""
    import httpx

    stored = 0
    with httpx.Client(timeout=120.0) as client:
        for bundle in bundles:
            specs = list(bundle.instances)
            for start in range(0, len(specs), batch):
                chunk = specs[start : start + batch]
                # POST to {base}/studies accepts instances of any study.
                boundary = "stow-" + secrets.token_hex(12)
                response = client.post(
                    f"{base.rstrip('/')}/studies",
                    content=b"".join(_stow_body(chunk, boundary)),
                    headers={
                        "Content-Type": f'multipart/related; type="application/dicom"; '
                        f"boundary={boundary}",
                        "Accept": "application/dicom+json",
                    },
                )
                if response.status_code not in (200, 202):
                    raise RuntimeError(f"STOW-RS to {base} failed with HTTP {response.status_code}")
                stored += len(chunk)
    return stored


def _stow_body(specs: list[Any], boundary: str) -> Iterator[bytes]:
    for spec in specs:
        yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        yield spec.render()
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()
