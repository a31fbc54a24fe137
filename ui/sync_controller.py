"""The sync controller: runs the sync engine off the UI thread and tells the UI how it goes.

One :class:`SyncController` per window. It owns the :class:`PlatformSession` (built from
the platform settings and a token store), runs :meth:`SyncEngine.run` as an operation
(``ui/operations.py``, the one background mechanism), forwards the engine's progress
events to the UI thread (throttled: a sync of thousands of slices would otherwise send
thousands of signals), and turns the outcome into states the status bar shows.

It syncs at start and every few minutes; when the platform cannot be reached it waits
with exponential backoff and full jitter (the exchange layer's :class:`RetryPolicy`) on a
Qt timer, so no thread sleeps and nothing in the UI waits for the network. Cancelling
stops the engine soon (downloads keep their partial objects); the next sync resumes.
A refused refresh token (:class:`SignInRequired`) leaves every local case, draft and
outbox entry alone and asks the specialist to sign in again.

The vault is written only by the engine (through ``Vault.write``); the controller reads.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer_app.errors import ReviewerError, SignInRequired
from reviewer_app.exchange import HttpSettings, PlatformSession, RetryPolicy, TokenStore
from reviewer_app.exchange.http import origin
from reviewer_app.sync.events import (
    CasePurged,
    ItemFinished,
    ItemStarted,
    Phase,
    PhaseStarted,
    Progress,
    SyncReport,
    SyncStarted,
)
from ui.notifier import Change, Notifier
from ui.operations import OpContext, Operation, OperationCancelled, Operations
from ui.qt import QObject, QSettings, QTimer, Signal
from ui.sync_status import duration_text, last_synced, progress_text

log = logging.getLogger(__name__)

SETTINGS_URL = "platform/url"
SETTINGS_CA_BUNDLE = "platform/ca_bundle"
#: Sync this often while the app runs.
DEFAULT_INTERVAL_MS = 5 * 60 * 1000
#: The worklist reloads at most this often while a sync runs.
REFRESH_MS = 1000
#: Progress events reach the UI at most this often (the last one always does).
PROGRESS_INTERVAL = 0.1
DEFAULT_WORKERS = 4
NO_PLATFORM = "No platform set — see Sync ▸ Platform settings"


class SyncState(enum.Enum):
    """What the sync is doing, as the status bar shows it."""

    UNCONFIGURED = "unconfigured"  # no platform address set
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    SYNCING = "syncing"
    OFFLINE = "offline"
    FAILED = "failed"


@dataclass(frozen=True)
class PlatformConfig:
    """Where the platform is: its FHIR base URL and, for a private CA, the CA bundle."""

    url: str
    ca_bundle: Path | None = None


def load_config(settings: QSettings) -> PlatformConfig | None:
    """The platform settings (QSettings holds no patient data); None if not set."""
    url = str(settings.value(SETTINGS_URL, "") or "").strip()
    if not url:
        return None
    bundle = str(settings.value(SETTINGS_CA_BUNDLE, "") or "").strip()
    return PlatformConfig(url, Path(bundle) if bundle else None)


def save_config(settings: QSettings, config: PlatformConfig) -> None:
    """Remember the platform settings."""
    settings.setValue(SETTINGS_URL, config.url)
    settings.setValue(SETTINGS_CA_BUNDLE, str(config.ca_bundle) if config.ca_bundle else "")
    settings.sync()


def keyring_store(vault: Any, fhir_base: str) -> TokenStore:
    """The tokens of this profile on this platform, in the OS keyring."""
    from reviewer_app.exchange import KeyringTokenStore

    return KeyringTokenStore(vault.profile_id, origin(fhir_base))


class _Forwarder:
    """The engine's event sink: runs on sync threads, sends events to the UI thread."""

    def __init__(self, ctx: OpContext) -> None:
        self._ctx = ctx
        self._lock = threading.Lock()
        self._last: dict[type, float] = {}
        self.engine: Any = None

    def __call__(self, event: object) -> None:
        if self._ctx.cancelled:
            # Also covers a cancel that came before run() cleared the engine's flag.
            if self.engine is not None:
                self.engine.cancel()
            return
        if isinstance(event, ItemStarted):
            return
        if isinstance(event, Progress | ItemFinished) and not self._must_send(event):
            now = time.monotonic()
            with self._lock:
                if now - self._last.get(type(event), 0.0) < PROGRESS_INTERVAL:
                    return
                self._last[type(event)] = now
        with contextlib.suppress(OperationCancelled):
            self._ctx.report(event)

    @staticmethod
    def _must_send(event: object) -> bool:
        if isinstance(event, Progress):
            return event.items_done >= event.items_total
        return isinstance(event, ItemFinished) and event.error is not None


class SyncController(QObject):
    """Runs syncs, retries while offline, and reports state and progress."""

    state_changed = Signal(object)
    #: One line for the status bar.
    status_changed = Signal(str)
    #: Progress bar (value, maximum); (0, 0) means busy without a measure.
    progress_changed = Signal(int, int)
    online_changed = Signal(bool)
    last_sync_changed = Signal(object)
    #: A run ended (a SyncReport).
    finished = Signal(object)
    #: The specialist has to sign in before syncing (tokens missing or refused); True if
    #: the specialist asked for the sync (open the sign-in now), False if it ran by itself.
    sign_in_needed = Signal(bool)
    #: No platform address is set yet.
    settings_needed = Signal()
    #: "Prepare for travel" finished its sync (the SyncReport, or None if it could not run).
    travel_ready = Signal(object)

    def __init__(
        self,
        ops: Operations,
        notifier: Notifier,
        settings: QSettings,
        *,
        token_store_factory: Callable[[Any, str], TokenStore] = keyring_store,
        open_browser: Callable[[str], object] = webbrowser.open,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        backoff: RetryPolicy | None = None,
        engine_retry: RetryPolicy | None = None,
        workers: int = DEFAULT_WORKERS,
    ) -> None:
        super().__init__()
        self.ops = ops
        self.notifier = notifier
        self.settings = settings
        self.token_store_factory = token_store_factory
        self.open_browser = open_browser
        self.backoff = backoff or RetryPolicy(base_delay=5.0, max_delay=300.0)
        self.engine_retry = engine_retry
        self.workers = workers
        self.vault: Any = None
        self.config = load_config(settings)
        self.session: PlatformSession | None = None
        self._store: TokenStore | None = None
        self._stale_session: PlatformSession | None = None
        self.state = SyncState.UNCONFIGURED if self.config is None else SyncState.SIGNED_OUT
        self.status = ""
        self.attempt = 0
        self.runs = 0
        self.last_report: SyncReport | None = None
        self._op: Operation | None = None
        self._forwarder: _Forwarder | None = None
        self._closed = False
        self._travel_pending = False
        self._dirty = False
        self._cases_total = 0
        self._progress: Progress | None = None
        self._phase: Phase | None = None
        self._retry_at = 0.0
        #: Returns how many cases are ready offline (the worklist knows; set by the UI).
        self.count_ready: Callable[[], int] = lambda: 0

        self._periodic = QTimer(self)
        self._periodic.setObjectName("syncPeriodic")
        self._periodic.setInterval(interval_ms)
        self._periodic.timeout.connect(lambda: self.sync_now(interactive=False))
        self._retry = QTimer(self)
        self._retry.setObjectName("syncRetry")
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(lambda: self.sync_now(interactive=False))
        self._countdown = QTimer(self)
        self._countdown.setObjectName("syncCountdown")
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._show_offline)
        self._refresh = QTimer(self)
        self._refresh.setObjectName("syncRefresh")
        self._refresh.setInterval(REFRESH_MS)
        self._refresh.timeout.connect(self._refresh_views)

    # -- set-up ------------------------------------------------------------------------
    def attach(self, vault: Any, *, start: bool = True) -> None:
        """Sync ``vault``; with ``start``, sync now and then periodically."""
        self.vault = vault
        self.ops.run(
            lambda _ctx: last_synced(vault),
            success=self.last_sync_changed.emit,
            label="last sync time",
        )
        if start:
            self.start()
        else:
            self._set_idle_state()

    def start(self) -> None:
        """Sync now (if signed in) and every interval from now on."""
        if self._closed:
            return
        self._periodic.start()
        self.sync_now(interactive=False)

    def configure(self, config: PlatformConfig, *, store: TokenStore | None = None) -> None:
        """Use this platform (and ``store`` for its tokens instead of the keyring)."""
        if self.running():
            self.cancel()
        self.config = config
        self._store = store
        self._drop_session()
        self._set_idle_state()

    def _ensure_session(self) -> PlatformSession | None:
        if self.session is not None:
            return self.session
        if self.config is None or self.vault is None:
            return None
        store = self._store or self.token_store_factory(self.vault, self.config.url)
        self.session = PlatformSession(
            self.config.url, store, settings=HttpSettings(ca_bundle=self.config.ca_bundle)
        )
        return self.session

    def _drop_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if self.running():
            # The running sync still uses it: close it when the run ends.
            self._stale_session = session
        else:
            session.close()

    def signed_in(self) -> bool:
        """Whether tokens for the platform are stored (False if the keyring cannot say)."""
        session = self._ensure_session()
        try:
            return session is not None and session.signed_in()
        except ReviewerError as error:
            log.warning("cannot read the platform tokens: %s", type(error).__name__)
            return False

    def platform_session(self) -> PlatformSession | None:
        """The signed-in session, for the platform calls other than sync (certificate
        enrollment); None when nobody is signed in."""
        return self._ensure_session() if self.signed_in() else None

    # -- sync --------------------------------------------------------------------------
    def running(self) -> bool:
        return self._op is not None

    def sync_now(self, *, interactive: bool = True) -> bool:
        """Start a sync unless one runs. ``interactive``: the specialist asked, so a
        missing sign-in or platform address opens its dialog. True if a sync started."""
        if self._closed or self.vault is None or self.running():
            return False
        if self.config is None:
            self._set_state(
                SyncState.UNCONFIGURED, "No platform set — see Sync ▸ Platform settings"
            )
            if interactive:
                self.settings_needed.emit()
            return False
        session = self._ensure_session()
        assert session is not None
        try:
            signed_in = session.signed_in()
        except ReviewerError as error:  # a locked or missing keyring
            self._set_state(SyncState.FAILED, f"Sync stopped: {error.message}")
            return False
        if not signed_in:
            self._set_state(SyncState.SIGNED_OUT, "Not signed in to the platform")
            self.sign_in_needed.emit(interactive)
            return False
        self._retry.stop()
        self._countdown.stop()
        self._progress = None
        self._phase = None
        self._cases_total = 0
        self.runs += 1
        vault, workers, retry = self.vault, self.workers, self.engine_retry

        def run(ctx: OpContext) -> SyncReport:
            from reviewer_app.sync.engine import SyncEngine

            forwarder = _Forwarder(ctx)
            self._forwarder = forwarder
            with SyncEngine(
                vault, session, workers=workers, on_event=forwarder, retry=retry
            ) as engine:
                forwarder.engine = engine
                if ctx.cancelled:
                    # Returned, not raised: the result must reach _on_finished.
                    return SyncReport("cancelled")
                return engine.run()

        self._set_state(SyncState.SYNCING, "Syncing: checking for new cases…")
        self.progress_changed.emit(0, 0)
        self._op = self.ops.run(
            run,
            success=self._on_finished,
            failure=self._on_failed,
            progress=self._on_event,
            label="sync",
        )
        self._refresh.start()
        return True

    def cancel(self) -> None:
        """Stop the running sync soon; what arrived is kept, the next sync resumes."""
        self._travel_pending = False
        op = self._op
        if op is None:
            return
        op.cancel()
        forwarder = self._forwarder
        if forwarder is not None and forwarder.engine is not None:
            forwarder.engine.cancel()
        # The run ends at its next check (items in flight finish or keep their partial
        # download); _on_finished then says it was cancelled.
        self._set_state(SyncState.SYNCING, "Cancelling sync…")

    def prepare_for_travel(self) -> None:
        """Sync everything now (pinned cases first), then report what is ready offline."""
        self._travel_pending = True
        if self.running():
            return  # the summary comes when the running sync ends
        started = self.sync_now(interactive=True)
        # Signed out or no platform: the dialog it opened leads to the sync, then here.
        if not started and self.state not in (SyncState.SIGNED_OUT, SyncState.UNCONFIGURED):
            self._finish_travel(None)

    def drop_travel_request(self) -> None:
        """The specialist closed the sign-in or settings that "Prepare for travel" needed."""
        self._travel_pending = False

    def _finish_travel(self, report: SyncReport | None) -> None:
        if self._travel_pending:
            self._travel_pending = False
            self.travel_ready.emit(report)

    # -- events from the engine (UI thread) --------------------------------------------
    def _on_event(self, event: object) -> None:
        if self._op is None:
            return
        self._dirty = True
        if isinstance(event, SyncStarted):
            # The engine read the case list: the platform is reachable.
            self._cases_total = event.cases
            self.online_changed.emit(True)
        elif isinstance(event, PhaseStarted):
            self._phase = event.phase
            if event.phase is Phase.METADATA:
                self.progress_changed.emit(0, 0)
        elif isinstance(event, Progress):
            self._progress = event
        elif isinstance(event, CasePurged):
            log.info("a case was removed by the platform (%s)", event.reason)
        self._show_progress()

    def refresh_text(self) -> None:
        """Show the progress line again (the ready-offline count changed)."""
        if self.state is SyncState.SYNCING:
            self._show_progress()

    def _show_progress(self) -> None:
        progress = self._progress
        total = self._cases_total
        ready = min(self.count_ready(), total) if total else 0
        if progress is None:
            if self._phase is None:
                text = "Syncing: checking for new cases…"
            else:
                text = f"Syncing {ready}/{total} cases · fetching case details"
            self._set_state(SyncState.SYNCING, text)
            return
        self._set_state(
            SyncState.SYNCING,
            progress_text(
                ready,
                total,
                bytes_done=progress.bytes_done,
                bytes_total=progress.bytes_total,
                rate=progress.rate,
                eta=progress.eta,
                bytes_estimated=progress.bytes_estimated,
            ),
        )
        if progress.bytes_total > 0:
            # Kilobytes keep the bar's int range clear of overflow for large studies.
            self.progress_changed.emit(
                min(progress.bytes_done, progress.bytes_total) // 1000,
                max(progress.bytes_total // 1000, 1),
            )
        elif progress.items_total > 0:
            self.progress_changed.emit(progress.items_done, progress.items_total)

    def _refresh_views(self) -> None:
        if self._dirty:
            self._dirty = False
            self.notifier.notify(Change.CASES | Change.SYNC)

    # -- outcome -----------------------------------------------------------------------
    def _end_run(self) -> None:
        self._op = None
        self._forwarder = None
        self._refresh.stop()
        stale, self._stale_session = self._stale_session, None
        if stale is not None:
            stale.close()

    def _on_finished(self, report: SyncReport) -> None:
        self._end_run()
        self.last_report = report
        self.notifier.notify(Change.CASES | Change.SYNC)
        self.finished.emit(report)
        if report.state == "offline":
            self.online_changed.emit(False)
            self._schedule_retry(report)
            self._finish_travel(report)
            return
        self.attempt = 0
        self.online_changed.emit(True)
        if report.state == "cancelled":
            self._set_state(SyncState.IDLE, "Sync cancelled — Sync now resumes where it stopped")
        else:
            self.last_sync_changed.emit(dt.datetime.now(dt.UTC))
            if report.items_failed or report.errors:
                failed = report.items_failed or len(report.errors)
                noun = "item" if failed == 1 else "items"
                text = f"Synced {report.cases} cases · {failed} {noun} failed (see the worklist)"
            else:
                text = f"Synced {report.cases} cases"
            self._set_state(SyncState.IDLE, text)
            if report.items_done or report.bytes_fetched:
                self.progress_changed.emit(1, 1)
        self._finish_travel(report)
        if not self.signed_in():
            # A refresh was refused during the run: the session is over.
            self._signed_out()

    def _on_failed(self, error: BaseException) -> None:
        self._end_run()
        self.notifier.notify(Change.CASES | Change.SYNC)
        if isinstance(error, SignInRequired):
            self._finish_travel(None)
            self._signed_out()
            return
        self._finish_travel(None)
        if isinstance(error, ReviewerError):
            log.warning("sync failed: %s", type(error).__name__)
            self._set_state(SyncState.FAILED, f"Sync stopped: {error.message}")
            return
        self._set_state(SyncState.FAILED, "Sync stopped by an unexpected problem")
        self.ops.unhandled.emit(error)

    def _signed_out(self) -> None:
        self._set_state(SyncState.SIGNED_OUT, "Signed out — sign in to sync (local work is kept)")
        self.sign_in_needed.emit(self._travel_pending)

    def _schedule_retry(self, report: SyncReport) -> None:
        delay = self.backoff.delay(self.attempt)
        self.attempt += 1
        self._retry_at = time.monotonic() + delay
        self._retry.start(max(1, int(delay * 1000)))
        self._countdown.start()
        self._show_offline()

    def _show_offline(self) -> None:
        left = max(0.0, self._retry_at - time.monotonic())
        self._set_state(SyncState.OFFLINE, f"Offline — retrying in {duration_text(left)}")
        if left <= 0:
            self._countdown.stop()

    def retry_now(self) -> None:
        """Skip the backoff wait (the specialist clicked Sync now while offline)."""
        self._retry.stop()
        self._countdown.stop()
        self.sync_now()

    def _set_idle_state(self) -> None:
        if self.config is None:
            self._set_state(
                SyncState.UNCONFIGURED, "No platform set — see Sync ▸ Platform settings"
            )
        elif self.vault is not None and not self.signed_in():
            self._set_state(SyncState.SIGNED_OUT, "Not signed in to the platform")
        else:
            self._set_state(SyncState.IDLE, "")

    def _set_state(self, state: SyncState, status: str) -> None:
        changed = state is not self.state
        self.state = state
        if status != self.status:
            self.status = status
            self.status_changed.emit(status)
        if changed:
            self.state_changed.emit(state)

    # -- sign-in -----------------------------------------------------------------------
    def sign_in(
        self,
        *,
        success: Callable[[Any], None],
        failure: Callable[[BaseException], None],
    ) -> threading.Event | None:
        """Sign in through the browser, off the UI thread. Returns the event that
        cancels it (None if no platform is set)."""
        session = self._ensure_session()
        if session is None:
            return None
        cancel = threading.Event()
        browser = self.open_browser

        def run(_ctx: OpContext) -> object:
            return session.sign_in(open_browser=browser, cancel=cancel)

        def done(result: object) -> None:
            self._set_idle_state()
            success(result)

        self.ops.run(run, success=done, failure=failure, label="sign in")
        return cancel

    def sign_out(self) -> None:
        """Forget the tokens (revoking them on the platform, best effort)."""
        session = self._ensure_session()
        if session is None:
            return
        self.cancel()

        def run(_ctx: OpContext) -> None:
            try:
                session.sign_out()
            except ReviewerError:
                # Offline: the tokens are forgotten locally anyway.
                log.info("sign-out could not reach the platform")

        self.ops.run(run, success=lambda _r: self._set_idle_state(), label="sign out")

    # -- stop --------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every timer and ask a running sync to stop (call before ops.shutdown)."""
        self._closed = True
        for timer in (self._periodic, self._retry, self._countdown, self._refresh):
            timer.stop()
        op = self._op
        if op is not None:
            op.cancel()
            forwarder = self._forwarder
            if forwarder is not None and forwarder.engine is not None:
                forwarder.engine.cancel()

    def close(self) -> None:
        """Close the platform connections (after ops.shutdown: nothing uses them)."""
        self._op = None
        self._forwarder = None
        stale, self._stale_session = self._stale_session, None
        for session in (self.session, stale):
            if session is not None:
                session.close()
        self.session = None
