"""Injected faults: latency, 5xx at a rate, connections dropped after N bytes."""

from __future__ import annotations

import time

import httpx
import pytest

from demo_server.server import RunningServer


def test_latency(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults", json={"latency_ms": 300, "path": "^/fhir/Patient"}).raise_for_status()
    started = time.monotonic()
    assert api.get("Patient/syn-0001-patient").status_code == 200
    assert time.monotonic() - started >= 0.3
    # Other paths are not slowed down.
    started = time.monotonic()
    assert api.get("Task/syn-0001-task").status_code == 200
    assert time.monotonic() - started < 0.3


def test_errors_at_a_rate(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults", json={"error_rate": 1.0, "error_status": 502}).raise_for_status()
    failed = api.get("Task/syn-0001-task")
    assert failed.status_code == 502
    assert failed.json()["issue"][0]["code"] == "transient"
    admin.delete("/faults")
    admin.post("/faults", json={"error_rate": 0.5}).raise_for_status()
    statuses = [api.get("Task/syn-0001-task").status_code for _ in range(40)]
    assert 5 < statuses.count(503) < 35
    assert statuses.count(200) == 40 - statuses.count(503)


def test_fault_fires_only_the_given_times(api: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/faults", json={"error_rate": 1.0, "times": 2}).raise_for_status()
    statuses = [api.get("Task/syn-0001-task").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert admin.get("/faults").json() == []


def test_connection_dropped_after_n_bytes(api: httpx.Client, admin: httpx.Client) -> None:
    full = api.get("Binary/syn-0001-pdf-2").content
    admin.post(
        "/faults", json={"drop_after_bytes": 1000, "path": "^/fhir/Binary/", "times": 1}
    ).raise_for_status()
    received = bytearray()
    with (
        pytest.raises(httpx.RemoteProtocolError),
        api.stream("GET", "Binary/syn-0001-pdf-2") as response,
    ):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(full)
        for chunk in response.iter_bytes():
            received += chunk
    assert bytes(received) == full[:1000]
    # The client resumes where the transfer broke.
    rest = api.get("Binary/syn-0001-pdf-2", headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206
    assert bytes(received) + rest.content == full


def test_dropped_chunked_transfer(
    server: RunningServer, api: httpx.Client, admin: httpx.Client
) -> None:
    study = api.get("ImagingStudy", params={"patient": "syn-0001-patient"}).json()["entry"][0]
    uid = study["resource"]["identifier"][0]["value"].removeprefix("urn:oid:")
    series = study["resource"]["series"][0]["uid"]
    admin.post("/faults", json={"drop_after_bytes": 5000, "path": "^/dicomweb/"})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(
            f"{server.base_url}/dicomweb/studies/{uid}/series/{series}",
            headers={
                "Authorization": api.headers["authorization"],
                "Accept": 'multipart/related; type="application/dicom"',
            },
        )


def test_bad_fault_is_refused(admin: httpx.Client) -> None:
    assert admin.post("/faults", json={"error_rate": 2}).status_code == 400
    assert admin.post("/faults", json={"slowness": 1}).status_code == 400
    assert admin.post("/faults", json={"error_status": 404, "error_rate": 1}).status_code == 400
