"""The opinion editor: a dock of the workspace where the specialist writes the opinion.

It follows the workspace like a pane: ``show_case`` reads the case's draft off the UI
thread and shows its sections (rich text), the verdict on the current diagnosis, one
answer per patient question and "Records reviewed" filled in from the case for a new
draft; ``clear`` saves what was typed and shows nothing of any patient. Typing is saved
continuously (``ui.opinion.autosave``); completeness is checked on the same beat, and
"Sign…" asks the workspace to sign once the draft is saved and complete. A signed
opinion is shown read-only, with "Write addendum". Citations from the panes are
inserted at the cursor; clicking one asks the workspace to reopen the cited view.
"""

from __future__ import annotations

import concurrent.futures
import logging
from concurrent.futures import Future
from typing import Any

from reviewer_app.casefile import CaseFile
from reviewer_app.errors import ReviewerError
from reviewer_app.opinion import completeness, drafts, evidence
from reviewer_app.opinion.completeness import Finding
from reviewer_app.opinion.drafts import (
    SECTION_TITLES,
    SECTIONS_BY_KIND,
    DraftKind,
    OpinionDraft,
    Section,
    Verdict,
)
from ui.operations import Operation, Operations, Priority
from ui.opinion.autosave import Autosaver, SaveDone, Snapshot
from ui.opinion.completeness_view import CompletenessView
from ui.opinion.draft_state import ADDENDUM, DraftState, load_state, start_addendum
from ui.opinion.format_bar import FormatBar
from ui.opinion.history_dialog import HistoryDialog
from ui.opinion.section_editor import MIN_LINES, SectionEditor, plain_format
from ui.qt import (
    QAbstractButton,
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    Qt,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.workspace.pane_header import PaneHeader

log = logging.getLogger(__name__)

TITLE = "Opinion"
LOADING_TEXT = "Opening the draft…"
SAVING_TEXT = "Saving…"
ADDENDUM_LINES = 12
SIGNED_TEXT = (
    "This opinion is signed and can no longer be changed. Corrections and follow-up answers "
    "go in an addendum."
)
SIGNED_ADDENDUM_TEXT = "Signed. To add to it, write another addendum."
VERDICTS = (
    (Verdict.AGREE, "Agree"),
    (Verdict.DISAGREE, "Disagree"),
    (Verdict.PARTLY, "Partly agree"),
)
PLACEHOLDERS = {
    Section.CASE_SUMMARY: "Summarise the case in your own words…",
    Section.ASSESSMENT: "Your reasoning about the current diagnosis…",
    Section.DIFFERENTIAL: "Other diagnoses to consider…",
    Section.TREATMENT: "Recommended treatment and alternatives…",
    Section.FURTHER_TESTS: "Tests or trials that would help…",
    Section.LIMITATIONS: "Records-only review, no examination…",
    Section.REFERENCES: "Literature, guidelines…",
    Section.ADDENDUM: "The correction or follow-up to the signed opinion…",
}


def saved_text(done: SaveDone) -> str:
    """The status line after a save that worked."""
    return f"Saved {done.finished_at.strftime('%H:%M:%S')}"


def failed_text(error: BaseException) -> str:
    """The status line after a save that failed (no patient data: the error's type text)."""
    reason = error.message if isinstance(error, ReviewerError) else "the vault did not take it"
    return (
        f"Not saved: {reason.rstrip('.')}. Your text is kept here; Reviewer tries again in a "
        "few seconds and with your next change."
    )


class OpinionEditor(QWidget):
    """The opinion (or addendum) of the case shown in the workspace."""

    pane_title = TITLE
    #: A citation anchor was clicked: the Citation (the workspace opens it in its pane).
    citation_activated = Signal(object)
    #: "Sign…": the case_id, its draft saved and complete.
    sign_requested = Signal(str)
    #: A save finished (a SaveDone, success or failure), for status watchers and tests.
    save_finished = Signal(object)
    #: The draft of this case_id is on screen (editable or read-only).
    draft_shown = Signal(str)

    def __init__(self, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("opinionEditor")
        self._ops = ops
        self._vault: Any = None
        self._case: CaseFile | None = None
        self._state: DraftState | None = None
        self._generation = 0
        self._loading: Operation | None = None
        self._sign_snapshot: Snapshot | None = None
        self._started: Snapshot | None = None
        self._citations: dict[str, evidence.Citation] = {}
        self._sections: dict[Section, SectionEditor] = {}
        self._answers: list[SectionEditor] = []
        self._last_editor: SectionEditor | None = None
        self._history: HistoryDialog | None = None

        self.autosaver = Autosaver(self._snapshot, parent=self)
        self.autosaver.started.connect(self._save_started)
        self.autosaver.finished.connect(self._save_finished)

        self.header = PaneHeader(TITLE)
        self.format_bar = FormatBar(self._target_editor, self)
        self.history_button = QToolButton()
        self.history_button.setObjectName("opinionHistoryButton")
        self.history_button.setText("History…")
        self.history_button.setToolTip("Browse saved versions of this draft and restore one")
        self.history_button.clicked.connect(self.show_history)
        self.status = QLabel("")
        self.status.setObjectName("opinionSaveStatus")
        self.status.setWordWrap(True)
        # A failed save must stand out: the text is not safe yet.
        self.status.setStyleSheet('QLabel[error="true"] { color: #e0574f; font-weight: bold; }')
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 4, 0)
        bar.addWidget(self.format_bar)
        bar.addStretch(1)
        bar.addWidget(self.history_button)
        status_row = QHBoxLayout()
        status_row.setContentsMargins(6, 0, 6, 0)
        status_row.addWidget(self.status, 1)

        self.signed_bar = QFrame()
        self.signed_bar.setObjectName("opinionSignedBar")
        self.signed_label = QLabel(SIGNED_TEXT)
        self.signed_label.setWordWrap(True)
        self.addendum_button = QPushButton("Write addendum")
        self.addendum_button.setObjectName("writeAddendum")
        self.addendum_button.setToolTip("Start an addendum to the signed opinion")
        self.addendum_button.clicked.connect(self.write_addendum)
        signed_row = QHBoxLayout(self.signed_bar)
        signed_row.setContentsMargins(6, 4, 6, 4)
        signed_row.addWidget(self.signed_label, 1)
        signed_row.addWidget(self.addendum_button)
        self.signed_bar.hide()

        self.content = QWidget()
        self.content.setObjectName("opinionSections")
        self.content_layout = QVBoxLayout(self.content)
        self.content_layout.setContentsMargins(6, 6, 6, 6)
        self.sections_area = QScrollArea()
        self.sections_area.setWidgetResizable(True)
        self.sections_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sections_area.setFrameShape(QFrame.Shape.NoFrame)
        self.sections_area.setWidget(self.content)

        self.completeness = CompletenessView()
        self.completeness.sign_clicked.connect(self.request_sign)
        self.completeness.finding_activated.connect(self.go_to_finding)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addLayout(bar)
        layout.addWidget(self.signed_bar)
        layout.addWidget(self.sections_area, 1)
        layout.addLayout(status_row)
        layout.addWidget(self.completeness)
        self.verdict_group = QButtonGroup(self)
        self.verdict_group.idClicked.connect(lambda _id: self._changed())
        self._show_nothing()

    # -- the pane protocol -----------------------------------------------------------
    def case_id(self) -> str | None:
        """The case whose draft this editor shows (or is opening), None when cleared."""
        return None if self._case is None else self._case.case_id

    def show_case(self, case: CaseFile, vault: Any) -> None:
        """Show ``case``'s draft (read off the UI thread). The same case again (a refresh
        after sync) keeps the text and cursor; only the header follows."""
        if self._case is not None and self._case.case_id == case.case_id and vault is self._vault:
            self._case = case
            self.header.set_case(case)
            return
        self.clear()
        self._case = case
        self._vault = vault
        self.header.set_case(case)
        self.status.setText(LOADING_TEXT)
        generation = self._generation
        barrier = self.autosaver.last_future

        def read(_ctx: object) -> DraftState:
            if barrier is not None:
                # What was just saved (this case, before a switch away and back) must be
                # on disk before it is read again: the writer runs saves in order.
                concurrent.futures.wait([barrier])
            return load_state(vault, case)

        self._loading = self._ops.run(
            read,
            success=lambda state: self._loaded(generation, state),
            failure=lambda error: self._load_failed(generation, error),
            priority=Priority.HIGH,
            label="open draft",
        )

    def clear(self) -> None:
        """Save what was typed (forced), then show nothing of any patient."""
        self.flush()
        self._generation += 1
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        if self._history is not None:
            self._history.reject()
            self._history = None
        self.autosaver.discard()
        self._sign_snapshot = None
        self._case = None
        self._state = None
        self._citations = {}
        self.header.clear()
        self.status.setText("")
        self._show_nothing()

    def open_ref(self, ref: str) -> None:
        """Panes open refs; the opinion has none of its own."""

    # -- saving ----------------------------------------------------------------------
    def flush(self) -> Future[Any] | None:
        """Save unsaved typing now (forced: it becomes a history version); the writer's
        future, or None if nothing was unsaved. Call before lock, close, case switch."""
        return self.autosaver.flush()

    def save_case(self, case_id: str) -> Future[Any] | None:
        """A forced save of ``case_id``'s draft if this editor shows it (the sign dialog
        waits for it before building the document); None when it does not."""
        if self._case is None or self._case.case_id != case_id or self._read_only():
            return None
        self.autosaver.save_now(force=True)
        return self.autosaver.last_future

    def refresh_draft(self, case_id: str, *_details: object) -> None:
        """Read ``case_id``'s draft again if it is shown (after it was signed: it becomes
        read-only and offers an addendum)."""
        case, vault = self._case, self._vault
        if case is not None and case.case_id == case_id:
            self.clear()
            self.show_case(case, vault)

    def _snapshot(self) -> Snapshot | None:
        if self._state is None or self._case is None or self._read_only():
            return None
        return Snapshot(self._vault, self._case.case_id, self.current_draft())

    def current_draft(self) -> OpinionDraft:
        """The draft as on screen (sections not shown here are kept as loaded)."""
        base = self._state.draft if self._state is not None else OpinionDraft()
        sections = dict(base.sections)
        for section, editor in self._sections.items():
            sections[section] = editor.body()
        answers = [editor.body() for editor in self._answers]
        answers += base.answers[len(answers) :]
        button = self.verdict_group.checkedButton()
        verdict = Verdict(button.property("verdict")) if button is not None else base.verdict
        return OpinionDraft(sections, verdict, tuple(answers))

    def _changed(self) -> None:
        if self._snapshot_possible():
            self.autosaver.changed()

    def _snapshot_possible(self) -> bool:
        return self._state is not None and not self._read_only()

    def _save_started(self, snapshot: Snapshot) -> None:
        self._started = snapshot
        if self._case is not None and snapshot.case_id == self._case.case_id:
            self.status.setText(SAVING_TEXT)
            self.status.setProperty("error", False)
            self._update_completeness(snapshot.draft)

    def _save_finished(self, done: SaveDone) -> None:
        current = self._case is not None and done.snapshot.case_id == self._case.case_id
        if current:
            if done.error is not None:
                self.autosaver.mark_unsaved()
                self.status.setText(failed_text(done.error))
                self.status.setProperty("error", True)
            elif self.autosaver.in_flight() == 0 and not self.autosaver.is_dirty():
                self.status.setText(saved_text(done))
                self.status.setProperty("error", False)
            self.status.style().unpolish(self.status)
            self.status.style().polish(self.status)
        if done.snapshot is self._sign_snapshot:
            self._sign_snapshot = None
            if current and done.error is None:
                self.sign_requested.emit(done.snapshot.case_id)
        self.save_finished.emit(done)

    # -- loading ---------------------------------------------------------------------
    def _loaded(self, generation: int, state: DraftState) -> None:
        if generation != self._generation or state.case_id != self.case_id():
            return
        self._loading = None
        self._apply(state)

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = None
        reason = error.message if isinstance(error, ReviewerError) else "it could not be read"
        self.status.setText(f"The draft cannot be shown: {reason}")
        log.warning("the opinion draft could not be read: %s", type(error).__name__)

    def _apply(self, state: DraftState) -> None:
        assert self._case is not None
        self._state = state
        self._citations = {c.citation_id: c for c in state.citations}
        self._build(state)
        read_only = self._read_only()
        self.signed_bar.setVisible(state.signed)
        self.signed_label.setText(SIGNED_ADDENDUM_TEXT if state.kind == ADDENDUM else SIGNED_TEXT)
        self.format_bar.setEnabled(not read_only)
        self.history_button.setEnabled(not read_only)
        self.completeness.setVisible(not read_only)
        self.status.setText("")
        self._update_completeness(state.draft)
        self.draft_shown.emit(state.case_id)

    def _read_only(self) -> bool:
        return self._state is None or self._state.signed

    def is_read_only(self) -> bool:
        """True while nothing can be typed (no draft shown, or the opinion is signed)."""
        return self._read_only()

    # -- building the sections ----------------------------------------------------------
    def _show_nothing(self) -> None:
        self._clear_content()
        self.signed_bar.hide()
        self.format_bar.setEnabled(False)
        self.history_button.setEnabled(False)
        self.completeness.setVisible(False)

    def _clear_content(self) -> None:
        self._sections = {}
        self._answers = []
        self._last_editor = None
        for button in self.verdict_group.buttons():
            self.verdict_group.removeButton(button)
        while self.content_layout.count():
            item = self.content_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()

    def _build(self, state: DraftState) -> None:
        self._clear_content()
        assert self._case is not None
        read_only = state.signed
        if state.kind == ADDENDUM:
            self._add_section(Section.ADDENDUM, SECTION_TITLES[Section.ADDENDUM], state.draft)
        else:
            for section in SECTIONS_BY_KIND[DraftKind.OPINION]:
                if section is Section.LIMITATIONS:
                    self._add_answers(self._case.patient_questions, state.draft)
                self._add_section(section, SECTION_TITLES[section], state.draft)
                if section is Section.ASSESSMENT:
                    self._add_verdict(state.draft.verdict)
        self.content_layout.addStretch(1)
        for index in range(self.content_layout.count()):
            item = self.content_layout.itemAt(index)
            widget = item.widget() if item is not None else None
            if widget is not None:
                # Shown now, not at the layout's next pass: the draft is on screen when
                # draft_shown is emitted.
                widget.show()
        for editor in self._editors():
            editor.setReadOnly(read_only)
        for button in self.verdict_group.buttons():
            button.setEnabled(not read_only)

    def _title(self, text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName("opinionSectionTitle")
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        label.setWordWrap(True)
        self.content_layout.addWidget(label)
        return label

    def _new_editor(
        self, key: str, body: str, placeholder: str, *, min_lines: int = MIN_LINES
    ) -> SectionEditor:
        editor = SectionEditor(key, min_lines=min_lines)
        editor.set_body(body)
        if self._state is not None and not self._state.signed:
            # A signed document has no prompts: an empty section there stays empty.
            editor.setPlaceholderText(placeholder)
        editor.citation_label = self._citation_label
        editor.edited.connect(self._changed)
        editor.focused.connect(lambda e=editor: self._focused(e))
        editor.citation_clicked.connect(self._citation_clicked)
        self.content_layout.addWidget(editor)
        return editor

    def _add_section(self, section: Section, title: str, draft: OpinionDraft) -> None:
        label = self._title(title)
        # The addendum is the whole document: room for a few paragraphs from the start.
        lines = ADDENDUM_LINES if section is Section.ADDENDUM else MIN_LINES
        editor = self._new_editor(
            str(section), draft.text(section), PLACEHOLDERS.get(section, ""), min_lines=lines
        )
        label.setBuddy(editor)
        self._sections[section] = editor

    def _add_verdict(self, verdict: Verdict | None) -> None:
        row = QWidget()
        row.setObjectName("opinionVerdict")
        column = QVBoxLayout(row)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(QLabel("Your view of the current diagnosis:"))
        line = QHBoxLayout()
        column.addLayout(line)
        for number, (value, text) in enumerate(VERDICTS):
            button = QRadioButton(text)
            button.setObjectName(f"verdict_{value}")
            button.setProperty("verdict", str(value))
            button.setChecked(verdict == value)
            self.verdict_group.addButton(button, number)
            line.addWidget(button)
        line.addStretch(1)
        self.content_layout.addWidget(row)

    def _add_answers(self, questions: list[str], draft: OpinionDraft) -> None:
        for number, question in enumerate(questions, start=1):
            label = self._title(f"Patient question {number}: {question}")
            body = draft.answers[number - 1] if number <= len(draft.answers) else ""
            editor = self._new_editor(f"answer_{number}", body, "Your answer to the patient…")
            label.setBuddy(editor)
            self._answers.append(editor)

    def _editors(self) -> list[SectionEditor]:
        return [*self._sections.values(), *self._answers]

    def section_editor(self, section: Section) -> SectionEditor:
        """The editor of ``section`` (KeyError when it is not shown)."""
        return self._sections[section]

    def answer_editor(self, number: int) -> SectionEditor:
        """The editor of the answer to patient question ``number`` (1-based)."""
        return self._answers[number - 1]

    def verdict_button(self, verdict: Verdict) -> QAbstractButton:
        return next(b for b in self.verdict_group.buttons() if b.property("verdict") == verdict)

    def _focused(self, editor: SectionEditor) -> None:
        self._last_editor = editor

    def _target_editor(self) -> SectionEditor | None:
        editors = self._editors()
        if self._last_editor in editors:
            return self._last_editor
        return editors[0] if editors else None

    # -- completeness and signing -----------------------------------------------------
    def _update_completeness(self, draft: OpinionDraft) -> None:
        if self._case is None or self._state is None:
            return
        kind = DraftKind(self._state.kind)
        findings = completeness.check(draft, self._case.patient_questions, kind=kind)
        self.completeness.set_findings(findings)

    def findings(self) -> list[Finding]:
        """What the completeness list shows now."""
        return self.completeness.findings()

    def go_to_finding(self, finding: Finding) -> None:
        """Put the cursor in the section or answer a finding names."""
        editor: SectionEditor | None = None
        if finding.section is not None:
            editor = self._sections.get(finding.section)
        elif finding.question is not None and finding.question <= len(self._answers):
            editor = self._answers[finding.question - 1]
        if editor is not None:
            self.sections_area.ensureWidgetVisible(editor)
            editor.setFocus()

    def request_sign(self) -> None:
        """Save (forced), then emit ``sign_requested`` once the save is on disk."""
        if self._case is None or self._read_only() or self.completeness.findings():
            return
        self._update_completeness(self.current_draft())
        if self.completeness.findings():
            return
        self._started = None
        self.autosaver.save_now(force=True)
        # The snapshot just handed over; sign only once exactly that is saved.
        self._sign_snapshot = self._started

    def write_addendum(self) -> None:
        """Open an addendum draft for the signed opinion."""
        case, vault, generation = self._case, self._vault, self._generation
        if case is None or self._state is None or not self._state.signed:
            return
        self.addendum_button.setEnabled(False)

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self.addendum_button.setEnabled(True)
                reason = error.message if isinstance(error, ReviewerError) else "it failed"
                self.status.setText(f"The addendum could not be started: {reason}")

        self._ops.run(
            lambda _ctx: start_addendum(vault, case),
            success=lambda state: self._addendum_started(generation, state),
            failure=failed,
            label="start addendum",
        )

    def _addendum_started(self, generation: int, state: DraftState) -> None:
        self.addendum_button.setEnabled(True)
        if generation == self._generation and state.case_id == self.case_id():
            self._apply(state)

    # -- history ---------------------------------------------------------------------
    def show_history(self) -> HistoryDialog | None:
        """The history dialog for the case shown (what is typed is saved first)."""
        if self._case is None or self._state is None:
            return None
        if not self._read_only():
            # The text as it is now becomes the newest version (if it differs from it),
            # so it is listed, and a restore can never lose it.
            self.autosaver.save_now(force=True)
        case_id = self._case.case_id
        dialog = HistoryDialog(
            self._ops,
            self._vault,
            case_id,
            self._case.patient_questions,
            read_only=self._read_only(),
            after=self.autosaver.last_future,
            parent=self,
        )
        dialog.restore_requested.connect(lambda version: self.restore_version(case_id, version))
        dialog.finished.connect(lambda _result: self._history_closed(dialog))
        self._history = dialog
        dialog.open()
        return dialog

    def _history_closed(self, dialog: HistoryDialog) -> None:
        if self._history is dialog:
            self._history = None
        dialog.deleteLater()

    def restore_version(self, case_id: str, version: int) -> None:
        """Make ``version`` the draft again and show it (what was typed is kept in the
        history first)."""
        case, vault = self._case, self._vault
        if case is None or case.case_id != case_id or self._read_only():
            return
        self.autosaver.save_now(force=True)
        barrier = self.autosaver.last_future
        generation = self._generation
        self.status.setText("Restoring…")

        def run(_ctx: object) -> DraftState:
            if barrier is not None:
                concurrent.futures.wait([barrier])
            drafts.restore(vault, case_id, version)
            return load_state(vault, case)

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                reason = error.message if isinstance(error, ReviewerError) else "it failed"
                self.status.setText(f"The version could not be restored: {reason}")

        self._ops.run(run, success=lambda s: self._loaded(generation, s), failure=failed)

    # -- citations -------------------------------------------------------------------
    def _citation_label(self, citation_id: str) -> str | None:
        citation = self._citations.get(citation_id)
        return None if citation is None else citation.label

    def insert_citation(self, citation: evidence.Citation) -> None:
        """Put the citation's reference at the cursor of the last focused section."""
        if self._case is None or citation.case_id != self._case.case_id:
            # Evidence of another patient never goes into this opinion.
            log.warning("a citation of another case was not inserted")
            return
        editor = self._target_editor()
        if editor is None or self._read_only():
            return
        self._citations.setdefault(citation.citation_id, citation)
        order = sorted(self._citations.values(), key=lambda c: c.created_at)
        number = next(i for i, c in enumerate(order, 1) if c.citation_id == citation.citation_id)
        cursor = editor.textCursor()
        cursor.insertHtml(evidence.anchor_html(citation, number))
        editor.setTextCursor(cursor)
        # Typing on after the reference must not extend the link.
        editor.setCurrentCharFormat(plain_format(cursor.charFormat()))
        editor.setFocus()

    def _citation_clicked(self, citation_id: str) -> None:
        citation = self._citations.get(citation_id)
        if citation is not None:
            self.citation_activated.emit(citation)
            return
        vault, generation = self._vault, self._generation

        def found(citation: evidence.Citation) -> None:
            if generation == self._generation and citation.case_id == self.case_id():
                self._citations[citation.citation_id] = citation
                self.citation_activated.emit(citation)

        self._ops.run(
            lambda _ctx: evidence.get_citation(vault, citation_id),
            success=found,
            failure=lambda _error: self.status.setText("This citation is no longer in the vault."),
            label="citation",
        )
