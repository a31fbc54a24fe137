"""Background operations: results, failures and progress arrive on the UI thread."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from ui.notifier import Change, Notifier
from ui.operations import OpContext, Operations


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
