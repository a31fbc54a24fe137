"""Helpers for the opinion editor tests: an editor on a real synced vault, and waits."""

from __future__ import annotations

from typing import Any

from reviewer_app.casefile import CaseFile, load_case
from reviewer_app.opinion import drafts
from ui.opinion import OpinionEditor

#: Long enough for a debounced save on a loaded 2-core machine.
SAVE_TIMEOUT_MS = 5000


def open_editor(qtbot: Any, ops: Any, vault: Any, case_id: str) -> tuple[OpinionEditor, CaseFile]:
    """A shown OpinionEditor with ``case_id``'s draft on screen."""
    editor = OpinionEditor(ops)
    qtbot.addWidget(editor)
    editor.resize(700, 900)
    editor.show()
    case = load_case(vault, case_id)
    show(qtbot, editor, case, vault)
    return editor, case


def show(qtbot: Any, editor: OpinionEditor, case: CaseFile, vault: Any) -> None:
    """``editor.show_case`` and wait until that case's draft is on screen."""
    with qtbot.waitSignal(editor.draft_shown, timeout=SAVE_TIMEOUT_MS) as shown:
        editor.show_case(case, vault)
    assert shown.args == [case.case_id]


def wait_saved(qtbot: Any, editor: OpinionEditor) -> None:
    """Until nothing typed is unsaved and no save is in flight."""
    qtbot.waitUntil(
        lambda: not editor.autosaver.is_dirty() and editor.autosaver.in_flight() == 0,
        timeout=SAVE_TIMEOUT_MS,
    )


def stored(vault: Any, case_id: str) -> drafts.OpinionDraft | None:
    """The case's draft as the vault has it now."""
    return drafts.load_draft(vault, case_id)
