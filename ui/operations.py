"""Background work for the UI: the one mechanism every view uses.

Like Anki's ``QueryOp``/``CollectionOp``: a function runs off the UI thread (on this
module's thread pool, or on the vault's single writer thread through ``Vault.write``),
and its result, failure or progress comes back on the UI thread as a callback. The
function never touches widgets; the callbacks never block. Every operation is tracked,
so quitting can cancel what is still queued and wait for what is running, and so tests
can wait until the UI is idle.

    ops.run(lambda ctx: vault.cases(), success=model.set_cases)
    ops.write(vault, lambda conn: conn.execute(...), success=..., changes=Change.CASES)
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

from ui.notifier import Change, Notifier
from ui.qt import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class OperationCancelled(Exception):
    """Raised inside a background function when its operation was cancelled."""


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
    ) -> None:
        self.label = label
        self._owner = owner
        self._success = success
        self._failure = failure
        self._on_progress = progress
        self._changes = changes
        self.cancelled = threading.Event()
        self.done = False
        self.relay = _Relay(self)

    def cancel(self) -> None:
        """Ask the function to stop (it sees it at its next ``ctx.check()``)."""
        self.cancelled.set()

    def _progress(self, value: object) -> None:
        if self._on_progress is not None and not self._owner.closed:
            self._on_progress(value)

    def _finish(self, result: object, error: BaseException | None) -> None:
        self.done = True
        self._owner._forget(self)
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

    def _new(
        self,
        label: str,
        success: Callable[[Any], None] | None,
        failure: Callable[[BaseException], None] | None,
        progress: Callable[[Any], None] | None,
        changes: Change,
    ) -> Operation:
        if self.closed:
            raise RuntimeError("operations are shut down")
        op = Operation(self, label, success, failure, progress, changes)
        self._pending.add(op)
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
    ) -> Operation:
        """Run ``fn(ctx)`` on the thread pool; callbacks come back on the UI thread."""
        op = self._new(label, success, failure, progress, changes)
        self._pool.start(_Job(op, fn))
        return op

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
        self._pending.discard(op)
        self._futures = {f for f in self._futures if not f.done()}
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
