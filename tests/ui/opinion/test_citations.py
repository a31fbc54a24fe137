"""Citations in the draft: inserted at the cursor, numbered, labelled, and clicked open in
the pane of their kind through the workspace."""

from __future__ import annotations

import re
from typing import Any

from pytestqt.qtbot import QtBot

from reviewer_app.casefile import load_case
from reviewer_app.opinion import evidence
from reviewer_app.opinion.drafts import Section
from reviewer_app.opinion.evidence import Citation, CitationKind
from tests.ui.opinion.editor_helpers import open_editor, stored, wait_saved
from tests.ui.workspace.doubles import RecordingPane
from ui.opinion import OpinionEditor
from ui.qt import QEvent, QHelpEvent, QPoint, QSettings, Qt, QTextCursor, QToolTip, Signal
from ui.workspace.page import WorkspacePage


def _page_citation(vault: Any, case_id: str, page: int = 2) -> Citation:
    record = load_case(vault, case_id).records[0]
    label = f"{record.title} ({record.date:%Y-%m-%d}), page {page}"  # type: ignore[str-format]
    return evidence.add_citation(
        vault, case_id, CitationKind.PAGE, f"record:{record.record_id}#{page}", label, {"zoom": 1.5}
    )


def _lab_citation(vault: Any, case_id: str) -> Citation:
    lab = load_case(vault, case_id).labs[0]
    label = f"{lab.name} {lab.value_text} {lab.unit}"
    return evidence.add_citation(vault, case_id, CitationKind.LAB, f"lab:{lab.lab_id}", label, {})


def _anchor_text(body: str, citation: Citation) -> str:
    match = re.search(rf'href="cite:{citation.citation_id}"[^>]*>(.*?)</a>', body, re.DOTALL)
    assert match is not None, "no anchor for the citation"
    return re.sub(r"<[^>]+>", "", match.group(1))


def _click_reference(qtbot: QtBot, section: Any, reference: str) -> None:
    """Click in the middle of the visible ``[n]`` of a section."""
    at = section.toPlainText().index(reference) + 1
    cursor = QTextCursor(section.document())
    cursor.setPosition(at)
    point = section.cursorRect(cursor).center()
    qtbot.mouseClick(section.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_citations_go_in_at_the_cursor_numbered_and_typing_goes_on_outside_them(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    first = _page_citation(vault, synced.case_ids[0])
    second = _lab_citation(vault, synced.case_ids[0])
    editor, case = open_editor(qtbot, ops, vault, synced.case_ids[0])
    assessment = editor.section_editor(Section.ASSESSMENT)
    assessment.setFocus()
    qtbot.keyClicks(assessment, "See ")
    editor.format_bar.setFocus()  # the toolbar took the keyboard: still the last section
    editor.insert_citation(second)
    qtbot.keyClicks(assessment, " and ")
    editor.insert_citation(first)
    qtbot.keyClicks(assessment, " done")
    assert assessment.toPlainText() == "See [2] and [1] done"
    body = assessment.body()
    assert _anchor_text(body, first) == "[1]"
    assert _anchor_text(body, second) == "[2]"
    assert evidence.cited_ids(body) == [second.citation_id, first.citation_id]
    # Back to the end later (a click elsewhere, then End): still plain text, not the link.
    qtbot.mouseClick(assessment.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assessment.moveCursor(QTextCursor.MoveOperation.Start)
    qtbot.keyClick(assessment, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    editor.insert_citation(first)
    qtbot.mouseClick(assessment.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    qtbot.keyClick(assessment, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(assessment, " again")
    assert assessment.toPlainText() == "See [2] and [1] done[1] again"
    body = assessment.body()
    anchors = re.findall(r'href="cite:[0-9a-f]+"[^>]*>(.*?)</a>', body, re.DOTALL)
    assert [re.sub(r"<[^>]+>", "", a) for a in anchors] == ["[2]", "[1]", "[1]"]
    assert "again" not in " ".join(anchors)
    assert "text-decoration: underline" not in body.split("</a>")[-1]

    # Another patient's evidence never enters this opinion.
    other = _page_citation(vault, synced.case_ids[1])
    editor.insert_citation(other)
    assert assessment.toPlainText() == "See [2] and [1] done[1] again"

    wait_saved(qtbot, editor)
    saved = stored(vault, case.case_id)
    assert saved is not None
    assert evidence.cited_ids(saved.text(Section.ASSESSMENT)) == [
        second.citation_id,
        first.citation_id,
    ]


def test_a_reference_shows_its_label_and_a_click_asks_to_open_it(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    citation = _page_citation(vault, synced.case_ids[0], page=3)
    editor, _case = open_editor(qtbot, ops, vault, synced.case_ids[0])
    summary = editor.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    qtbot.keyClicks(summary, "Biopsy ")
    editor.insert_citation(citation)

    at = summary.toPlainText().index("[1]") + 1
    cursor = QTextCursor(summary.document())
    cursor.setPosition(at)
    point = summary.cursorRect(cursor).center()
    event = QHelpEvent(QEvent.Type.ToolTip, point, summary.viewport().mapToGlobal(point))
    assert summary.viewportEvent(event)
    assert QToolTip.text() == f"{citation.label}\nClick to show it"
    QToolTip.hideText()

    with qtbot.waitSignal(editor.citation_activated, timeout=2000) as activated:
        _click_reference(qtbot, summary, "[1]")
    assert activated.args == [citation]
    # A click on plain text opens nothing.
    with qtbot.assertNotEmitted(editor.citation_activated):
        qtbot.mouseClick(summary.viewport(), Qt.MouseButton.LeftButton, pos=summary.rect().center())


class CitingPane(RecordingPane):
    """A workspace test pane with the opinion issue's "Cite" and "open a citation"."""

    cite_requested = Signal(object)

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.opened_citations: list[Citation] = []

    def open_citation(self, citation: Citation) -> None:
        self.opened_citations.append(citation)


def test_the_workspace_routes_citations_between_panes_and_the_opinion(
    synced_case: Any, ops: Any, qtbot: QtBot
) -> None:
    synced = synced_case()
    vault = synced.vault
    case_id = synced.case_ids[0]
    records, labs, imaging = CitingPane("Records"), CitingPane("Labs"), CitingPane("Imaging")
    opinion = OpinionEditor(ops)
    workspace = WorkspacePage(ops, QSettings(), [records, labs, imaging, opinion])
    qtbot.addWidget(workspace)
    workspace.resize(1400, 900)
    workspace.show()
    assert workspace.panes == [records, labs, imaging]
    assert workspace.opinion is opinion
    assert workspace.docks["Opinion"].widget() is opinion
    workspace.set_vault(vault)
    with qtbot.waitSignal(opinion.draft_shown, timeout=5000):
        workspace.open_case(case_id)
    assert opinion.case_id() == case_id
    assert opinion.header.text() == records.header.text() != ""

    page = _page_citation(vault, case_id)
    lab = _lab_citation(vault, case_id)
    summary = opinion.section_editor(Section.CASE_SUMMARY)
    summary.setFocus()
    records.cite_requested.emit(page)  # the panes' "Cite"
    labs.cite_requested.emit(lab)
    assert summary.toPlainText() == "[1][2]"

    _click_reference(qtbot, summary, "[2]")
    assert labs.opened_citations == [lab]
    assert records.opened_citations == imaging.opened_citations == []
    _click_reference(qtbot, summary, "[1]")
    assert records.opened_citations == [page]

    # Another case's citation never opens under this banner.
    workspace.open_citation(_page_citation(vault, synced.case_ids[1]))
    assert records.opened_citations == [page]

    # Switching case saves the draft under its case and follows with the panes.
    other = synced.case_ids[1]
    with qtbot.waitSignal(opinion.draft_shown, timeout=5000):
        workspace.open_case(other)
    assert opinion.case_id() == other
    wait_saved(qtbot, opinion)
    saved = stored(vault, case_id)
    assert saved is not None
    assert evidence.cited_ids(saved.text(Section.CASE_SUMMARY)) == [
        page.citation_id,
        lab.citation_id,
    ]
    workspace.clear()
    assert opinion.case_id() is None
