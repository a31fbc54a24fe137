"""The patient banner: whose case this is, always visible above the panes.

Every pane shows the banner's case and nothing else; the banner is therefore the one
place a specialist checks the patient, so it carries what identifies them (name, sex,
age and date of birth, case key) and what the case is for (specialty, due date, the
clinical question). While a case loads or the app is locked it shows no patient.
"""

from __future__ import annotations

from datetime import date

from reviewer_app.casefile import CaseFile
from ui.qt import QFrame, QHBoxLayout, QLabel, QSizePolicy, Qt, QVBoxLayout, QWidget


def format_date(value: date | None) -> str:
    """A date as the banner shows it (unambiguous in every locale: 04 May 1970)."""
    return value.strftime("%d %b %Y") if value is not None else "—"


def identity_text(case: CaseFile) -> str:
    """Sex, age and date of birth: "female · 54 y · born 04 May 1970"."""
    patient = case.patient
    parts = [patient.sex or "sex unknown"]
    if patient.age is not None:
        parts.append(f"{patient.age} y")
    parts.append(f"born {format_date(patient.birth_date)}")
    return " · ".join(parts)


class PatientBanner(QFrame):
    """Name, identity line, case facts and the clinical question of the shown case."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.name = QLabel()
        self.name.setObjectName("bannerName")
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.name.setFont(font)
        self.identity = QLabel()
        self.identity.setObjectName("bannerIdentity")
        self.case_key = QLabel()
        self.case_key.setObjectName("bannerCaseKey")
        key_font = self.case_key.font()
        key_font.setBold(True)
        self.case_key.setFont(key_font)
        self.facts = QLabel()
        self.facts.setObjectName("bannerFacts")
        self.question = QLabel()
        self.question.setObjectName("bannerQuestion")
        self.question.setWordWrap(True)
        self.question.setTextFormat(Qt.TextFormat.PlainText)
        for label in (self.name, self.identity, self.case_key, self.facts, self.question):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setTextFormat(Qt.TextFormat.PlainText)

        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(self.name)
        top.addWidget(self.identity)
        top.addStretch(1)
        top.addWidget(self.facts)
        top.addWidget(self.case_key)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.question)
        self._case_id: str | None = None
        self.clear()

    def case_id(self) -> str | None:
        """The case the banner shows (None when empty or loading)."""
        return self._case_id

    def show_case(self, case: CaseFile) -> None:
        """Show ``case``'s patient and facts."""
        self._case_id = case.case_id
        self.name.setText(case.patient.name or "Unnamed patient")
        self.identity.setText(identity_text(case))
        self.case_key.setText(case.display_key)
        facts = [case.specialty.capitalize() if case.specialty else ""]
        facts.append(f"due {format_date(case.due_date)}")
        if case.priority and case.priority != "routine":
            facts.append(case.priority.upper())
        self.facts.setText(" · ".join(f for f in facts if f))
        question = case.clinical_questions[0] if case.clinical_questions else ""
        self.question.setText(f"Question: {question}" if question else "No clinical question")
        self.question.setToolTip("\n\n".join(case.clinical_questions))

    def show_message(self, text: str) -> None:
        """No patient, just a line (loading, locked, a case that cannot be shown)."""
        self._case_id = None
        for label in (self.identity, self.case_key, self.facts, self.question):
            label.clear()
            label.setToolTip("")
        self.name.setText(text)

    def clear(self) -> None:
        self.show_message("")
