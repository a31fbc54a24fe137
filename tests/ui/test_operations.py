"""Background operations: results, failures and progress arrive on the UI thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from ui.notifier import Change, Notifier
from ui.operations import OpContext, Operations, Priority


def test_success_and_progress_are_delivered_on_the_ui_thread(qtbot: QtBot, ops: Operations) -> None:
    ui_thread = threading.current_thread()
    seen: list[tuple[str, object, bool]] = []
    worker: list[threading.Thread] = []

    def work(ctx: OpContext) -> int:
        worker.append(threading.current_thread())
        for step in range(3):
            ctx.report(step)
        return 42

    with qtbot.waitSignal(ops.idle):
        ops.run(
            work,
            success=lambda r: seen.append(("ok", r, threading.current_thread() is ui_thread)),
            progress=lambda p: seen.append(("p", p, threading.current_thread() is ui_thread)),
        )
    assert worker[0] is not ui_thread
    assert seen == [("p", 0, True), ("p", 1, True), ("p", 2, True), ("ok", 42, True)]
    assert ops.pending() == 0


def test_failure_goes_to_the_failure_callback_or_to_unhandled(
    qtbot: QtBot, ops: Operations
) -> None:
    def fail(_ctx: OpContext) -> None:
        raise ValueError("boom")

    errors: list[BaseException] = []
    with qtbot.waitSignal(ops.idle):
        ops.run(fail, failure=errors.append)
    assert isinstance(errors[0], ValueError)
    with qtbot.waitSignal(ops.unhandled) as unhandled:
        ops.run(fail)
    assert isinstance(unhandled.args[0], ValueError)


def test_writes_run_on_the_vault_writer_and_announce_changes(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    threads: list[str] = []

    def insert(conn: Any) -> int:
        threads.append(threading.current_thread().name)
        conn.execute("INSERT INTO cases (case_id, patient_name) VALUES ('c-1', 'Synthetic')")
        return 1

    with qtbot.waitSignal(notifier.cases_changed):
        ops.write(vault, insert, changes=Change.CASES)
    assert threads == ["vault-writer"]
    assert vault.count_cases() == 1

    # A failing write rolls back, reports the error, and announces nothing.
    changed: list[object] = []
    notifier.changed.connect(changed.append)

    def broken(conn: Any) -> None:
        conn.execute("INSERT INTO cases (case_id, patient_name) VALUES ('c-2', 'Synthetic')")
        raise RuntimeError("stop")

    errors: list[BaseException] = []
    with qtbot.waitSignal(ops.idle):
        ops.write(vault, broken, failure=errors.append, changes=Change.CASES)
    assert isinstance(errors[0], RuntimeError)
    assert vault.count_cases() == 1
    assert changed == []


def test_shutdown_cancels_waits_and_drops_late_results(qtbot: QtBot, notifier: Notifier) -> None:
    ops = Operations(notifier, max_threads=1)
    started = threading.Event()
    stopped_early: list[bool] = []

    def long_running(ctx: OpContext) -> None:
        started.set()
        for _ in range(200):
            if ctx.cancelled:
                stopped_early.append(True)
                return
            threading.Event().wait(0.01)

    results: list[object] = []
    ops.run(long_running, success=results.append)
    ops.run(lambda _ctx: "queued", success=results.append)  # never starts
    assert started.wait(2)
    assert ops.shutdown(timeout_ms=5000)
    assert stopped_early == [True]
    qtbot.wait(50)
    assert results == []  # nothing is delivered after shutdown
    with pytest.raises(RuntimeError):
        ops.run(lambda _ctx: None)


def test_high_work_jumps_the_queue_and_low_work_waits_for_it(
    qtbot: QtBot, notifier: Notifier
) -> None:
    """One thread, held by a gate: what queues behind it runs HIGH first, then NORMAL,
    and LOW only once nothing HIGH is pending."""
    ops = Operations(notifier, max_threads=1)
    try:
        gate = threading.Event()
        order: list[str] = []

        def note(name: str) -> Any:
            return lambda _ctx: order.append(name)

        ops.run(lambda _ctx: gate.wait(5), priority=Priority.HIGH)
        ops.run(note("low 1"), priority=Priority.LOW)
        ops.run(note("normal"))
        ops.run(note("low 2"), priority=Priority.LOW)
        ops.run(note("high"), priority=Priority.HIGH)
        qtbot.wait(50)
        assert order == []
        with qtbot.waitSignal(ops.idle, timeout=5000):
            gate.set()
        assert order == ["high", "normal", "low 1", "low 2"]
    finally:
        ops.shutdown()


def test_low_work_runs_one_job_at_a_time(qtbot: QtBot, ops: Operations) -> None:
    lock = threading.Lock()
    running = [0]
    seen: list[int] = []

    def low(_ctx: OpContext) -> None:
        with lock:
            running[0] += 1
            seen.append(running[0])
        threading.Event().wait(0.02)
        with lock:
            running[0] -= 1

    with qtbot.waitSignal(ops.idle, timeout=5000):
        for _ in range(3):
            ops.run(low, priority=Priority.LOW)
    assert seen == [1, 1, 1]


def test_cancelled_queued_work_never_runs_and_ends_at_once(
    qtbot: QtBot, notifier: Notifier
) -> None:
    ops = Operations(notifier, max_threads=1)
    try:
        gate = threading.Event()
        ran: list[str] = []
        delivered: list[object] = []
        ops.run(lambda _ctx: gate.wait(5), priority=Priority.HIGH)
        low = ops.run(
            lambda _ctx: ran.append("low"), success=delivered.append, priority=Priority.LOW
        )
        normal = ops.run(lambda _ctx: ran.append("normal"), success=delivered.append)
        low.cancel()
        normal.cancel()
        with qtbot.waitSignal(ops.idle, timeout=5000):
            gate.set()
        assert ran == [] and delivered == []
        assert low.done and normal.done
    finally:
        ops.shutdown()
