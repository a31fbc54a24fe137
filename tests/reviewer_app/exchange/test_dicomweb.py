"""DicomWebClient against a scripted server: what a hostile or broken DICOMweb server
can send (non-DICOM parts, wrong types, truncated bodies, oversize instances)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reviewer_app.errors import MalformedServerData, NotDicom, ServerError, SizeLimitExceeded
from reviewer_app.exchange.dicomweb import DicomWebClient, check_dicom
from reviewer_app.exchange.http import HttpSettings, make_client
from reviewer_app.exchange.multipart import MalformedMultipart
from tests.reviewer_app.exchange.local_server import Answer, Handler, Server, serve

STUDY, SERIES = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"
PATH = f"/dw/studies/{STUDY}/series/{SERIES}"


def _dicom(n: int) -> bytes:
    return b"\0" * 128 + b"DICM" + f"instance {n}".encode() * 50


def _multipart(
    parts: list[bytes], boundary: str = "frontier:1", ctype: str = "application/dicom"
) -> Answer:
    body = b""
    for part in parts:
        head = f"--{boundary}\r\nContent-Type: {ctype}; transfer-syntax=1.2.840.10008.1.2.1"
        body += head.encode() + b"\r\n\r\n"
        body += part + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    header = f'multipart/related; type="application/dicom"; boundary="{boundary}"'
    # Sent in small chunks, as a network would.
    chunks = [body[i : i + 333] for i in range(0, len(body), 333)]
    return Answer(headers={"Content-Type": header}, body=chunks)


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with make_client(HttpSettings()) as client:
        yield client


def _client(server: Server, http: httpx.Client, **settings: Any) -> DicomWebClient:
    return DicomWebClient(server.base + "/dw/", http, settings=HttpSettings(**settings))


def test_series_streams_each_instance(server: Server, http: httpx.Client) -> None:
    seen: list[str] = []

    def route(h: Handler) -> Answer:
        seen.append(h.headers["Accept"])
        return _multipart([_dicom(i) for i in range(5)])

    server.route(PATH, route)
    got = list(_client(server, http).series(STUDY, SERIES))
    assert [g.data for g in got] == [_dicom(i) for i in range(5)]
    assert {g.transfer_syntax for g in got} == {"1.2.840.10008.1.2.1"}
    assert seen == ['multipart/related; type="application/dicom"; transfer-syntax=*']


def test_non_dicom_part(server: Server, http: httpx.Client) -> None:
    server.route(PATH, _multipart([_dicom(0), b"<html>not an image</html>"]))
    stream = _client(server, http).series(STUDY, SERIES)
    assert next(stream).data == _dicom(0)  # what came before is still delivered
    with pytest.raises(NotDicom):
        next(stream)


def test_part_of_another_type(server: Server, http: httpx.Client) -> None:
    server.route(PATH, _multipart([_dicom(0)], ctype="image/jpeg"))
    with pytest.raises(NotDicom):
        list(_client(server, http).series(STUDY, SERIES))


def test_not_multipart(server: Server, http: httpx.Client) -> None:
    server.route(PATH, Answer(headers={"Content-Type": "application/dicom"}, body=_dicom(0)))
    with pytest.raises(MalformedServerData, match="not multipart"):
        list(_client(server, http).series(STUDY, SERIES))
    server.route(
        PATH, Answer(headers={"Content-Type": 'multipart/related; type="image/jpeg"; boundary=x'})
    )
    with pytest.raises(MalformedServerData, match="type"):
        list(_client(server, http).series(STUDY, SERIES))


def test_truncated_body(server: Server, http: httpx.Client) -> None:
    answer = _multipart([_dicom(0), _dicom(1)])
    body = b"".join(answer.body)  # type: ignore[arg-type]
    answer.body = [body[: len(body) - 40]]
    server.route(PATH, answer)
    with pytest.raises(MalformedMultipart, match="closing delimiter"):
        list(_client(server, http).series(STUDY, SERIES))


def test_instance_size_limit(server: Server, http: httpx.Client) -> None:
    server.route(PATH, _multipart([_dicom(0) * 10]))
    with pytest.raises(SizeLimitExceeded):
        list(_client(server, http, max_instance_bytes=2000).series(STUDY, SERIES))


def test_uids_are_checked_before_any_request(server: Server, http: httpx.Client) -> None:
    with pytest.raises(MalformedServerData):
        list(_client(server, http).series(STUDY, "../../admin"))
    assert server.requests == []


def test_error_status(server: Server, http: httpx.Client) -> None:
    server.route(PATH, Answer(500, body=b"boom"))
    with pytest.raises(ServerError):
        list(_client(server, http).series(STUDY, SERIES))


def test_qido(server: Server, http: httpx.Client) -> None:
    items = [
        {"0020000E": {"vr": "UI", "Value": [SERIES]}, "00080018": {"vr": "UI", "Value": ["1.2.9"]}}
    ]
    server.route(PATH + "/instances", Answer(body=json.dumps(items).encode()))
    server.route(f"/dw/studies/{STUDY}/series", Answer(204))
    client = _client(server, http)
    assert [i.sop_instance_uid for i in client.find_instances(STUDY, SERIES)] == ["1.2.9"]
    assert client.find_series(STUDY) == []
    server.route(PATH + "/instances", Answer(body=b"{broken"))
    with pytest.raises(MalformedServerData, match="not JSON"):
        client.find_instances(STUDY, SERIES)


@pytest.mark.parametrize("data", [b"", b"DICM", b"\0" * 128 + b"DICX" + b"\0" * 10, b"%PDF-1.7"])
def test_check_dicom_refuses(data: bytes) -> None:
    with pytest.raises(NotDicom):
        check_dicom(data)
