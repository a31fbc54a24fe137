"""State survives a restart on the same storage; DICOM still renders afterwards."""

from __future__ import annotations

from pathlib import Path

from demo_server.server import start
from tests.demo_server.helpers import admin_client, api_client


def test_restart_keeps_state_and_serves_dicom(tmp_path: Path) -> None:
    first = start(cases=2, storage=tmp_path, ct_slices=2)
    try:
        with admin_client(first) as admin:
            admin.post("/withdraw", json={"case": "SYN-0002"}).raise_for_status()
    finally:
        first.stop()
    second = start(cases=2, storage=tmp_path, ct_slices=2)
    try:
        with api_client(second) as api:
            task = api.get("Task/syn-0002-task").json()
            assert task["status"] == "cancelled"
            assert task["meta"]["versionId"] == "2"
            study = api.get("ImagingStudy", params={"patient": "syn-0001-patient"}).json()
            resource = study["entry"][0]["resource"]
            endpoint = api.get(resource["endpoint"][0]["reference"]).json()
            # A new port: the Endpoint follows it.
            assert endpoint["address"] == f"{second.base_url}/dicomweb"
            uid = resource["identifier"][0]["value"].removeprefix("urn:oid:")
            series = resource["series"][0]["uid"]
            response = api.get(
                f"{endpoint['address']}/studies/{uid}/series/{series}",
                headers={"Accept": 'multipart/related; type="application/dicom"'},
            )
            assert response.status_code == 200
            assert response.content.count(b"DICM") >= resource["series"][0]["numberOfInstances"]
    finally:
        second.stop()
    # Other options reload from scratch.
    third = start(cases=3, storage=tmp_path, ct_slices=2)
    try:
        with api_client(third) as api:
            assert api.get("Task/syn-0002-task").json()["status"] == "requested"
    finally:
        third.stop()
