"""The opinion editor in the app: docked beside the panes, saved on lock and on quit."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.opinion.drafts import Section
from tests.ui.opinion.editor_helpers import stored
from ui.qt import Qt


def _app_with_case(synced: Any, make_shell: Any, qtbot: QtBot) -> tuple[Any, Any]:
    shell = make_shell()
    shell._use_vault(synced.vault, sync=False)  # production panes and the editor
    shell.window.resize(1400, 900)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    workspace = shell.window.ensure_workspace()
    editor = workspace.opinion
    assert editor is not None
    with qtbot.waitSignal(editor.draft_shown, timeout=10_000):
        shell.window.open_case(synced.case_ids[0])
    return shell, editor


def test_the_editor_is_docked_beside_the_panes_and_lock_saves_the_typing(
    synced_case: Any, make_shell: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    shell, editor = _app_with_case(synced, make_shell, qtbot)
    workspace = shell.window.workspace
    host = workspace.docks_host
    assert host.dockWidgetArea(workspace.docks["Opinion"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert editor.header.text() == workspace.panes[0].header.text() != ""
    # Ctrl+4 goes to the opinion (after the three panes).
    focus = next(a for a in workspace.focus_actions if a.text() == "Focus Opinion")
    assert focus.shortcut().toString() == "Ctrl+4"

    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "typed right before the lock")
    shell.window.lock("test")  # at once, inside the debounce
    assert editor.case_id() is None
    qtbot.waitUntil(lambda: editor.autosaver.in_flight() == 0, timeout=5000)
    saved = stored(synced.vault, synced.case_ids[0])
    assert saved is not None
    assert "typed right before the lock" in saved.text(Section.CASE_SUMMARY)


def test_closing_the_window_saves_the_typing(
    synced_case: Any, make_shell: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    shell, editor = _app_with_case(synced, make_shell, qtbot)
    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "typed right before quitting")
    shell.window.close()  # File ▸ Quit
    qtbot.waitUntil(lambda: editor.autosaver.in_flight() == 0, timeout=5000)
    saved = stored(synced.vault, synced.case_ids[0])
    assert saved is not None
    assert "typed right before quitting" in saved.text(Section.CASE_SUMMARY)
