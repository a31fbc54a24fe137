"""Qt models of the Labs pane: the flowsheet table, the list table and their filters.

Both models display a :class:`~reviewer_app.labs.flowsheet.Flowsheet` built off the UI
thread; they never compute flags or convert anything. Every value cell shows its unit
and flag symbol in its text (colour only reinforces it), and its tooltip gives the exact
value, unit, range, interpretation and draw time. Sorting uses :data:`SORT_ROLE`, so
numbers sort as numbers and censored or text results after them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reviewer_app.labs.flowsheet import (
    Analyte,
    Flowsheet,
    LabValue,
    build_flowsheet,
    draw_label,
    sequence_text,
)
from ui.labs.flag_style import background_colour, text_colour
from ui.qt import (
    QAbstractTableModel,
    QApplication,
    QColor,
    QFont,
    QModelIndex,
    QObject,
    QPalette,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

#: Role with a value that sorts by meaning (numbers as numbers, dates as timestamps).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role with the row's Analyte (None on a panel row).
ANALYTE_ROLE = Qt.ItemDataRole.UserRole + 2
#: Role with the cell's LabValue tuple (flowsheet) or LabValue (list).
VALUES_ROLE = Qt.ItemDataRole.UserRole + 3
#: Role with the panel a row belongs to (for keeping panels together when sorting).
PANEL_ROLE = Qt.ItemDataRole.UserRole + 4

_Index = QModelIndex | QPersistentModelIndex
_EMPTY = build_flowsheet([])


def when_text(value: LabValue) -> str:
    """The full draw date-time of a result, with its UTC offset."""
    if value.effective is None:
        return "date not given"
    return value.effective.strftime("%Y-%m-%d %H:%M %Z").strip()


def value_tooltip(analyte: Analyte | None, values: Sequence[LabValue]) -> str:
    """Exact value, unit, range, interpretation and date-time of each result."""
    blocks = []
    for v in values:
        lines = []
        if analyte is not None:
            lines.append(f"{analyte.name} (LOINC {analyte.code})" if analyte.code else analyte.name)
        lines.append(f"Value: {v.text} {v.unit}".rstrip())
        lines.append(f"Reference range: {v.range_text or 'not given'}")
        lines.append(
            f"Interpretation: {v.flag.label + ' ' if v.flag.label else ''}{v.flag.explain()}"
        )
        lines.append(f"Drawn: {when_text(v)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _flag_roles(values: Sequence[LabValue], role: int) -> Any:
    if not values:
        return None
    worst = max(values, key=lambda v: (v.flag.kind.critical, v.flag.kind.abnormal)).flag.kind
    if role == Qt.ItemDataRole.ForegroundRole:
        return text_colour(worst)
    if role == Qt.ItemDataRole.BackgroundRole:
        return background_colour(worst)
    if role == Qt.ItemDataRole.FontRole and worst.critical:
        font = QFont()
        font.setBold(True)
        return font
    return None


def _value_sort_key(values: Sequence[LabValue]) -> tuple[int, float, str]:
    # Numbers first, by value; censored and text results after them, by their text;
    # empty cells last in ascending order.
    if not values:
        return (2, 0.0, "")
    first = values[0]
    if first.value is not None:
        return (0, first.value, "")
    return (1, 0.0, first.text.casefold())


def _heading_colour() -> QColor:
    # A panel heading: the table's base a third of the way to the theme's mid tone.
    pal = QApplication.palette()
    base, mid = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Mid)
    return QColor(
        round(base.red() * 0.65 + mid.red() * 0.35),
        round(base.green() * 0.65 + mid.green() * 0.35),
        round(base.blue() * 0.65 + mid.blue() * 0.35),
    )


@dataclass(frozen=True)
class _Row:
    panel: str
    analyte: Analyte | None  # None: the panel's heading row


class LabsFlowsheetModel(QAbstractTableModel):
    """Rows: a heading per panel, then its analytes. Columns: analyte, latest range, then
    one per draw, newest first."""

    FIXED_COLUMNS = 2  # analyte, latest reference range

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sheet: Flowsheet = _EMPTY
        self._rows: list[_Row] = []
        self._draws: list[datetime | None] = []

    def set_flowsheet(self, sheet: Flowsheet) -> None:
        """Show ``sheet`` (replaces everything)."""
        self.beginResetModel()
        self._sheet = sheet
        # Newest draw first, next to the analyte names: the latest results are what a
        # reviewer reads first, without scrolling. Undated results stay at the far end.
        dated = [d for d in sheet.draws if d is not None]
        self._draws = dated[::-1] + [d for d in sheet.draws if d is None]
        self._rows = []
        for panel in sheet.panels:
            self._rows.append(_Row(panel.name, None))
            self._rows += [_Row(panel.name, a) for a in panel.analytes]
        self.endResetModel()

    def flowsheet(self) -> Flowsheet:
        return self._sheet

    def draw_at(self, column: int) -> datetime | None:
        """The draw time of a value column (columns run newest first)."""
        return self._draws[column - self.FIXED_COLUMNS]

    def clear(self) -> None:
        self.set_flowsheet(_EMPTY)

    def analyte_at(self, row: int) -> Analyte | None:
        return self._rows[row].analyte

    def row_of(self, key: str) -> int | None:
        """The source row of an analyte key."""
        return next(
            (i for i, r in enumerate(self._rows) if r.analyte and r.analyte.key == key), None
        )

    def panel_analytes(self, panel: str) -> list[Analyte]:
        return [r.analyte for r in self._rows if r.panel == panel and r.analyte]

    # -- QAbstractTableModel ---------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.FIXED_COLUMNS + len(self._draws)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Analyte"
            if section == 1:
                return "Reference range"
            return draw_label(self._draws[section - self.FIXED_COLUMNS])
        if role == Qt.ItemDataRole.ToolTipRole and section >= self.FIXED_COLUMNS:
            when = self._draws[section - self.FIXED_COLUMNS]
            return when.isoformat() if when else "Results without a date"
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == PANEL_ROLE:
            return row.panel
        if role == ANALYTE_ROLE:
            return row.analyte
        if row.analyte is None:
            return self._panel_data(row, column, role)
        analyte = row.analyte
        if column == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return analyte.label
            if role == SORT_ROLE:
                return analyte.label.casefold()
            if role == Qt.ItemDataRole.ToolTipRole:
                unit = analyte.unit or "no unit"
                return f"{analyte.name}\nLOINC {analyte.code or 'not given'}\nUnit: {unit}"
            return None
        if column == 1:
            latest = analyte.values[-1].range_text if analyte.values else ""
            if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
                return latest
            if role == Qt.ItemDataRole.ToolTipRole and latest:
                return f"Latest reference range: {latest}"
            return None
        values = self._sheet.cell(analyte, self._draws[column - self.FIXED_COLUMNS])
        if role == Qt.ItemDataRole.DisplayRole:
            return sequence_text(values)
        if role == VALUES_ROLE:
            return values
        if role == SORT_ROLE:
            return _value_sort_key(values)
        if role == Qt.ItemDataRole.ToolTipRole:
            return value_tooltip(analyte, values) or None
        return _flag_roles(values, role)

    def _panel_data(self, row: _Row, column: int, role: int) -> Any:
        if column == 0 and role == Qt.ItemDataRole.DisplayRole:
            return row.panel
        if role == Qt.ItemDataRole.BackgroundRole:
            return _heading_colour()
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._rows[index.row()].analyte is None:
            return Qt.ItemFlag.ItemIsEnabled  # a heading: not selectable
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ListColumn(enum.IntEnum):
    DATE = 0
    ANALYTE = 1
    VALUE = 2
    UNIT = 3
    RANGE = 4
    FLAG = 5
    SOURCE = 6


LIST_HEADERS = {
    ListColumn.DATE: "Date",
    ListColumn.ANALYTE: "Analyte",
    ListColumn.VALUE: "Value",
    ListColumn.UNIT: "Unit",
    ListColumn.RANGE: "Reference range",
    ListColumn.FLAG: "Flag",
    ListColumn.SOURCE: "Flag source",
}


class LabsListModel(QAbstractTableModel):
    """One row per LabResult: date, analyte, value, unit, range, flag, flag source."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[Analyte, LabValue]] = []

    def set_flowsheet(self, sheet: Flowsheet) -> None:
        """Show every result of ``sheet`` (replaces everything)."""
        self.beginResetModel()
        by_key = {a.key: a for a in sheet.analytes()}
        self._rows = [(by_key[v.analyte_key], v) for v in sheet.values()]
        self.endResetModel()

    def clear(self) -> None:
        self.set_flowsheet(_EMPTY)

    def analyte_at(self, row: int) -> Analyte:
        return self._rows[row][0]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ListColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return LIST_HEADERS[ListColumn(section)]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        analyte, value = self._rows[index.row()]
        column = ListColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(analyte, value, column)
        if role == SORT_ROLE:
            return self._sort_key(analyte, value, column)
        if role == ANALYTE_ROLE:
            return analyte
        if role == VALUES_ROLE:
            return value
        if role == PANEL_ROLE:
            return analyte.panel
        if role == Qt.ItemDataRole.ToolTipRole:
            return value_tooltip(analyte, [value])
        if column in (ListColumn.VALUE, ListColumn.FLAG):
            return _flag_roles([value], role)
        return None

    @staticmethod
    def _display(analyte: Analyte, value: LabValue, column: ListColumn) -> str:
        if column == ListColumn.DATE:
            return value.effective.strftime("%Y-%m-%d %H:%M") if value.effective else "undated"
        if column == ListColumn.ANALYTE:
            return analyte.label
        if column == ListColumn.VALUE:
            return value.text
        if column == ListColumn.UNIT:
            return value.unit
        if column == ListColumn.RANGE:
            return value.range_text
        if column == ListColumn.FLAG:
            return value.flag.label
        return value.flag.source.value if value.flag.kind.abnormal else ""

    @classmethod
    def _sort_key(cls, analyte: Analyte, value: LabValue, column: ListColumn) -> Any:
        if column == ListColumn.DATE:
            return value.effective.timestamp() if value.effective else float("inf")
        if column == ListColumn.VALUE:
            return _value_sort_key([value])
        if column == ListColumn.FLAG:
            kind = value.flag.kind
            return (kind.critical, kind.abnormal, value.flag.label)
        return cls._display(analyte, value, column).casefold()


def _matches(analyte: Analyte, words: list[str]) -> bool:
    text = f"{analyte.name} {analyte.code} {analyte.unit} {analyte.panel}".casefold()
    return all(word in text for word in words)


class _LabsFilter(QSortFilterProxyModel):
    """Shared filter state: typed words and the "abnormal only" toggle."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._words: list[str] = []
        self._abnormal_only = False

    def words(self) -> list[str]:
        return list(self._words)

    def abnormal_only(self) -> bool:
        return self._abnormal_only

    def set_filter(self, text: str, abnormal_only: bool) -> None:
        """Keep rows whose analyte (name, LOINC code, unit, panel) has every word of
        ``text``; with ``abnormal_only``, only flagged results."""
        words = text.casefold().split()
        if (words, abnormal_only) == (self._words, self._abnormal_only):
            return
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; the older call is deprecated
            self.beginFilterChange()
            self._words, self._abnormal_only = words, abnormal_only
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words, self._abnormal_only = words, abnormal_only
            self.invalidateRowsFilter()

    def lessThan(self, left: _Index, right: _Index) -> bool:
        # Sort keys are Python tuples (numbers before censored text): compare them here,
        # Qt cannot compare them inside QVariants.
        key_l, key_r = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if key_l is None or key_r is None:
            return key_l is None and key_r is not None
        return bool(key_l < key_r)


class FlowsheetFilter(_LabsFilter):
    """Filters flowsheet rows (a panel heading stays while one of its rows does) and
    sorts within each panel, so the grouping survives any sort."""

    def _accepts(self, analyte: Analyte) -> bool:
        if self._abnormal_only and not analyte.abnormal:
            return False
        return _matches(analyte, self._words)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LabsFlowsheetModel)
        analyte = model.analyte_at(source_row)
        if analyte is not None:
            return self._accepts(analyte)
        panel = model.data(model.index(source_row, 0), PANEL_ROLE)
        return any(self._accepts(a) for a in model.panel_analytes(panel))

    def lessThan(self, left: _Index, right: _Index) -> bool:
        # Panels keep their order and their heading on top whichever way the column
        # sorts: Qt reverses lessThan for descending order, so pre-reverse the grouping.
        model = self.sourceModel()
        assert isinstance(model, LabsFlowsheetModel)
        descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
        group_l, group_r = self._group(model, left), self._group(model, right)
        if group_l != group_r:
            return (group_l > group_r) if descending else (group_l < group_r)
        return super().lessThan(left, right)

    @staticmethod
    def _group(model: LabsFlowsheetModel, index: _Index) -> tuple[int, int]:
        panel = index.data(PANEL_ROLE)
        order = [p.name for p in model.flowsheet().panels].index(panel)
        # The heading (no analyte) comes before its rows.
        return (order, 0 if model.analyte_at(index.row()) is None else 1)


class ListFilter(_LabsFilter):
    """Filters the list: analyte words, and flagged results only when asked."""

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, LabsListModel)
        index = model.index(source_row, 0, source_parent)
        value: LabValue = index.data(VALUES_ROLE)
        if self._abnormal_only and not value.flag.kind.abnormal:
            return False
        return _matches(model.analyte_at(source_row), self._words)
