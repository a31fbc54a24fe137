"""The sync engine against the reference server over real HTTP: convergence, order,
parallel transfers, faults (drops, 5xx, latency), withdrawal, reassignment, retention,
untrusted input, offline with backoff, and a real Orthanc as the DICOMweb side."""

from __future__ import annotations

import copy
import hashlib
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from demo_server.reply import Reply
from demo_server.server import RunningServer, start
from reviewer_app.exchange import PlatformSession
from reviewer_app.sync.engine import SyncEngine, sync_until_done
from reviewer_app.sync.events import (
    CasePurged,
    ItemFinished,
    ItemStarted,
    Offline,
    Phase,
    SyncEvent,
)
from reviewer_app.sync.purge import set_pinned
from reviewer_app.sync.readiness import readiness
from reviewer_app.vault import Vault
from reviewer_app.vault.database import quick_check
from tests.fixtures.orthanc import Orthanc
from tests.reviewer_app.sync.helpers import (
    admin,
    fast_retry,
    memory_vault,
    server_content,
    signed_in,
    vault_content,
)


class Recorder:
    """Collects events and the largest number of items in flight at once."""

    def __init__(self) -> None:
        self.events: list[SyncEvent] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0

    def __call__(self, event: SyncEvent) -> None:
        with self._lock:
            self.events.append(event)
            if isinstance(event, ItemStarted) and event.kind != "metadata":
                self._in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self._in_flight)
            elif isinstance(event, ItemFinished) and event.kind != "metadata":
                if event.ref == "case" or "/" in event.ref:
                    return
                self._in_flight -= 1

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def _sync(vault: Vault, session: PlatformSession, **kwargs: Any) -> tuple[Any, Recorder]:
    recorder = Recorder()
    with SyncEngine(
        vault, session, on_event=recorder, retry=kwargs.pop("retry", fast_retry()), **kwargs
    ) as engine:
        report = engine.run()
    return report, recorder


def _object_ids(vault: Vault) -> set[str]:
    return {row[0] for row in vault.read().execute("SELECT object_id FROM objects")}


def test_full_sync_converges_in_order_with_parallel_transfers(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    report, recorder = _sync(vault, session, workers=4)

    assert report.state == "complete"
    expected = server_content(server)
    assert vault_content(vault) == expected
    assert all(e["records"] and e["instances"] for e in expected.values())
    # Order: every case's metadata, then every document, then every image.
    started = [e for e in recorder.events if isinstance(e, ItemStarted | ItemFinished)]
    phases = [e.phase for e in started]
    assert phases == sorted(phases)
    assert {Phase.METADATA, Phase.DOCUMENTS, Phase.IMAGING} <= set(phases)
    assert recorder.max_in_flight > 1
    ready = readiness(vault)
    assert set(ready) == set(expected)
    assert all(r.complete and r.missing == 0 and r.bytes_on_disk > 0 for r in ready.values())
    assert {c.sync_state for c in vault.cases()} == {"complete"}
    assert quick_check(vault.read()) == ["ok"]

    again, recorder = _sync(vault, session)
    assert again.state == "complete"
    assert again.items_done == 0
    assert again.bytes_fetched == 0


def test_dropped_download_resumes_from_the_last_byte(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    ranges: list[str] = []
    original = server.app.fhir.binary

    def recording(bid: str, headers: dict[str, str]) -> Reply:
        if "range" in headers:
            ranges.append(headers["range"])
        return original(bid, headers)

    server.app.fhir.binary = recording  # type: ignore[method-assign]
    with admin(server) as staff:
        staff.post(
            "/faults", json={"drop_after_bytes": 100_000, "path": "/Binary/", "times": 2}
        ).raise_for_status()

    report, recorder = _sync(vault, session, workers=1)

    assert report.state == "complete"
    assert vault_content(vault) == server_content(server)
    # The second drop hit the resumed request, which then resumed from its own last byte.
    assert ranges == ["bytes=100000-", "bytes=200000-"]
    records = [e for e in recorder.of(ItemFinished) if e.kind == "record"]
    # Each record came over the wire once: the dropped ones were not fetched again from 0.
    assert all(e.fetched == e.size for e in records)
    assert report.bytes_fetched == sum(e.size for e in recorder.of(ItemFinished))


def test_server_errors_and_latency_are_retried(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    with admin(server) as staff:
        staff.post("/faults", json={"error_rate": 0.3, "error_status": 503}).raise_for_status()
        staff.post("/faults", json={"latency_ms": 15, "path": "/dicomweb/"}).raise_for_status()

    report, _ = _sync(vault, session, retry=fast_retry(attempts=12))

    assert report.state == "complete"
    assert vault_content(vault) == server_content(server)


def _put(server: RunningServer, resource: dict[str, Any]) -> None:
    server.app.store.put(resource)


def test_bad_input_fails_its_item_with_a_specific_error_and_the_rest_syncs(
    server: RunningServer, vault: Vault, session: PlatformSession, tmp_path: Path
) -> None:
    store = server.app.store
    docs = {d["id"]: d for d in store.all("DocumentReference")}
    case1 = [d for d in docs.values() if d["id"].startswith("syn-0001-")]
    assert len(case1) >= 5
    wrong_hash, huge, no_content, hostile = (copy.deepcopy(d) for d in case1[:4])
    wrong_hash["content"][0]["attachment"]["hash"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    huge["content"][0]["attachment"]["size"] = 5_000_000_000
    del no_content["content"]
    hostile["description"] = "../../../../evil-title"
    hostile["content"][0]["attachment"]["title"] = "../../evil\\..\\name.pdf"
    for doc in (wrong_hash, huge, no_content, hostile):
        _put(server, doc)
    lab = copy.deepcopy(next(o for o in store.all("Observation") if "valueQuantity" in o))
    lab["valueQuantity"]["value"] = "lots"
    _put(server, lab)
    study = next(s for s in store.all("ImagingStudy") if s["id"].startswith("syn-0001-"))
    uids = [i["uid"] for s in study["series"] for i in s["instance"]]
    store.put_rendered(uids[0], b"this is not a DICOM file" * 40)
    store.put_rendered(uids[1], server.app.dicomweb.instance_bytes(uids[2]))
    # Case 2's imaging list comes back as broken JSON.
    case2_patient = next(
        t["for"]["reference"] for t in store.all("Task") if t["id"].startswith("syn-0002-")
    )
    dispatch = server.app.dispatch

    def broken(method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if target.startswith("/fhir/ImagingStudy?") and case2_patient.split("/")[1] in target:
            return Reply(200, {"Content-Type": "application/fhir+json"}, b'{"resourceType": "Bu')
        return dispatch(method, target, headers, body)

    server.app.dispatch = broken  # type: ignore[method-assign]

    report, _ = _sync(vault, session)

    assert report.state == "incomplete"
    ready = readiness(vault)
    errors1 = {(e.ref, e.error_kind) for e in ready["syn-0001-task"].errors}
    assert errors1 == {
        (wrong_hash["id"], "HashMismatch"),
        (huge["id"], "SizeLimitExceeded"),
        (f"DocumentReference/{no_content['id']}", "MalformedServerData"),
        (f"Observation/{lab['id']}", "MalformedServerData"),
        (uids[0], "NotDicom"),
        (uids[1], "NotDicom"),
    }
    messages = " ".join(e.message for e in ready["syn-0001-task"].errors)
    assert "5000000000 bytes" in messages
    errors2 = {(e.ref, e.error_kind) for e in ready["syn-0002-task"].errors}
    assert errors2 == {("ImagingStudy", "MalformedServerData")}
    assert not ready["syn-0001-task"].complete and not ready["syn-0002-task"].complete
    assert ready["syn-0003-task"].complete
    # The rest of each case is there and exact.
    got, want = vault_content(vault), server_content(server)
    bad_records = {wrong_hash["id"], huge["id"], no_content["id"]}
    assert {r for r in want["syn-0001-task"]["records"] if r[0] not in bad_records} == got[
        "syn-0001-task"
    ]["records"]
    assert got["syn-0001-task"]["instances"] == {
        i for i in want["syn-0001-task"]["instances"] if i[0] not in uids[:2]
    }
    assert got["syn-0002-task"]["records"] == want["syn-0002-task"]["records"]
    assert got["syn-0003-task"] == want["syn-0003-task"]
    labs = (
        vault.read()
        .execute("SELECT count(*) FROM lab_results WHERE case_id = 'syn-0001-task'")
        .fetchone()[0]
    )
    assert labs > 0
    # Server-supplied names never became paths.
    profile_files = [p.name for p in vault.profile.root.rglob("*")]
    assert not [n for n in profile_files if "evil" in n]
    assert not list(Path("/tmp").glob("evil*"))
    assert not list(tmp_path.parent.glob("evil*"))


def _draft(vault: Vault, case_id: str) -> None:
    vault.write_sync(
        lambda conn: conn.execute(
            "INSERT INTO drafts (draft_id, case_id, body, updated_at) VALUES (?, ?, 'x', 'now')",
            (f"draft-{case_id}", case_id),
        )
    )


def test_withdrawn_and_reassigned_cases_are_crypto_shredded_but_drafts_stay(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    report, _ = _sync(vault, session)
    assert report.state == "complete"
    conn = vault.read()

    def objects_of(case_id: str) -> set[str]:
        return {
            row[0]
            for row in conn.execute(
                "SELECT object_id FROM instances WHERE case_id = ?1 "
                "UNION SELECT object_id FROM records WHERE case_id = ?1",
                (case_id,),
            )
        }

    gone = objects_of("syn-0001-task") | objects_of("syn-0002-task")
    files = [vault.objects.path_for(o) for o in gone]
    assert all(f.exists() for f in files)
    _draft(vault, "syn-0001-task")
    _draft(vault, "syn-0002-task")
    with admin(server) as staff:
        staff.post("/withdraw", json={"case": "SYN-0001"}).raise_for_status()
        staff.post("/reassign", json={"case": "SYN-0002", "practitioner": "spec-2"})

    report, recorder = _sync(vault, session)

    assert report.state == "complete"
    assert set(report.purged) == {"syn-0001-task", "syn-0002-task"}
    assert {(e.case_id, e.reason, e.drafts_kept) for e in recorder.of(CasePurged)} == {
        ("syn-0001-task", "withdrawn", 1),
        ("syn-0002-task", "reassigned", 1),
    }
    assert not gone & _object_ids(vault)
    assert not [f for f in files if f.exists()]
    for table in ("cases", "case_sync", "records", "instances", "lab_results", "sync_items"):
        left = conn.execute(
            f"SELECT count(*) FROM {table} WHERE case_id IN ('syn-0001-task', 'syn-0002-task')"
        ).fetchone()[0]
        assert left == 0, table
    drafts = dict(conn.execute("SELECT case_id, orphaned FROM drafts").fetchall())
    assert drafts == {"syn-0001-task": "withdrawn", "syn-0002-task": "reassigned"}
    assert vault_content(vault) == server_content(server)
    assert [c.case_id for c in vault.cases()] == ["syn-0003-task"]


def test_uploaded_cases_are_purged_after_retention_even_when_pinned(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    store = server.app.store
    task = copy.deepcopy(store.get("Task", "syn-0001-task"))
    assert task is not None
    task["status"] = "completed"
    completed_at = datetime.fromisoformat(store.put(task)["meta"]["lastUpdated"])
    report, _ = _sync(vault, session)
    assert report.state == "complete"
    set_pinned(vault, "syn-0001-task", True)
    set_pinned(vault, "syn-0002-task", True)

    day_29 = completed_at + timedelta(days=29)
    report, _ = _sync(vault, session, now=lambda: day_29)
    assert report.purged == ()

    day_30 = completed_at + timedelta(days=30, seconds=1)
    report, recorder = _sync(vault, session, now=lambda: day_30)
    assert report.purged == ("syn-0001-task",)
    assert [(e.reason) for e in recorder.of(CasePurged)] == ["retention"]
    assert {c.case_id: c.pinned for c in vault.cases()} == {
        "syn-0002-task": True,
        "syn-0003-task": False,
    }
    # Not fetched again: it is still the specialist's, but the platform's retention ended.
    report, _ = _sync(vault, session, now=lambda: day_30)
    assert "syn-0001-task" not in {c.case_id for c in vault.cases()}


def test_offline_is_reported_backed_off_and_recovers(tmp_path: Path) -> None:
    storage = tmp_path / "srv"
    running = start(cases=1, seed=1, storage=storage, ct_slices=4)
    port = int(running.base_url.rsplit(":", 1)[1])
    token = running.admin_token
    server_content(running)
    session = signed_in(running)
    running.stop()
    vault, _ = memory_vault(tmp_path / "profile")
    delays: list[float] = []
    restarted: list[RunningServer] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            restarted.append(
                start(port=port, cases=1, seed=1, storage=storage, ct_slices=4, admin_token=token)
            )

    backoff = fast_retry()
    backoff.sleep = sleep
    backoff.base_delay = 1.0
    recorder = Recorder()
    try:
        with SyncEngine(vault, session, on_event=recorder, retry=fast_retry(2)) as engine:
            report = sync_until_done(engine, backoff=backoff, attempts=10)
        assert report.state == "complete"
        offline = recorder.of(Offline)
        assert [e.retry_in for e in offline if e.retry_in is not None] == delays
        assert len(delays) == 3
        # Full jitter under a doubling ceiling.
        assert all(0 <= d <= 2**i for i, d in enumerate(delays))
        assert vault_content(vault) == server_content(restarted[0])
    finally:
        session.close()
        vault.close()
        for server_ in restarted:
            server_.stop()


def _orthanc_bytes(orthanc: Orthanc, sop_uid: str) -> bytes:
    with httpx.Client(base_url=orthanc.url, timeout=30) as client:
        found = client.post("/tools/lookup", content=sop_uid).json()
        instance = next(f["ID"] for f in found if f["Type"] == "Instance")
        return client.get(f"/instances/{instance}/file").content


@pytest.mark.slow
def test_sync_with_orthanc_as_the_dicomweb_server(
    orthanc: Orthanc,
    tmp_path: Path,
) -> None:
    orthanc.clear()
    running = start(
        cases=1, seed=3, storage=tmp_path / "srv", ct_slices=4, dicomweb=orthanc.dicomweb
    )
    vault, _ = memory_vault(tmp_path / "profile")
    try:
        with signed_in(running) as session:
            report, _ = _sync(vault, session)
        assert report.state == "complete"
        conn = vault.read()
        rows = conn.execute("SELECT sop_instance_uid, object_id FROM instances").fetchall()
        assert rows
        for uid, object_id in rows:
            stored = vault.objects.read_bytes(object_id)
            assert (
                hashlib.sha256(stored).digest()
                == hashlib.sha256(_orthanc_bytes(orthanc, uid)).digest()
            )
        base = conn.execute("SELECT DISTINCT dicomweb_base FROM studies").fetchall()
        assert base == [(orthanc.dicomweb,)]
    finally:
        vault.close()
        running.stop()


def test_cancel_leaves_the_rest_pending_and_a_later_run_finishes(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    holder: list[SyncEngine] = []

    def cancel_on_first_image(event: SyncEvent) -> None:
        if isinstance(event, ItemFinished) and event.kind == "instance":
            holder[0].cancel()

    with SyncEngine(
        vault, session, workers=2, on_event=cancel_on_first_image, retry=fast_retry()
    ) as engine:
        holder.append(engine)
        report = engine.run()
    assert report.state == "cancelled"
    assert not all(r.complete for r in readiness(vault).values())
    report, _ = _sync(vault, session)
    assert report.state == "complete"
    assert vault_content(vault) == server_content(server)
