"""A minimal CasePane for the workspace tests (the real panes are tested in their own
packages): it shows the patient in a PaneHeader plus one line per item of the case, and
records the refs it was asked to open."""

from __future__ import annotations

from typing import Any

from reviewer_app.casefile import CaseFile
from ui.operations import Operations
from ui.qt import QLabel, QVBoxLayout, QWidget, Signal
from ui.workspace.pane_header import PaneHeader


class RecordingPane(QWidget):
    """Shows what it was given of the case; remembers every call."""

    content_shown = Signal(str)

    def __init__(self, title: str) -> None:
        super().__init__()
        self.pane_title = title
        self.header = PaneHeader(title)
        self.body = QLabel("")
        self.opened: list[str] = []
        self.shown: list[str] = []
        self._case_id: str | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.body, 1)

    def show_case(self, case: CaseFile, vault: Any) -> None:
        self._case_id = case.case_id
        self.shown.append(case.case_id)
        self.header.set_case(case)
        items = {
            "Records": [r.title for r in case.records],
            "Labs": [lab.name for lab in case.labs[:5]],
            "Imaging": [s.description for st in case.studies for s in st.series],
        }[self.pane_title]
        # The patient's name in the body too: a pane that kept it would be caught.
        self.body.setText("\n".join([case.patient.name, *items]))
        self.content_shown.emit(case.case_id)

    def clear(self) -> None:
        self._case_id = None
        self.header.clear()
        self.body.setText("")

    def case_id(self) -> str | None:
        return self._case_id

    def open_ref(self, ref: str) -> None:
        self.opened.append(ref)


def recording_panes(_ops: Operations) -> list[Any]:
    """The pane factory MainWindow takes (pane_factory=...)."""
    return [RecordingPane("Records"), RecordingPane("Labs"), RecordingPane("Imaging")]
