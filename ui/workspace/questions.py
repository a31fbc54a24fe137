"""The questions panel: what the referring doctor and the patient asked.

Kept in view while reading the records, labs and images, so the opinion answers what
was asked. Questions are plain text from the platform: shown as plain text, never as
rich text (a question containing markup must not change the panel).
"""

from __future__ import annotations

from reviewer_app.casefile import CaseFile
from ui.qt import QFrame, QLabel, QScrollArea, Qt, QVBoxLayout, QWidget
from ui.workspace.pane_header import PaneHeader


class QuestionsPanel(QWidget):
    """Clinical questions, the reason for referral and the patient's questions."""

    pane_title = "Questions"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("questionsPanel")
        self.header = PaneHeader(self.pane_title)
        self._body = QWidget()
        self._lines = QVBoxLayout(self._body)
        self._lines.setContentsMargins(8, 4, 8, 8)
        self._lines.setSpacing(4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(scroll, 1)
        self._case_id: str | None = None

    def case_id(self) -> str | None:
        return self._case_id

    def texts(self) -> list[str]:
        """Every line shown, headings included (tests, and the opinion later)."""
        found = []
        for i in range(self._lines.count()):
            item = self._lines.itemAt(i)
            widget = item.widget() if item is not None else None
            if isinstance(widget, QLabel):
                found.append(widget.text())
        return found

    def show_case(self, case: CaseFile) -> None:
        """Show ``case``'s questions (everything before is removed first)."""
        self.clear()
        self._case_id = case.case_id
        self.header.set_case(case)
        sections = [
            (
                "Clinical question" if len(case.clinical_questions) < 2 else "Clinical questions",
                case.clinical_questions,
            ),
            ("Reason for referral", case.reasons),
            ("The patient asks", case.patient_questions),
        ]
        for heading, items in sections:
            if not items:
                continue
            self._add(heading, heading=True)
            numbered = len(items) > 1
            for n, text in enumerate(items, start=1):
                self._add(f"{n}. {text}" if numbered else text)
        if not any(items for _, items in sections):
            self._add("No questions were sent with this case.")
        self._lines.addStretch(1)

    def _add(self, text: str, *, heading: bool = False) -> None:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if heading:
            label.setObjectName("questionsHeading")
            font = label.font()
            font.setBold(True)
            label.setFont(font)
            if self._lines.count():
                label.setContentsMargins(0, 6, 0, 0)
        self._lines.addWidget(label)

    def clear(self) -> None:
        self._case_id = None
        self.header.clear()
        while self._lines.count():
            item = self._lines.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()
                widget.deleteLater()
