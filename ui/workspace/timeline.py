"""The timeline: records, lab draws and imaging studies of the case on one dated axis.

Oldest first, one row per item (a lab draw is one row per panel). Clicking a row or
pressing Enter on it asks the workspace to open the item in its pane (``ref_activated``
with the entry's ref); the timeline itself never reaches into a pane.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reviewer_app.casefile import CaseFile, TimelineEntry
from ui.qt import (
    QAbstractItemView,
    QAbstractTableModel,
    QHeaderView,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.workspace.pane_header import PaneHeader

REF_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_TEXT = {"record": "Record", "lab": "Labs", "study": "Imaging"}
COLUMNS = ("Date", "Kind", "Item")


def format_when(value: datetime | None) -> str:
    """A timeline date: day precision is what a reader compares (04 May 2024)."""
    return value.strftime("%d %b %Y") if value is not None else "undated"


class TimelineModel(QAbstractTableModel):
    """The entries of one case, in timeline order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[TimelineEntry] = []

    def set_entries(self, entries: list[TimelineEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entry(self, row: int) -> TimelineEntry:
        return self._entries[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid():
            return None
        entry = self._entries[index.row()]
        if role == REF_ROLE:
            return entry.ref
        if role == Qt.ItemDataRole.DisplayRole:
            return (format_when(entry.date), KIND_TEXT[entry.kind], entry.title)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return f"{entry.title} — click to open in {KIND_TEXT[entry.kind]}"
        return None


class TimelinePanel(QWidget):
    """Header strip and the timeline table."""

    pane_title = "Timeline"
    #: The user chose an entry: its ref (``record:…``, ``lab:…``, ``series:…``).
    ref_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelinePanel")
        self.header = PaneHeader(self.pane_title)
        self.model = TimelineModel(self)
        self.table = QTableView()
        self.table.setObjectName("timelineTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.clicked.connect(self._open)
        self.table.activated.connect(self._open)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.table, 1)
        self._case_id: str | None = None

    def case_id(self) -> str | None:
        return self._case_id

    def show_case(self, case: CaseFile) -> None:
        self._case_id = case.case_id
        self.header.set_case(case)
        self.model.set_entries(case.timeline())

    def clear(self) -> None:
        self._case_id = None
        self.header.clear()
        self.model.set_entries([])

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.ref_activated.emit(str(self.model.data(index, REF_ROLE)))
