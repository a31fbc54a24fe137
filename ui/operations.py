"""Background work for the UI: the one mechanism every view uses.

Like Anki's ``QueryOp``/``CollectionOp``: a function runs off the UI thread (on this
module's thread pool, or on the vault's single writer thread through ``Vault.write``),
and its result, failure or progress comes back on the UI thread as a callback. The
function never touches widgets; the callbacks never block. Every operation is tracked,
so quitting can cancel what is still queued and wait for what is running, and so tests
can wait until the UI is idle.

    ops.run(lambda ctx: vault.cases(), success=model.set_cases)
    ops.write(vault, lambda conn: conn.execute(...), success=..., changes=Change.CASES)

Priorities: what the user waits to see (the first page of a record, the slice on
screen) runs at ``Priority.HIGH`` and jumps the queue; fill-in work nobody waits for
(page counts, thumbnails, prefetch, ordering a whole series) runs at ``Priority.LOW``:
one such job at a time, and only while no HIGH job is queued or running, so it never
holds a thread or the GIL that a visible page needs. A cancelled job still queued ends
without calling its function.
"""

from __future__ import annotations

import concurrent.futures
import enum
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ui.notifier import Change, Notifier
from ui.qt import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class OperationCancelled(Exception):
    """Raised inside a background function when its operation was cancelled."""


class Priority(enum.IntEnum):
    """Which work runs first (see the module docstring)."""

    #: Fill-in work: one at a time, only while nothing HIGH waits or runs.
    LOW = 0
    NORMAL = 1
    #: What is about to appear on screen.
    HIGH = 2


class OpContext:
    """What a background function may use: progress reports and a cancel check."""

    def __init__(self, relay: _Relay, cancelled: threading.Event) -> None:
        self._relay = relay
        self._cancelled = cancelled

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        """Stop here (raise OperationCancelled) if the operation was cancelled."""
        if self._cancelled.is_set():
            raise OperationCancelled

    def report(self, progress: object) -> None:
        """Send a progress value (a fraction, a count, a short text) to the UI thread."""
        self.check()
        self._relay.progressed.emit(progress)


class _Relay(QObject):
    """Lives on the UI thread; worker threads emit, Qt queues the calls over."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)

    def __init__(self, op: Operation) -> None:
        super().__init__()
        self._op = op
        # Bound slots of an object living on the UI thread: a queued connection, so the
        # callbacks run there whichever thread emits.
        self.succeeded.connect(self._on_success)
        self.failed.connect(self._on_failure)
        self.progressed.connect(self._on_progress)

    @Slot(object)
    def _on_success(self, result: object) -> None:
        self._op._finish(result, None)

    @Slot(object)
    def _on_failure(self, error: object) -> None:
        self._op._finish(None, error)

    @Slot(object)
    def _on_progress(self, value: object) -> None:
        self._op._progress(value)


class Operation:
    """One piece of background work and its UI-thread callbacks."""

    def __init__(  # noqa: PLR0917 - internal, built only by Operations._new
        self,
        owner: Operations,
        label: str,
        success: Callable[[Any], None] | None,
        failure: Callable[[BaseException], None] | None,
        progress: Callable[[Any], None] | None,
        changes: Change,
        priority: Priority = Priority.NORMAL,
    ) -> None:
        self.label = label
        self.priority = priority
        self._owner = owner
        self._success = success
        self._failure = failure
        self._on_progress = progress
        self._changes = changes
        self.cancelled = threading.Event()
        self.done = False
        self.relay = _Relay(self)

    def cancel(self) -> None:
        """Ask the function to stop (it sees it at its next ``ctx.check()``); one still
        waiting in the queue never starts."""
        self.cancelled.set()
        self._owner._cancelled(self)

    def _progress(self, value: object) -> None:
        if self._on_progress is not None and not self._owner.closed:
            self._on_progress(value)

    def _finish(self, result: object, error: BaseException | None) -> None:
        self.done = True
        try:
            if self._owner.closed or isinstance(error, OperationCancelled):
                return
            if error is None:
                if self._changes:
                    self._owner.notifier.notify(self._changes)
                if self._success is not None:
                    self._success(result)
            elif self._failure is not None:
                self._failure(error)
            else:
                # Nobody asked to hear about it: the global hook shows a friendly dialog.
                self._owner.unhandled.emit(error)
        finally:
            # Pending until its callbacks have run: work they start (the render of the
            # page a HIGH open made visible) is queued before LOW work may begin.
            self._owner._forget(self)


class _Job(QRunnable):
    def __init__(self, op: Operation, fn: Callable[[OpContext], Any]) -> None:
        super().__init__()
        self._op = op
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        op = self._op
        try:
            if op.cancelled.is_set():
                raise OperationCancelled
            result = self._fn(OpContext(op.relay, op.cancelled))
        except BaseException as error:  # delivered to the UI thread, never lost
            op.relay.failed.emit(error)
        else:
            op.relay.succeeded.emit(result)


class Operations(QObject):
    """Runs and tracks every background operation of the app."""

    #: No operation is pending any more.
    idle = Signal()
    #: An operation failed and had no failure callback (the app shows a dialog).
    unhandled = Signal(object)

    def __init__(self, notifier: Notifier, *, max_threads: int = 2) -> None:
        super().__init__()
        self.notifier = notifier
        self.closed = False
        # Our own pool, not the global one: quitting waits for exactly our work.
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(max_threads)
        self._pending: set[Operation] = set()
        self._futures: set[concurrent.futures.Future[Any]] = set()
        # LOW jobs wait here until nothing HIGH is pending (see the module docstring).
        self._low: deque[_Job] = deque()
        self._low_running: Operation | None = None
        self._high = 0

    def _new(
        self,
        label: str,
        success: Callable[[Any], None] | None,
        failure: Callable[[BaseException], None] | None,
        progress: Callable[[Any], None] | None,
        changes: Change,
        *,
        priority: Priority = Priority.NORMAL,
    ) -> Operation:
        if self.closed:
            raise RuntimeError("operations are shut down")
        op = Operation(self, label, success, failure, progress, changes, priority)
        self._pending.add(op)
        if priority is Priority.HIGH:
            self._high += 1
        return op

    def run(
        self,
        fn: Callable[[OpContext], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        progress: Callable[[Any], None] | None = None,
        changes: Change = Change.NONE,
        label: str = "",
        priority: Priority = Priority.NORMAL,
    ) -> Operation:
        """Run ``fn(ctx)`` on the thread pool; callbacks come back on the UI thread.

        ``priority``: HIGH for what is about to be shown, LOW for fill-in work (see the
        module docstring)."""
        op = self._new(label, success, failure, progress, changes, priority=priority)
        job = _Job(op, fn)
        if priority is Priority.LOW:
            self._low.append(job)
            self._start_low()
        else:
            self._pool.start(job, int(priority))
        return op

    def _start_low(self) -> None:
        """Start the next LOW job if none runs and nothing HIGH is pending."""
        if self._low_running is not None or self._high or self.closed:
            return
        while self._low:
            job = self._low.popleft()
            op = job._op
            if op.cancelled.is_set():
                self._pool.start(job, int(Priority.HIGH))  # ends at once, unrun
                continue
            self._low_running = op
            self._pool.start(job, int(Priority.LOW))
            return

    def _cancelled(self, op: Operation) -> None:
        if op.priority is not Priority.LOW or self.closed:
            return
        for job in self._low:
            if job._op is op:
                # Waiting for its turn: let it end now (unrun) instead, so that it does
                # not count as pending until the queue reaches it.
                self._low.remove(job)
                self._pool.start(job, int(Priority.HIGH))
                return

    def write(
        self,
        vault: Any,
        fn: Callable[[Any], Any],
        *,
        success: Callable[[Any], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        changes: Change = Change.NONE,
        label: str = "",
    ) -> Operation:
        """Run ``fn(connection)`` on the vault's writer thread (one transaction).

        On success the notifier announces ``changes``, so every view showing that data
        refreshes itself.
        """
        op = self._new(label, success, failure, None, changes)
        future = vault.write(fn)
        self._futures.add(future)

        def done(f: concurrent.futures.Future[Any]) -> None:
            # Runs on the writer thread: only emit, the relay queues to the UI thread.
            error = f.exception()
            if error is None:
                op.relay.succeeded.emit(f.result())
            else:
                op.relay.failed.emit(error)

        future.add_done_callback(done)
        return op

    def pending(self) -> int:
        """How many operations have not delivered their result yet."""
        return len(self._pending)

    def _forget(self, op: Operation) -> None:
        if op in self._pending and op.priority is Priority.HIGH:
            self._high -= 1
        self._pending.discard(op)
        if op is self._low_running:
            self._low_running = None
        self._futures = {f for f in self._futures if not f.done()}
        self._start_low()
        if not self._pending:
            self.idle.emit()

    def cancel_all(self) -> None:
        """Ask every pending function to stop; queued ones end before they start."""
        for op in list(self._pending):
            op.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel, then wait for every running function; results are dropped.

        Returns False if something was still running after ``timeout_ms``.
        """
        self.cancel_all()
        self._low.clear()
        self._pool.clear()
        finished = self._pool.waitForDone(timeout_ms)
        if self._futures:
            _, not_done = concurrent.futures.wait(self._futures, timeout=timeout_ms / 1000)
            finished = finished and not not_done
        self.closed = True
        self._pending.clear()
        self._futures.clear()
        if not finished:
            log.warning("background work still running at shutdown")
        return finished
