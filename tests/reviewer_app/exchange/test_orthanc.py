"""WADO-RS and QIDO-RS against a real Orthanc: the reference server stores its images
there (``--dicomweb``), so each ImagingStudy's Endpoint points to another origin and
the multipart bodies come from a second, independent implementation."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pydicom
import pytest

from reviewer_app.exchange.http import origin
from reviewer_app.exchange.session import PlatformSession
from reviewer_app.exchange.tokens import MemoryTokenStore
from tests.fixtures.orthanc import (
    Orthanc,
    orthanc,  # noqa: F401 - the session fixture
)

demo = pytest.importorskip("demo_server.server", reason="the reference server is not there")


def _browser(url: str) -> None:
    def log_in() -> None:
        parts = urlsplit(url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with httpx.Client() as browser:
            answer = browser.post(
                f"{parts.scheme}://{parts.netloc}{parts.path}",
                data={**params, "username": "dr.demo", "password": "demo"},
            )
            browser.get(answer.headers["Location"])

    threading.Thread(target=log_in).start()


@pytest.fixture
def session(orthanc: Orthanc, tmp_path: Path) -> Iterator[PlatformSession]:  # noqa: F811
    orthanc.clear()
    server = demo.start(cases=1, storage=tmp_path, ct_slices=4, dicomweb=orthanc.dicomweb)
    try:
        with PlatformSession(server.fhir_base, MemoryTokenStore()) as signed_in:
            signed_in.sign_in(open_browser=_browser, timeout=20)
            yield signed_in
    finally:
        server.stop()


def test_series_from_orthanc(session: PlatformSession, orthanc: Orthanc) -> None:  # noqa: F811
    fhir = session.fhir
    case = fhir.fetch_cases(session.practitioner_id()).cases[0]
    studies = fhir.studies(case.patient_id)
    assert studies
    checked = 0
    for study in studies:
        base = fhir.dicomweb_base(study)
        assert base == orthanc.dicomweb
        assert origin(base) != origin(fhir.base_url)
        dicomweb = session.dicomweb(base)
        for series in study.series:
            listed = {i.sop_instance_uid for i in series.instances}
            found = dicomweb.find_instances(study.study_uid, series.series_uid)
            assert {i.sop_instance_uid for i in found} == listed
            received: dict[str, Any] = {}
            for instance in dicomweb.series(study.study_uid, series.series_uid):
                dataset = pydicom.dcmread(io.BytesIO(instance.data))
                assert dataset.SeriesInstanceUID == series.series_uid
                received[dataset.SOPInstanceUID] = dataset
            assert set(received) == listed
            checked += len(received)
    assert checked > 0
