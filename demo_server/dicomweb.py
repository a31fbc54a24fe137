"""The demo server's own DICOMweb: WADO-RS retrieval as ``multipart/related;
type="application/dicom"`` and QIDO-RS search as DICOM JSON. See docs/exchange.md §7.

Instances are rendered on first request and the bytes cached in SQLite, so ``serve``
starts at once and a long CT series costs time only when someone fetches it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

from demo_server.reply import HttpError, Reply, json_reply
from demo_server.store import InstanceRow, Store

Renderer = Callable[[str], bytes]
DICOM_JSON = "application/dicom+json"


def _attr(vr: str, *values: Any) -> dict[str, Any]:
    return {"vr": vr, "Value": list(values)} if values else {"vr": vr}


class DicomWeb:
    """Handles every request under ``/dicomweb``."""

    def __init__(self, store: Store, base: str, render: Renderer) -> None:
        self.store = store
        self.base = base
        self._render = render

    def instance_bytes(self, sop_uid: str) -> bytes:
        """The Part 10 bytes of an instance, rendered once and then cached."""
        data = self.store.get_rendered(sop_uid)
        if data is None:
            data = self._render(sop_uid)
            self.store.put_rendered(sop_uid, data)
        return data

    def handle(
        self, method: str, parts: list[str], query: list[tuple[str, str]], headers: dict[str, str]
    ) -> Reply:
        """Answer one authenticated DICOMweb request; ``parts`` is the path below /dicomweb."""
        if method != "GET":
            raise HttpError(405, "this DICOMweb service is read-only", "not-supported")
        if not parts or parts[0] != "studies":
            raise HttpError(404, "DICOMweb paths start with studies/", "not-found")
        if len(parts) == 1:
            return self._qido_studies(query)
        study = parts[1]
        if len(parts) == 2:
            return self._wado(headers, self._rows(study))
        if parts[2] != "series":
            raise HttpError(404, "unsupported DICOMweb path", "not-found")
        if len(parts) == 3:
            return self._qido_series(study)
        series = parts[3]
        if len(parts) == 4:
            return self._wado(headers, self._rows(study, series))
        if parts[4] != "instances":
            raise HttpError(404, "unsupported DICOMweb path", "not-found")
        if len(parts) == 5:
            return self._qido_instances(study, series)
        if len(parts) == 6:
            return self._wado(headers, self._rows(study, series, parts[5]))
        raise HttpError(404, "unsupported DICOMweb path", "not-found")

    def _rows(
        self, study: str, series: str | None = None, sop: str | None = None
    ) -> list[InstanceRow]:
        rows = self.store.instances(study, series, sop)
        if not rows:
            raise HttpError(404, "no such study, series or instance", "not-found")
        return rows

    # --- WADO-RS --------------------------------------------------------------------------

    def _wado(self, headers: dict[str, str], rows: list[InstanceRow]) -> Reply:
        accept = headers.get("accept", "*/*")
        if "multipart/related" not in accept and "*/*" not in accept:
            raise HttpError(406, 'WADO-RS answers multipart/related; type="application/dicom"')
        wanted = _accept_transfer_syntax(accept)
        if wanted not in (None, "*") and any(r.transfer_syntax_uid != wanted for r in rows):
            raise HttpError(
                406, "this server does not transcode; ask with transfer-syntax=*", "not-supported"
            )
        boundary = "dicom-" + secrets.token_hex(12)

        def parts() -> Iterator[bytes]:
            for row in rows:
                head = (
                    f"--{boundary}\r\nContent-Type: application/dicom; "
                    f"transfer-syntax={row.transfer_syntax_uid}\r\n\r\n"
                )
                yield head.encode() + self.instance_bytes(row.sop_uid) + b"\r\n"
            yield f"--{boundary}--\r\n".encode()

        content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
        return Reply(200, {"Content-Type": content_type}, parts())

    # --- QIDO-RS --------------------------------------------------------------------------

    def _series_info(self, study: str) -> dict[str, dict[str, Any]]:
        """Series number and description from the ImagingStudy resource."""
        info: dict[str, dict[str, Any]] = {}
        for resource in self.store.all("ImagingStudy"):
            uids = [i.get("value", "") for i in resource.get("identifier", [])]
            if f"urn:oid:{study}" in uids:
                for series in resource.get("series", []):
                    info[series["uid"]] = series
        return info

    def _qido_studies(self, query: list[tuple[str, str]]) -> Reply:
        wanted = [v for k, v in query if k in ("StudyInstanceUID", "0020000D")]
        unknown = [
            k
            for k, _ in query
            if k not in ("StudyInstanceUID", "0020000D", "limit", "offset", "includefield")
        ]
        if unknown:
            raise HttpError(400, f"unsupported QIDO parameter {unknown[0]!r}", "not-supported")
        studies = wanted or self.store.study_uids()
        found = []
        for study in studies:
            rows = self.store.instances(study)
            if rows:
                found.append(
                    {
                        "0020000D": _attr("UI", study),
                        "00080061": _attr("CS", *sorted({r.modality for r in rows})),
                        "00201206": _attr("IS", len({r.series_uid for r in rows})),
                        "00201208": _attr("IS", len(rows)),
                        "00081190": _attr("UR", f"{self.base}/studies/{study}"),
                    }
                )
        return json_reply(200, found, {"Content-Type": DICOM_JSON})

    def _qido_series(self, study: str) -> Reply:
        rows = self._rows(study)
        info = self._series_info(study)
        found = []
        for series_uid in dict.fromkeys(r.series_uid for r in rows):
            members = [r for r in rows if r.series_uid == series_uid]
            series = info.get(series_uid, {})
            item = {
                "0020000D": _attr("UI", study),
                "0020000E": _attr("UI", series_uid),
                "00080060": _attr("CS", members[0].modality),
                "00201209": _attr("IS", len(members)),
                "00081190": _attr("UR", f"{self.base}/studies/{study}/series/{series_uid}"),
            }
            if "number" in series:
                item["00200011"] = _attr("IS", series["number"])
            if "description" in series:
                item["0008103E"] = _attr("LO", series["description"])
            found.append(item)
        return json_reply(200, found, {"Content-Type": DICOM_JSON})

    def _qido_instances(self, study: str, series: str) -> Reply:
        found = [
            {
                "0020000D": _attr("UI", study),
                "0020000E": _attr("UI", series),
                "00080016": _attr("UI", row.sop_class_uid),
                "00080018": _attr("UI", row.sop_uid),
                "00200013": _attr("IS", row.number),
                "00083002": _attr("UI", row.transfer_syntax_uid),
                "00081190": _attr(
                    "UR", f"{self.base}/studies/{study}/series/{series}/instances/{row.sop_uid}"
                ),
            }
            for row in self._rows(study, series)
        ]
        return json_reply(200, found, {"Content-Type": DICOM_JSON})


def _accept_transfer_syntax(accept: str) -> str | None:
    for item in accept.split(","):
        if "application/dicom" not in item:
            continue
        for param in item.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "transfer-syntax":
                return value.strip().strip('"')
    return None
