"""Autosave: debounced, off the UI thread, never under the wrong case, failures shown."""

from __future__ import annotations

import re
import threading
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.casefile import load_case
from reviewer_app.opinion.drafts import Section
from tests.ui.opinion.editor_helpers import open_editor, show, stored, wait_saved
from ui.opinion.autosave import DELAY_MS, RETRY_MS, SaveDone
from ui.qt import QApplication


def _type(qtbot: QtBot, editor: Any, section: Section, text: str) -> None:
    target = editor.section_editor(section)
    target.setFocus()
    qtbot.keyClicks(target, text)


def test_a_burst_of_typing_is_saved_once_after_a_short_quiet_time(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    assert DELAY_MS <= 300  # the bound on the debounce
    synced = synced_case()
    editor, case = open_editor(qtbot, ops, synced.vault, synced.case_ids[0])
    started: list[Any] = []
    statuses: list[str] = []
    editor.autosaver.started.connect(started.append)
    editor.autosaver.started.connect(lambda _s: statuses.append(editor.status.text()))
    _type(qtbot, editor, Section.CASE_SUMMARY, "A burst")
    assert started == []  # nothing yet: the quiet time has not passed
    wait_saved(qtbot, editor)
    assert len(started) == 1
    assert statuses == ["Saving…"]
    assert re.fullmatch(r"Saved \d\d:\d\d:\d\d", editor.status.text())
    saved = stored(synced.vault, case.case_id)
    assert saved is not None and "A burst" in saved.text(Section.CASE_SUMMARY)


def test_saves_in_flight_during_a_case_switch_never_write_one_case_under_another(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    editor, case_a = open_editor(qtbot, ops, vault, synced.case_ids[0])
    case_b = load_case(vault, synced.case_ids[1])
    done: list[SaveDone] = []
    editor.save_finished.connect(done.append)

    # Hold the writer: every save below waits in its queue while the UI moves on.
    gate = threading.Event()
    blocker = vault.write(lambda _conn: gate.wait(10))
    try:
        _type(qtbot, editor, Section.CASE_SUMMARY, "Alpha findings")
        qtbot.waitUntil(lambda: editor.autosaver.in_flight() == 1, timeout=2000)
        _type(qtbot, editor, Section.ASSESSMENT, "Alpha more")
        # Switch before the debounce: the case switch forces the save, under case A.
        editor.show_case(case_b, vault)
        assert editor.autosaver.in_flight() == 2
        assert editor.case_id() == case_b.case_id
        QApplication.processEvents()
    finally:
        gate.set()
    blocker.result(timeout=10)
    qtbot.waitUntil(lambda: editor.is_read_only() is False, timeout=5000)
    assert editor.case_id() == case_b.case_id
    _type(qtbot, editor, Section.CASE_SUMMARY, "Bravo findings")
    wait_saved(qtbot, editor)

    a = stored(vault, case_a.case_id)
    b = stored(vault, case_b.case_id)
    assert a is not None and b is not None
    a_text = a.text(Section.CASE_SUMMARY) + a.text(Section.ASSESSMENT)
    b_text = b.text(Section.CASE_SUMMARY) + b.text(Section.ASSESSMENT)
    assert "Alpha findings" in a_text and "Alpha more" in a_text
    assert "Bravo" not in a_text
    assert "Bravo findings" in b_text and "Alpha" not in b_text
    # Every save that finished wrote its own case's text.
    assert len(done) == 3
    for save in done:
        assert save.error is None
        body = save.snapshot.draft.text(Section.CASE_SUMMARY)
        expected = "Alpha" if save.snapshot.case_id == case_a.case_id else "Bravo"
        assert expected in body
    # Case B's editor shows B's draft, and its status speaks of B's save.
    assert "Alpha" not in editor.section_editor(Section.CASE_SUMMARY).toPlainText()
    assert editor.status.text().startswith("Saved ")


def test_a_switch_before_the_debounce_leaves_no_stray_save_for_the_next_case(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    editor, case_a = open_editor(qtbot, ops, vault, synced.case_ids[0])
    case_b = load_case(vault, synced.case_ids[1])
    _type(qtbot, editor, Section.CASE_SUMMARY, "Only for A")
    show(qtbot, editor, case_b, vault)
    qtbot.wait(DELAY_MS + 200)  # the old debounce would have fired by now
    wait_saved(qtbot, editor)
    assert stored(vault, case_b.case_id) is None
    a = stored(vault, case_a.case_id)
    assert a is not None and "Only for A" in a.text(Section.CASE_SUMMARY)
    # Back to A: the text is there (read after the save reached the disk).
    show(qtbot, editor, case_a, vault)
    assert "Only for A" in editor.section_editor(Section.CASE_SUMMARY).toPlainText()


def test_a_failed_save_says_so_keeps_the_text_and_the_next_change_saves_it(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    editor, case = open_editor(qtbot, ops, vault, synced.case_ids[0])
    # A real refusal from the database (a full disk or a damaged file looks the same here).
    vault.write_sync(
        lambda conn: conn.execute(
            "CREATE TRIGGER refuse_drafts BEFORE INSERT ON drafts "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    )
    _type(qtbot, editor, Section.CASE_SUMMARY, "Precious words")
    qtbot.waitUntil(lambda: editor.status.text().startswith("Not saved"), timeout=5000)
    assert editor.status.property("error") is True
    assert "Your text is kept here" in editor.status.text()
    assert "Precious words" in editor.section_editor(Section.CASE_SUMMARY).toPlainText()
    assert stored(vault, case.case_id) is None
    assert editor.autosaver.is_dirty()

    # Fixed: the retry saves it without another keystroke.
    vault.write_sync(lambda conn: conn.execute("DROP TRIGGER refuse_drafts"))
    qtbot.waitUntil(lambda: editor.status.text().startswith("Saved "), timeout=RETRY_MS + 3000)
    saved = stored(vault, case.case_id)
    assert saved is not None and "Precious words" in saved.text(Section.CASE_SUMMARY)
    assert editor.status.property("error") is False

    # Refused again, then the next change saves (before the retry is due).
    vault.write_sync(
        lambda conn: conn.execute(
            "CREATE TRIGGER refuse_updates BEFORE UPDATE ON drafts "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    )
    _type(qtbot, editor, Section.CASE_SUMMARY, "!")
    qtbot.waitUntil(lambda: editor.status.text().startswith("Not saved"), timeout=5000)
    vault.write_sync(lambda conn: conn.execute("DROP TRIGGER refuse_updates"))
    _type(qtbot, editor, Section.CASE_SUMMARY, "?")
    wait_saved(qtbot, editor)
    assert editor.status.text().startswith("Saved ")
    saved = stored(vault, case.case_id)
    assert saved is not None and "Precious words!?" in saved.text(Section.CASE_SUMMARY)
