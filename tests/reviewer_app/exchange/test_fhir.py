"""FhirClient against a scripted server: paging, hostile links, downloads that drop,
lie about their size or hash, transactions and audit batches."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from reviewer_app.domain import RecordRef
from reviewer_app.errors import (
    HashMismatch,
    MalformedServerData,
    ServerError,
    ServerUnreachable,
    SizeLimitExceeded,
    VersionConflict,
)
from reviewer_app.exchange.fhir import FhirClient
from reviewer_app.exchange.http import HttpSettings, RetryPolicy, make_client
from tests.reviewer_app.exchange.local_server import Answer, Handler, Server, serve

_OPEN: list[FhirClient] = []


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s
    while _OPEN:
        _OPEN.pop().client.close()


def _client(server: Server, **settings: Any) -> FhirClient:
    """A FhirClient on the scripted server; closed when the test's server stops."""
    retry = RetryPolicy(max_attempts=4, rng=random.Random(0), sleep=lambda _s: None)
    client = FhirClient(
        server.base + "/fhir",
        make_client(HttpSettings(**settings)),
        settings=HttpSettings(**settings),
        download_retry=retry,
    )
    _OPEN.append(client)
    return client


def _json(obj: Any) -> Answer:
    return Answer(headers={"Content-Type": "application/fhir+json"}, body=json.dumps(obj).encode())


def _task(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": f"t-{n}",
        "meta": {"versionId": "1", "lastUpdated": f"2026-11-29T17:30:0{n}Z"},
        "status": "requested",
        "for": {"reference": f"Patient/p-{n}"},
    }


def _page(entries: list[dict[str, Any]], next_url: str | None, stamp: str) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": stamp},
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in entries],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def test_cases_follow_next_links_and_cursor_is_the_first_pages_time(server: Server) -> None:
    def first(h: Handler) -> Answer:
        assert "owner=Practitioner%2Fspec-1" in h.path
        assert "_lastUpdated=gt2026-11-01T00%3A00%3A00Z" in h.path
        return _json(
            _page([_task(1), _task(2)], server.base + "/fhir/page2", "2026-11-29T18:00:00Z")
        )

    server.route("/fhir/Task", first)
    server.route("/fhir/page2", _json(_page([_task(3)], None, "2026-11-29T18:00:05Z")))
    sync = _client(server).fetch_cases("spec-1", since="2026-11-01T00:00:00Z")
    assert [c.case_id for c in sync.cases] == ["t-1", "t-2", "t-3"]
    assert sync.cursor == "2026-11-29T18:00:00Z"


@pytest.mark.parametrize(
    ("next_url", "reason"),
    [
        ("https://evil.example.org/steal", "points away"),
        ("http://127.0.0.2:1/fhir/x", "points away"),
        ("{base}/fhir/Task", "loops back"),
    ],
)
def test_next_links_must_stay_on_the_platform(server: Server, next_url: str, reason: str) -> None:
    url = next_url.format(base=server.base)
    server.route("/fhir/Task", _json(_page([_task(1)], url, "2026-11-29T18:00:00Z")))
    with pytest.raises(MalformedServerData, match=reason):
        _client(server).fetch_cases("spec-1")
    # No request left the platform.
    assert all(path.startswith("/fhir/") for _m, path, _h in server.requests)


@pytest.mark.parametrize(
    ("bundle", "field"),
    [
        ({"resourceType": "Bundle", "type": "batch-response"}, "type"),
        ({"resourceType": "OperationOutcome"}, "resourceType"),
        ({"resourceType": "Bundle", "type": "searchset", "entry": {}}, "entry"),
        (
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": 3}]},
            "entry.resource",
        ),
        ({"resourceType": "Bundle", "type": "searchset", "link": "next"}, "link"),
        (
            {"resourceType": "Bundle", "type": "searchset", "meta": {"lastUpdated": 5}},
            "meta.lastUpdated",
        ),
    ],
)
def test_malformed_bundles(server: Server, bundle: dict[str, Any], field: str) -> None:
    server.route("/fhir/Task", _json(bundle))
    with pytest.raises(MalformedServerData) as caught:
        _client(server).fetch_cases("spec-1")
    assert caught.value.field == field


def test_malformed_json_and_error_statuses(server: Server) -> None:
    server.route("/fhir/Patient/p-1", Answer(body=b"<html>oops</html>"))
    server.route("/fhir/Patient/p-2", Answer(503, {"Retry-After": "4"}, b"{}"))
    server.route("/fhir/Patient/p-3", _json({"resourceType": "Practitioner", "id": "p-3"}))
    client = _client(server)
    with pytest.raises(MalformedServerData, match="not JSON"):
        client.patient("p-1")
    with pytest.raises(ServerError) as caught:
        client.patient("p-2")
    assert (caught.value.status, caught.value.retry_after) == (503, 4.0)
    with pytest.raises(MalformedServerData, match="resourceType"):
        client.patient("p-3")
    with pytest.raises(MalformedServerData, match="id"):
        client.patient("../admin")


def test_read_returns_etag(server: Server) -> None:
    task = _task(1)
    server.route(
        "/fhir/Task/t-1", Answer(headers={"ETag": 'W/"1"'}, body=json.dumps(task).encode())
    )
    got = _client(server).read("Task", "t-1")
    assert got.etag == 'W/"1"'
    assert got.resource == task


# --- downloads -------------------------------------------------------------------------

DATA = bytes(random.Random(7).randrange(256) for _ in range(50_000))


def _record(data: bytes = DATA, *, size: int | None = None, url: str = "Binary/b-1") -> RecordRef:
    return RecordRef(
        record_id="d-1",
        title="t",
        type_code=None,
        type_display=None,
        date=None,
        content_type="application/pdf",
        url=url,
        size=len(data) if size is None else size,
        sha1=hashlib.sha1(data).digest(),
        file_title=None,
    )


def _binary_route(data: bytes, *, drops: list[int], honour_range: bool = True) -> Any:
    """Serve ``data`` with Range support; the n-th request drops after drops[n] bytes."""

    def route(h: Handler) -> Answer:
        drop = drops.pop(0) if drops else None
        rng = h.headers.get("Range")
        if rng and honour_range:
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            return Answer(
                206,
                {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}", "ETag": '"e"'},
                data[start:],
                drop_after=drop,
            )
        return Answer(200, {"ETag": '"e"'}, data, drop_after=drop)

    return route


def _collect(client: FhirClient, record: RecordRef, have: bytes = b"") -> bytes:
    got = bytearray()
    client.download(record, got.extend, have=[have] if have else [])
    return bytes(got)


def test_download_resumes_with_range_after_drops(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[10_000, 7_000]))
    got = _collect(_client(server), _record())
    assert got == DATA
    ranges = [h.get("Range") for _m, p, h in server.requests if p == "/fhir/Binary/b-1"]
    assert ranges == [None, "bytes=10000-", "bytes=17000-"]


def test_download_resumes_from_a_previous_session(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[]))
    got = _collect(_client(server), _record(), have=DATA[:20_000])
    assert got == DATA[20_000:]
    assert server.requests[0][2]["Range"] == "bytes=20000-"


def test_download_when_server_ignores_range(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[], honour_range=False))
    assert _collect(_client(server), _record(), have=DATA[:1234]) == DATA[1234:]


def test_hash_mismatch(server: Server) -> None:
    tampered = DATA[:-1] + bytes([DATA[-1] ^ 1])
    server.route("/fhir/Binary/b-1", _binary_route(tampered, drops=[]))
    with pytest.raises(HashMismatch):
        _collect(_client(server), _record())
    # A stale partial from an earlier session is caught the same way.
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[]))
    with pytest.raises(HashMismatch):
        _collect(_client(server), _record(), have=bytes([DATA[0] ^ 1]) + DATA[1:100])


def test_size_lies(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[]))
    client = _client(server)
    with pytest.raises(HashMismatch, match="size"):
        _collect(client, _record(size=len(DATA) - 1))
    server.route("/fhir/Binary/b-2", Answer(200, {}, DATA + b"extra", no_length=True))
    with pytest.raises(HashMismatch, match="longer"):
        _collect(client, _record(url="Binary/b-2"))


def test_size_limit_before_any_download(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[]))
    client = _client(server, max_binary_bytes=10_000)
    huge = _record(size=5 * 1024**3)
    with pytest.raises(SizeLimitExceeded):
        _collect(client, huge)
    assert server.requests == []
    # The record says small, the server says 5 GB: refused before reading the body.
    server.route(
        "/fhir/Binary/b-2", Answer(200, {"Content-Length": str(5 * 1024**3)}, b"", no_length=False)
    )
    with pytest.raises(SizeLimitExceeded):
        _collect(client, _record(DATA[:100], url="Binary/b-2"))


def test_attachment_url_must_stay_on_the_platform(server: Server) -> None:
    with pytest.raises(MalformedServerData, match="points away"):
        _collect(_client(server), _record(url="https://evil.example.org/Binary/b-1"))


def test_download_gives_up_after_the_retry_policy(server: Server) -> None:
    server.route("/fhir/Binary/b-1", _binary_route(DATA, drops=[100] * 10))
    with pytest.raises(ServerUnreachable):
        _collect(_client(server), _record())
    assert len(server.requests) == 4


# --- writes ----------------------------------------------------------------------------

TRANSACTION = {
    "resourceType": "Bundle",
    "type": "transaction",
    "entry": [{"request": {"method": "PUT", "url": "Task/t-1", "ifMatch": 'W/"2"'}}],
}


def test_transaction_conflict_and_answer(server: Server) -> None:
    server.route("/fhir", Answer(412, {}, b'{"resourceType": "OperationOutcome"}'))
    with pytest.raises(VersionConflict):
        _client(server).transaction(TRANSACTION)
    answer = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [{"response": {"status": "200 OK", "etag": 'W/"3"'}}],
    }
    server.route("/fhir", _json(answer))
    assert _client(server).transaction(TRANSACTION) == answer
    server.route("/fhir", _json({**answer, "entry": []}))
    with pytest.raises(MalformedServerData, match="one answer per request"):
        _client(server).transaction(TRANSACTION)


def test_audit_events_go_in_batches_of_100_and_failures_come_back(server: Server) -> None:
    batches: list[dict[str, Any]] = []

    def batch(h: Handler) -> Answer:
        bundle = json.loads(h.body)
        batches.append(bundle)
        statuses = [
            "201 Created" if i % 50 else "400 Bad Request" for i in range(len(bundle["entry"]))
        ]
        return _json(
            {
                "resourceType": "Bundle",
                "type": "batch-response",
                "entry": [{"response": {"status": s}} for s in statuses],
            }
        )

    server.route("/fhir", batch)
    events = [{"resourceType": "AuditEvent", "id": f"a-{i}"} for i in range(230)]
    failed = _client(server).post_audit_events(events)
    assert [len(b["entry"]) for b in batches] == [100, 100, 30]
    assert batches[0]["type"] == "batch"
    assert batches[0]["entry"][5]["request"] == {"method": "PUT", "url": "AuditEvent/a-5"}
    assert failed == ["a-0", "a-50", "a-100", "a-150", "a-200"]
