"""FHIR reads and searches on the demo server: Tasks by owner with paging and
``_lastUpdated``, records with Binary ranges, labs, imaging studies and endpoints."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import httpx

from demo_server.server import RunningServer
from tests.demo_server.helpers import admin_client, api_client


def _all_pages(client: httpx.Client, url: str, **params: object) -> tuple[list[dict], dict]:
    """Follow link[next]; return the resources and the first page."""
    first = client.get(url, params=params)
    assert first.status_code == 200, first.text
    page = first.json()
    found = [e["resource"] for e in page.get("entry", [])]
    bundle = page
    while next_url := next(
        (link["url"] for link in bundle["link"] if link["relation"] == "next"), None
    ):
        bundle = client.get(next_url).json()
        found += [e["resource"] for e in bundle.get("entry", [])]
    return found, page


def test_task_search_by_owner_pages_with_next_links(api: httpx.Client) -> None:
    tasks, first = _all_pages(api, "Task", owner="Practitioner/spec-1", _count=1)
    assert first["type"] == "searchset"
    assert first["total"] == 3
    assert len(first["entry"]) == 1
    assert sorted(t["id"] for t in tasks) == ["syn-0001-task", "syn-0002-task", "syn-0003-task"]
    stamps = [t["meta"]["lastUpdated"] for t in tasks]
    assert stamps == sorted(stamps)
    task = tasks[0]
    assert task["owner"]["reference"] == "Practitioner/spec-1"
    assert task["identifier"][0]["value"] == "SYN-0001"
    retention = next(e for e in task["extension"] if e["url"].endswith("/local-retention"))
    assert retention["valueDuration"]["value"] == 30
    questions = [i for i in task["input"] if i["type"]["coding"][0]["code"] == "patient-question"]
    assert questions and all(q["valueString"] for q in questions)
    # Dates are moved to the day the server loaded the cases, so a demo is never all
    # overdue: due dates fall from a few weeks ago to a month or two ahead.
    due = dt.datetime.fromisoformat(task["restriction"]["period"]["end"]).date()
    assert -45 <= (due - dt.date.today()).days <= 60
    assert dt.datetime.fromisoformat(task["authoredOn"]) < dt.datetime.fromisoformat(
        task["restriction"]["period"]["end"]
    )
    assert api.get("Task", params={"owner": "Practitioner/spec-2"}).json()["total"] == 0
    assert api.get("Task", params={"owner": "spec-1", "_elements": "id"}).json()["total"] == 3


def test_last_updated_cursor_returns_only_changes(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        first = api.get("Task", params={"owner": "Practitioner/spec-1"}).json()
        cursor = first["meta"]["lastUpdated"]
        assert (
            api.get(
                "Task", params={"owner": "Practitioner/spec-1", "_lastUpdated": f"gt{cursor}"}
            ).json()["total"]
            == 0
        )
        admin.post("/touch", json={"case": "SYN-0002"}).raise_for_status()
        changed = api.get(
            "Task", params={"owner": "Practitioner/spec-1", "_lastUpdated": f"gt{cursor}"}
        ).json()
        assert [e["resource"]["id"] for e in changed["entry"]] == ["syn-0002-task"]
        assert changed["entry"][0]["resource"]["meta"]["versionId"] == "2"
        assert changed["meta"]["lastUpdated"] > cursor


def test_paging_is_a_snapshot(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        first = api.get("Task", params={"owner": "Practitioner/spec-1", "_count": 1}).json()
        # A change between pages must not shift or skip entries.
        admin.post("/touch", json={"case": first["entry"][0]["resource"]["id"]})
        tasks = [first["entry"][0]["resource"]]
        bundle = first
        while nxt := next(
            (link["url"] for link in bundle["link"] if link["relation"] == "next"), None
        ):
            bundle = api.get(nxt).json()
            tasks += [e["resource"] for e in bundle["entry"]]
        assert sorted(t["id"] for t in tasks) == ["syn-0001-task", "syn-0002-task"]


def test_unknown_search_parameter_is_refused(api: httpx.Client) -> None:
    response = api.get("Task", params={"ownr": "Practitioner/spec-1"})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert api.get("Task", params={"_lastUpdated": "gtyesterday"}).status_code == 400
    assert api.get("Nonsense").status_code == 404
    assert api.get("Task/not-there").status_code == 404


def test_read_has_version_etag(api: httpx.Client) -> None:
    response = api.get("Task/syn-0001-task")
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["content-type"].startswith("application/fhir+json")
    patient = api.get(response.json()["for"]["reference"]).json()
    assert patient["name"][0]["family"] == "Testpatient"
    request = api.get(response.json()["focus"]["reference"]).json()
    assert request["resourceType"] == "ServiceRequest"
    assert request["note"][0]["text"]


def test_records_and_binary_bytes_match_size_and_hash(api: httpx.Client) -> None:
    documents, _ = _all_pages(api, "DocumentReference", patient="Patient/syn-0001-patient")
    assert len(documents) >= 3
    for document in documents:
        attachment = document["content"][0]["attachment"]
        response = api.get(attachment["url"], headers={"Accept": "application/pdf"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["accept-ranges"] == "bytes"
        assert len(response.content) == attachment["size"]
        digest = base64.b64encode(hashlib.sha1(response.content).digest()).decode()
        assert digest == attachment["hash"]
        assert response.content.startswith(b"%PDF")
    assert api.get("DocumentReference", params={"patient": "syn-0001-patient"}).json()[
        "total"
    ] == len(documents)


def test_binary_range_resumes_and_416_past_the_end(api: httpx.Client) -> None:
    full = api.get("Binary/syn-0001-pdf-2", headers={"Accept": "application/pdf"})
    data, etag = full.content, full.headers["etag"]
    half = len(data) // 2
    head = api.get("Binary/syn-0001-pdf-2", headers={"Range": f"bytes=0-{half - 1}"})
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-{half - 1}/{len(data)}"
    tail = api.get("Binary/syn-0001-pdf-2", headers={"Range": f"bytes={half}-", "If-Range": etag})
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {half}-{len(data) - 1}/{len(data)}"
    assert head.content + tail.content == data
    beyond = api.get("Binary/syn-0001-pdf-2", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    stale = api.get(
        "Binary/syn-0001-pdf-2", headers={"Range": f"bytes={half}-", "If-Range": '"other"'}
    )
    assert stale.status_code == 200
    assert stale.content == data
    as_json = api.get("Binary/syn-0001-pdf-2", headers={"Accept": "application/fhir+json"})
    assert base64.b64decode(as_json.json()["data"]) == data
    assert api.get("Binary/nothing").status_code == 404


def test_lab_results(api: httpx.Client) -> None:
    labs, _ = _all_pages(
        api, "Observation", patient="Patient/syn-0001-patient", category="laboratory", _count=200
    )
    assert len(labs) > 10
    for lab in labs:
        assert lab["code"]["coding"][0]["system"] == "http://loinc.org"
        assert "valueQuantity" in lab or "valueString" in lab
        assert lab["effectiveDateTime"]
    quantities = [lab["valueQuantity"] for lab in labs if "valueQuantity" in lab]
    assert all(q["system"] == "http://unitsofmeasure.org" for q in quantities)
    other = api.get(
        "Observation", params={"patient": "Patient/syn-0001-patient", "category": "vital-signs"}
    ).json()
    assert other["total"] == 0


def test_imaging_study_points_at_the_dicomweb_endpoint(
    server: RunningServer, api: httpx.Client
) -> None:
    studies, _ = _all_pages(api, "ImagingStudy", patient="Patient/syn-0001-patient")
    assert studies
    for study in studies:
        uid = next(i["value"] for i in study["identifier"] if i.get("system") == "urn:dicom:uid")
        assert uid.startswith("urn:oid:")
        endpoint = api.get(study["endpoint"][0]["reference"]).json()
        assert endpoint["connectionType"]["code"] == "dicom-wado-rs"
        assert endpoint["address"] == f"{server.base_url}/dicomweb"
