"""Opinion upload as one transaction (ifNoneExist, ifMatch → 412) and AuditEvent
batches on the demo server."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import httpx

from demo_server.server import RunningServer
from tests.demo_server.helpers import admin_client, api_client

PDF = b"%PDF-1.7\n% synthetic signed opinion\n" + b"x" * 500 + b"\n%%EOF\n"


def opinion_bundle(task: dict[str, Any], opinion_id: str, pdf: bytes = PDF) -> dict[str, Any]:
    """The transaction of docs/exchange.md §8."""
    doc_url = opinion_id
    completed = {
        **task,
        "status": "completed",
        "output": [{"type": {"text": "opinion"}, "valueReference": {"reference": doc_url}}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": doc_url,
                "resource": {
                    "resourceType": "DocumentReference",
                    "identifier": [{"system": "urn:ietf:rfc:3986", "value": opinion_id}],
                    "status": "current",
                    "docStatus": "final",
                    "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
                    "subject": task["for"],
                    "author": [{"reference": "Practitioner/spec-1"}],
                    "context": {"related": [{"reference": f"Task/{task['id']}"}]},
                    "content": [
                        {
                            "attachment": {
                                "contentType": "application/pdf",
                                "data": base64.b64encode(pdf).decode(),
                                "size": len(pdf),
                                "hash": base64.b64encode(hashlib.sha1(pdf).digest()).decode(),
                            }
                        }
                    ],
                },
                "request": {
                    "method": "POST",
                    "url": "DocumentReference",
                    "ifNoneExist": f"identifier=urn:ietf:rfc:3986|{opinion_id}",
                },
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Provenance",
                    "target": [{"reference": doc_url}],
                    "recorded": "2026-11-29T18:02:11Z",
                    "agent": [{"who": {"reference": "Practitioner/spec-1"}}],
                    "signature": [
                        {
                            "type": [
                                {
                                    "system": "urn:iso-astm:E1762-95:2013",
                                    "code": "1.2.840.10065.1.12.1.1",
                                }
                            ],
                            "when": "2026-11-29T18:01:55Z",
                            "who": {"reference": "Practitioner/spec-1"},
                        }
                    ],
                },
                "request": {"method": "POST", "url": "Provenance"},
            },
            {
                "fullUrl": f"Task/{task['id']}",
                "resource": completed,
                "request": {
                    "method": "PUT",
                    "url": f"Task/{task['id']}",
                    "ifMatch": f'W/"{task["meta"]["versionId"]}"',
                },
            },
        ],
    }


def _opinions(api: httpx.Client, opinion_id: str) -> list[dict[str, Any]]:
    found = api.get(
        "DocumentReference", params={"identifier": f"urn:ietf:rfc:3986|{opinion_id}"}
    ).json()
    return [e["resource"] for e in found.get("entry", [])]


def test_upload_completes_the_task_once(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        task = api.get("Task/syn-0001-task").json()
        opinion_id = f"urn:uuid:{uuid.uuid4()}"
        bundle = opinion_bundle(task, opinion_id)
        response = api.post("", json=bundle)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["type"] == "transaction-response"
        statuses = [e["response"]["status"] for e in result["entry"]]
        assert statuses == ["201 Created", "201 Created", "200 OK"]
        assert result["entry"][2]["response"]["location"] == "Task/syn-0001-task/_history/2"

        [document] = _opinions(api, opinion_id)
        done = api.get("Task/syn-0001-task").json()
        assert done["status"] == "completed"
        assert done["output"][0]["valueReference"]["reference"] == (
            f"DocumentReference/{document['id']}"
        )
        assert done["owner"] == task["owner"]
        [provenance] = admin.get("/provenances").json()
        assert provenance["target"][0]["reference"] == f"DocumentReference/{document['id']}"

        # The reply was "lost" and the client retries the same transaction: the Task has
        # moved on, so 412, and still exactly one opinion.
        retry = api.post("", json=bundle)
        assert retry.status_code == 412
        assert retry.json()["resourceType"] == "OperationOutcome"
        assert len(_opinions(api, opinion_id)) == 1
        assert len(admin.get("/provenances").json()) == 1
        assert [o["id"] for o in admin.get("/opinions").json()] == [document["id"]]


def test_if_none_exist_creates_nothing_new(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api:
        opinion_id = f"urn:uuid:{uuid.uuid4()}"
        task = api.get("Task/syn-0001-task").json()
        only_document = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": opinion_bundle(task, opinion_id)["entry"][:1],
        }
        first = api.post("", json=only_document).json()["entry"][0]["response"]
        second = api.post("", json=only_document).json()["entry"][0]["response"]
        assert first["status"] == "201 Created"
        assert second["status"] == "200 OK"
        assert second["location"] == first["location"]
        assert len(_opinions(api, opinion_id)) == 1


def test_stale_version_is_412_and_stores_nothing(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        task = api.get("Task/syn-0002-task").json()
        admin.post("/touch", json={"case": "SYN-0002"}).raise_for_status()
        opinion_id = f"urn:uuid:{uuid.uuid4()}"
        response = api.post("", json=opinion_bundle(task, opinion_id))
        assert response.status_code == 412
        assert "version 2" in response.json()["issue"][0]["diagnostics"]
        assert _opinions(api, opinion_id) == []
        assert admin.get("/provenances").json() == []
        assert api.get("Task/syn-0002-task").json()["status"] == "requested"


def test_reassigned_case_is_a_version_clash_and_others_cannot_complete(
    fresh_server: RunningServer,
) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        task = api.get("Task/syn-0001-task").json()
        admin.post("/reassign", json={"case": "SYN-0001", "practitioner": "spec-2"})
        assert (
            api.post("", json=opinion_bundle(task, f"urn:uuid:{uuid.uuid4()}")).status_code == 412
        )
        # With the current version, the former owner is simply not allowed.
        current = api.get("Task/syn-0001-task").json()
        forbidden = api.post("", json=opinion_bundle(current, f"urn:uuid:{uuid.uuid4()}"))
        assert forbidden.status_code == 403


def test_withdrawn_case_cannot_be_completed(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        admin.post("/withdraw", json={"case": "SYN-0001"}).raise_for_status()
        current = api.get("Task/syn-0001-task").json()
        opinion_id = f"urn:uuid:{uuid.uuid4()}"
        response = api.post("", json=opinion_bundle(current, opinion_id))
        assert response.status_code == 409
        assert _opinions(api, opinion_id) == []


def test_bad_attachment_hash_is_refused(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api:
        task = api.get("Task/syn-0001-task").json()
        bundle = opinion_bundle(task, f"urn:uuid:{uuid.uuid4()}")
        bundle["entry"][0]["resource"]["content"][0]["attachment"]["hash"] = "AAAA"
        response = api.post("", json=bundle)
        assert response.status_code == 400
        assert api.get("Task/syn-0001-task").json()["meta"]["versionId"] == "1"


def _audit_event(event_id: str, who: str = "Practitioner/spec-1") -> dict[str, Any]:
    return {
        "resourceType": "AuditEvent",
        "id": event_id,
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
        "subtype": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle",
                "code": "access",
            }
        ],
        "action": "R",
        "recorded": "2026-11-29T17:45:03.120000Z",
        "outcome": "0",
        "agent": [{"who": {"reference": who}, "requestor": True}],
        "source": {"observer": {"display": "Reviewer desktop"}},
        "entity": [{"what": {"reference": "Task/syn-0001-task"}}],
    }


def test_audit_batches_are_idempotent(fresh_server: RunningServer) -> None:
    with api_client(fresh_server) as api, admin_client(fresh_server) as admin:
        ids = [str(uuid.uuid4()) for _ in range(3)]
        events = [_audit_event(i) for i in ids]
        events.append(_audit_event(str(uuid.uuid4()), who="Practitioner/spec-2"))
        batch = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {"resource": e, "request": {"method": "PUT", "url": f"AuditEvent/{e['id']}"}}
                for e in events
            ],
        }
        first = api.post("", json=batch).json()
        assert first["type"] == "batch-response"
        assert [e["response"]["status"] for e in first["entry"]] == [
            "201 Created",
            "201 Created",
            "201 Created",
            "403 Forbidden",
        ]
        again = api.post("", json=batch).json()
        assert [e["response"]["status"] for e in again["entry"][:3]] == ["200 OK"] * 3
        stored = admin.get("/audit-events").json()
        assert sorted(e["id"] for e in stored) == sorted(ids)
