"""The sync engine's view of the platform, on top of :mod:`reviewer_app.exchange`.

Adapters rather than new protocol code: the exchange parses whole lists at once (one bad
DocumentReference fails them all), so searches here parse resource by resource and hand
back the failures, which the engine shows on the Case while the rest of it syncs.
Records are downloaded here too, because the engine resumes them from what a partial
object in the vault already holds (the exchange's download needs those bytes replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer_app.domain import (
    CaseTask,
    InstanceRef,
    LabResult,
    PatientInfo,
    RecordRef,
    Referral,
    SeriesRef,
    StudyRef,
)
from reviewer_app.errors import (
    ExchangeError,
    HashMismatch,
    MalformedServerData,
    NotDicom,
    ReviewerError,
    ServerUnreachable,
    SizeLimitExceeded,
)
from reviewer_app.exchange import PlatformSession, RetryPolicy
from reviewer_app.exchange import resources as parse
from reviewer_app.exchange.http import check_declared_size, check_status, translate_errors
from reviewer_app.sync.part10 import quick_sop_instance_uid
from reviewer_app.vault import PartialObject

if TYPE_CHECKING:
    from pydicom.tag import BaseTag

T = TypeVar("T")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
TERMINAL_STATES = ("cancelled", "rejected", "entered-in-error")
# (0008,0018) SOP Instance UID, as pydicom compares tags.
_SOP_INSTANCE_UID = 0x00080018


class Cancelled(Exception):
    """The sync was cancelled while an item was in flight (not an error)."""


@dataclass(frozen=True)
class Unreadable:
    """A resource that could not be used; ``ref`` is ``Type/id`` (or ``Type#n``)."""

    ref: str
    error: Exception


@dataclass(frozen=True)
class StudyListing:
    """A study with its DICOMweb base and its series (instances filled in by QIDO-RS)."""

    study: StudyRef
    dicomweb_base: str
    series: tuple[SeriesRef, ...]


def _ref_of(resource: Any, kind: str, index: int) -> str:
    rid = resource.get("id") if isinstance(resource, dict) else None
    if isinstance(rid, str) and re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid):
        return f"{kind}/{rid}"
    return f"{kind}#{index}"


def _each(
    found: list[dict[str, Any]], kind: str, parser: Callable[[Any], T]
) -> tuple[list[T], list[Unreadable]]:
    good: list[T] = []
    bad: list[Unreadable] = []
    for index, resource in enumerate(found):
        try:
            good.append(parser(resource))
        except ReviewerError as exc:
            bad.append(Unreadable(_ref_of(resource, kind, index), exc))
    return good, bad


def task_from(resource: Any) -> CaseTask:
    """A Task as a CaseTask; the human case key is ``identifier[0].value`` (contract §5)."""
    task = parse.parse_task(resource)
    if task.case_key is None:
        identifiers = resource.get("identifier")
        if isinstance(identifiers, list) and identifiers and isinstance(identifiers[0], dict):
            value = identifiers[0].get("value")
            if isinstance(value, str) and parse.clean_text(value):
                task = replace(task, case_key=parse.clean_text(value)[:64])
    return task


class Remote:
    """One signed-in platform, as the sync engine uses it."""

    def __init__(
        self,
        session: PlatformSession,
        *,
        retry: RetryPolicy | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.session = session
        self.fhir = session.fhir
        self.retry = retry or RetryPolicy(max_attempts=4)
        self.cancel = cancel or threading.Event()
        self._bases: dict[str, str] = {}
        self._bases_lock = threading.Lock()

    def _retried(self, operation: Callable[[], T]) -> T:
        return self.retry.run(operation)

    # --- cases --------------------------------------------------------------------------

    def practitioner_id(self) -> str:
        """The signed-in specialist."""
        return self.session.practitioner_id()

    def changed_tasks(
        self, practitioner_id: str, since: str | None
    ) -> tuple[list[CaseTask], list[Unreadable], str | None]:
        """Tasks changed after ``since`` (all when None), failures, and the next cursor."""
        params = {"owner": f"Practitioner/{practitioner_id}", "_count": "50"}
        if since is not None:
            params["_lastUpdated"] = f"gt{since}"

        def fetch() -> tuple[list[dict[str, Any]], str | None]:
            found: list[dict[str, Any]] = []
            cursor = None
            for number, page in enumerate(self.fhir.search_pages("Task", params)):
                if number == 0:
                    cursor = page.last_updated
                found.extend(page.resources)
            return found, cursor

        found, cursor = self._retried(fetch)
        tasks, bad = _each(found, "Task", task_from)
        return tasks, bad, cursor

    def task(self, case_id: str) -> CaseTask:
        """One Task, read afresh."""
        return task_from(self._retried(lambda: self.fhir.read("Task", case_id)).resource)

    def owned_index(self, practitioner_id: str) -> dict[str, str]:
        """Id → status of every Task the specialist owns now."""
        return self._retried(lambda: self.fhir.case_index(practitioner_id))

    # --- one case's metadata --------------------------------------------------------------

    def patient(self, patient_id: str) -> PatientInfo:
        """The case's Patient."""
        return self._retried(lambda: self.fhir.patient(patient_id))

    def referral(self, referral_id: str) -> Referral:
        """The case's ServiceRequest."""
        return self._retried(lambda: self.fhir.referral(referral_id))

    def _search(self, kind: str, params: dict[str, str]) -> list[dict[str, Any]]:
        return self._retried(lambda: list(self.fhir.search(kind, params)))

    def labs(self, patient_id: str) -> tuple[list[LabResult], list[Unreadable]]:
        """Laboratory Observations, each parsed on its own."""
        parse.fhir_id(patient_id, "Patient", "id")
        params = {
            "patient": f"Patient/{patient_id}",
            "category": parse.LAB_CATEGORY,
            "_count": "200",
        }
        return _each(self._search("Observation", params), "Observation", parse.parse_lab)

    def records(self, patient_id: str) -> tuple[list[RecordRef], list[Unreadable]]:
        """DocumentReferences, each parsed on its own."""
        parse.fhir_id(patient_id, "Patient", "id")
        params = {"patient": f"Patient/{patient_id}", "_count": "50"}
        found = self._search("DocumentReference", params)
        return _each(found, "DocumentReference", parse.parse_record)

    def studies(self, patient_id: str) -> tuple[list[StudyListing], list[Unreadable]]:
        """ImagingStudies with their DICOMweb base and every series' instances."""
        parse.fhir_id(patient_id, "Patient", "id")
        found = self._search("ImagingStudy", {"patient": f"Patient/{patient_id}"})
        studies, bad = _each(found, "ImagingStudy", parse.parse_study)
        listings = []
        for study in studies:
            ref = f"ImagingStudy/{study.imaging_study_id}"
            try:
                base = self.dicomweb_base(study)
                listings.append(StudyListing(study, base, self._complete_series(study, base)))
            except ReviewerError as exc:
                bad.append(Unreadable(ref, exc))
        return listings, bad

    def dicomweb_base(self, study: StudyRef) -> str:
        """The study's DICOMweb base from its Endpoint (each Endpoint read once per run)."""
        key = study.endpoint_reference or ""
        with self._bases_lock:
            cached = self._bases.get(key)
        if cached is None:
            cached = self._retried(lambda: self.fhir.dicomweb_base(study))
            with self._bases_lock:
                self._bases[key] = cached
        return cached

    def _complete_series(self, study: StudyRef, base: str) -> tuple[SeriesRef, ...]:
        """Series as listed; QIDO-RS fills in those listed without instances (or none)."""
        client = self.session.dicomweb(base)
        series = study.series or tuple(self._retried(lambda: client.find_series(study.study_uid)))
        complete = []
        for listed in series:
            if listed.instances:
                complete.append(listed)
                continue

            def find(one: SeriesRef = listed) -> list[InstanceRef]:
                return client.find_instances(study.study_uid, one.series_uid)

            complete.append(replace(listed, instances=tuple(self._retried(find))))
        return tuple(complete)

    # --- payloads -----------------------------------------------------------------------

    def download_record(
        self,
        record: RecordRef,
        partial: PartialObject,
        *,
        on_bytes: Callable[[int], object],
    ) -> bool:
        """Fetch a record into ``partial``, resuming at its committed bytes with Range.

        Checks the announced size before anything, the total size on every answer and,
        when the download started at zero, the SHA-1 of the bytes. Returns whether the
        SHA-1 was checked here; if not (the first bytes came from an earlier run, whose
        hash state is gone), the caller checks it on the stored object.
        """
        limit = self.fhir.settings.max_binary_bytes
        if record.size > limit:
            raise SizeLimitExceeded("record", record.size, limit)
        url = self.fhir.url(record.url)
        start = partial.committed_bytes
        hasher = hashlib.sha1(usedforsecurity=False) if start == 0 else None
        state = {"received": start, "etag": None}

        def attempt() -> None:
            received = int(state["received"] or 0)
            headers = {"Accept": record.content_type or "*/*"}
            if received:
                headers["Range"] = f"bytes={received}-"
                if state["etag"]:
                    headers["If-Range"] = str(state["etag"])
            with (
                translate_errors(),
                self.fhir.client.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 416 and received == record.size:
                    return
                check_status(response)
                skip = 0
                if response.status_code == 206:
                    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
                    if not match or int(match.group(1)) != received:
                        raise MalformedServerData("Binary", "Content-Range", "not the range asked")
                    total = int(match.group(3))
                elif response.status_code == 200:
                    # The server ignored Range: drop the bytes we already have.
                    skip = received
                    check_declared_size(response, "record", limit)
                    declared = response.headers.get("Content-Length")
                    total = int(declared) if declared and declared.isdigit() else record.size
                else:
                    raise MalformedServerData("Binary", "status", "unexpected success status")
                if total != record.size:
                    raise HashMismatch("The file's size differs from what the record announced.")
                state["etag"] = response.headers.get("ETag")
                for data in response.iter_bytes():
                    if self.cancel.is_set():
                        raise Cancelled()
                    chunk = data
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                        if not chunk:
                            continue
                    if received + len(chunk) > record.size:
                        raise HashMismatch("The file is longer than the record announced.")
                    if hasher is not None:
                        hasher.update(chunk)
                    partial.append(chunk)
                    received += len(chunk)
                    state["received"] = received
                    on_bytes(len(chunk))
            if received < record.size:
                raise ServerUnreachable("The download was interrupted.")

        self._retried(attempt)
        if hasher is not None and not hmac.compare_digest(hasher.digest(), record.sha1):
            raise HashMismatch()
        return hasher is not None

    def fetch_instance(self, base: str, study_uid: str, series_uid: str, sop_uid: str) -> bytes:
        """One DICOM instance (WADO-RS), checked to parse as DICOM and be the one asked."""
        client = self.session.dicomweb(base)
        data = self._retried(lambda: client.instance(study_uid, series_uid, sop_uid))
        check_instance(data, sop_uid)
        return data

    def stream_series(
        self, base: str, study_uid: str, series_uid: str
    ) -> Generator[bytes, None, None]:
        """Every instance of a series (WADO-RS), each as soon as its part is complete.

        Not retried and not checked beyond the Part 10 prefix: the caller matches each
        part to what it asked for by its SOP Instance UID (:func:`instance_uid`) and
        fetches whatever did not arrive one by one. Close the iterator when done."""
        client = self.session.dicomweb(base)
        for instance in client.series(study_uid, series_uid):
            if self.cancel.is_set():
                raise Cancelled()
            yield instance.data


def _past_sop_instance_uid(tag: BaseTag, vr: str | None, length: int) -> bool:
    return tag > _SOP_INSTANCE_UID


def instance_uid(data: bytes) -> str | None:
    """The SOP Instance UID of a DICOM Part 10 file, or None if it does not parse as one.

    The common encodings are read directly (:mod:`reviewer_app.sync.part10`); anything
    else goes to pydicom, which reads the file meta header and the dataset only up to
    (0008,0018), before everything large."""
    quick = quick_sop_instance_uid(data)
    if quick is not None:
        return quick
    import pydicom.filereader
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.filereader.read_partial(
            io.BytesIO(data), stop_when=_past_sop_instance_uid
        )
        found = dataset.get("SOPInstanceUID")
    except (InvalidDicomError, ValueError, TypeError, KeyError, EOFError, OSError):
        return None
    return str(found) if found else None


def check_instance(data: bytes, sop_uid: str) -> None:
    """NotDicom unless ``data`` parses as DICOM Part 10 and is instance ``sop_uid``."""
    found = instance_uid(data)
    if found is None:
        raise NotDicom()
    if found != sop_uid:
        raise NotDicom("The image received is not the one that was asked for; it was not stored.")


def error_text(exc: BaseException) -> tuple[str, str]:
    """(message for the case, error kind) of a failure; no patient data in either."""
    if isinstance(exc, ReviewerError):
        return exc.message, type(exc).__name__
    return "Unexpected error while syncing this item.", type(exc).__name__


def is_network(exc: BaseException) -> bool:
    """Failures that mean "try again later" rather than "this item is bad"."""
    from reviewer_app.exchange.http import is_retryable

    return isinstance(exc, ExchangeError) and is_retryable(exc)
