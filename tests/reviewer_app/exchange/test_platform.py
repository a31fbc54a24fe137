"""The exchange against the reference server (demo_server): sign-in with PKCE through a
stand-in browser, silent refresh, revocation, paging, resumable downloads under
injected faults, the transaction's version check, audit batches and DICOMweb.

The reference server is the other side of the contract; the app never imports it, the
tests only start it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reviewer_app.errors import (
    HashMismatch,
    ServerError,
    SignInRequired,
    SizeLimitExceeded,
    VersionConflict,
)
from reviewer_app.exchange import oauth
from reviewer_app.exchange.http import HttpSettings
from reviewer_app.exchange.session import PlatformSession
from reviewer_app.exchange.tokens import MemoryTokenStore

demo = pytest.importorskip("demo_server.server", reason="the reference server is not there")

CT_SLICES = 6


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    server = demo.start(cases=2, ct_slices=CT_SLICES)
    yield server
    server.stop()


def admin(platform: Any, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    headers = {"Authorization": f"Bearer {platform.admin_token}"}
    response = httpx.request(
        method, f"{platform.base_url}/admin/{path}", json=body, headers=headers
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture(autouse=True)
def _no_faults(platform: Any) -> Iterator[None]:
    yield
    admin(platform, "DELETE", "faults")


class Browser:
    """Stands in for the system browser: logs in on the platform's form and follows the
    redirect to the app's loopback listener, in a thread as a real browser would."""

    def __init__(self, username: str = "dr.demo", password: str = "demo") -> None:
        self.username = username
        self.password = password
        self.opened: list[str] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        thread = threading.Thread(target=self._log_in, args=(url,))
        thread.start()
        self.threads.append(thread)
        return True

    def _log_in(self, url: str) -> None:
        parts = urlsplit(url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
        with httpx.Client() as browser:
            assert browser.get(url).status_code == 200  # the login form
            answer = browser.post(
                endpoint, data={**params, "username": self.username, "password": self.password}
            )
            assert answer.status_code == 302
            browser.get(answer.headers["Location"])

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)


def _session(platform: Any, **kwargs: Any) -> PlatformSession:
    return PlatformSession(platform.fhir_base, MemoryTokenStore(), **kwargs)


@pytest.fixture
def session(platform: Any) -> Iterator[PlatformSession]:
    browser = Browser()
    with _session(platform) as signed_in:
        signed_in.sign_in(open_browser=browser, timeout=20)
        browser.join()
        yield signed_in


def test_sign_in_with_pkce(platform: Any) -> None:
    browser = Browser()
    with _session(platform) as session:
        tokens = session.sign_in(open_browser=browser, timeout=20)
        browser.join()
        (url,) = browser.opened
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"]
        assert query["client_id"] == ["reviewer-desktop"]
        assert query["aud"] == [platform.fhir_base]
        assert urlsplit(query["redirect_uri"][0]).hostname == "127.0.0.1"
        assert tokens.refresh_token and tokens.access_token
        assert session.store.load() == tokens
        assert session.practitioner_id() == "spec-1"
        assert session.fhir.practitioner("spec-1").name


def test_wrong_password_never_reaches_the_app(platform: Any) -> None:
    from reviewer_app.errors import SignInFailed

    class WrongPassword(Browser):
        def _log_in(self, url: str) -> None:
            with httpx.Client() as browser:
                parts = urlsplit(url)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                answer = browser.post(
                    f"{parts.scheme}://{parts.netloc}{parts.path}",
                    data={**params, "username": "dr.demo", "password": "nope"},
                )
                assert answer.status_code == 200  # the form again, no redirect

    browser = WrongPassword()
    with _session(platform) as session, pytest.raises(SignInFailed, match="in time"):
        session.sign_in(open_browser=browser, timeout=1.5)
    browser.join()


def test_cases_records_labs_and_paging(session: PlatformSession) -> None:
    fhir = session.fhir
    sync = fhir.fetch_cases("spec-1")
    assert len(sync.cases) == 2
    assert sync.cursor is not None
    case = sync.cases[0]
    assert case.owner_id == "spec-1"
    assert case.case_key and case.case_key.startswith("SYN-")
    # Nothing changed since the cursor.
    assert fhir.fetch_cases("spec-1", since=sync.cursor).cases == []
    # One Task per page: the client follows link[next] across pages.
    pages = list(fhir.search_pages("Task", {"owner": "Practitioner/spec-1", "_count": "1"}))
    assert len(pages) == 2
    assert [p.resources[0]["id"] for p in pages] == [c.case_id for c in sync.cases]
    assert set(fhir.case_index("spec-1")) == {c.case_id for c in sync.cases}

    patient = fhir.patient(case.patient_id)
    assert patient.name.startswith("Testpatient")
    assert case.referral_id is not None
    assert fhir.referral(case.referral_id).clinical_questions
    assert fhir.records(case.patient_id)
    labs = fhir.labs(case.patient_id)
    assert labs and all(lab.value is not None or lab.value_text for lab in labs)


def test_download_resumes_after_injected_drops(session: PlatformSession, platform: Any) -> None:
    fhir = session.fhir
    case = fhir.fetch_cases("spec-1").cases[0]
    record = max(fhir.records(case.patient_id), key=lambda r: r.size)
    clean = bytearray()
    fhir.download(record, clean.extend)
    assert hashlib.sha1(clean).digest() == record.sha1
    assert len(clean) == record.size
    drop = max(1, record.size // 3)
    admin(platform, "POST", "faults", {"drop_after_bytes": drop, "path": "Binary", "times": 2})
    progress: list[int] = []
    resumed = bytearray()
    fhir.download(record, resumed.extend, on_progress=lambda got, _total: progress.append(got))
    assert resumed == clean
    assert progress[-1] == record.size
    # And across sessions: start from a partial copy.
    tail = bytearray()
    fhir.download(record, tail.extend, have=[bytes(clean[: record.size // 2])])
    assert bytes(clean[: record.size // 2]) + tail == clean


def test_hash_and_size_checks(session: PlatformSession, platform: Any) -> None:
    fhir = session.fhir
    case = fhir.fetch_cases("spec-1").cases[0]
    record = fhir.records(case.patient_id)[0]
    with pytest.raises(HashMismatch):
        fhir.download(dataclasses.replace(record, sha1=b"\0" * 20), bytearray().extend)
    with pytest.raises(HashMismatch):
        fhir.download(dataclasses.replace(record, size=record.size + 1), bytearray().extend)
    small = PlatformSession(
        platform.fhir_base, session.store, settings=HttpSettings(max_binary_bytes=record.size - 1)
    )
    with small, pytest.raises(SizeLimitExceeded):
        small.fhir.download(record, bytearray().extend)


def test_server_errors_are_retried_then_reported(session: PlatformSession, platform: Any) -> None:
    admin(platform, "POST", "faults", {"error_rate": 1.0, "error_status": 503, "path": "Patient"})
    case = session.fhir.fetch_cases("spec-1").cases[0]
    with pytest.raises(ServerError) as caught:
        session.fhir.patient(case.patient_id)
    assert caught.value.status == 503


def test_refresh_before_expiry_rotates_tokens(platform: Any) -> None:
    now = [1_000_000.0]
    browser = Browser()
    with _session(platform, clock=lambda: now[0]) as session:
        first = session.sign_in(open_browser=browser, timeout=20)
        browser.join()
        now[0] += 3600  # long past the access token's lifetime
        assert session.fhir.fetch_cases("spec-1").cases
        second = session.store.load()
        assert second is not None
        assert second.access_token != first.access_token
        assert second.refresh_token != first.refresh_token  # rotated, and kept
        assert second.fhir_user == "Practitioner/spec-1"
        # The old refresh token is dead now.
        with pytest.raises(SignInRequired):
            oauth.refresh(httpx.Client(), session.auth_server, first, client_id="reviewer-desktop")


def test_401_refreshes_once_and_retries(session: PlatformSession) -> None:
    tokens = session.store.load()
    assert tokens is not None
    session.store.save(dataclasses.replace(tokens, access_token="at-not-valid"))
    assert session.fhir.fetch_cases("spec-1").cases
    fresh = session.store.load()
    assert fresh is not None and fresh.access_token not in ("at-not-valid", tokens.access_token)


def test_revoked_refresh_token_means_sign_in(session: PlatformSession) -> None:
    tokens = session.store.load()
    assert tokens is not None and tokens.refresh_token
    oauth.revoke(
        session._plain, session.auth_server, tokens.refresh_token, client_id="reviewer-desktop"
    )
    # The access token went with it: 401, refresh refused, sign in again.
    with pytest.raises(SignInRequired):
        session.fhir.fetch_cases("spec-1")
    assert session.store.load() is None


def test_sign_out_revokes(session: PlatformSession) -> None:
    tokens = session.store.load()
    assert tokens is not None
    session.sign_out()
    assert session.store.load() is None
    with pytest.raises(SignInRequired):
        oauth.refresh(session._plain, session.auth_server, tokens, client_id="reviewer-desktop")


def test_transaction_version_conflict(session: PlatformSession) -> None:
    fhir = session.fhir
    case = fhir.fetch_cases("spec-1").cases[0]
    read = fhir.read("Task", case.case_id)
    assert read.etag == f'W/"{case.version_id}"'
    stale = f'W/"{int(case.version_id) + 5}"'
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"Task/{case.case_id}",
                "resource": {**read.resource, "status": "in-progress"},
                "request": {"method": "PUT", "url": f"Task/{case.case_id}", "ifMatch": stale},
            }
        ],
    }
    with pytest.raises(VersionConflict):
        fhir.transaction(bundle)
    assert fhir.read("Task", case.case_id).resource["meta"]["versionId"] == case.version_id


def test_audit_events(session: PlatformSession, platform: Any) -> None:
    case = session.fhir.fetch_cases("spec-1").cases[0]
    events = [
        {
            "resourceType": "AuditEvent",
            "id": str(uuid.uuid4()),
            "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
            "action": "R",
            "recorded": "2026-11-29T17:45:03.120000Z",
            "outcome": "0",
            "agent": [{"who": {"reference": "Practitioner/spec-1"}, "requestor": True}],
            "source": {"observer": {"display": "Reviewer desktop"}},
            "entity": [{"what": {"reference": f"Task/{case.case_id}"}}],
        }
        for _ in range(3)
    ]
    assert session.fhir.post_audit_events(events) == []
    # Sent again (a lost reply): updated, not duplicated.
    assert session.fhir.post_audit_events(events) == []
    stored = [e["id"] for e in admin(platform, "GET", "audit-events")]
    assert sorted(e["id"] for e in events) == sorted(
        i for i in stored if i in {e["id"] for e in events}
    )
    assert len([i for i in stored if i in {e["id"] for e in events}]) == 3


def test_dicomweb_series_and_qido(session: PlatformSession) -> None:
    fhir = session.fhir
    case = fhir.fetch_cases("spec-1").cases[0]
    (study, *_rest) = fhir.studies(case.patient_id)
    base = fhir.dicomweb_base(study)
    dicomweb = session.dicomweb(base)
    series = study.series[0]
    found = dicomweb.find_instances(study.study_uid, series.series_uid)
    assert len(found) == (series.instance_count or len(found))
    retrieved = list(dicomweb.series(study.study_uid, series.series_uid))
    assert len(retrieved) == len(found)
    assert all(r.data[128:132] == b"DICM" for r in retrieved)
    assert {s.series_uid for s in dicomweb.find_series(study.study_uid)} >= {series.series_uid}
    one = dicomweb.instance(study.study_uid, series.series_uid, found[0].sop_instance_uid)
    assert one[128:132] == b"DICM"


def test_case_fields_as_the_platform_sends_them() -> None:
    server = demo.start(cases=1, ct_slices=2, retention_days=12)
    browser = Browser()
    try:
        with _session(server) as session:
            session.sign_in(open_browser=browser, timeout=20)
            browser.join()
            (case,) = session.fhir.fetch_cases("spec-1").cases
    finally:
        server.stop()
    assert case.retention_days == 12
    assert case.case_key == "SYN-0001"
    assert case.patient_questions
    assert case.due is not None
    assert case.specialty
