"""Series streaming: a series arrives in one WADO-RS request; whatever the stream does
not bring (cut, bad or foreign parts) comes one instance per request, with the item's
own error; a mostly-done series is not streamed again."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

import pytest

from demo_server.reply import Reply
from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.sync import series
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.sync.events import ItemFinished, ItemStarted, Phase, SyncEvent
from reviewer_app.sync.local import WorkItem
from reviewer_app.sync.readiness import readiness
from reviewer_app.sync.series import SeriesJob
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import admin, fast_retry, server_content, vault_content

_SERIES_PATH = re.compile(r"/series/[^/]+$")
_INSTANCE_PATH = re.compile(r"/instances/[^/]+$")


class Requests:
    """Counts the server's WADO-RS requests: whole series and single instances."""

    def __init__(self, server: RunningServer) -> None:
        self.series: list[str] = []
        self.instances: list[str] = []
        original = server.app.dicomweb.handle

        def recording(
            method: str, parts: list[str], query: list[tuple[str, str]], headers: dict[str, str]
        ) -> Reply:
            if len(parts) == 4:
                self.series.append(parts[3])
            elif len(parts) == 6:
                self.instances.append(parts[5])
            return original(method, parts, query, headers)

        server.app.dicomweb.handle = recording  # type: ignore[method-assign]


def _sync(vault: Vault, session: PlatformSession, events: list[SyncEvent]) -> Any:
    with SyncEngine(vault, session, on_event=events.append, retry=fast_retry()) as engine:
        return engine.run()


def _largest(server: RunningServer, case_prefix: str = "syn-0001-") -> dict[str, Any]:
    study = next(s for s in server.app.store.all("ImagingStudy") if s["id"].startswith(case_prefix))
    return max(study["series"], key=lambda s: len(s["instance"]))


def _ct(server: RunningServer, case_prefix: str = "syn-0001-") -> list[str]:
    """The SOP Instance UIDs of a case's largest series (the CT), in order."""
    return [i["uid"] for i in _largest(server, case_prefix)["instance"]]


def test_every_series_of_four_or_more_comes_in_one_request(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    requests = Requests(server)
    events: list[SyncEvent] = []
    threads_before = set(threading.enumerate())

    report = _sync(vault, session, events)

    assert report.state == "complete"
    assert vault_content(vault) == server_content(server)
    ct = _ct(server)
    assert len(ct) >= series.STREAM_MIN
    assert requests.series.count(_largest(server)["uid"]) == 1
    assert not set(ct) & set(requests.instances)
    # Each instance is one item: started once, finished once, with its bytes.
    started = Counter(e.ref for e in events if isinstance(e, ItemStarted))
    finished = [e for e in events if isinstance(e, ItemFinished) and e.ref in ct]
    assert all(started[uid] == 1 for uid in ct)
    assert sorted(e.ref for e in finished) == sorted(ct)
    assert all(e.error is None and e.size == e.fetched > 0 for e in finished)
    # Instances are stored without a plaintext digest (GCM authenticates them), records
    # with one; the vault's check passes on both.
    digests = dict(
        vault.read().execute("SELECT kind, count(sha256) FROM objects GROUP BY kind").fetchall()
    )
    assert digests["dicom"] == 0 and digests["record"] > 0
    assert vault.objects.verify_all() == []
    # Closing the engine stopped its store threads.
    store_threads = set(threading.enumerate()) - threads_before
    assert not [t for t in store_threads if t.name.startswith("sync-store")]


def test_a_cut_stream_is_finished_one_instance_at_a_time(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    ct = _ct(server)
    first = len(server.app.dicomweb.instance_bytes(ct[0]))
    requests = Requests(server)
    with admin(server) as staff:
        # The connection drops in the second instance of every series stream, once each.
        staff.post(
            "/faults",
            json={"drop_after_bytes": first + first // 2, "path": _SERIES_PATH.pattern},
        ).raise_for_status()
    events: list[SyncEvent] = []

    report = _sync(vault, session, events)

    assert report.state == "complete"
    assert vault_content(vault) == server_content(server)
    # Some of the CT came in the stream, the rest one by one, none twice.
    assert 0 < len(set(ct) & set(requests.instances)) < len(ct)
    assert len(requests.instances) == len(set(requests.instances))


def test_bad_and_foreign_parts_fail_alone_and_the_rest_of_the_series_is_stored(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    ct = _ct(server)
    store = server.app.store
    good = {uid: server.app.dicomweb.instance_bytes(uid) for uid in ct}
    # The second instance is served as the third (a foreign part, then a repeat).
    store.put_rendered(ct[1], good[ct[2]])
    requests = Requests(server)
    events: list[SyncEvent] = []

    report = _sync(vault, session, events)

    assert report.state == "incomplete"
    errors = {(e.ref, e.error_kind) for e in readiness(vault)["syn-0001-task"].errors}
    assert errors == {(ct[1], "NotDicom")}
    # The stream stored the others (the third once); the bad one was asked on its own.
    assert ct[1] in requests.instances
    assert not {ct[0], ct[2], *ct[3:]} & set(requests.instances)
    stored = vault_content(vault)["syn-0001-task"]["instances"]
    expected = server_content(server)["syn-0001-task"]["instances"]
    assert stored == {pair for pair in expected if pair[0] != ct[1]}


def test_not_dicom_in_the_stream_ends_it_and_the_rest_comes_one_by_one(
    server: RunningServer, vault: Vault, session: PlatformSession
) -> None:
    ct = _ct(server)
    server.app.store.put_rendered(ct[0], b"this is not a DICOM file" * 40)
    requests = Requests(server)

    report = _sync(vault, session, [])

    assert report.state == "incomplete"
    errors = {(e.ref, e.error_kind) for e in readiness(vault)["syn-0001-task"].errors}
    assert errors == {(ct[0], "NotDicom")}
    assert set(ct) <= set(requests.instances)


def _items(vault: Vault, uids: list[str]) -> list[WorkItem]:
    rows = {
        row[0]: row
        for row in vault.read().execute(
            "SELECT n.sop_instance_uid, n.case_id, n.study_uid, n.series_uid, s.dicomweb_base "
            "FROM instances n JOIN studies s ON s.case_id = n.case_id "
            "AND s.study_uid = n.study_uid"
        )
    }
    return [
        WorkItem(
            rows[uid][1],
            "instance",
            uid,
            Phase.IMAGING,
            None,
            None,
            dicomweb_base=rows[uid][4],
            study_uid=rows[uid][2],
            series_uid=rows[uid][3],
        )
        for uid in uids
    ]


def test_a_series_is_streamed_only_while_most_of_it_is_missing(
    server: RunningServer, vault: Vault, session: PlatformSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _sync(vault, session, []).state == "complete"
    ct = _ct(server)
    items = _items(vault, ct)

    (job,) = series.plan(vault, items)
    assert isinstance(job, SeriesJob) and [i.ref for i in job.items] == ct
    assert series.plan(vault, items[: series.STREAM_MIN - 1]) == items[: series.STREAM_MIN - 1]
    monkeypatch.setattr(series, "STREAM_MIN", 1)
    half = len(ct) // 2
    assert isinstance(series.plan(vault, items[:half])[0], SeriesJob)
    assert series.plan(vault, items[: half - 1]) == items[: half - 1]
    # The job takes its series' place among other items.
    other = _items(vault, _ct(server, "syn-0002-"))
    planned = series.plan(vault, [other[0], *items, *other[1:]])
    assert [type(p).__name__ for p in planned] == ["SeriesJob", "SeriesJob"]
    assert planned[0].items == tuple(other)  # type: ignore[union-attr]
