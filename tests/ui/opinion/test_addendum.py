"""A signed opinion is read-only in the editor; "Write addendum" opens the Addendum."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.opinion import drafts, outbox
from reviewer_app.opinion.drafts import DraftKind, OpinionDraft, Section, Verdict
from tests.reviewer_app.opinion.helpers import opinion_pdf
from tests.ui.helpers import visible_texts
from tests.ui.opinion.editor_helpers import open_editor, show, stored, wait_saved
from ui.qt import Qt


def _sign(vault: Any, case_id: str) -> None:
    """Close the case's opinion draft as signed, the way sign_and_queue does after
    pyHanko (the signature itself is the signing tests' subject, not the editor's)."""
    draft = OpinionDraft({Section.CASE_SUMMARY: "<p>Signed summary</p>"}, Verdict.AGREE)
    drafts.save_draft(vault, case_id, draft, force=True).result()
    outbox.queue_opinion(
        vault, case_id, opinion_pdf(1), signed_at=dt.datetime.now(dt.UTC), close_draft=True
    )


def test_a_signed_opinion_is_read_only_and_an_addendum_can_be_written(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    case_id = synced.case_ids[0]
    _sign(vault, case_id)
    editor, case = open_editor(qtbot, ops, vault, case_id)

    assert editor.is_read_only()
    assert editor.signed_bar.isVisible()
    assert "signed" in editor.signed_label.text()
    assert editor.addendum_button.isVisible()
    assert not editor.format_bar.isEnabled()
    assert not editor.completeness.isVisible()
    summary = editor.section_editor(Section.CASE_SUMMARY)
    assert summary.isReadOnly() and summary.body() == "<p>Signed summary</p>"
    assert editor.verdict_button(Verdict.AGREE).isChecked()
    assert not editor.verdict_button(Verdict.AGREE).isEnabled()
    summary.setFocus()
    qtbot.keyClicks(summary, "changed?")
    assert summary.body() == "<p>Signed summary</p>"
    assert not editor.autosaver.is_dirty()
    assert editor.save_case(case_id) is None

    with qtbot.waitSignal(editor.draft_shown, timeout=5000):
        qtbot.mouseClick(editor.addendum_button, Qt.MouseButton.LeftButton)
    assert drafts.open_draft_kind(vault, case_id) is DraftKind.ADDENDUM
    assert not editor.is_read_only()
    assert not editor.signed_bar.isVisible()
    texts = visible_texts(editor)
    assert "Addendum" in texts and "Case summary" not in texts
    assert [f.section for f in editor.findings()] == [Section.ADDENDUM]
    assert not editor.completeness.sign_button.isEnabled()

    body = editor.section_editor(Section.ADDENDUM)
    body.setFocus()
    qtbot.keyClicks(body, "The biopsy result changes point 2.")
    qtbot.waitUntil(editor.completeness.sign_button.isEnabled, timeout=5000)
    wait_saved(qtbot, editor)
    saved = stored(vault, case_id)
    assert saved is not None
    assert "The biopsy result changes point 2." in saved.text(Section.ADDENDUM)
    # The signed opinion is untouched.
    signed = drafts.signed_drafts(vault, case_id)
    assert [s.draft.text(Section.CASE_SUMMARY) for s in signed] == ["<p>Signed summary</p>"]

    # Shown again later: the open addendum, not the signed opinion.
    editor.clear()
    show(qtbot, editor, case, vault)
    assert "changes point 2" in editor.section_editor(Section.ADDENDUM).toPlainText()


def test_signing_while_shown_turns_the_editor_read_only(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    case_id = synced.case_ids[1]
    editor, _case = open_editor(qtbot, ops, vault, case_id)
    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "Draft text")
    future = editor.save_case(case_id)
    assert future is not None
    future.result(timeout=5)
    assert editor.save_case("another-case") is None
    outbox.queue_opinion(
        vault, case_id, opinion_pdf(1), signed_at=dt.datetime.now(dt.UTC), close_draft=True
    )
    with qtbot.waitSignal(editor.draft_shown, timeout=5000):
        editor.refresh_draft(case_id)
    assert editor.is_read_only()
    assert "Draft text" in editor.section_editor(Section.CASE_SUMMARY).toPlainText()
    wait_saved(qtbot, editor)
