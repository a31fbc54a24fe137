"""The opinion editor: its sections, rich text kept verbatim, verdict, patient questions."""

from __future__ import annotations

from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.opinion import drafts
from reviewer_app.opinion.drafts import SECTION_TITLES, OpinionDraft, Section, Verdict
from tests.fixtures.synced_case import SyncedCopy
from tests.ui.helpers import visible_texts
from tests.ui.opinion.editor_helpers import open_editor, show, stored, wait_saved
from ui.qt import QKeySequence, Qt


def test_a_new_draft_shows_every_section_questions_and_records_reviewed(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced: SyncedCopy = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    texts = visible_texts(editor)
    for section in Section:
        if str(section) != "addendum":  # an addendum's only section, not the opinion's
            assert SECTION_TITLES[section] in texts
    assert "Addendum" not in texts
    assert len(case.patient_questions) >= 2
    for number, question in enumerate(case.patient_questions, start=1):
        assert f"Patient question {number}: {question}" in texts
        assert editor.answer_editor(number).body() == ""
    # Filled in from the case, exactly as the core writes it (not re-rendered by Qt).
    expected = drafts.records_reviewed_html(case)
    assert case.records[0].title in expected
    assert editor.section_editor(Section.RECORDS_REVIEWED).body() == expected
    assert editor.header.text() == f"{case.patient.name} · {case.display_key}"
    assert editor.case_id() == case.case_id
    # Nothing is written before the specialist types.
    assert stored(synced.vault, case.case_id) is None
    assert not editor.autosaver.is_dirty()


def test_typed_rich_text_is_stored_verbatim_and_reloads_unchanged(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "Plain start ")
    qtbot.keyClick(summary, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(summary, "bold part")
    qtbot.keyClick(summary, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(summary, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(summary, " italic   spaced  ")
    qtbot.keyClick(summary, Qt.Key.Key_Return)
    editor.format_bar.bullets.trigger()
    qtbot.keyClicks(summary, "first item")
    qtbot.keyClick(summary, Qt.Key.Key_Return)
    qtbot.keyClicks(summary, "second item")
    qtbot.keyClick(summary, Qt.Key.Key_Return)
    qtbot.keyClick(summary, Qt.Key.Key_Return)  # ends the list
    editor.format_bar.heading.trigger()
    qtbot.keyClicks(summary, "A heading")
    qtbot.keyClick(summary, Qt.Key.Key_Return)
    editor.format_bar.table.trigger()
    qtbot.keyClicks(summary, "Cell one")
    wait_saved(qtbot, editor)

    body = stored(synced.vault, case.case_id).text(Section.CASE_SUMMARY)  # type: ignore[union-attr]
    # The vault holds exactly what the editor produced: no cleaning, no reformatting.
    assert body == summary.toHtml()
    assert "font-weight:700" in body and "bold part" in body
    assert "font-style:italic" in body and " italic   spaced  " in body
    assert "<ul" in body and "first item" in body and "second item" in body
    assert "<h3" in body and "A heading" in body
    assert "<table" in body and "Cell one" in body
    assert editor.status.text().startswith("Saved ")

    # Closed and opened again: the same bytes come back, and opening writes nothing.
    editor.clear()
    before = drafts.history(synced.vault, case.case_id)
    show(qtbot, editor, case, synced.vault)
    assert editor.section_editor(Section.CASE_SUMMARY).body() == body
    assert editor.section_editor(Section.CASE_SUMMARY).toPlainText().startswith("Plain start ")
    assert not editor.autosaver.is_dirty()
    assert drafts.history(synced.vault, case.case_id) == before


def test_undo_and_redo_and_the_verdict(synced_case: Any, ops: Any, qtbot: QtBot) -> None:
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[1])
    assessment = editor.section_editor(Section.ASSESSMENT)
    assessment.setFocus()
    qtbot.keyClicks(assessment, "keep")
    assessment.document().setModified(False)
    qtbot.keyClick(assessment, Qt.Key.Key_Space)
    qtbot.keyClicks(assessment, "gone")
    undo = QKeySequence(QKeySequence.StandardKey.Undo)[0]
    qtbot.keyClick(assessment, undo.key(), undo.keyboardModifiers())
    assert "gone" not in assessment.toPlainText()
    assert assessment.toPlainText().startswith("keep")
    editor.format_bar.redo.trigger()
    assert assessment.toPlainText().endswith("gone")
    editor.format_bar.undo.trigger()
    assert "gone" not in assessment.toPlainText()

    qtbot.mouseClick(editor.verdict_button(Verdict.PARTLY), Qt.MouseButton.LeftButton)
    wait_saved(qtbot, editor)
    saved = stored(synced.vault, case.case_id)
    assert saved is not None and saved.verdict is Verdict.PARTLY
    assert "gone" not in saved.text(Section.ASSESSMENT)
    assert "keep" in saved.text(Section.ASSESSMENT)


def test_answers_follow_their_questions_and_a_saved_draft_is_shown_as_saved(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    case_id = synced.case_ids[0]
    # A draft saved earlier (another session) with hand-written records reviewed.
    draft = OpinionDraft(
        {Section.RECORDS_REVIEWED: "<p>Only the CT</p>", Section.REFERENCES: "<p>Ref 1</p>"},
        Verdict.AGREE,
        ("<p>First answer</p>",),
    )
    drafts.save_draft(synced.vault, case_id, draft).result()
    editor, case = open_editor(qtbot, ops, synced.vault, case_id)
    # Not filled in again: the specialist's own list stays.
    assert editor.section_editor(Section.RECORDS_REVIEWED).body() == "<p>Only the CT</p>"
    assert editor.verdict_button(Verdict.AGREE).isChecked()
    assert editor.answer_editor(1).body() == "<p>First answer</p>"
    second = editor.answer_editor(2)
    second.setFocus()
    qtbot.keyClicks(second, "Second answer")
    wait_saved(qtbot, editor)
    saved = stored(synced.vault, case_id)
    assert saved is not None
    assert saved.answers[0] == "<p>First answer</p>"
    assert "Second answer" in saved.answers[1]
    assert saved.text(Section.REFERENCES) == "<p>Ref 1</p>"
    assert len(saved.answers) == len(case.patient_questions)


def test_clearing_shows_no_patient_and_saves_what_was_typed(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "typed just before the lock")
    editor.clear()  # lock: before the debounce ran out
    assert editor.case_id() is None
    assert editor.header.text() == ""
    assert not [t for t in visible_texts(editor) if case.patient.name in t]
    assert editor.is_read_only()
    qtbot.waitUntil(lambda: editor.autosaver.in_flight() == 0, timeout=5000)
    saved = stored(synced.vault, case.case_id)
    assert saved is not None and "typed just before the lock" in saved.text(Section.CASE_SUMMARY)
    # A forced save: it is a version in the history.
    assert len(drafts.history(synced.vault, case.case_id)) == 1
