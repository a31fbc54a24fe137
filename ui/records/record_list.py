"""The Records pane's document list: one row per Record (type, date, title, pages).

Page counts are not in the vault's rows: the pane learns them by opening each PDF in
the background and fills them in with :meth:`RecordListModel.set_pages`. A Record whose
bytes have not been synced yet says so in its pages column.
"""

from __future__ import annotations

import enum
from typing import Any

from reviewer_app.casefile import RecordEntry
from ui.qt import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

RECORD_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
NOT_DOWNLOADED = "Still downloading"

Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    TYPE = 0
    DATE = 1
    TITLE = 2
    PAGES = 3


HEADERS = {Column.TYPE: "Type", Column.DATE: "Date", Column.TITLE: "Title", Column.PAGES: "Pages"}


class RecordListModel(QAbstractTableModel):
    """The Records of one Case, in the order the CaseFile lists them."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[RecordEntry] = []
        # record_id -> page count, or a short reason it has none ("Damaged", ...).
        self._pages: dict[str, int | str] = {}

    def set_records(self, records: list[RecordEntry]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._pages = {}
        self.endResetModel()

    def clear(self) -> None:
        self.set_records([])

    def set_pages(self, record_id: str, pages: int | str) -> None:
        """Fill in a Record's page count (or why it cannot be shown)."""
        self._pages[record_id] = pages
        row = self.row_of(record_id)
        if row is not None:
            index = self.index(row, Column.PAGES)
            self.dataChanged.emit(index, index)

    def record(self, row: int) -> RecordEntry:
        return self._records[row]

    def row_of(self, record_id: str) -> int | None:
        for row, record in enumerate(self._records):
            if record.record_id == record_id:
                return row
        return None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self._records[index.row()]
        column = Column(index.column())
        if role == RECORD_ID_ROLE:
            return record.record_id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        if role == SORT_ROLE:
            if column == Column.DATE:
                return record.date.isoformat() if record.date else ""
            if column == Column.PAGES:
                pages = self._pages.get(record.record_id)
                return pages if isinstance(pages, int) else -1
            return self._display(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if record.object_id is None:
                return "Still downloading — available when sync completes"
            if column == Column.TYPE:
                return record.type_display or None
            return record.title or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column == Column.PAGES:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, record: RecordEntry, column: Column) -> str:
        if column == Column.TYPE:
            return record.type_display
        if column == Column.DATE:
            return record.date.date().isoformat() if record.date else ""
        if column == Column.TITLE:
            return record.title
        if record.object_id is None:
            return NOT_DOWNLOADED
        pages = self._pages.get(record.record_id)
        return "" if pages is None else str(pages)
