"""The DICOM tag browser: every element of the current image's header, with a search box.

Rows come from :func:`reviewer_app.imaging.dataset_rows` (computed off the UI thread by
the pane); the search filters on every column, case-insensitively, so "patientname",
"0010,0010" or a value all find their row.
"""

from __future__ import annotations

from reviewer_app.imaging import TagRow
from ui.qt import (
    QAbstractItemView,
    QAbstractTableModel,
    QHeaderView,
    QLineEdit,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Tag", "Keyword", "VR", "Value")


class TagTableModel(QAbstractTableModel):
    """Tag browser rows; nested elements are indented by their depth."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[TagRow] = []

    def set_rows(self, rows: list[TagRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
        ):
            return None
        row = self._rows[index.row()]
        indent = "  " * row.depth
        values = (indent + row.tag, row.keyword, row.vr, row.value)
        return values[index.column()]


class TagBrowser(QWidget):
    """The tag table and its search box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = TagTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search tags (keyword, tag or value)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.table)

    def set_rows(self, rows: list[TagRow]) -> None:
        self.model.set_rows(rows)
        self._compact()

    def _compact(self) -> None:
        # Compact rows: a header has hundreds of elements. Set here, not once in
        # __init__: polishing the widget (the app's theme) resets the header's default.
        height = self.fontMetrics().height() + 6
        header = self.table.verticalHeader()
        header.setMinimumSectionSize(height - 2)
        header.setDefaultSectionSize(height)

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self._compact()

    def visible_rows(self) -> list[tuple[str, ...]]:
        """The rows the search lets through, as (tag, keyword, VR, value)."""
        out = []
        for r in range(self.proxy.rowCount()):
            out.append(
                tuple(
                    str(self.proxy.data(self.proxy.index(r, c))).strip()
                    for c in range(len(COLUMNS))
                )
            )
        return out
