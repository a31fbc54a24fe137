"""Autosave of the opinion draft: debounced after each change, forced before risky steps.

A save takes a snapshot on the UI thread, the draft together with the case it belongs
to and the vault, and hands it to :func:`drafts.save_draft` (the vault's writer
thread). Case and text travel together in that one snapshot, so a save still on the
disk when the user has moved to another case can only ever write what was typed for
its own case. Completion comes back on the UI thread as a signal naming the case; the
UI thread never waits for the disk.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from reviewer_app.errors import ReviewerError
from reviewer_app.opinion import drafts
from reviewer_app.opinion.drafts import OpinionDraft
from ui.qt import QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)

#: Quiet time after the last change before saving (the issue allows at most 300 ms).
DELAY_MS = 250
#: Typing without a pause still saves this often: a killed process loses at most about
#: a second of typing.
MAX_WAIT_MS = 800
#: After a failed save, try again this long after (or at the next change, if sooner).
RETRY_MS = 5000


@dataclass(frozen=True)
class Snapshot:
    """What one save writes: this draft, of this case, into this vault."""

    vault: Any
    case_id: str
    draft: OpinionDraft


@dataclass(frozen=True)
class SaveDone:
    """A save that finished (on the UI thread): result or error, and what it wrote."""

    snapshot: Snapshot
    result: drafts.SaveResult | None
    error: BaseException | None
    finished_at: dt.datetime


class _Relay(QObject):
    """Lives on the UI thread; the writer thread emits, Qt queues the call over."""

    done = Signal(object)


class Autosaver(QObject):
    """Saves the snapshot ``take()`` returns, debounced (:meth:`changed`) or at once."""

    #: A save was handed to the vault (a Snapshot).
    started = Signal(object)
    #: A save finished (a SaveDone), on the UI thread.
    finished = Signal(object)

    def __init__(
        self,
        take: Callable[[], Snapshot | None],
        *,
        delay_ms: int = DELAY_MS,
        max_wait_ms: int = MAX_WAIT_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._take = take
        self._timer = QTimer(self)
        self._timer.setObjectName("opinionAutosave")
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.save_now)
        self._retry = QTimer(self)
        self._retry.setObjectName("opinionAutosaveRetry")
        self._retry.setSingleShot(True)
        self._retry.setInterval(RETRY_MS)
        self._retry.timeout.connect(self._try_again)
        self._relay = _Relay(self)
        self._relay.done.connect(self._on_done)
        self._dirty = False
        self._in_flight = 0
        self._delay_ms = delay_ms
        self._max_wait_ms = max_wait_ms
        #: When the oldest unsaved change was made (monotonic ms), while the timer runs.
        self._pending_since: float | None = None
        #: The newest save handed to the writer (the writer runs saves in order, so when
        #: it is done every earlier one is too).
        self.last_future: Future[drafts.SaveResult] | None = None

    def changed(self) -> None:
        """The text changed: save after ``delay_ms`` of quiet, or ``max_wait_ms`` after
        the oldest unsaved change while the typing goes on."""
        self._dirty = True
        now = time.monotonic() * 1000
        if self._pending_since is None or not self._timer.isActive():
            self._pending_since = now
        elif now + self._delay_ms - self._pending_since > self._max_wait_ms:
            return  # the timer already running fires in time; do not push it back
        self._timer.start()

    def is_dirty(self) -> bool:
        """Changes not yet handed to the vault."""
        return self._dirty

    def in_flight(self) -> int:
        """Saves handed to the vault that have not finished."""
        return self._in_flight

    def mark_unsaved(self) -> None:
        """A save of what is shown failed: try again soon (or at the next change)."""
        self._dirty = True
        self._retry.start()

    def _try_again(self) -> None:
        if self._dirty and not self._timer.isActive():
            self.save_now()

    def discard(self) -> None:
        """Forget unsaved changes (the editor is being cleared after a flush)."""
        self._timer.stop()
        self._retry.stop()
        self._dirty = False

    def flush(self) -> Future[drafts.SaveResult] | None:
        """Before a case switch, lock or close: a forced save if anything is unsaved."""
        if not self._dirty:
            self._timer.stop()
            self._retry.stop()
            return None
        return self.save_now(force=True)

    def save_now(self, *, force: bool = False) -> Future[drafts.SaveResult] | None:
        """Save the current snapshot now (``force``: it also becomes a history version).

        Returns the writer's future (None if there was nothing to save). A vault that
        cannot take the save (closed) is reported through :attr:`finished` like a failed
        write; the text stays in the editor and the next change tries again."""
        self._timer.stop()
        self._retry.stop()
        self._pending_since = None
        snapshot = self._take()
        if snapshot is None:
            return None
        self._dirty = False
        self.started.emit(snapshot)
        self._in_flight += 1
        try:
            future = drafts.save_draft(
                snapshot.vault, snapshot.case_id, snapshot.draft, force=force
            )
        except Exception as error:  # the vault refused it before the writer saw it
            self._finish(snapshot, None, error)
            return None
        relay = self._relay

        def done(f: Future[drafts.SaveResult]) -> None:
            # The writer thread: only emit (queued to the relay on the UI thread).
            error = f.exception()
            relay.done.emit((snapshot, None if error else f.result(), error))

        future.add_done_callback(done)
        self.last_future = future
        return future

    @Slot(object)
    def _on_done(self, payload: tuple[Snapshot, Any, BaseException | None]) -> None:
        snapshot, result, error = payload
        self._finish(snapshot, result, error)

    def _finish(self, snapshot: Snapshot, result: Any, error: BaseException | None) -> None:
        self._in_flight -= 1
        if error is not None:
            kind = type(error).__name__ if not isinstance(error, ReviewerError) else error.title
            log.warning("the opinion draft could not be saved: %s", kind)
        self.finished.emit(SaveDone(snapshot, result, error, dt.datetime.now()))
