"""What still keeps the opinion from being signed, and the "Sign…" button.

The list shows :func:`completeness.check`'s findings as the specialist types; a click
on one goes to the section or question it names. "Sign…" stays disabled, its tooltip
repeating the reasons, until nothing is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from reviewer_app.opinion.completeness import Finding
from ui.qt import (
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSizePolicy,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)

COMPLETE_TEXT = "Ready to sign: every required part is filled in."
MISSING_TEXT = "Before signing:"
_FINDING_ROLE = Qt.ItemDataRole.UserRole + 1
#: Rows shown before the list scrolls.
VISIBLE_ROWS = 4


class CompletenessView(QWidget):
    """Findings list, summary line and the Sign… button."""

    #: The user clicked a finding (go to its section or question).
    finding_activated = Signal(object)
    #: The user pressed Sign… (only possible while complete).
    sign_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("opinionCompleteness")
        self.summary = QLabel("")
        self.summary.setObjectName("completenessSummary")
        self.summary.setWordWrap(True)
        self.model = QStandardItemModel(self)
        self.list = QListView()
        self.list.setObjectName("completenessFindings")
        self.list.setModel(self.model)
        self.list.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.list.setWordWrap(True)
        self.list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.list.clicked.connect(self._activated)
        self.list.activated.connect(self._activated)
        self.sign_button = QPushButton("Sign…")
        self.sign_button.setObjectName("signOpinion")
        self.sign_button.clicked.connect(self.sign_clicked.emit)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.sign_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.list)
        self.set_findings([])

    def findings(self) -> list[Finding]:
        return [self.model.item(row).data(_FINDING_ROLE) for row in range(self.model.rowCount())]

    def set_findings(self, findings: Sequence[Finding]) -> None:
        """Show ``findings`` (empty: complete, Sign… enabled)."""
        if list(findings) == self.findings():
            return
        self.model.clear()
        for finding in findings:
            item = QStandardItem(finding.message)
            item.setData(finding, _FINDING_ROLE)
            item.setToolTip(finding.message)
            self.model.appendRow(item)
        complete = not findings
        self.summary.setText(COMPLETE_TEXT if complete else MISSING_TEXT)
        self.list.setVisible(not complete)
        rows = min(len(findings), VISIBLE_ROWS)
        self.list.setFixedHeight(self.list.sizeHintForRow(0) * rows + 6 if rows else 0)
        self.sign_button.setEnabled(complete)
        reasons = "\n".join(f"• {f.message}" for f in findings)
        self.sign_button.setToolTip(
            "Sign the opinion (you will see the exact document first)"
            if complete
            else f"Complete the opinion first:\n{reasons}"
        )

    def _activated(self, index: object) -> None:
        finding = self.model.data(index, _FINDING_ROLE)  # type: ignore[arg-type]
        if finding is not None:
            self.finding_activated.emit(finding)
