"""First-run set-up: choose a passphrase and create the profile."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.vault import KeySource, Profile, create_profile
from tests.ui.helpers import FAST_SCRYPT, PASSPHRASE, ModalAnswers
from ui.first_run import MIN_LENGTH, FirstRunDialog, problem, strength
from ui.operations import Operations
from ui.resources import app_icon


def _dialog(qtbot: QtBot, ops: Operations, profile: Profile, *, keyring: bool) -> FirstRunDialog:
    def create(passphrase: str) -> Any:
        return create_profile(
            profile, passphrase, key_source=KeySource.PASSPHRASE, scrypt=FAST_SCRYPT
        )

    dialog = FirstRunDialog(
        ops, app_icon(), create, keyring_available=keyring, profile_folder=str(profile.root)
    )
    qtbot.addWidget(dialog)
    return dialog


def test_passphrase_rules() -> None:
    assert problem("short", "short") == f"Use at least {MIN_LENGTH} characters."
    assert problem("long enough passphrase", "long enough passphrase!") == (
        "The two passphrases differ."
    )
    assert "spaces" in problem(" leading space here", " leading space here")
    assert problem(PASSPHRASE, PASSPHRASE) == ""
    assert strength("aaaaaaaaaaaa")[0] == 1
    assert strength("Correct-Horse-Battery-Staple-42")[0] == 4
    assert strength("short")[0] == 0


def test_dialog_creates_the_profile(qtbot: QtBot, ops: Operations, profile: Profile) -> None:
    dialog = _dialog(qtbot, ops, profile, keyring=False)
    dialog.open()
    assert not dialog.create_button.isEnabled()
    qtbot.keyClicks(dialog.passphrase, "too short")
    assert "Too short" in dialog.strength_label.text()
    dialog.passphrase.setText(PASSPHRASE)
    qtbot.keyClicks(dialog.repeat, PASSPHRASE[:-1] + "X")
    assert dialog.message.text() == "The two passphrases differ."
    assert not dialog.create_button.isEnabled()
    dialog.repeat.setText(PASSPHRASE)
    assert dialog.create_button.isEnabled()
    assert dialog.message.text() == ""
    assert "protected by this passphrase" in dialog.storage_note.text()

    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        qtbot.mouseClick(dialog.create_button, qtbot_left())
    vault = dialog.vault
    try:
        assert profile.exists()
        assert vault.lock.verify(PASSPHRASE) is True
        assert vault.cases() == []
    finally:
        vault.close()


def qtbot_left() -> Any:
    from ui.qt import Qt

    return Qt.MouseButton.LeftButton


def test_keyring_note_says_where_the_key_goes(
    qtbot: QtBot, ops: Operations, profile: Profile
) -> None:
    dialog = _dialog(qtbot, ops, profile, keyring=True)
    assert "keyring" in dialog.storage_note.text()
    assert "protected by this passphrase" not in dialog.storage_note.text()


def test_a_failure_is_shown_and_nothing_is_half_made(
    qtbot: QtBot, ops: Operations, profile: Profile
) -> None:
    # Someone else's file in the folder: the core refuses to make a profile there.
    profile.root.mkdir(parents=True)
    (profile.root / "notes.txt").write_text("not Reviewer's")
    dialog = _dialog(qtbot, ops, profile, keyring=False)
    dialog.open()
    dialog.passphrase.setText(PASSPHRASE)
    dialog.repeat.setText(PASSPHRASE)
    dialog.submit()
    qtbot.waitUntil(dialog.create_button.isEnabled)
    assert dialog.isVisible() and dialog.vault is None
    assert dialog.message.text()  # the error's title and what to do
    assert not profile.exists()
    assert (profile.root / "notes.txt").read_text() == "not Reviewer's"


def test_shell_runs_first_run_for_a_new_profile(
    qtbot: QtBot, make_shell: Any, profile: Profile, monkeypatch: Any
) -> None:
    # Through the real start path (the modal exec()), with cheap scrypt for the test.
    import reviewer_app.vault as vault_module

    real_create = vault_module.create_profile
    monkeypatch.setattr(
        vault_module,
        "create_profile",
        lambda p, pp, **kw: real_create(p, pp, key_source=KeySource.PASSPHRASE, scrypt=FAST_SCRYPT),
    )

    def fill_in(dialog: Any) -> None:
        dialog.passphrase.setText(PASSPHRASE)
        dialog.repeat.setText(PASSPHRASE)
        dialog.create_button.click()

    answers = ModalAnswers(fill_in)
    shell = make_shell()
    try:
        assert shell.start_profile(profile)
    finally:
        answers.stop()
    assert answers.seen == ["firstRunDialog"]
    assert profile.exists()
    assert shell.vault is not None
    assert not shell.window.is_locked()
    assert shell.window.isVisible()


def test_quitting_first_run_creates_nothing(
    qtbot: QtBot, make_shell: Any, profile: Profile
) -> None:
    answers = ModalAnswers(lambda dialog: dialog.reject())
    shell = make_shell()
    try:
        assert shell.start_profile(profile) is False
    finally:
        answers.stop()
    assert not profile.root.exists()
    assert not shell.window.isVisible()
