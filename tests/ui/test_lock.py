"""The lock: idle time and session signals hide every piece of patient data."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.helpers import PASSPHRASE, add_case, all_visible_texts
from ui.lock import IdleTracker, SessionWatcher, _bus_path_escape
from ui.qt import HAVE_DBUS, QMessageBox, Qt

PATIENT = "Synthetic Testpatient Zeta"


def _open_unlocked(make_shell: Any, vault: Any, qtbot: QtBot, *, idle_ms: int) -> Any:
    add_case(vault, "c-1", PATIENT, clinical_question="Zeta-specific question text")
    shell = make_shell(idle_ms=idle_ms)
    shell._use_vault(vault)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    assert any(PATIENT in text for text in all_visible_texts())
    return shell


def _assert_no_patient_data() -> None:
    texts = all_visible_texts()
    assert texts, "nothing visible at all"
    leaked = [text for text in texts if PATIENT in text or "Zeta" in text]
    assert not leaked


def _type_and_submit(qtbot: QtBot, window: Any, passphrase: str) -> None:
    field = window.lock_screen.passphrase
    qtbot.waitUntil(field.isEnabled)
    field.setText(passphrase)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    # The check runs off the UI thread; wait for its answer.
    qtbot.waitUntil(lambda: not window.lock_screen.is_checking())


def test_idle_lock_hides_patient_data_and_passphrase_unlocks(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=150)
    window = shell.window
    with qtbot.waitSignal(window.lock_changed, timeout=3000) as locked:
        pass  # no input: the idle timer fires
    assert locked.args == [True]
    assert window.is_locked()
    assert window.windowTitle() == "Reviewer — Locked"
    _assert_no_patient_data()
    assert window.worklist.model.rowCount() == 0  # not just hidden: dropped
    window.idle.set_interval_ms(60_000)  # no second idle lock while we check

    _type_and_submit(qtbot, window, "not the passphrase")
    assert window.is_locked()
    assert "Wrong passphrase" in window.lock_screen.message.text()
    _assert_no_patient_data()

    with qtbot.waitSignal(window.worklist.loaded):
        _type_and_submit(qtbot, window, PASSPHRASE)
    assert not window.is_locked()
    assert window.windowTitle() == "Reviewer"
    assert any(PATIENT in text for text in all_visible_texts())
    assert window.idle.is_running()


def test_wrong_attempts_slow_down_with_a_countdown(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=60_000)
    window = shell.window
    window.lock("requested")
    screen = window.lock_screen
    for _ in range(2):  # the first wrong attempts cost nothing
        _type_and_submit(qtbot, window, "wrong passphrase here")
        assert not screen.is_throttled()
    _type_and_submit(qtbot, window, "wrong passphrase here")
    # Third failure: a delay runs; the field is disabled and counts down.
    assert screen.is_throttled()
    assert not screen.passphrase.isEnabled()
    assert not screen.unlock_button.isEnabled()
    assert "Try again in 1 s" in screen.message.text()
    # Even a correct passphrase is not checked while throttled.
    screen.passphrase.setText(PASSPHRASE)
    screen.submit()
    assert window.is_locked()
    qtbot.waitUntil(screen.passphrase.isEnabled, timeout=4000)
    assert screen.message.text() == "You can try again now."
    with qtbot.waitSignal(window.worklist.loaded):
        _type_and_submit(qtbot, window, PASSPHRASE)
    assert not window.is_locked()


def test_the_vault_throttles_even_when_the_window_is_new(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    """Failures live in the vault: a fresh lock screen still has to wait."""
    for _ in range(3):
        assert vault.lock.verify("wrong passphrase here") is False
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=60_000)
    shell.window.lock("requested")
    _type_and_submit(qtbot, shell.window, PASSPHRASE)
    assert shell.window.is_locked()
    assert shell.window.lock_screen.is_throttled()
    qtbot.waitUntil(shell.window.lock_screen.passphrase.isEnabled, timeout=4000)


def test_lock_now_shortcut_and_open_dialogs_are_closed(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=60_000)
    window = shell.window
    window.show_about()
    about = window.findChild(QMessageBox, "aboutDialog")
    qtbot.waitUntil(about.isVisible)
    assert window.lock_action.shortcut().toString() == "Ctrl+L"
    window.lock_action.trigger()
    assert window.is_locked()
    assert not about.isVisible()
    assert not window.lock_action.isEnabled()
    _assert_no_patient_data()


def test_input_keeps_the_app_unlocked(qtbot: QtBot, make_shell: Any, vault: Any) -> None:
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=400)
    window = shell.window
    for _ in range(6):
        qtbot.wait(100)
        qtbot.keyClick(window.worklist.table, Qt.Key.Key_Down)
    assert not window.is_locked()
    qtbot.waitUntil(window.is_locked, timeout=3000)


def test_idle_tracker_stops_cleanly(qtbot: QtBot) -> None:
    tracker = IdleTracker(50)
    tracker.start()
    assert tracker.is_running()
    tracker.stop()
    assert not tracker.is_running()
    qtbot.wait(100)  # stopped: it never fires
    assert IdleTracker.minutes_to_ms(5) == 300_000


def test_session_bus_paths_are_escaped_like_systemd() -> None:
    assert _bus_path_escape("c1") == "c1"
    assert _bus_path_escape("2") == "_32"
    assert _bus_path_escape("a-b") == "a_2db"


@pytest.mark.skipif(not HAVE_DBUS, reason="QtDBus is not in this Qt build")
def test_screen_saver_signal_on_the_session_bus_locks(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    from ui.qt import QDBusConnection, QDBusMessage

    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        pytest.skip("no D-Bus session bus (the suite runs inside dbus-run-session)")
    shell = _open_unlocked(make_shell, vault, qtbot, idle_ms=60_000)
    watcher = SessionWatcher(shell.window)
    assert any("ScreenSaver" in what for what in watcher.listening)
    watcher.lock_requested.connect(shell.window.lock)
    message = QDBusMessage.createSignal(
        "/org/freedesktop/ScreenSaver", "org.freedesktop.ScreenSaver", "ActiveChanged"
    )
    message.setArguments([True])
    assert bus.send(message)
    qtbot.waitUntil(shell.window.is_locked, timeout=3000)
    _assert_no_patient_data()


def test_idle_time_comes_from_the_vault_setting(make_shell: Any, vault: Any) -> None:
    vault.lock.idle_minutes = 7
    shell = make_shell(idle_ms=None)
    shell._use_vault(vault)
    assert shell.window.idle.interval_ms() == 7 * 60_000
