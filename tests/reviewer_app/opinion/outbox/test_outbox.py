"""The outbox against the reference server over real HTTP on 127.0.0.1: exactly one
upload under injected faults, version clashes, refusals, and the sync engine's drain."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from urllib.parse import urlsplit

import pytest

from demo_server.server import RunningServer
from reviewer_app.errors import OpinionAlreadyQueued
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import outbox
from reviewer_app.opinion.outbox import CONFLICT_MESSAGE, State
from reviewer_app.sync import local
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import opinion_pdf
from tests.reviewer_app.sync.helpers import admin, fast_retry

SIGNED_AT = dt.datetime(2026, 11, 29, 18, 1, 55, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return opinion_pdf()


@pytest.fixture
def case_id(vault: Vault, session: PlatformSession) -> str:
    """The first owned case, known to the vault as the sync engine records it."""
    return _refresh(vault, session)


def _refresh(vault: Vault, session: PlatformSession, case_id: str | None = None) -> str:
    tasks = session.fhir.fetch_cases(session.practitioner_id()).cases
    task = next(t for t in tasks if case_id in (None, t.case_id))
    local.save_task(vault, task)
    return task.case_id


def _fault(server: RunningServer, **fault: object) -> None:
    with admin(server) as client:
        client.post("/faults", json=fault).raise_for_status()


def _transaction_path(server: RunningServer) -> str:
    # Only the POST to the FHIR base (searches and reads go to {base}/{type}).
    return f"^{urlsplit(server.fhir_base).path.rstrip('/')}/?$"


def _opinions(server: RunningServer, opinion_id: str) -> list[dict[str, object]]:
    with admin(server) as client:
        found = client.get("/opinions").json()
    return [d for d in found if {"system": "urn:ietf:rfc:3986", "value": opinion_id} in
            d.get("identifier", [])]  # fmt: skip


def _uploads(vault: Vault) -> list[tuple[str, str]]:
    rows = vault.read().execute("SELECT action, case_id FROM audit WHERE action = 'upload'")
    return list(rows.fetchall())


def _stored_sha256(vault: Vault, item: outbox.OutboxItem) -> str:
    return hashlib.sha256(vault.objects.read_bytes(item.object_id)).hexdigest()


def test_upload_retried_ten_times_under_faults_creates_one_document(
    vault: Vault, session: PlatformSession, server: RunningServer, case_id: str, pdf: bytes
) -> None:
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT, referral_id=None)
    assert item.state is State.QUEUED and item.opinion_id.startswith("urn:uuid:")
    path = _transaction_path(server)
    fhir, me = session.fhir, session.practitioner_id()
    # Five 5xx answers (nothing stored), then one reply cut after 40 bytes: the server
    # stored that transaction but its answer was lost.
    _fault(server, error_rate=1.0, error_status=503, path=path, times=5)
    _fault(server, drop_after_bytes=40, path=path, times=1)
    progress = []
    for _ in range(2):
        outbox.drain(vault, fhir, me, retry=fast_retry(3))
        waiting = outbox.get(vault, item.item_id)
        progress.append((waiting.state, waiting.attempts, waiting.last_error))
    assert progress == [
        (State.QUEUED, 3, "ServerError: The platform answered with HTTP status 503."),
        (State.QUEUED, 6, "ServerUnreachable: The connection to the platform was interrupted."),
    ]
    assert len(_opinions(server, item.opinion_id)) == 1
    # More 5xx; then the retry meets the moved Task version (412) and must find the
    # opinion sent by the lost attempt instead of sending a second one.
    _fault(server, error_rate=1.0, error_status=503, path=path, times=3)
    assert outbox.drain(vault, fhir, me, retry=fast_retry(3)).still_queued == (item.item_id,)
    assert outbox.drain(vault, fhir, me, retry=fast_retry(3)).uploaded == (item.item_id,)
    done = outbox.get(vault, item.item_id)
    assert done.state is State.UPLOADED
    assert done.attempts == 10
    assert done.opinion_id == item.opinion_id
    on_server = _opinions(server, item.opinion_id)
    assert len(on_server) == 1
    assert done.receipt is not None
    assert done.receipt.document_reference == f"DocumentReference/{on_server[0]['id']}"
    # What the server keeps is the signed PDF, byte for byte, and the vault's copy is
    # unchanged after upload.
    stored = server.app.store.get("DocumentReference", str(on_server[0]["id"]))
    assert stored is not None
    assert base64.b64decode(stored["content"][0]["attachment"]["data"]) == pdf
    assert _stored_sha256(vault, done) == hashlib.sha256(pdf).hexdigest()
    assert outbox.signed_pdf(vault, done.item_id) == pdf
    with admin(server) as client:
        provenances = client.get("/provenances").json()
        task = next(c for c in client.get("/cases").json() if c["task"] == case_id)
    assert [p["target"] for p in provenances] == [
        [{"reference": f"DocumentReference/{on_server[0]['id']}"}]
    ]
    assert task["status"] == "completed"
    assert _uploads(vault) == [("upload", case_id)]
    # Draining again sends nothing more.
    assert outbox.drain(vault, session.fhir, session.practitioner_id()) == outbox.DrainReport()
    assert len(_opinions(server, item.opinion_id)) == 1


def test_a_version_clash_is_a_conflict_with_the_opinion_intact(
    vault: Vault, session: PlatformSession, server: RunningServer, case_id: str, pdf: bytes
) -> None:
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    with admin(server) as client:
        client.post("/touch", json={"case": case_id}).raise_for_status()
    report = outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry())
    assert report.conflicts == (item.item_id,)
    clashed = outbox.get(vault, item.item_id)
    assert clashed.state is State.CONFLICT
    assert clashed.message == CONFLICT_MESSAGE
    assert clashed.receipt is None
    assert outbox.signed_pdf(vault, item.item_id) == pdf
    assert _opinions(server, item.opinion_id) == []
    assert _uploads(vault) == []
    # A conflict is not retried by itself, and blocks a second opinion for the case.
    assert outbox.drain(vault, session.fhir, session.practitioner_id()) == outbox.DrainReport()
    with pytest.raises(OpinionAlreadyQueued):
        outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    # After the specialist saw the change (a sync brought the new version), it goes,
    # with the same identifier.
    _refresh(vault, session, case_id)
    outbox.resend(vault, item.item_id)
    report = outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry())
    assert report.uploaded == (item.item_id,)
    assert len(_opinions(server, item.opinion_id)) == 1


def test_a_closed_case_rejects_the_opinion_with_the_reason(
    vault: Vault, session: PlatformSession, server: RunningServer, case_id: str, pdf: bytes
) -> None:
    with admin(server) as client:
        client.post("/withdraw", json={"case": case_id}).raise_for_status()
    _refresh(vault, session, case_id)
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    report = outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry())
    assert report.rejected == (item.item_id,)
    refused = outbox.get(vault, item.item_id)
    assert refused.state is State.REJECTED
    assert refused.message == "The case is closed (withdrawn, rejected or already completed)."
    assert refused.last_error is not None and "409" in refused.last_error
    assert outbox.signed_pdf(vault, item.item_id) == pdf
    assert _opinions(server, item.opinion_id) == []


def test_a_failing_platform_leaves_the_opinion_queued_and_counts_attempts(
    vault: Vault, session: PlatformSession, server: RunningServer, case_id: str, pdf: bytes
) -> None:
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    _fault(server, error_rate=1.0, error_status=503, path=_transaction_path(server))
    for _ in range(2):
        report = outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry(3))
        assert report.still_queued == (item.item_id,)
    waiting = outbox.get(vault, item.item_id)
    assert (waiting.state, waiting.attempts) == (State.QUEUED, 6)
    assert waiting.last_error == "ServerError: The platform answered with HTTP status 503."
    assert _opinions(server, item.opinion_id) == []


def test_the_bundle_follows_the_contract(
    vault: Vault, session: PlatformSession, case_id: str, pdf: bytes
) -> None:
    # The referral answered is the one the sync recorded for the case (Task.focus).
    (referral,) = (
        vault.read()
        .execute("SELECT referral_id FROM case_sync WHERE case_id = ?", (case_id,))
        .fetchone()
    )
    assert referral
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    bundle = outbox.build_bundle(vault, item.item_id, "spec-1")
    # The same on every retry.
    assert json.dumps(outbox.build_bundle(vault, item.item_id, "spec-1")) == json.dumps(bundle)
    document, provenance, task = bundle["entry"]
    attachment = document["resource"]["content"][0]["attachment"]
    assert attachment["size"] == len(pdf)
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(pdf).digest()).decode()
    assert document["request"]["ifNoneExist"] == f"identifier=urn:ietf:rfc:3986|{item.opinion_id}"
    assert document["resource"]["type"]["coding"][0]["code"] == "11488-4"
    assert document["resource"]["context"]["related"] == [
        {"reference": f"Task/{case_id}"},
        {"reference": f"ServiceRequest/{referral}"},
    ]
    assert provenance["resource"]["target"] == [{"reference": item.opinion_id}]
    assert provenance["resource"]["signature"][0]["when"] == "2026-11-29T18:01:55Z"
    version = (
        vault.read()
        .execute("SELECT task_version FROM case_sync WHERE case_id = ?", (case_id,))
        .fetchone()[0]
    )
    assert task["request"] == {
        "method": "PUT",
        "url": f"Task/{case_id}",
        "ifMatch": f'W/"{version}"',
    }


def test_a_sync_run_sends_the_queued_opinion(
    vault: Vault, session: PlatformSession, server: RunningServer, case_id: str, pdf: bytes
) -> None:
    item = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT)
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        report = engine.run()
    assert report.state == "complete"
    assert outbox.get(vault, item.item_id).state is State.UPLOADED
    assert len(_opinions(server, item.opinion_id)) == 1
