"""Signing inside the main window: the editor's Sign goes through the window's signing
flow (the editor's save first), the signed draft turns read-only, the worklist says
"Signed", and a lock closes the sign dialog without keeping the passphrase."""

# ruff: noqa: F811 - pytest fixtures imported from sign_helpers are parameters here

from __future__ import annotations

from typing import Any

from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import outbox
from tests.ui.helpers import unlocked_window
from tests.ui.opinion.sign_helpers import (  # noqa: F401
    SIGNING_PASSPHRASE,
    enroll_signer,
    pki_server,
    platform,
    synced,
    synced_root,
    write_complete_draft,
)
from ui.opinion.sign_dialog import SignDialog
from ui.worklist_model import CASE_ID_ROLE, Column


def _window(qtbot: Any, make_shell: Any, vault: Any) -> Any:
    return unlocked_window(qtbot, make_shell, vault)


def _sign_dialog(qtbot: Any, window: Any, case_id: str) -> SignDialog:
    editor = window.ensure_workspace().opinion
    with qtbot.waitSignal(editor.draft_shown, timeout=20_000):
        window.open_case(case_id)
    assert not editor.findings()
    editor.request_sign()
    qtbot.waitUntil(lambda: isinstance(window.signing.dialog, SignDialog), timeout=20_000)
    dialog = window.signing.dialog
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.review_page, timeout=60_000)
    return dialog


def _opinion_text(window: Any, case_id: str) -> str:
    proxy = window.worklist.proxy
    for row in range(proxy.rowCount()):
        if proxy.data(proxy.index(row, 0), CASE_ID_ROLE) == case_id:
            return str(proxy.data(proxy.index(row, Column.OPINION)))
    return ""


def test_the_editors_sign_signs_through_the_window_and_the_worklist_follows(
    qtbot: Any, synced: Any, make_shell: Any, platform: PlatformSession
) -> None:
    copy = synced()
    case_id = copy.case_ids[0]
    enroll_signer(copy.vault, platform)
    write_complete_draft(copy.vault, case_id)
    window = _window(qtbot, make_shell, copy.vault)
    assert _opinion_text(window, case_id) == "Draft"

    dialog = _sign_dialog(qtbot, window, case_id)
    dialog.passphrase.setText(SIGNING_PASSPHRASE)
    with qtbot.waitSignal(window.signing.signed, timeout=60_000):
        dialog.sign_button.click()
    (item,) = outbox.items(copy.vault, case_id)
    assert item.state is outbox.State.QUEUED
    editor = window.workspace.opinion
    qtbot.waitUntil(editor.is_read_only, timeout=10_000)
    qtbot.waitUntil(lambda: _opinion_text(window, case_id) == "Signed", timeout=10_000)
    dialog.accept()


def test_a_lock_closes_the_sign_dialog_and_forgets_the_typed_passphrase(
    qtbot: Any, synced: Any, make_shell: Any, platform: PlatformSession
) -> None:
    copy = synced()
    case_id = copy.case_ids[1]
    enroll_signer(copy.vault, platform)
    write_complete_draft(copy.vault, case_id)
    window = _window(qtbot, make_shell, copy.vault)
    dialog = _sign_dialog(qtbot, window, case_id)
    dialog.passphrase.setText(SIGNING_PASSPHRASE)
    window.lock("requested")
    assert not dialog.isVisible()
    assert dialog.passphrase.text() == ""
    assert window.signing.vault is None
    # Nothing signs while locked.
    assert window.signing.start(case_id) is None
    assert outbox.items(copy.vault, case_id) == []


def test_a_lock_while_signing_hides_the_dialog_and_keeps_the_signature(
    qtbot: Any, synced: Any, make_shell: Any, platform: PlatformSession
) -> None:
    copy = synced()
    case_id = copy.case_ids[2]
    enroll_signer(copy.vault, platform)
    write_complete_draft(copy.vault, case_id)
    window = _window(qtbot, make_shell, copy.vault)
    dialog = _sign_dialog(qtbot, window, case_id)
    dialog.passphrase.setText(SIGNING_PASSPHRASE)
    with qtbot.waitSignal(window.signing.signed, timeout=60_000):
        dialog.sign_button.click()
        window.lock("requested")
        assert not dialog.isVisible()
    (item,) = outbox.items(copy.vault, case_id)
    assert item.state is outbox.State.QUEUED
    # The hidden dialog goes once it has reported (no callback on a deleted widget).
    qtbot.waitUntil(lambda: window.signing.ops.pending() == 0)
