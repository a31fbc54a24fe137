"""Each vault error at start maps to its own dialog; none of them changes a file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from reviewer_app.errors import (
    DatabaseTooNew,
    KeyringLocked,
    ProfileInUse,
    ReviewerError,
    WrongKey,
)
from reviewer_app.vault import KeySource, Profile, create_profile
from tests.ui.helpers import FAST_SCRYPT, PASSPHRASE, ModalAnswers
from ui.error_dialogs import RESET_WORD, StartupErrorDialog, error_box


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != ".lock"
    }


def _edit_meta(profile: Profile, **changes: Any) -> None:
    data = json.loads(profile.meta_path.read_text())
    data.update(changes)
    profile.meta_path.write_text(json.dumps(data))


def _closed_profile(make_vault: Any) -> None:
    make_vault().close()


@pytest.mark.parametrize("error", [WrongKey(), DatabaseTooNew(), KeyringLocked()])
def test_each_error_shows_its_own_title_and_advice(qtbot: QtBot, error: ReviewerError) -> None:
    box = error_box(None, error)
    qtbot.addWidget(box)
    assert box.windowTitle() == error.title
    assert box.informativeText() == f"{error.message}\n\n{error.hint}"


def test_only_errors_a_reset_can_fix_offer_it(qtbot: QtBot) -> None:
    wrong_key = StartupErrorDialog(WrongKey())
    too_new = StartupErrorDialog(DatabaseTooNew())
    qtbot.addWidget(wrong_key)
    qtbot.addWidget(too_new)
    assert wrong_key.reset_button is not None
    assert too_new.reset_button is None  # the fix is a newer Reviewer, not erasing data


def test_profile_from_a_newer_reviewer(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Profile
) -> None:
    _closed_profile(make_vault)
    _edit_meta(profile, format=99)
    before = _snapshot(profile.root)
    dialogs: list[Any] = []

    def look_and_quit(dialog: Any) -> None:
        dialogs.append((dialog.windowTitle(), dialog.informativeText(), dialog.reset_button))
        dialog.quit_button.click()

    answers = ModalAnswers(look_and_quit)
    shell = make_shell()
    try:
        assert shell.start_profile(profile) is False
    finally:
        answers.stop()
    too_new = DatabaseTooNew()
    assert dialogs == [(too_new.title, f"{too_new.message}\n\n{too_new.hint}", None)]
    assert _snapshot(profile.root) == before


def test_wrong_key_is_reported_and_changes_nothing(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Profile
) -> None:
    _closed_profile(make_vault)
    # The key check no longer matches the key the passphrase unwraps.
    _edit_meta(profile, key_check="0" * 32)
    before = _snapshot(profile.root)
    titles: list[str] = []

    def look_and_quit(dialog: Any) -> None:
        titles.append(dialog.windowTitle())
        assert dialog.reset_button is not None
        dialog.quit_button.click()

    shell = make_shell()
    assert shell.start_profile(profile)  # passphrase profile: the lock screen opens it
    answers = ModalAnswers(look_and_quit)
    try:
        shell.window.lock_screen.passphrase.setText(PASSPHRASE)
        shell.window.lock_screen.submit()
        qtbot.waitUntil(lambda: answers.done)
    finally:
        answers.stop()
    assert titles == [WrongKey.title]
    assert shell.window.is_locked() and shell.vault is None
    assert shell.window.lock_screen.message.text() == WrongKey.title
    assert _snapshot(profile.root) == before


def test_reset_needs_the_typed_word_then_starts_again(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Profile, monkeypatch: Any
) -> None:
    import reviewer_app.vault as vault_module

    real_create = vault_module.create_profile
    monkeypatch.setattr(
        vault_module,
        "create_profile",
        lambda p, pp, **kw: real_create(p, pp, key_source=KeySource.PASSPHRASE, scrypt=FAST_SCRYPT),
    )
    _closed_profile(make_vault)
    _edit_meta(profile, key_check="0" * 32)
    old_id = json.loads(profile.meta_path.read_text())["profile_id"]

    def choose_reset(dialog: Any) -> None:
        dialog.reset_button.click()

    def confirm(dialog: Any) -> None:
        assert not dialog.erase_button.isEnabled()
        dialog.confirm_edit.setText("erase")  # the word must match exactly
        assert not dialog.erase_button.isEnabled()
        dialog.confirm_edit.setText(RESET_WORD)
        assert dialog.erase_button.isEnabled()
        dialog.erase_button.click()

    def new_passphrase(dialog: Any) -> None:
        dialog.passphrase.setText("a brand new passphrase")
        dialog.repeat.setText("a brand new passphrase")
        dialog.create_button.click()

    shell = make_shell()
    assert shell.start_profile(profile)
    answers = ModalAnswers(choose_reset, confirm, new_passphrase)
    try:
        shell.window.lock_screen.passphrase.setText(PASSPHRASE)
        shell.window.lock_screen.submit()
        qtbot.waitUntil(lambda: answers.done and shell.vault is not None, timeout=10_000)
    finally:
        answers.stop()
    assert answers.seen == ["startupErrorDialog", "resetProfileDialog", "firstRunDialog"]
    assert json.loads(profile.meta_path.read_text())["profile_id"] != old_id
    assert not shell.window.is_locked()
    assert shell.vault.lock.verify("a brand new passphrase") is True


def test_declining_the_reset_keeps_everything(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Profile
) -> None:
    _closed_profile(make_vault)
    _edit_meta(profile, key_check="0" * 32)
    before = _snapshot(profile.root)
    shell = make_shell()
    assert shell.start_profile(profile)
    answers = ModalAnswers(lambda d: d.reset_button.click(), lambda d: d.reject())
    try:
        shell.window.lock_screen.passphrase.setText(PASSPHRASE)
        shell.window.lock_screen.submit()
        qtbot.waitUntil(lambda: answers.done)
    finally:
        answers.stop()
    assert _snapshot(profile.root) == before
    assert shell.window.is_locked()


@pytest.mark.keyring
def test_keyring_entry_missing(qtbot: QtBot, make_shell: Any, profile: Profile) -> None:
    if not os.environ.get("REVIEWER_SECRET_SERVICE"):
        pytest.skip("needs the suite's Secret Service (run through tests.run_suite)")
    import keyring

    from reviewer_app.errors import KeyringEntryMissing

    create_profile(profile, PASSPHRASE, key_source=KeySource.KEYRING, scrypt=FAST_SCRYPT).close()
    profile_id = json.loads(profile.meta_path.read_text())["profile_id"]
    keyring.delete_password("Reviewer", f"vault-key:{profile_id}")
    before = _snapshot(profile.root)
    titles: list[str] = []

    def look_and_quit(dialog: Any) -> None:
        titles.append(dialog.windowTitle())
        dialog.quit_button.click()

    answers = ModalAnswers(look_and_quit)
    shell = make_shell()
    try:
        assert shell.start_profile(profile) is False
    finally:
        answers.stop()
    assert titles == [KeyringEntryMissing.title]
    assert _snapshot(profile.root) == before


@pytest.mark.keyring
def test_keyring_profile_opens_then_starts_locked(
    qtbot: QtBot, make_shell: Any, profile: Profile
) -> None:
    if not os.environ.get("REVIEWER_SECRET_SERVICE"):
        pytest.skip("needs the suite's Secret Service (run through tests.run_suite)")
    from reviewer_app.vault import reset_profile

    create_profile(profile, PASSPHRASE, key_source=KeySource.KEYRING, scrypt=FAST_SCRYPT).close()
    try:
        shell = make_shell()
        assert shell.start_profile(profile)
        assert shell.vault is not None  # opened with the keyring's key…
        assert shell.window.is_locked()  # …and still locked until the passphrase
        with qtbot.waitSignal(shell.window.lock_changed):
            shell.window.lock_screen.passphrase.setText(PASSPHRASE)
            shell.window.lock_screen.submit()
        shell.shutdown()
    finally:
        reset_profile(profile)  # removes the keyring entry too


def test_profile_in_use_can_be_tried_again(
    qtbot: QtBot, make_shell: Any, make_vault: Any, profile: Profile
) -> None:
    other = make_vault()  # another "window" holds the profile open
    seen: list[tuple[str, bool]] = []

    def close_other_then_retry(dialog: Any) -> None:
        seen.append((dialog.windowTitle(), dialog.reset_button is None))
        other.close()
        dialog.retry_button.click()

    shell = make_shell()
    assert shell.start_profile(profile)
    answers = ModalAnswers(close_other_then_retry)
    try:
        shell.window.lock_screen.passphrase.setText(PASSPHRASE)
        shell.window.lock_screen.submit()
        qtbot.waitUntil(lambda: answers.done)
    finally:
        answers.stop()
    assert seen == [(ProfileInUse.title, True)]
    screen = shell.window.lock_screen
    assert shell.window.isVisible() and shell.window.is_locked()
    with qtbot.waitSignal(shell.window.lock_changed):
        qtbot.waitUntil(screen.passphrase.isEnabled)
        screen.passphrase.setText(PASSPHRASE)
        screen.submit()
    assert shell.vault is not None
