"""The app shell: main window, status bar, settings that persist, and a clean quit."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.ui.helpers import (
    PASSPHRASE,
    ModalAnswers,
    add_case,
    all_visible_texts,
    unlocked_window,
)
from ui import theme
from ui.app import describe_traceback, parse_args
from ui.qt import QApplication, QMessageBox, QPalette
from ui.settings import app_settings
from ui.worklist_model import Column


@pytest.fixture
def restore_theme(qapp: QApplication) -> Any:
    """Theme tests change app-wide palette and style sheet: put them back."""
    palette, sheet, style = qapp.palette(), qapp.styleSheet(), qapp.style().name()
    yield
    from ui.qt import QStyleFactory

    qapp.setStyle(QStyleFactory.create(style))
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("reviewerTheme", None)


def test_main_window_opens_with_menus_and_status_bar(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = make_shell()
    shell._set_profile_name(vault.profile.root)
    shell._use_vault(vault)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    window = shell.window
    qtbot.waitExposed(window)
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Sync", "&Help"]
    # Quit has a shortcut even where the platform theme defines none (offscreen has none).
    assert any(key.toString() for key in window.quit_action.shortcuts())
    assert window.profile_label.text() == "Profile: profile"
    assert window.connection_label.text() == "● Offline"
    assert window.sync_label.text() == "Last sync: never"
    assert window.windowTitle() == "Reviewer"
    assert "No cases yet" in " ".join(all_visible_texts())
    window.set_online(True)
    assert window.connection_label.text() == "● Online"


def test_quitting_stops_every_timer_thread_and_closes_the_vault(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = make_shell(idle_ms=60_000)
    shell._use_vault(vault)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    assert shell.window.idle.is_running()
    writer_threads = [t for t in threading.enumerate() if t.name == "vault-writer"]
    assert writer_threads
    # Leave a background operation in flight while quitting.
    started = threading.Event()
    release = threading.Event()

    def slow(_ctx: Any) -> None:
        started.set()
        release.wait(0.3)

    shell.ops.run(slow)
    assert started.wait(2)
    shell.shutdown()
    assert shell.ops.pending() == 0
    assert vault.closed
    assert not shell.window.idle.is_running()
    assert not any(t.is_alive() for t in writer_threads)
    # (the leak check then verifies no thread, timer or window is left at all)


def test_theme_choice_persists_between_runs(
    qtbot: QtBot, make_shell: Any, vault: Any, restore_theme: None
) -> None:
    assert theme.saved(app_settings()) is theme.Theme.DARK  # the default
    shell = make_shell()
    shell.window.theme_actions[theme.Theme.LIGHT].trigger()
    app = QApplication.instance()
    assert theme.current(app) is theme.Theme.LIGHT
    assert app.palette().color(QPalette.ColorRole.Window).name() == "#f3f5f7"
    assert "light theme" in app.styleSheet()
    assert theme.saved(app_settings()) is theme.Theme.LIGHT
    shell.window.set_theme(theme.Theme.DARK)
    assert theme.saved(app_settings()) is theme.Theme.DARK
    assert shell.window.theme_actions[theme.Theme.DARK].isChecked()


def test_unknown_saved_theme_falls_back_to_dark() -> None:
    settings = app_settings()
    settings.setValue(theme.SETTINGS_KEY, "neon")
    assert theme.saved(settings) is theme.Theme.DARK


def test_window_geometry_and_columns_are_restored(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    first = make_shell()
    first.window.resize(777, 555)  # within the 800x800 offscreen screen
    first.window.show()
    qtbot.waitExposed(first.window)
    first.window.worklist.table.horizontalHeader().resizeSection(Column.PATIENT, 333)
    first.window.close()  # closing saves the layout

    second = make_shell()
    second.window.restore_layout()
    second.window.show()
    qtbot.waitExposed(second.window)
    assert (second.window.width(), second.window.height()) == (777, 555)
    header = second.window.worklist.table.horizontalHeader()
    assert header.sectionSize(Column.PATIENT) == 333


def test_a_layout_saved_before_the_default_widths_changed_is_not_reused(
    make_shell: Any,
) -> None:
    first = make_shell()
    header = first.window.worklist.table.horizontalHeader()
    header.resizeSection(Column.PATIENT, 333)
    # What an older version saved: the same columns, the old widths.
    app_settings().setValue(f"worklist/header-{len(Column)}", first.window.worklist.header_state())

    second = make_shell()
    second.window.restore_layout()
    assert second.window.worklist.table.horizontalHeader().sectionSize(Column.PATIENT) == 230


def test_the_clinical_question_stays_readable_on_a_1280_pixel_window(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    add_case(vault, "c-1", "Synthetic Patient One", priority="urgent")
    window = unlocked_window(qtbot, make_shell, vault, size=(1280, 800))
    qtbot.waitExposed(window)
    header = window.worklist.table.horizontalHeader()
    qtbot.waitUntil(lambda: header.width() > 1100)
    assert header.sectionSize(Column.QUESTION) >= 200


def test_unexpected_errors_get_a_friendly_dialog_without_their_message(
    qtbot: QtBot, make_shell: Any
) -> None:
    shell = make_shell()
    shell.window.show()
    try:
        raise RuntimeError("Synthetic Testpatient Omega detail")
    except RuntimeError as error:
        shell.excepthook(RuntimeError, error, error.__traceback__)
    box = shell.window.findChild(QMessageBox, "errorDialog")
    qtbot.waitUntil(box.isVisible)
    texts = " ".join(all_visible_texts())
    assert "Something went wrong" in texts
    assert "Omega" not in texts
    # A second error while the first dialog shows does not stack another dialog.
    shell.excepthook(ValueError, ValueError("again"), None)
    assert len(shell.window.findChildren(QMessageBox, "errorDialog")) == 1
    box.accept()
    assert not shell._error_showing


def test_tracebacks_are_described_without_values() -> None:
    def inner(name: str) -> None:
        raise KeyError(name)

    try:
        inner("Synthetic Testpatient Omega")
    except KeyError as error:
        where = describe_traceback(error.__traceback__)
    assert "test_app.py" in where and "inner" in where
    assert "Omega" not in where


def test_failed_operations_without_a_handler_reach_the_dialog(
    qtbot: QtBot, make_shell: Any
) -> None:
    shell = make_shell()
    shell.window.show()

    def boom(_ctx: Any) -> None:
        raise OSError("disk detail")

    shell.ops.run(boom)
    qtbot.waitUntil(lambda: shell.window.findChild(QMessageBox, "errorDialog") is not None)
    box = shell.window.findChild(QMessageBox, "errorDialog")
    qtbot.waitUntil(box.isVisible)
    assert "disk detail" not in box.informativeText()
    box.accept()


def test_command_line() -> None:
    args = parse_args(["--demo", "--theme", "light"])
    assert args.demo and args.theme == "light" and args.profile is None
    args = parse_args(["--profile", "/tmp/somewhere"])
    assert str(args.profile) == "/tmp/somewhere" and not args.demo
    with pytest.raises(SystemExit):
        parse_args(["--demo", "--profile", "/tmp/x"])
    with pytest.raises(SystemExit):
        parse_args(["--theme", "neon"])


def test_existing_profile_starts_locked_and_its_passphrase_opens_it(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Any
) -> None:
    created = make_vault()
    add_case(created, "c-1", "Synthetic Testpatient Kappa")
    created.close()

    shell = make_shell()
    assert shell.start_profile(profile)
    window = shell.window
    assert window.is_locked()
    assert shell.vault is None  # passphrase profile: opened by the lock screen
    assert not any("Kappa" in text for text in all_visible_texts())
    window.lock_screen.passphrase.setText("wrong passphrase here")
    window.lock_screen.submit()
    qtbot.waitUntil(lambda: not window.lock_screen.is_checking())
    assert window.is_locked() and shell.vault is None
    with qtbot.waitSignal(window.worklist.loaded):
        window.lock_screen.passphrase.setText(PASSPHRASE)
        window.lock_screen.submit()
    assert shell.vault is not None and not window.is_locked()
    assert any("Kappa" in text for text in all_visible_texts())
    # Later locks check the passphrase with the opened vault's local lock.
    window.lock("requested")
    with qtbot.waitSignal(window.lock_changed):
        window.lock_screen.passphrase.setText(PASSPHRASE)
        window.lock_screen.submit()


def test_demo_shows_its_passphrase_and_leaves_nothing_behind(qtbot: QtBot, make_shell: Any) -> None:
    seen: list[str] = []

    def read_and_start(dialog: Any) -> None:
        seen.append(dialog.passphrase_label.text())
        dialog.accept()

    answers = ModalAnswers(read_and_start)
    shell = make_shell()
    try:
        assert shell.start_demo()
    finally:
        answers.stop()
    passphrase = seen[0]
    assert len(passphrase) >= 10 and passphrase.count("-") == 3
    folder = shell.demo.folder
    assert folder.is_dir()
    assert shell.vault.key_source.value == "memory"
    assert not shell.window.is_locked()
    assert shell.window.profile_label.text() == "Profile: demo"
    shell.window.lock("requested")
    assert passphrase in shell.window.lock_screen.hint.text()
    with qtbot.waitSignal(shell.window.lock_changed, timeout=10_000):
        shell.window.lock_screen.passphrase.setText(passphrase)
        shell.window.lock_screen.submit()
    shell.shutdown()
    assert not folder.exists()


def test_opening_a_passphrase_profile_slows_down_wrong_attempts(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Any
) -> None:
    make_vault().close()
    shell = make_shell()
    assert shell.start_profile(profile)
    screen = shell.window.lock_screen
    for _ in range(3):
        qtbot.waitUntil(screen.passphrase.isEnabled)
        screen.passphrase.setText("wrong passphrase here")
        screen.submit()
        qtbot.waitUntil(lambda: not screen.is_checking())
    assert screen.is_throttled()
    assert not screen.passphrase.isEnabled()
    qtbot.waitUntil(screen.passphrase.isEnabled, timeout=4000)
    with qtbot.waitSignal(shell.window.lock_changed):
        screen.passphrase.setText(PASSPHRASE)
        screen.submit()
    assert shell.vault is not None


def test_the_first_start_window_fills_most_of_the_screen_and_fits_on_it(
    qtbot: QtBot, make_shell: Any
) -> None:
    shell = make_shell()
    shell.window.restore_layout()  # nothing saved yet: the first start
    shell.window.show()
    qtbot.waitExposed(shell.window)
    area = shell.window.screen().availableGeometry()
    assert shell.window.width() <= area.width()
    assert shell.window.height() <= area.height()
    assert shell.window.width() >= min(area.width(), 1280)
    assert shell.window.height() >= min(area.height(), 800)
