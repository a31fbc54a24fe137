"""With ``--dicomweb`` the demo server stores the instances on a real Orthanc (STOW-RS)
and the ImagingStudy endpoints point there; WADO-RS from Orthanc gives them back."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pydicom
import pytest

from demo_server.server import RunningServer, start
from tests.demo_server.helpers import api_client, parse_multipart
from tests.fixtures.orthanc import Orthanc


@pytest.fixture
def on_orthanc(orthanc: Orthanc, tmp_path: Path) -> Iterator[RunningServer]:
    orthanc.clear()
    running = start(cases=1, seed=1, storage=tmp_path, ct_slices=3, dicomweb=orthanc.dicomweb)
    yield running
    running.stop()


def test_instances_live_on_orthanc(orthanc: Orthanc, on_orthanc: RunningServer) -> None:
    with api_client(on_orthanc) as api:
        studies = [
            e["resource"]
            for e in api.get("ImagingStudy", params={"patient": "Patient/syn-0001-patient"}).json()[
                "entry"
            ]
        ]
        assert studies
        for study in studies:
            endpoint = api.get(study["endpoint"][0]["reference"]).json()
            assert endpoint["address"] == orthanc.dicomweb
            study_uid = study["identifier"][0]["value"].removeprefix("urn:oid:")
            for series in study["series"]:
                response = httpx.get(
                    f"{endpoint['address']}/studies/{study_uid}/series/{series['uid']}",
                    headers={
                        "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*',
                        "Authorization": api.headers["authorization"],
                    },
                    timeout=60,
                )
                assert response.status_code == 200
                parts = parse_multipart(response.headers["content-type"], response.content)
                received = {}
                for _, body in parts:
                    dataset = pydicom.dcmread(io.BytesIO(body))
                    received[dataset.SOPInstanceUID] = dataset
                assert sorted(received) == sorted(i["uid"] for i in series["instance"])
                # Same instances as the generator renders: same pixels, same syntax.
                for uid, dataset in received.items():
                    original = pydicom.dcmread(io.BytesIO(on_orthanc.app._render(uid)))
                    assert dataset.file_meta.TransferSyntaxUID == (
                        original.file_meta.TransferSyntaxUID
                    )
                    assert dataset.PixelData == original.PixelData
    # The demo server's own DICOMweb is not used for these studies.
    assert on_orthanc.app.store.get_rendered(next(iter(received))) is None
