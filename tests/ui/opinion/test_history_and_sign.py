"""History (browse, show read-only, restore) and completeness before "Sign…"."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.opinion import drafts
from reviewer_app.opinion.drafts import Section, Verdict
from tests.ui.opinion.editor_helpers import open_editor, stored, wait_saved
from ui.qt import QApplication, Qt


def _type(qtbot: QtBot, editor: Any, target: Any, text: str) -> None:
    target.setFocus()
    qtbot.keyClicks(target, text)


def test_history_lists_versions_shows_one_read_only_and_restores_it(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    summary = editor.section_editor(Section.CASE_SUMMARY)
    _type(qtbot, editor, summary, "first thoughts")
    editor.flush()
    wait_saved(qtbot, editor)
    _type(qtbot, editor, summary, " revised later")
    wait_saved(qtbot, editor)  # an ordinary save: no new version (too soon)...
    assert len(drafts.history(synced.vault, case.case_id)) == 1

    dialog = editor.show_history()  # ...but opening the history saves a version first
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=5000)
    qtbot.waitUntil(dialog.restore_button.isEnabled, timeout=5000)
    assert "revised later" in dialog.preview.toPlainText()
    assert dialog.preview.isReadOnly()
    # The older version, read-only.
    dialog.versions.setCurrentIndex(dialog.model.index(1, 0))
    qtbot.waitUntil(
        lambda: (
            dialog.restore_button.isEnabled() and "first thoughts" in dialog.preview.toPlainText()
        ),
        timeout=5000,
    )
    assert "revised later" not in dialog.preview.toPlainText()
    shown = dialog.preview.toPlainText()
    # In the document's order, without the sections never written.
    assert shown.index("Case summary") < shown.index("Records reviewed")
    assert "Differential diagnosis" not in shown

    with qtbot.waitSignal(editor.draft_shown, timeout=5000):
        qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.windowTitle()]
    text = editor.section_editor(Section.CASE_SUMMARY).toPlainText()
    assert text == "first thoughts"
    # The restore is a version too: what was current can be brought back.
    assert len(drafts.history(synced.vault, case.case_id)) == 3
    saved = stored(synced.vault, case.case_id)
    assert saved is not None and "revised later" not in saved.text(Section.CASE_SUMMARY)


def test_completeness_updates_as_one_types_and_gates_sign(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    sign = editor.completeness.sign_button
    messages = [f.message for f in editor.findings()]
    assert "Case summary is empty." in messages
    assert "Patient question 1 has no answer." in messages
    assert not sign.isEnabled()
    assert "Case summary is empty." in sign.toolTip()

    requested: list[str] = []
    editor.sign_requested.connect(requested.append)
    for section in (Section.CASE_SUMMARY, Section.DIFFERENTIAL, Section.TREATMENT):
        _type(qtbot, editor, editor.section_editor(section), "Written.")
    _type(qtbot, editor, editor.section_editor(Section.LIMITATIONS), "Records only. TODO")
    _type(qtbot, editor, editor.section_editor(Section.ASSESSMENT), "Agreed.")
    qtbot.mouseClick(editor.verdict_button(Verdict.AGREE), Qt.MouseButton.LeftButton)
    for number in range(1, len(case.patient_questions) + 1):
        _type(qtbot, editor, editor.answer_editor(number), f"Answer {number}.")
    wait_saved(qtbot, editor)
    # Only the placeholder is left, and clicking it goes to its section.
    assert [f.message for f in editor.findings()] == ["Limitations still has a placeholder."]
    assert not sign.isEnabled()
    qtbot.mouseClick(sign, Qt.MouseButton.LeftButton)
    assert requested == []
    finding_index = editor.completeness.model.index(0, 0)
    editor.completeness.list.clicked.emit(finding_index)
    limitations = editor.section_editor(Section.LIMITATIONS)
    assert limitations.hasFocus()
    for _ in range(4):
        qtbot.keyClick(limitations, Qt.Key.Key_Backspace)
    qtbot.waitUntil(sign.isEnabled, timeout=5000)
    assert editor.completeness.summary.text().startswith("Ready to sign")

    # Sign…: a forced save first, the request only once exactly that is on disk.
    versions = len(drafts.history(synced.vault, case.case_id))
    with qtbot.waitSignal(editor.sign_requested, timeout=5000) as signal:
        qtbot.mouseClick(sign, Qt.MouseButton.LeftButton)
    assert signal.args == [case.case_id]
    saved = stored(synced.vault, case.case_id)
    assert saved == editor.current_draft()
    assert "TODO" not in saved.text(Section.LIMITATIONS)
    assert len(drafts.history(synced.vault, case.case_id)) == versions + 1
