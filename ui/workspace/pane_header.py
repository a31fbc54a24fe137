"""The strip at the top of every pane naming the patient and case it shows.

Clinical safety: a specialist glancing at any pane must see whose data it is without
looking at the banner, so each pane repeats "patient name · case key" here. Panes set
it from the CaseFile they were given (``show_case``) and clear it with the pane.
"""

from __future__ import annotations

from reviewer_app.casefile import CaseFile
from ui.qt import QHBoxLayout, QLabel, QSizePolicy, Qt, QWidget


class PaneHeader(QWidget):
    """Pane title on the left, "patient name · case key" of the shown case on the right."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paneHeader")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self._title = QLabel(title)
        self._title.setObjectName("paneTitle")
        font = self._title.font()
        font.setBold(True)
        self._title.setFont(font)
        self._patient = QLabel("")
        self._patient.setObjectName("panePatient")
        self._patient.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._patient.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._patient.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout.addWidget(self._title)
        layout.addWidget(self._patient, 1)

    def title(self) -> str:
        return self._title.text()

    def text(self) -> str:
        """What names the case: "patient name · case key", or "" when cleared."""
        return self._patient.text()

    def set_case(self, case: CaseFile | None) -> None:
        """Name the case this pane now shows (None: no case, the header is empty)."""
        if case is None:
            self._patient.setText("")
            self._patient.setToolTip("")
            return
        text = header_text(case)
        self._patient.setText(text)
        self._patient.setToolTip(text)

    def clear(self) -> None:
        self.set_case(None)


def header_text(case: CaseFile) -> str:
    """The words every pane header and the banner use to name a case."""
    return f"{case.patient.name} · {case.display_key}"
