"""The FHIR R4 client: searches with paging, reads with ETag, the opinion transaction,
the audit batch, and Binary downloads that resume with Range and are checked by size
and SHA-1 before the caller stores anything.

All URLs it follows (``link[next]``, attachment URLs) must stay on the FHIR base's
origin, so a hostile answer cannot send the bearer token elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx

from reviewer_app.domain import (
    CaseTask,
    LabResult,
    PatientInfo,
    PractitionerInfo,
    RecordRef,
    Referral,
    StudyRef,
)
from reviewer_app.errors import (
    HashMismatch,
    InsecureServerAddress,
    MalformedServerData,
    ServerUnreachable,
    SizeLimitExceeded,
)
from reviewer_app.exchange import resources
from reviewer_app.exchange.http import (
    HttpSettings,
    RetryPolicy,
    check_declared_size,
    check_server_url,
    check_status,
    read_json,
    same_origin,
    translate_errors,
)

FHIR_JSON = "application/fhir+json"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_MAX_PAGES = 10_000
AUDIT_BATCH_SIZE = 100


@dataclass(frozen=True)
class SearchPage:
    """One page of a searchset Bundle: its resources and the Bundle's lastUpdated."""

    resources: list[dict[str, Any]]
    last_updated: str | None


@dataclass(frozen=True)
class ReadResult:
    """A resource read with its ETag (``W/"<versionId>"``), for a later ``ifMatch``."""

    resource: dict[str, Any]
    etag: str | None


@dataclass(frozen=True)
class CaseSync:
    """The Tasks changed since a cursor, and the cursor to store once they are saved."""

    cases: list[CaseTask]
    cursor: str | None


class FhirClient:
    """Talks FHIR to one platform through an authenticated ``httpx.Client``."""

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        *,
        settings: HttpSettings | None = None,
        download_retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = check_server_url(base_url.rstrip("/")) + "/"
        self.client = client
        self.settings = settings or HttpSettings()
        self.download_retry = download_retry or RetryPolicy(max_attempts=6)

    # --- plumbing -----------------------------------------------------------------

    def url(self, relative: str) -> str:
        """Resolve a relative reference (``Binary/b-1``) against the base; same origin only."""
        absolute = urljoin(self.base_url, relative)
        if not same_origin(absolute, self.base_url):
            raise MalformedServerData("reference", "url", "points away from the platform")
        return absolute

    def _json(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], httpx.Headers]:
        all_headers = {"Accept": FHIR_JSON, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = FHIR_JSON
        with (
            translate_errors(),
            self.client.stream(
                method, url, params=params, json=body, headers=all_headers
            ) as response,
        ):
            check_status(response)
            data = read_json(response, what, self.settings.max_json_bytes)
            return data, response.headers

    # --- search and read ----------------------------------------------------------

    def search_pages(self, resource_type: str, params: dict[str, str]) -> Iterator[SearchPage]:
        """Run a search and follow ``link[next]`` until the last page."""
        url: str | None = self.url(resource_type)
        query: dict[str, str] | None = params
        seen: set[str] = set()
        pages = 0
        while url is not None:
            pages += 1
            if pages > _MAX_PAGES:
                raise MalformedServerData("Bundle", "link", "too many pages")
            bundle, _ = self._json("GET", url, "Bundle", params=query)
            yield _parse_searchset(bundle, resource_type)
            url, query = self._next_link(bundle), None
            if url is not None:
                if url in seen:
                    raise MalformedServerData("Bundle", "link", "next page loops back")
                seen.add(url)

    def _next_link(self, bundle: dict[str, Any]) -> str | None:
        links = bundle.get("link", [])
        if not isinstance(links, list):
            raise MalformedServerData("Bundle", "link", "not a list")
        for link in links:
            if not isinstance(link, dict):
                raise MalformedServerData("Bundle", "link", "an entry is not an object")
            if link.get("relation") == "next":
                target = link.get("url")
                if not isinstance(target, str) or not target:
                    raise MalformedServerData("Bundle", "link.url", "missing")
                return self.url(target)
        return None

    def search(self, resource_type: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        """Every matching resource across all pages."""
        for page in self.search_pages(resource_type, params):
            yield from page.resources

    def read(self, resource_type: str, resource_id: str) -> ReadResult:
        """``GET {type}/{id}``: the resource and its ETag."""
        resources.fhir_id(resource_id, resource_type, "id")
        data, headers = self._json("GET", self.url(f"{resource_type}/{resource_id}"), resource_type)
        if data.get("resourceType") != resource_type:
            raise MalformedServerData(resource_type, "resourceType", "not the expected type")
        return ReadResult(data, headers.get("ETag"))

    # --- the domain's searches ----------------------------------------------------

    def fetch_cases(self, practitioner_id: str, since: str | None = None) -> CaseSync:
        """Tasks owned by the specialist changed after ``since`` (all when None).

        The returned cursor is the first page's ``Bundle.meta.lastUpdated`` (the
        server's snapshot time); store it only after the cases are saved.
        """
        resources.fhir_id(practitioner_id, "Practitioner", "id")
        params = {"owner": f"Practitioner/{practitioner_id}", "_count": "50"}
        if since is not None:
            params["_lastUpdated"] = f"gt{since}"
        cases: list[CaseTask] = []
        cursor = None
        for number, page in enumerate(self.search_pages("Task", params)):
            if number == 0:
                cursor = page.last_updated
            cases.extend(resources.parse_task(r) for r in page.resources)
        return CaseSync(cases, cursor)

    def case_index(self, practitioner_id: str) -> dict[str, str]:
        """Id → status of every Task the specialist owns now (for reconciliation)."""
        resources.fhir_id(practitioner_id, "Practitioner", "id")
        params = {
            "owner": f"Practitioner/{practitioner_id}",
            "_elements": "id,status",
            "_count": "200",
        }
        index = {}
        for task in self.search("Task", params):
            task_id = resources.fhir_id(task.get("id"), "Task", "id")
            status = task.get("status", "")
            index[task_id] = status if isinstance(status, str) else ""
        return index

    def patient(self, patient_id: str) -> PatientInfo:
        """Read a Patient."""
        return resources.parse_patient(self.read("Patient", patient_id).resource)

    def practitioner(self, practitioner_id: str) -> PractitionerInfo:
        """Read a Practitioner."""
        return resources.parse_practitioner(self.read("Practitioner", practitioner_id).resource)

    def referral(self, referral_id: str) -> Referral:
        """Read a ServiceRequest (the referral and its clinical questions)."""
        return resources.parse_referral(self.read("ServiceRequest", referral_id).resource)

    def records(self, patient_id: str) -> list[RecordRef]:
        """The patient's Records (DocumentReference)."""
        resources.fhir_id(patient_id, "Patient", "id")
        found = self.search(
            "DocumentReference", {"patient": f"Patient/{patient_id}", "_count": "50"}
        )
        return [resources.parse_record(r) for r in found]

    def labs(self, patient_id: str) -> list[LabResult]:
        """The patient's laboratory Observations."""
        resources.fhir_id(patient_id, "Patient", "id")
        params = {
            "patient": f"Patient/{patient_id}",
            "category": resources.LAB_CATEGORY,
            "_count": "200",
        }
        return [resources.parse_lab(r) for r in self.search("Observation", params)]

    def studies(self, patient_id: str) -> list[StudyRef]:
        """The patient's ImagingStudies."""
        resources.fhir_id(patient_id, "Patient", "id")
        found = self.search("ImagingStudy", {"patient": f"Patient/{patient_id}"})
        return [resources.parse_study(r) for r in found]

    def dicomweb_base(self, study: StudyRef, contained: Sequence[dict[str, Any]] = ()) -> str:
        """The DICOMweb base of a study, from its Endpoint (contained or referenced)."""
        ref = study.endpoint_reference
        if not ref:
            raise MalformedServerData("ImagingStudy", "endpoint", "missing")
        if ref.startswith("#"):
            endpoint = next((c for c in contained if c.get("id") == ref[1:]), None)
            if endpoint is None:
                raise MalformedServerData("ImagingStudy", "endpoint", "contained one missing")
        else:
            endpoint_id = resources.reference_id(ref, "Endpoint", "ImagingStudy", "endpoint")
            endpoint = self.read("Endpoint", endpoint_id).resource
        address = resources.parse_endpoint(endpoint)
        try:
            return check_server_url(address)
        except InsecureServerAddress as exc:
            raise MalformedServerData("Endpoint", "address", "not an https URL") from exc

    def find_opinion(self, identifier: str) -> str | None:
        """The id of the DocumentReference with this identifier (a sent opinion), if any."""
        params = {"identifier": f"urn:ietf:rfc:3986|{identifier}"}
        for doc in self.search("DocumentReference", params):
            return resources.fhir_id(doc.get("id"), "DocumentReference", "id")
        return None

    # --- writes -------------------------------------------------------------------

    def transaction(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction Bundle; VersionConflict on 412; the response Bundle."""
        return self._bundle_post(bundle, "transaction")

    def _bundle_post(self, bundle: dict[str, Any], kind: str) -> dict[str, Any]:
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != kind:
            raise ValueError(f"not a {kind} Bundle")
        data, _ = self._json("POST", self.base_url.rstrip("/"), "Bundle", body=bundle)
        if data.get("resourceType") != "Bundle" or data.get("type") != f"{kind}-response":
            raise MalformedServerData("Bundle", "type", f"not a {kind}-response")
        entries = data.get("entry")
        if not isinstance(entries, list) or len(entries) != len(bundle.get("entry", [])):
            raise MalformedServerData("Bundle", "entry", "not one answer per request")
        for entry in entries:
            response = entry.get("response") if isinstance(entry, dict) else None
            if not isinstance(response, dict) or not isinstance(response.get("status"), str):
                raise MalformedServerData("Bundle", "entry.response.status", "missing")
        return data

    def post_audit_events(self, events: Sequence[dict[str, Any]]) -> list[str]:
        """Send AuditEvents as ``batch`` Bundles of ``PUT AuditEvent/{id}`` (at most 100 each).

        Returns the ids the server did not accept, to be sent again later.
        """
        failed: list[str] = []
        for start in range(0, len(events), AUDIT_BATCH_SIZE):
            chunk = events[start : start + AUDIT_BATCH_SIZE]
            ids = [_own_id(e) for e in chunk]
            bundle = {
                "resourceType": "Bundle",
                "type": "batch",
                "entry": [
                    {
                        "resource": event,
                        "request": {"method": "PUT", "url": f"AuditEvent/{event_id}"},
                    }
                    for event, event_id in zip(chunk, ids, strict=True)
                ],
            }
            answer = self._bundle_post(bundle, "batch")
            for event_id, entry in zip(ids, answer["entry"], strict=True):
                if not entry["response"]["status"].strip().startswith("2"):
                    failed.append(event_id)
        return failed

    # --- Binary -------------------------------------------------------------------

    def download(
        self,
        record: RecordRef,
        sink: Callable[[bytes], object],
        *,
        have: Iterable[bytes] = (),
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        """Fetch a Record's bytes into ``sink``; return only if size and SHA-1 match.

        ``have`` replays bytes already received in an earlier session (a partial object
        in the vault): they are hashed, not downloaded again, and the download goes on
        with ``Range``. A dropped connection is resumed the same way, up to the retry
        policy's attempts. The sink receives only new bytes; the caller must keep what
        it wrote as partial until this returns (HashMismatch: discard it).
        """
        limit = self.settings.max_binary_bytes
        if record.size > limit:
            raise SizeLimitExceeded("record", record.size, limit)
        download = _Download(self, self.url(record.url), record, sink, on_progress)
        for chunk in have:
            download.hasher.update(chunk)
            download.received += len(chunk)
        if download.received > record.size:
            raise HashMismatch("The partly downloaded file is longer than the record.")
        if download.received < record.size:
            self.download_retry.run(download.attempt)
        if not hmac.compare_digest(download.hasher.digest(), record.sha1):
            raise HashMismatch()


class _Download:
    """One Binary download's progress across attempts: bytes so far, hash, ETag."""

    def __init__(
        self,
        fhir: FhirClient,
        url: str,
        record: RecordRef,
        sink: Callable[[bytes], object],
        on_progress: Callable[[int, int], object] | None,
    ) -> None:
        self.fhir = fhir
        self.url = url
        self.record = record
        self.sink = sink
        self.on_progress = on_progress
        self.hasher = hashlib.sha1(usedforsecurity=False)
        self.received = 0
        self.etag: str | None = None

    def attempt(self) -> None:
        """GET the rest of the bytes (``Range`` from what we have) into the sink."""
        limit = self.fhir.settings.max_binary_bytes
        size = self.record.size
        headers = {"Accept": self.record.content_type or "*/*"}
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
            if self.etag:
                headers["If-Range"] = self.etag
        with (
            translate_errors(),
            self.fhir.client.stream("GET", self.url, headers=headers) as response,
        ):
            check_status(response)
            skip = 0
            if response.status_code == 206:
                match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
                if not match:
                    raise MalformedServerData("Binary", "Content-Range", "missing or invalid")
                first, total = int(match.group(1)), int(match.group(3))
                if first != self.received:
                    raise MalformedServerData("Binary", "Content-Range", "not the asked range")
            elif response.status_code == 200:
                # The server ignored Range (or the file changed, If-Range): skip what we
                # have; if the file changed, the hash check at the end catches it.
                skip = self.received
                check_declared_size(response, "record", limit)
                declared = response.headers.get("Content-Length")
                total = int(declared) if declared else size
            else:
                raise MalformedServerData("Binary", "status", "unexpected success status")
            if total > limit:
                raise SizeLimitExceeded("record", total, limit)
            if total != size:
                raise HashMismatch("The file's size differs from what the record announced.")
            self.etag = response.headers.get("ETag")
            for data in response.iter_bytes():
                chunk = data
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if not chunk:
                        continue
                if self.received + len(chunk) > size:
                    raise HashMismatch("The file is longer than the record announced.")
                self.hasher.update(chunk)
                self.sink(chunk)
                self.received += len(chunk)
                if self.on_progress is not None:
                    self.on_progress(self.received, size)
        if self.received < size:
            # The body ended early without a transport error: resume like a drop.
            raise ServerUnreachable("The download was interrupted.")


def _own_id(event: dict[str, Any]) -> str:
    """An AuditEvent's id, which the app minted (a UUID): a bad one is our bug."""
    event_id = event.get("id")
    if not isinstance(event_id, str) or not resources.FHIR_ID.fullmatch(event_id):
        raise ValueError("an AuditEvent needs an id the app minted (a UUID)")
    return event_id


def _parse_searchset(bundle: dict[str, Any], resource_type: str) -> SearchPage:
    if bundle.get("resourceType") != "Bundle":
        raise MalformedServerData("Bundle", "resourceType", "not a Bundle")
    if bundle.get("type") != "searchset":
        raise MalformedServerData("Bundle", "type", "not a searchset")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise MalformedServerData("Bundle", "entry", "not a list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise MalformedServerData("Bundle", "entry", "an entry is not an object")
        search = entry.get("search")
        # _include'd or OperationOutcome entries are not matches.
        if isinstance(search, dict) and search.get("mode") not in (None, "match"):
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            raise MalformedServerData("Bundle", "entry.resource", "missing")
        if resource.get("resourceType") != resource_type:
            continue
        found.append(resource)
    meta = bundle.get("meta")
    last_updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if last_updated is not None and (
        not isinstance(last_updated, str) or resources.parse_datetime(last_updated) is None
    ):
        raise MalformedServerData("Bundle", "meta.lastUpdated", "not a FHIR instant")
    return SearchPage(found, last_updated)
