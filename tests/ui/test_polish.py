"""First-hour polish: the profile's log file, the error report, About, the deployment's
environment variables, and reopening the last case."""

from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app import __version__
from tests.ui.helpers import add_case
from ui import logs
from ui.about import LICENCES, AboutDialog
from ui.error_dialogs import error_box, error_report
from ui.main_window import LAST_CASE_SETTING, MainWindow
from ui.notifier import Notifier
from ui.operations import Operations
from ui.qt import QApplication, QIcon, QMessageBox
from ui.settings import app_settings, apply_environment

PATIENT = "Ada Testpatient"


def _raise_with_patient_data() -> BaseException:
    try:
        raise ValueError(f"{PATIENT} MRN-4711")
    except ValueError as error:
        return error


def test_the_profile_log_file_is_private_and_closed_at_quit(
    qtbot: QtBot, make_shell: Any, vault: Any
) -> None:
    shell = make_shell()
    shell._use_vault(vault, sync=False)
    path = vault.profile.logs_dir / logs.LOG_NAME
    assert logs.log_folder() == vault.profile.logs_dir
    logging.getLogger("ui.test").info("a line for support")
    assert "a line for support" in path.read_text(encoding="utf-8")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700

    opened: list[Path] = []
    shell.window.open_folder = opened.append
    shell.window.log_folder_action.trigger()
    assert opened == [vault.profile.logs_dir]

    shell.shutdown()
    assert logs.log_folder() is None
    logging.getLogger("ui.test").info("after quit")
    assert "after quit" not in path.read_text(encoding="utf-8")


def test_the_log_file_rotates(tmp_path: Path) -> None:
    handler = logs.attach_profile_log(tmp_path / "logs")
    try:
        for _ in range(3 * logs.MAX_BYTES // 1000):
            logging.getLogger("ui.test").info("x" * 1000)
    finally:
        logs.detach_profile_log()
    assert handler.baseFilename.endswith(logs.LOG_NAME)
    names = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert names[:3] == ["reviewer.log", "reviewer.log.1", "reviewer.log.2"]
    assert all(p.stat().st_size <= logs.MAX_BYTES for p in (tmp_path / "logs").iterdir())


def test_error_report_has_type_and_places_but_no_message() -> None:
    report = error_report(_raise_with_patient_data())
    assert f"Reviewer {__version__}" in report
    assert "Error: builtins.ValueError" in report
    assert "test_polish.py:" in report and "_raise_with_patient_data" in report
    assert PATIENT not in report and "4711" not in report


def test_unexpected_error_box_copies_the_report(qtbot: QtBot) -> None:
    error = _raise_with_patient_data()
    box = error_box(None, error)
    qtbot.addWidget(box)
    assert box.detailedText() == error_report(error)
    copy = next(b for b in box.buttons() if b.objectName() == "copyReport")
    QApplication.clipboard().clear()
    copy.click()
    assert QApplication.clipboard().text() == error_report(error)
    assert PATIENT not in box.text() + box.informativeText() + box.detailedText()


def test_about_lists_version_and_licences(qtbot: QtBot) -> None:
    box = AboutDialog(QIcon())
    qtbot.addWidget(box)
    assert __version__ in box.text()
    assert box.detailedText() == LICENCES.read_text(encoding="utf-8")
    assert "pydicom" in box.detailedText() and "LGPL" in box.detailedText()
    assert isinstance(box, QMessageBox)


def test_environment_overrides_platform_settings(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings = app_settings()
    settings.setValue("platform/url", "https://old.example.org/fhir")
    applied = apply_environment(
        settings,
        {
            "REVIEWER_SERVER_URL": "https://platform.example.org/fhir",
            "REVIEWER_CA_BUNDLE": str(bundle),
            "REVIEWER_IMAGE_CACHE_MB": "256",
            "UNRELATED": "x",
        },
    )
    assert set(applied) == {"REVIEWER_SERVER_URL", "REVIEWER_CA_BUNDLE", "REVIEWER_IMAGE_CACHE_MB"}
    again = app_settings()  # a fresh object reads what was written
    assert again.value("platform/url") == "https://platform.example.org/fhir"
    assert again.value("platform/ca_bundle") == str(bundle)
    assert str(again.value("imaging/cache_budget_mb")) == "256"


def test_malformed_environment_values_change_nothing(tmp_path: Path, caplog: Any) -> None:
    settings = app_settings()
    settings.setValue("platform/url", "https://kept.example.org/fhir")
    applied = apply_environment(
        settings,
        {
            "REVIEWER_SERVER_URL": "platform.example.org",
            "REVIEWER_CA_BUNDLE": str(tmp_path / "missing.pem"),
            "REVIEWER_IMAGE_CACHE_MB": "lots",
        },
    )
    assert applied == {}
    assert settings.value("platform/url") == "https://kept.example.org/fhir"
    assert settings.value("platform/ca_bundle") is None
    assert "ignoring REVIEWER_CA_BUNDLE: no such file" in caplog.text
    assert "missing.pem" not in caplog.text


def _window(qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any) -> MainWindow:
    window = MainWindow(
        ops, notifier, app_settings(), icon=QIcon(), profile_name="", watch_session=False
    )
    qtbot.addWidget(window)
    window.attach_vault(vault)
    return window


def _setting(vault: Any) -> str | None:
    from reviewer_app.vault.database import get_setting

    return get_setting(vault.read(), LAST_CASE_SETTING)


def test_the_last_case_is_reopened_at_the_next_start(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    add_case(vault, "case-a", PATIENT)
    add_case(vault, "case-b", "Bo Testpatient")
    first = _window(qtbot, ops, notifier, vault)
    first.show()
    first.start_unlocked()
    first.open_case("case-b")
    qtbot.waitUntil(lambda: _setting(vault) == "case-b")
    first.close()

    second = _window(qtbot, ops, notifier, vault)
    second.show()
    second.start_unlocked()
    qtbot.waitUntil(lambda: second.pages.currentWidget() is second.workspace)
    assert second.workspace is not None
    assert second.workspace.requested_case_id() == "case-b"

    # Back to the worklist: nothing is reopened at the start after that.
    second.show_worklist()
    qtbot.waitUntil(lambda: _setting(vault) == "")
    second.close()
    third = _window(qtbot, ops, notifier, vault)
    third.show()
    third.start_unlocked()
    qtbot.wait(200)
    assert third.workspace is None
    third.close()
    ops.shutdown()


def test_a_last_case_that_is_gone_is_not_reopened(
    qtbot: QtBot, ops: Operations, notifier: Notifier, vault: Any
) -> None:
    from reviewer_app.vault.database import set_setting

    vault.write_sync(lambda conn: set_setting(conn, LAST_CASE_SETTING, "case-withdrawn"))
    add_case(vault, "case-a", PATIENT)
    window = _window(qtbot, ops, notifier, vault)
    window.show()
    window.start_unlocked()
    qtbot.wait(200)
    assert window.workspace is None
    assert window.pages.currentWidget() is window.worklist
    window.close()
    ops.shutdown()
