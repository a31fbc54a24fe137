"""The sync engine's resumption across runs, progress reporting, and sign-in loss."""

from __future__ import annotations

import base64
import copy
import hashlib

import pytest

from demo_server.reply import Reply
from demo_server.server import RunningServer
from reviewer_app.errors import SignInRequired
from reviewer_app.exchange import PlatformSession
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.sync.events import (
    CaseProgress,
    ItemFinished,
    Phase,
    PhaseStarted,
    Progress,
    SyncEvent,
)
from reviewer_app.sync.readiness import readiness
from reviewer_app.vault import Vault
from reviewer_app.vault.objects import CHUNK_SIZE
from tests.reviewer_app.sync.helpers import admin, fast_retry, server_content, vault_content


def test_a_record_cut_in_one_run_resumes_from_its_durable_bytes_in_the_next(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    # A 3 MiB record: the partial object makes whole 1 MiB chunks durable as they arrive.
    big = bytes(range(256)) * (3 * CHUNK_SIZE // 256) + b"%%EOF"
    store = server.app.store
    doc = copy.deepcopy(store.get("DocumentReference", "syn-0001-doc-1"))
    assert doc is not None
    binary_id = doc["content"][0]["attachment"]["url"].split("/")[1]
    store.put_binary(binary_id, "application/pdf", big)
    doc["content"][0]["attachment"]["size"] = len(big)
    doc["content"][0]["attachment"]["hash"] = base64.b64encode(hashlib.sha1(big).digest()).decode()
    store.put(doc)
    ranges: list[str] = []
    binary = server.app.fhir.binary

    def recording(bid: str, headers: dict[str, str]) -> Reply:
        if "range" in headers:
            ranges.append(headers["range"])
        return binary(bid, headers)

    server.app.fhir.binary = recording  # type: ignore[method-assign]
    with admin(server) as staff:
        staff.post(
            "/faults",
            json={"drop_after_bytes": CHUNK_SIZE + CHUNK_SIZE // 2, "path": binary_id, "times": 1},
        ).raise_for_status()

    # No retries inside the run: the drop ends it as "offline", the partial kept.
    with SyncEngine(vault, session, retry=fast_retry(attempts=1)) as engine:
        first = engine.run()
    assert first.state == "offline"
    row = (
        vault.read()
        .execute("SELECT state, object_id FROM sync_items WHERE ref = 'syn-0001-doc-1'")
        .fetchone()
    )
    assert row[0] == "pending" and row[1] is not None
    assert vault.read().execute(
        "SELECT state FROM objects WHERE object_id = ?", (row[1],)
    ).fetchone() == ("partial",)

    events: list[SyncEvent] = []
    with SyncEngine(vault, session, on_event=events.append, retry=fast_retry()) as engine:
        second = engine.run()
    assert second.state == "complete"
    assert ranges == [f"bytes={CHUNK_SIZE}-"]
    finished = next(e for e in events if isinstance(e, ItemFinished) and e.ref == "syn-0001-doc-1")
    assert finished.fetched == len(big) - CHUNK_SIZE
    assert finished.size == len(big)
    assert vault_content(vault) == server_content(server)


def test_progress_events_cover_cases_items_bytes_rate_and_eta(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    events: list[SyncEvent] = []
    with SyncEngine(vault, session, on_event=events.append, retry=fast_retry()) as engine:
        report = engine.run()
    assert report.state == "complete"
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress
    last = progress[-1]
    assert last.items_done == last.items_total == report.items_done
    assert last.cases_done == last.cases_total == 3
    assert last.bytes_done == last.bytes_total > 0
    assert all(p.rate > 0 for p in progress)
    assert last.eta == 0
    assert [p.bytes_done for p in progress] == sorted(p.bytes_done for p in progress)
    # Until an image has come, the images' sizes are unknown: no total and no time left
    # (a total of the documents alone would promise an end long before it); after, the
    # total counts the images still to come at their average size so far.
    first_image = next(
        n for n, e in enumerate(events) if isinstance(e, ItemFinished) and e.kind == "instance"
    )
    early = [e for e in events[:first_image] if isinstance(e, Progress)]
    later = [e for e in events[first_image:] if isinstance(e, Progress)]
    assert early and later
    assert all(p.bytes_total == 0 and p.eta is None and p.bytes_estimated for p in early)
    assert all(p.bytes_total >= p.bytes_done > 0 for p in later)
    # The images are counted from the first document on: the item total never grows.
    assert {p.items_total for p in early + later} == {last.items_total}
    phases = [e.phase for e in events if isinstance(e, PhaseStarted)]
    assert phases == [Phase.METADATA, Phase.DOCUMENTS, Phase.IMAGING]
    cases = {e.case_id: e for e in events if isinstance(e, CaseProgress)}
    assert {c.state for c in cases.values()} == {"complete"}
    assert all(c.items_done == c.items_total > 0 for c in cases.values())


def test_losing_the_session_stops_the_run_and_fails_no_item(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    def sign_out_before_documents(event: SyncEvent) -> None:
        if isinstance(event, PhaseStarted) and event.phase is Phase.DOCUMENTS:
            session.store.clear()

    with (
        SyncEngine(
            vault, session, on_event=sign_out_before_documents, retry=fast_retry()
        ) as engine,
        pytest.raises(SignInRequired),
    ):
        engine.run()
    ready = readiness(vault)
    assert all(not r.errors and r.missing > 0 for r in ready.values())


def test_a_list_that_breaks_later_keeps_what_was_stored(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    conn = vault.read()

    def counts() -> tuple[int, int, int]:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM lab_results WHERE case_id = 'syn-0001-task'), "
            "(SELECT count(*) FROM records WHERE case_id = 'syn-0001-task' "
            " AND object_id IS NOT NULL), "
            "(SELECT count(*) FROM instances WHERE case_id = 'syn-0001-task' "
            " AND object_id IS NOT NULL)"
        ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    before = counts()
    assert all(before)
    dispatch = server.app.dispatch

    def broken(method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        searches = ("/fhir/Observation?", "/fhir/DocumentReference?", "/fhir/ImagingStudy?")
        if target.startswith(searches) and "syn-0001-patient" in target:
            return Reply(200, {"Content-Type": "application/fhir+json"}, b"[1, 2")
        return dispatch(method, target, headers, body)

    server.app.dispatch = broken  # type: ignore[method-assign]
    with admin(server) as staff:
        staff.post("/touch", json={"case": "SYN-0001"}).raise_for_status()
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "incomplete"

    assert counts() == before
    errors = readiness(vault)["syn-0001-task"].errors
    assert {(e.ref, e.error_kind) for e in errors} == {
        ("Observation", "MalformedServerData"),
        ("DocumentReference", "MalformedServerData"),
        ("ImagingStudy", "MalformedServerData"),
    }


def _referrals(server: RunningServer) -> dict[str, str | None]:
    """Each owned Task's ServiceRequest id (Task.focus), read from the server's store."""
    referrals: dict[str, str | None] = {}
    for task in server.app.store.all("Task"):
        if task.get("owner", {}).get("reference") == "Practitioner/spec-1":
            focus = task.get("focus", {}).get("reference")
            referrals[task["id"]] = focus.removeprefix("ServiceRequest/") if focus else None
    return referrals


def test_a_synced_case_keeps_its_referral_and_follows_a_changed_task(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    expected = _referrals(server)
    assert expected and all(expected.values())
    with SyncEngine(vault, session) as engine:
        assert engine.run().state == "complete"
    rows = vault.read().execute("SELECT case_id, referral_id FROM case_sync").fetchall()
    assert dict(rows) == expected

    # The platform drops one Task's focus: the next sync clears the stored referral.
    case_id = sorted(expected)[0]
    task = copy.deepcopy(server.app.store.get("Task", case_id))
    assert task is not None
    del task["focus"]
    server.app.store.put(task)
    with SyncEngine(vault, session) as engine:
        assert engine.run().state == "complete"
    rows = vault.read().execute("SELECT case_id, referral_id FROM case_sync").fetchall()
    assert dict(rows) == {**expected, case_id: None}
