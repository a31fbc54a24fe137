"""The sync engine: one run brings every owned Case into the vault, in order, in parallel.

A run (:meth:`SyncEngine.run`, called on a worker thread, never the UI thread):

1. sweeps objects a killed run left without a row, and purges what must go: cases
   withdrawn or reassigned on the platform and uploaded cases past their retention;
2. reads the Tasks changed since the last cursor and the list of owned Tasks;
3. **metadata** of every new, changed or incomplete case: patient, questions, lab
   results, the lists of records and images (cases in parallel);
4. **documents**, then 5. **imaging**: each payload is one item fetched by a pool of
   ``workers`` threads (default 4; a series stream takes one), verified (records: size
   and SHA-1; instances: DICOM and the instance asked for), encrypted into the object
   store and committed. A phase starts when the previous one has finished, so a case can be
   opened (metadata, documents) while its images still arrive.

Images come one WADO-RS stream per series (``studies/{s}/series/{se}``) while most of a
series is missing (:mod:`reviewer_app.sync.series`): one request instead of hundreds
saves the per-request work on both ends. The receiving thread matches each part to its
pending instance by SOP Instance UID and hands it to ``STORE_THREADS`` store threads
(encryption, fsync), which mostly wait in fsync with the GIL free, so receiving never
waits for the disk. Each instance is still an item verified and committed on its own;
whatever a stream does not bring (it broke, a part was not DICOM, not asked for or a
repeat) is then fetched one instance per request, where a bad instance fails alone with
its specific error. Series mostly done already, and small ones, go per instance.

Records resume inside a run from the last byte received (``Range``), and across runs
(a killed process) from the last chunk the partial object made durable. Failures are
per item: a bad item records its specific error on its case and the rest goes on; the
network failing marks the run ``offline`` and leaves the rest pending for the next run
(:func:`sync_until_done` retries with exponential backoff and jitter).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from reviewer_app import audit
from reviewer_app.domain import CaseTask
from reviewer_app.errors import HashMismatch, ReviewerError, ServerUnreachable, SignInRequired
from reviewer_app.exchange import PlatformSession, RetryPolicy
from reviewer_app.exchange.http import origin
from reviewer_app.opinion import outbox
from reviewer_app.sync import local, series
from reviewer_app.sync.batch import InstanceBatcher
from reviewer_app.sync.events import (
    CaseProgress,
    CasePurged,
    EventSink,
    ItemFinished,
    ItemStarted,
    Offline,
    Phase,
    PhaseStarted,
    Progress,
    SyncFinished,
    SyncReport,
    SyncStarted,
    ignore,
)
from reviewer_app.sync.local import RECORD_KIND, CaseMetadata, WorkItem
from reviewer_app.sync.purge import expired_cases, purge_case, retention_over
from reviewer_app.sync.remote import (
    TERMINAL_STATES,
    Cancelled,
    Remote,
    Unreadable,
    error_text,
    instance_uid,
    is_network,
)
from reviewer_app.sync.series import SeriesJob
from reviewer_app.vault import PartialObject, Vault

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 4
#: Threads encrypting and writing streamed instances (at least ``workers``).
STORE_THREADS = 8
#: Received instances waiting for a store thread, at most (one is always let through).
BACKLOG_BYTES = 64 * 1024 * 1024
T = TypeVar("T")


class SyncEngine:
    """Syncs one vault with one platform. Not re-entrant: one run at a time."""

    def __init__(
        self,
        vault: Vault,
        session: PlatformSession,
        *,
        workers: int = DEFAULT_WORKERS,
        on_event: EventSink = ignore,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.vault = vault
        self.session = session
        self.workers = workers
        self.on_event = on_event
        self._now = now
        self._monotonic = monotonic
        self._cancel = threading.Event()
        self._offline = threading.Event()
        self.remote = Remote(session, retry=retry, cancel=self._cancel)
        self._server = origin(session.fhir_base)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sync-transfer")
        # Encrypts and writes the instances a series stream brings in. More threads than
        # transfers: each spends most of its time in fsync, where the GIL is free and
        # the filesystem commits concurrent fsyncs together.
        self._store_threads = max(workers, STORE_THREADS)
        self._store_pool = _StoreThreads(self._store_threads)
        self._batcher = InstanceBatcher(vault, monotonic=monotonic)
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._reset_counters()

    # --- control ------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop soon: items in flight end (a download keeps its partial), none start."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called during the current (or last) run."""
        return self._cancel.is_set()

    def close(self) -> None:
        """Stop the transfer threads: anything in flight is cancelled (kept partial)."""
        self._cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._store_pool.close()

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one run ------------------------------------------------------------------------

    def run(self) -> SyncReport:
        """Sync once; returns how it ended (also sent as :class:`SyncFinished`)."""
        with self._run_lock:
            self._cancel.clear()
            self._offline.clear()
            self._reset_counters()
            report = self._run()
            self.on_event(SyncFinished(report))
            return report

    def _reset_counters(self) -> None:
        self._started = self._monotonic()
        self._items_total = 0
        self._items_done = 0
        self._items_failed = 0
        self._bytes_done = 0
        self._bytes_total = 0
        self._fetched = 0
        self._errors: list[str] = []
        self._cases: list[str] = []
        self._sign_in: SignInRequired | None = None
        self._remaining: dict[str, int] = {}
        self._case_items: dict[str, int] = {}
        self._case_failed: dict[str, int] = {}
        self._metadata_failed = 0
        self._unknown_sizes = 0
        self._instance_bytes = 0
        self._instances_done = 0

    def _run(self) -> SyncReport:
        vault = self.vault
        vault.objects.shred(local.orphan_objects(vault))
        try:
            practitioner = self.remote.practitioner_id()
            since = local.get_cursor(vault, self._server)
            tasks, unreadable, cursor = self.remote.changed_tasks(practitioner, since)
            index = self.remote.owned_index(practitioner)
        except ReviewerError as exc:
            if not is_network(exc):
                raise
            self.on_event(Offline(exc.message, None))
            return SyncReport("offline", errors=(exc.message,))
        for bad in unreadable:
            self._errors.append(f"{bad.ref}: {error_text(bad.error)[0]}")

        purged = self._purge(index)
        now = self._now()
        wanted = [
            t
            for t in tasks
            if t.case_id in index and t.status not in TERMINAL_STATES and not retention_over(t, now)
        ]
        for task in wanted:
            local.save_task(vault, task)
        if cursor is not None:
            local.set_cursor(vault, self._server, cursor)

        known = local.known_versions(vault)
        changed = {t.case_id: t for t in wanted}
        refresh = [c for c in self._case_order(set(known)) if c in changed]
        refresh += [
            c
            for c in self._case_order(local.incomplete_cases(vault))
            if c not in changed and c in index
        ]
        self._cases = self._case_order(set(known))
        self.on_event(SyncStarted(len(self._cases)))

        self._metadata_phase(refresh, changed)
        # After each phase the worklist learns which cases can be opened already.
        self._report_cases()
        if not self._stopped():
            local.retry_failed(vault)
            self._remaining = local.pending_by_case(vault)
            self._case_items = dict(self._remaining)
            # Both phases' items are counted before either starts, so that the progress
            # line's totals and time left cover the images from the start.
            pending = {
                phase: local.pending_items(vault, phase, self._cases)
                for phase in (Phase.DOCUMENTS, Phase.IMAGING)
            }
            self._count_items([item for items in pending.values() for item in items])
            for phase, items in pending.items():
                if self._stopped():
                    break
                self._transfer_phase(phase, items)
                self._report_cases()
        if self._stopped():
            self._report_cases()
        else:
            self._send_opinions(practitioner)
            self._send_audit(practitioner)
        if self._sign_in is not None:
            raise self._sign_in
        if self._cancel.is_set():
            state = "cancelled"
        elif self._offline.is_set():
            state = "offline"
        elif self._items_failed or self._metadata_failed or self._errors:
            state = "incomplete"
        else:
            state = "complete"
        return SyncReport(
            state,
            cases=len(self._cases),
            items_done=self._items_done,
            items_failed=self._items_failed + self._metadata_failed,
            bytes_fetched=self._fetched,
            purged=tuple(purged),
            errors=tuple(self._errors),
        )

    def _send_audit(self, practitioner: str) -> None:
        # The audit trail rides along with each sync; events that cannot go now stay in
        # the vault for the next one, and never make the sync itself fail.
        try:
            audit.send_pending(self.vault, self.remote.fhir, practitioner)
        except ReviewerError as exc:
            log.warning("audit events not sent: %s", type(exc).__name__)

    def _send_opinions(self, practitioner: str) -> None:
        # Signed opinions in the outbox go with each sync; one that cannot go now stays
        # queued (or is marked conflict/rejected for the user) and never fails the sync.
        # Imported here: sealing needs pyHanko, half a second to import, and most syncs
        # have nothing to seal.
        from reviewer_app.opinion import seal

        try:
            seal.seal_queued(self.vault, self.remote.session)
        except ReviewerError as exc:
            log.warning("signed opinions not sealed: %s", type(exc).__name__)
        try:
            outbox.drain(self.vault, self.remote.fhir, practitioner, retry=self.remote.retry)
        except ReviewerError as exc:
            log.warning("opinions not sent: %s", type(exc).__name__)

    def _stopped(self) -> bool:
        return self._cancel.is_set() or self._offline.is_set()

    def _case_order(self, case_ids: set[str]) -> list[str]:
        """Pinned cases first (the specialist keeps them), then by due date."""
        rows = (
            self.vault.read()
            .execute(
                "SELECT case_id FROM cases "
                "ORDER BY pinned DESC, due_date IS NULL, due_date, case_id"
            )
            .fetchall()
        )
        ordered = [row[0] for row in rows if row[0] in case_ids]
        return ordered + sorted(case_ids - set(ordered))

    # --- purging ------------------------------------------------------------------------

    def _purge(self, index: dict[str, str]) -> list[str]:
        purged = []
        reasons: dict[str, str] = {}
        for case_id in local.local_case_ids(self.vault):
            if case_id not in index:
                reasons[case_id] = "reassigned"
            elif index[case_id] in TERMINAL_STATES:
                reasons[case_id] = "withdrawn"
        for case_id in expired_cases(self.vault, self._now()):
            reasons.setdefault(case_id, "retention")
        for case_id, reason in sorted(reasons.items()):
            result = purge_case(self.vault, case_id, reason)
            purged.append(case_id)
            self.on_event(CasePurged(case_id, reason, result.drafts_kept))
        return purged

    # --- metadata -----------------------------------------------------------------------

    def _metadata_phase(self, case_ids: Sequence[str], changed: dict[str, CaseTask]) -> None:
        self.on_event(PhaseStarted(Phase.METADATA, len(case_ids)))
        futures = [
            self._pool.submit(self._case_metadata, case_id, changed.get(case_id))
            for case_id in case_ids
        ]
        self._wait(futures)

    def _case_metadata(self, case_id: str, task: CaseTask | None) -> None:
        if self._stopped():
            return
        self.on_event(ItemStarted(case_id, "metadata", "case", Phase.METADATA))
        remote = self.remote
        try:
            if task is None:
                task = remote.task(case_id)
            patient = remote.patient(task.patient_id)
            referral = remote.referral(task.referral_id) if task.referral_id else None
            labs, bad_labs = _listing("Observation", lambda: remote.labs(task.patient_id))
            records, bad_records = _listing(
                "DocumentReference", lambda: remote.records(task.patient_id)
            )
            studies, bad_studies = _listing("ImagingStudy", lambda: remote.studies(task.patient_id))
            meta = CaseMetadata(
                task,
                patient,
                referral,
                labs,
                records,
                studies,
                [*bad_labs, *bad_records, *bad_studies],
            )
            stale = local.save_metadata(self.vault, meta)
            self.vault.objects.shred(stale)
        except Exception as exc:
            message, kind = error_text(exc)
            if isinstance(exc, SignInRequired):
                self._sign_in = exc
                self._cancel.set()
            elif is_network(exc):
                self._offline.set()
            elif isinstance(exc, ReviewerError):
                with self._lock:
                    self._metadata_failed += 1
                local.save_metadata_failure(self.vault, case_id, exc)
            else:
                log.error("metadata of a case failed (%s)", kind)
                with self._lock:
                    self._metadata_failed += 1
                local.save_metadata_failure(self.vault, case_id, exc)
            self.on_event(ItemFinished(case_id, "metadata", "case", Phase.METADATA, message, kind))
            return
        with self._lock:
            self._metadata_failed += len(meta.unreadable)
        for bad in meta.unreadable:
            message, kind = error_text(bad.error)
            self.on_event(ItemFinished(case_id, "metadata", bad.ref, Phase.METADATA, message, kind))
        self.on_event(ItemFinished(case_id, "metadata", "case", Phase.METADATA))

    # --- payloads -----------------------------------------------------------------------

    def _count_items(self, items: list[WorkItem]) -> None:
        with self._lock:
            self._items_total += len(items)
            for item in items:
                if item.bytes_expected is not None:
                    self._bytes_total += item.bytes_expected
                else:
                    self._unknown_sizes += 1

    def _transfer_phase(self, phase: Phase, items: list[WorkItem]) -> None:
        self.on_event(PhaseStarted(phase, len(items)))
        jobs: list[WorkItem | SeriesJob] = (
            series.plan(self.vault, items) if phase is Phase.IMAGING else list(items)
        )
        try:
            futures = [
                self._pool.submit(self._stream_series, job)
                if isinstance(job, SeriesJob)
                else self._pool.submit(self._transfer_one, job)
                for job in jobs
            ]
            # What a series stream did not bring comes one instance per request.
            leftovers = [item for future in futures for item in future.result()]
            self._wait([self._pool.submit(self._transfer, item) for item in leftovers])
        finally:
            self._batcher.wait()

    def _wait(self, futures: list[Future[None]]) -> None:
        for future in futures:
            future.result()

    def _transfer_one(self, item: WorkItem) -> list[WorkItem]:
        self._transfer(item)
        return []

    def _stream_series(self, job: SeriesJob) -> list[WorkItem]:
        """Fetch a series as one stream; return its items that did not arrive in it.

        Each part that is DICOM and one of the pending instances (by its SOP Instance
        UID) is handed to the store threads at once, so receiving never waits for
        encryption or the disk; parts that are anything else (not DICOM, not asked for,
        a repeat) are skipped, and their items are fetched on their own afterwards,
        where a bad one fails with its specific error. A stream cut short (dropped
        connection, server error, malformed body) leaves the rest to the same path.
        """
        if self._stopped():
            return []
        wanted = {item.ref: item for item in job.items}
        # Bounds the parts received but not yet stored (memory), and lets the
        # receiver run ahead of the disk by that much.
        slots = _Backlog(2 * self._store_threads, BACKLOG_BYTES)
        stream = self.remote.stream_series(job.dicomweb_base, job.study_uid, job.series_uid)
        try:
            with contextlib.closing(stream):
                for data in stream:
                    with self._lock:
                        self._fetched += len(data)
                    uid = instance_uid(data)
                    item = wanted.pop(uid, None) if uid is not None else None
                    if item is None:
                        continue
                    self.on_event(ItemStarted(item.case_id, item.kind, item.ref, item.phase))
                    slots.acquire(len(data))
                    self._store_pool.put(self._store_streamed, item, data, slots)
                    if self._stopped():
                        break
        except Cancelled:
            pass
        except SignInRequired as exc:
            self._sign_in = exc
            self._cancel.set()
        except Exception as exc:
            if not isinstance(exc, ReviewerError):
                log.warning("a series stream failed unexpectedly (%s)", type(exc).__name__)
        slots.wait_empty()
        if self._stopped():
            return []
        return [item for item in job.items if item.ref in wanted]

    def _store_streamed(self, item: WorkItem, data: bytes, slots: _Backlog) -> None:
        try:
            if self._cancel.is_set():
                return  # Still pending: the next run fetches it.
            _, size = self._batcher.store(item, data)
        except Exception as exc:
            self._failed(item, exc, len(data))
            return
        finally:
            slots.release(len(data))
        self._finished(item, size, len(data))

    def _transfer(self, item: WorkItem) -> None:
        if self._stopped():
            return
        self.on_event(ItemStarted(item.case_id, item.kind, item.ref, item.phase))
        fetched = [0]

        def on_bytes(count: int) -> None:
            fetched[0] += count
            with self._lock:
                self._fetched += count

        object_id: str | None = item.object_id
        try:
            if item.kind == "record":
                object_id, size = self._fetch_record(item, on_bytes)
            else:
                object_id, size = self._fetch_instance(item, on_bytes)
        except Cancelled:
            return
        except Exception as exc:
            self._failed(item, exc, fetched[0])
            return
        if item.kind == "record":
            # Instances are marked done in their batch's commit.
            local.item_done(self.vault, item, object_id, size)
        self._finished(item, size, fetched[0])

    def _finished(self, item: WorkItem, size: int, fetched: int) -> None:
        with self._lock:
            self._items_done += 1
            self._bytes_done += size
            if item.kind == "instance":
                self._instances_done += 1
                self._instance_bytes += size
                self._unknown_sizes -= 1
        self.on_event(
            ItemFinished(item.case_id, item.kind, item.ref, item.phase, size=size, fetched=fetched)
        )
        self._case_item_finished(item.case_id, failed=False)
        self._progress()

    def _failed(self, item: WorkItem, exc: BaseException, fetched: int) -> None:
        message, kind = error_text(exc)
        network = is_network(exc) or isinstance(exc, SignInRequired)
        if isinstance(exc, SignInRequired):
            # Not the item's fault: stop, keep it pending, and ask for sign-in.
            self._sign_in = exc
            self._cancel.set()
        elif network:
            self._offline.set()
        elif not isinstance(exc, ReviewerError):
            log.error("a sync item failed unexpectedly (%s)", kind, exc_info=exc)
        object_id = getattr(exc, "object_id", None)
        local.item_failed(self.vault, item, exc, keep_pending=network, object_id=object_id)
        if not network:
            with self._lock:
                self._items_failed += 1
            self._case_item_finished(item.case_id, failed=True)
        self.on_event(
            ItemFinished(item.case_id, item.kind, item.ref, item.phase, message, kind, 0, fetched)
        )

    def _fetch_record(self, item: WorkItem, on_bytes: Callable[[int], None]) -> tuple[str, int]:
        record = item.record
        assert record is not None
        store = self.vault.objects
        partial: PartialObject | None = None
        if item.object_id is not None:
            state = self._object_state(item.object_id)
            if state == "complete":
                # Killed after the object was sealed but before the item was marked done.
                self._check_record_hash(item.object_id, record.sha1)
                return item.object_id, record.size
            if state == "partial":
                partial = store.begin_partial(item.object_id, kind=RECORD_KIND)
        if partial is None:
            partial = store.begin_partial(None, kind=RECORD_KIND)
            local.set_item_object(self.vault, item, partial.object_id)
        try:
            checked = self.remote.download_record(record, partial, on_bytes=on_bytes)
            ref = partial.finish()
        except Cancelled:
            partial.close()
            raise
        except Exception as exc:
            if is_network(exc):
                partial.close()
                exc.object_id = partial.object_id  # type: ignore[attr-defined]
            else:
                partial.abort()
            raise
        if not checked:
            self._check_record_hash(ref.object_id, record.sha1)
        return ref.object_id, ref.size

    def _check_record_hash(self, object_id: str, sha1: bytes) -> None:
        digest = hashlib.sha1(usedforsecurity=False)
        for chunk in self.vault.objects.open(object_id).iter_chunks():
            digest.update(chunk)
        if not hmac.compare_digest(digest.digest(), sha1):
            self.vault.objects.shred([object_id])
            raise HashMismatch()

    def _object_state(self, object_id: str) -> str | None:
        row = (
            self.vault.read()
            .execute("SELECT state FROM objects WHERE object_id = ?", (object_id,))
            .fetchone()
        )
        return row[0] if row else None

    def _fetch_instance(self, item: WorkItem, on_bytes: Callable[[int], None]) -> tuple[str, int]:
        assert item.dicomweb_base and item.study_uid and item.series_uid
        data = self.remote.fetch_instance(
            item.dicomweb_base, item.study_uid, item.series_uid, item.ref
        )
        on_bytes(len(data))
        if self._cancel.is_set():
            raise Cancelled()
        return self._batcher.store(item, data)

    # --- progress -----------------------------------------------------------------------

    def _progress(self) -> None:
        with self._lock:
            elapsed = max(self._monotonic() - self._started, 1e-6)
            unknown = max(self._unknown_sizes, 0)
            done = self._instances_done
            if unknown and not done:
                total = 0  # nothing to estimate the images from yet (see Progress)
            else:
                average = self._instance_bytes / done if done else 0
                total = self._bytes_total + int(average * unknown) + self._instance_bytes
            rate = self._fetched / elapsed
            remaining = max(total - self._bytes_done, 0)
            eta = remaining / rate if rate > 0 and total else None
            waiting = sum(1 for left in self._remaining.values() if left > 0)
            event = Progress(
                cases_done=len(self._cases) - waiting,
                cases_total=len(self._cases),
                items_done=self._items_done,
                items_total=self._items_total,
                bytes_done=self._bytes_done,
                bytes_total=total,
                rate=rate,
                eta=eta,
                bytes_estimated=unknown > 0,
            )
        self.on_event(event)

    def _case_item_finished(self, case_id: str, failed: bool) -> None:
        """Count an item against its case; when the case has none left, say so at once
        (its row in the worklist is refreshed at the end of the phase)."""
        with self._lock:
            left = self._remaining.get(case_id, 1) - 1
            self._remaining[case_id] = left
            if failed:
                self._case_failed[case_id] = self._case_failed.get(case_id, 0) + 1
            failures = self._case_failed.get(case_id, 0)
            total = self._case_items.get(case_id, 0)
        if left == 0:
            state = "errors" if failures else "complete"
            self.on_event(CaseProgress(case_id, state, total - failures, total, failures))

    def _report_cases(self) -> None:
        local.refresh_case_states(self.vault)
        rows = (
            self.vault.read()
            .execute(
                "SELECT c.case_id, c.sync_state, "
                "(SELECT count(*) FROM sync_items i WHERE i.case_id = c.case_id "
                " AND i.kind != 'metadata' AND i.state = 'done'), "
                "(SELECT count(*) FROM sync_items i WHERE i.case_id = c.case_id "
                " AND i.kind != 'metadata'), "
                "(SELECT count(*) FROM sync_items i WHERE i.case_id = c.case_id "
                " AND i.state = 'failed') FROM cases c JOIN case_sync s ON s.case_id = c.case_id"
            )
            .fetchall()
        )
        for case_id, state, done, total, failed in rows:
            self.on_event(CaseProgress(case_id, state or "", done, total, failed))


class _Backlog:
    """How far a series stream may run ahead of the store threads: at most ``count``
    parts and ``size`` bytes waiting (a single larger part is let through alone)."""

    def __init__(self, count: int, size: int) -> None:
        self._count = count
        self._size = size
        self._parts = 0
        self._bytes = 0
        self._changed = threading.Condition()

    def acquire(self, size: int) -> None:
        """Wait until ``size`` more bytes may wait, then count them."""
        with self._changed:
            while self._parts and (self._parts >= self._count or self._bytes + size > self._size):
                self._changed.wait()
            self._parts += 1
            self._bytes += size

    def release(self, size: int) -> None:
        """A part has been stored (or given up)."""
        with self._changed:
            self._parts -= 1
            self._bytes -= size
            self._changed.notify_all()

    def wait_empty(self) -> None:
        """Wait until every part counted has been released."""
        with self._changed:
            while self._parts:
                self._changed.wait()


class _StoreThreads:
    """Long-lived threads running store jobs from one queue, started on first use.

    Lighter than an executor per part (no future, no locks taken to submit): a 500-slice
    series hands over 500 parts, and the hand-over runs on the receiving thread. Jobs
    handle their own errors; the caller tracks completion (:class:`_Backlog`)."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[object, ...]] | None]
        self._jobs = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def put(self, job: Callable[..., None], *args: object) -> None:
        """Run ``job(*args)`` on a store thread."""
        if not self._threads:
            with self._lock:
                for n in range(self._count - len(self._threads)):
                    thread = threading.Thread(target=self._run, name=f"sync-store_{n}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
        self._jobs.put((job, args))

    def close(self) -> None:
        """Let the queued jobs finish, then stop the threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join()

    def _run(self) -> None:
        while (work := self._jobs.get()) is not None:
            job, args = work
            job(*args)


def _listing(
    name: str, fetch: Callable[[], tuple[list[T], list[Unreadable]]]
) -> tuple[list[T], list[Unreadable]]:
    """One of a case's lists; if the list itself is unusable, that is the case's error
    (named by the resource type) and the other lists still sync."""
    try:
        return fetch()
    except ReviewerError as exc:
        if is_network(exc):
            raise
        return [], [Unreadable(name, exc)]


def sync_until_done(
    engine: SyncEngine,
    *,
    backoff: RetryPolicy | None = None,
    attempts: int | None = None,
    on_event: EventSink | None = None,
) -> SyncReport:
    """Run until the sync is not offline, waiting between runs with exponential backoff
    and full jitter (``backoff.sleep`` is injectable; the app passes a cancellable wait).
    ``attempts`` None means until the network is back or the engine is cancelled."""
    policy = backoff or RetryPolicy(base_delay=2.0, max_delay=300.0)
    sink = on_event or engine.on_event
    attempt = 0
    while True:
        report = engine.run()
        attempt += 1
        if report.state != "offline" or (attempts is not None and attempt >= attempts):
            return report
        delay = policy.delay(attempt - 1)
        message = report.errors[0] if report.errors else ServerUnreachable().message
        sink(Offline(message, delay))
        policy.sleep(delay)
        if engine.cancelled:
            return report
