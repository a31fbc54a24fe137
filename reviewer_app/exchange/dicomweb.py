"""The DICOMweb client: WADO-RS retrieval streamed part by part, QIDO-RS searches.

A Series arrives as one ``multipart/related`` body; :meth:`DicomWebClient.series`
yields each Instance as soon as its part is complete, so a 500-slice CT never sits in
memory whole. Each part must be a DICOM Part 10 file (``DICM`` after the 128-byte
preamble) no larger than the configured limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from reviewer_app.domain import InstanceRef, SeriesRef
from reviewer_app.errors import MalformedServerData, NotDicom, SizeLimitExceeded
from reviewer_app.exchange import resources
from reviewer_app.exchange.http import (
    HttpSettings,
    check_declared_size,
    check_server_url,
    check_status,
    translate_errors,
)
from reviewer_app.exchange.multipart import iter_parts, parse_content_type

WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
DICOM_JSON = "application/dicom+json"
_PREAMBLE = 128


@dataclass(frozen=True)
class RetrievedInstance:
    """One DICOM Part 10 file from WADO-RS, with the transfer syntax its part announced."""

    data: bytes
    transfer_syntax: str | None


def check_dicom(data: bytes) -> None:
    """Raise NotDicom unless ``data`` has the Part 10 preamble and ``DICM`` prefix."""
    if len(data) < _PREAMBLE + 4 or data[_PREAMBLE : _PREAMBLE + 4] != b"DICM":
        raise NotDicom()


class DicomWebClient:
    """WADO-RS and QIDO-RS against one DICOMweb base (from an ImagingStudy's Endpoint)."""

    def __init__(
        self, base_url: str, client: httpx.Client, *, settings: HttpSettings | None = None
    ) -> None:
        self.base_url = check_server_url(base_url.rstrip("/"))
        self.client = client
        self.settings = settings or HttpSettings()

    def _path(self, *uids: str) -> str:
        # UIDs are checked against their grammar: they become path segments.
        names = ("studies", "series", "instances")
        segments = []
        for name, uid in zip(names, uids, strict=False):
            segments += [name, resources.dicom_uid(uid, "DICOMweb request", name)]
        return self.base_url + "/" + "/".join(segments)

    def series(self, study_uid: str, series_uid: str) -> Iterator[RetrievedInstance]:
        """Retrieve a whole Series; yield each Instance as it completes."""
        yield from self._retrieve(self._path(study_uid, series_uid))

    def instance(self, study_uid: str, series_uid: str, sop_instance_uid: str) -> bytes:
        """Retrieve one Instance."""
        parts = list(self._retrieve(self._path(study_uid, series_uid, sop_instance_uid)))
        if len(parts) != 1:
            raise MalformedServerData("WADO-RS response", "body", "not exactly one instance")
        return parts[0].data

    def _retrieve(self, url: str) -> Iterator[RetrievedInstance]:
        limit = self.settings.max_instance_bytes
        with (
            translate_errors(),
            self.client.stream("GET", url, headers={"Accept": WADO_ACCEPT}) as response,
        ):
            check_status(response)
            content_type = response.headers.get("Content-Type", "")
            media, params = parse_content_type(content_type)
            if media != "multipart/related":
                raise MalformedServerData("WADO-RS response", "Content-Type", "not multipart")
            part_type = params.get("type", "application/dicom").lower()
            if part_type != "application/dicom":
                raise MalformedServerData("WADO-RS response", "type", "not application/dicom")
            for part in iter_parts(response.iter_bytes(), content_type, max_part_size=limit):
                if part.content_type not in ("", "application/dicom"):
                    raise NotDicom()
                check_dicom(part.body)
                _, part_params = parse_content_type(part.headers.get("content-type", ""))
                yield RetrievedInstance(part.body, part_params.get("transfer-syntax"))

    def _qido(self, url: str) -> Any:
        limit = self.settings.max_json_bytes
        with (
            translate_errors(),
            self.client.stream("GET", url, headers={"Accept": DICOM_JSON}) as response,
        ):
            check_status(response)
            if response.status_code == 204:
                return []  # QIDO-RS: no matches
            check_declared_size(response, "QIDO-RS result", limit)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise SizeLimitExceeded("QIDO-RS result", len(body), limit)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedServerData("QIDO-RS result", "body", "not JSON") from exc

    def find_series(self, study_uid: str) -> list[SeriesRef]:
        """QIDO-RS: the Series of a Study (without their Instances)."""
        return resources.parse_qido_series(self._qido(self._path(study_uid) + "/series"))

    def find_instances(self, study_uid: str, series_uid: str) -> list[InstanceRef]:
        """QIDO-RS: the Instances of a Series, in instance-number order."""
        url = self._path(study_uid, series_uid) + "/instances"
        return resources.parse_qido_instances(self._qido(url), series_uid)
