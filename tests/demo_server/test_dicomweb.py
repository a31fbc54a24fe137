"""The demo server's own DICOMweb: WADO-RS multipart parsed part by part with pydicom,
and QIDO-RS."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pydicom

from demo_server.server import RunningServer, start
from tests.demo_server.helpers import api_client, parse_multipart

WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def _studies(api: httpx.Client) -> list[dict[str, Any]]:
    bundle = api.get("ImagingStudy", params={"patient": "Patient/syn-0001-patient"}).json()
    return [e["resource"] for e in bundle["entry"]]


def _uid(study: dict[str, Any]) -> str:
    value = next(i["value"] for i in study["identifier"] if i.get("system") == "urn:dicom:uid")
    return str(value).removeprefix("urn:oid:")


def _dicomweb(server: RunningServer, api: httpx.Client) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.base_url}/dicomweb",
        headers={"Authorization": api.headers["authorization"]},
        timeout=60,
    )


def test_wado_rs_series_is_multipart_of_dicom_files(
    server: RunningServer, api: httpx.Client
) -> None:
    with _dicomweb(server, api) as web:
        for study in _studies(api):
            study_uid = _uid(study)
            for series in study["series"]:
                response = web.get(
                    f"studies/{study_uid}/series/{series['uid']}", headers={"Accept": WADO_ACCEPT}
                )
                assert response.status_code == 200
                content_type = response.headers["content-type"]
                assert content_type.startswith('multipart/related; type="application/dicom"')
                parts = parse_multipart(content_type, response.content)
                assert len(parts) == series["numberOfInstances"]
                uids = []
                for headers, body in parts:
                    assert headers["content-type"].startswith("application/dicom")
                    dataset = pydicom.dcmread(io.BytesIO(body))
                    assert dataset.StudyInstanceUID == study_uid
                    assert dataset.SeriesInstanceUID == series["uid"]
                    syntax = headers["content-type"].split("transfer-syntax=")[1]
                    assert dataset.file_meta.TransferSyntaxUID == syntax
                    uids.append(dataset.SOPInstanceUID)
                assert uids == [i["uid"] for i in series["instance"]]


def test_single_instance_and_cached_bytes(server: RunningServer, api: httpx.Client) -> None:
    study = _studies(api)[0]
    series = study["series"][0]
    instance = series["instance"][0]["uid"]
    path = f"studies/{_uid(study)}/series/{series['uid']}/instances/{instance}"
    with _dicomweb(server, api) as web:
        first = web.get(path, headers={"Accept": WADO_ACCEPT})
        second = web.get(path, headers={"Accept": WADO_ACCEPT})
    [(_, body1)] = parse_multipart(first.headers["content-type"], first.content)
    [(_, body2)] = parse_multipart(second.headers["content-type"], second.content)
    assert body1 == body2
    assert server.app.store.get_rendered(instance) == body1
    assert pydicom.dcmread(io.BytesIO(body1)).SOPInstanceUID == instance


def test_qido_lists_series_and_instances(server: RunningServer, api: httpx.Client) -> None:
    study = _studies(api)[0]
    study_uid = _uid(study)
    with _dicomweb(server, api) as web:
        series = web.get(
            f"studies/{study_uid}/series", headers={"Accept": "application/dicom+json"}
        )
        assert series.headers["content-type"] == "application/dicom+json"
        found = {s["0020000E"]["Value"][0]: s for s in series.json()}
        assert set(found) == {s["uid"] for s in study["series"]}
        first = study["series"][0]
        assert found[first["uid"]]["00201209"]["Value"] == [first["numberOfInstances"]]
        instances = web.get(f"studies/{study_uid}/series/{first['uid']}/instances").json()
        assert [i["00080018"]["Value"][0] for i in instances] == [
            i["uid"] for i in first["instance"]
        ]
        assert [i["00200013"]["Value"][0] for i in instances] == [
            i["number"] for i in first["instance"]
        ]
        studies = web.get("studies", params={"StudyInstanceUID": study_uid}).json()
        assert [s["0020000D"]["Value"][0] for s in studies] == [study_uid]


def test_wado_refusals(server: RunningServer, api: httpx.Client) -> None:
    study = _studies(api)[0]
    path = f"studies/{_uid(study)}/series/{study['series'][0]['uid']}"
    with _dicomweb(server, api) as web:
        assert web.get(path, headers={"Accept": "application/json"}).status_code == 406
        assert (
            web.get("studies/1.2.3/series/4.5.6", headers={"Accept": WADO_ACCEPT}).status_code
            == 404
        )
    assert httpx.get(f"{server.base_url}/dicomweb/{path}").status_code == 401


def test_without_instance_lists_qido_finds_them(tmp_path: Path) -> None:
    running = start(cases=1, storage=tmp_path, ct_slices=2, omit_instances=True)
    try:
        with api_client(running) as api, _dicomweb(running, api) as web:
            for study in _studies(api):
                for series in study["series"]:
                    assert "instance" not in series
                    listed = web.get(f"studies/{_uid(study)}/series/{series['uid']}/instances")
                    assert len(listed.json()) == series["numberOfInstances"]
    finally:
        running.stop()


def test_wado_rs_whole_study(server: RunningServer, api: httpx.Client) -> None:
    study = _studies(api)[0]
    with _dicomweb(server, api) as web:
        response = web.get(f"studies/{_uid(study)}", headers={"Accept": WADO_ACCEPT})
    parts = parse_multipart(response.headers["content-type"], response.content)
    uids = {pydicom.dcmread(io.BytesIO(body)).SOPInstanceUID for _, body in parts}
    assert uids == {i["uid"] for s in study["series"] for i in s["instance"]}
