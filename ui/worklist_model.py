"""The worklist's Qt model: one row per Case, read from ``Vault.cases()``.

The model holds :class:`~reviewer_app.domain.CaseSummary` rows and turns them into
text for the view; it does not read the vault itself (an operation does, off the UI
thread, and hands the rows to :meth:`WorklistModel.set_cases`). Sorting uses
:data:`SORT_ROLE` (a priority rank, ISO dates) so the proxy sorts by meaning, not by
the displayed text. :class:`WorklistFilter` is the proxy behind the filter box.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ui.opinion.outbox_view import opinion_rank, opinion_text, opinion_tooltip
from ui.qt import (
    QAbstractTableModel,
    QColor,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from ui.sync_status import ORPHAN_STATUS, CaseSyncStatus, sync_rank, sync_text

if TYPE_CHECKING:
    from reviewer_app.domain import CaseSummary

#: Role with a value that sorts by meaning (priority rank, ISO date, age).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Role with the row's case_id (for opening a Case).
CASE_ID_ROLE = Qt.ItemDataRole.UserRole + 2
#: Role with the row's pinned flag (the view paints a pin).
PINNED_ROLE = Qt.ItemDataRole.UserRole + 3
#: Role with the row's opinion stage ("draft", "signed", … or None) for the menus.
OPINION_STAGE_ROLE = Qt.ItemDataRole.UserRole + 4

_Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    PRIORITY = 0
    DUE = 1
    PATIENT = 2
    SPECIALTY = 3
    QUESTION = 4
    STATUS = 5
    SYNC = 6
    OPINION = 7


HEADERS = {
    Column.PRIORITY: "Priority",
    Column.DUE: "Due",
    Column.PATIENT: "Patient",
    Column.SPECIALTY: "Specialty",
    Column.QUESTION: "Clinical question",
    Column.STATUS: "Status",
    Column.SYNC: "Offline copy",
    Column.OPINION: "Opinion",
}

# FHIR ServiceRequest.priority codes, most urgent first.
PRIORITY_RANK = {"stat": 0, "asap": 1, "urgent": 2, "routine": 3}
PRIORITY_LABEL = {"stat": "STAT", "asap": "ASAP", "urgent": "Urgent", "routine": "Routine"}
PRIORITY_COLOURS = {"stat": "#e0675b", "asap": "#e39a4c", "urgent": "#d9b44a", "routine": "#6f9fc4"}
OPINION_COLOURS = {"conflict": "#e0675b", "rejected": "#e0675b", "uploaded": "#5fae7b"}
SEX_LABEL = {"female": "F", "male": "M", "other": "O", "unknown": "?", "f": "F", "m": "M"}
_QUESTION_CHARS = 140


def _label(code: str | None) -> str:
    return (code or "").replace("_", " ").replace("-", " ").strip().capitalize()


def patient_text(case: CaseSummary, today: dt.date) -> str:
    """'Name · F · 54 y' (parts that are unknown are left out)."""
    parts = [case.patient_name or "Unnamed patient"]
    sex = (case.patient_sex or "").strip().lower()
    if sex:
        parts.append(SEX_LABEL.get(sex, sex[:1].upper()))
    age = case.patient_age(today)
    if age is not None:
        parts.append(f"{age} y")
    return " · ".join(parts)


def due_text(due: dt.date | None, today: dt.date) -> str:
    """A due date as a specialist scans it: relative when near, a date when not."""
    if due is None:
        return "—"
    days = (due - today).days
    if days == 0:
        return "Today"
    if days == 1:
        return "Tomorrow"
    if days < 0:
        return f"Overdue {-days} d"
    if days < 7:
        return due.strftime("%a %d %b")
    return due.strftime("%d %b %Y")


def status_text(case: CaseSummary) -> str:
    """The Case's state on the platform (the Sync column says how far it is local)."""
    if case.status == ORPHAN_STATUS:
        return "Removed by the platform"
    return _label(case.status) or "New"


def _one_line(text: str | None) -> str:
    flat = " ".join((text or "").split())
    if len(flat) > _QUESTION_CHARS:
        return flat[: _QUESTION_CHARS - 1].rstrip() + "…"
    return flat


class WorklistModel(QAbstractTableModel):
    """The Cases assigned to the specialist, as table rows."""

    def __init__(self, parent: QObject | None = None, *, today: dt.date | None = None) -> None:
        super().__init__(parent)
        self._cases: list[CaseSummary] = []
        self._status: dict[str, CaseSyncStatus] = {}
        self._opinions: dict[str, Any] = {}
        self._today = today

    def today(self) -> dt.date:
        return self._today or dt.date.today()

    # -- content -------------------------------------------------------------------
    def set_cases(
        self,
        cases: Sequence[CaseSummary],
        status: Mapping[str, CaseSyncStatus] | None = None,
        opinions: Mapping[str, Any] | None = None,
    ) -> None:
        """Replace the rows, their offline state and their opinions' states
        (``states.OpinionState`` by case id); a full reset: the view keeps its sort and
        filter."""
        self.beginResetModel()
        self._cases = list(cases)
        self._status = dict(status or {})
        self._opinions = dict(opinions or {})
        self.endResetModel()

    def opinion_state(self, case_id: str) -> Any:
        """The opinion state of ``case_id`` as last loaded (None: no draft yet)."""
        return self._opinions.get(case_id)

    def sync_status(self, case_id: str) -> CaseSyncStatus | None:
        """The offline state of ``case_id`` as last loaded."""
        return self._status.get(case_id)

    def ready_offline(self) -> int:
        """How many shown cases are complete offline."""
        status = self._status
        return sum(1 for case in self._cases if (s := status.get(case.case_id)) and s.complete)

    def clear(self) -> None:
        """Drop every row (used when the app locks: no patient data kept in views)."""
        self.set_cases([])

    def case_at(self, row: int) -> CaseSummary:
        return self._cases[row]

    # -- QAbstractTableModel ---------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._cases)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._cases):
            return None
        case = self._cases[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(case, column)
        if role == SORT_ROLE:
            return self._sort_key(case, column)
        if role == CASE_ID_ROLE:
            return case.case_id
        if role == PINNED_ROLE:
            return case.pinned
        if role == OPINION_STAGE_ROLE:
            state = self._opinions.get(case.case_id)
            return None if state is None else state.stage
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.OPINION:
            return opinion_tooltip(self._opinions.get(case.case_id))
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.OPINION:
            return self._opinion_colour(case.case_id)
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.QUESTION:
            return case.clinical_question or None
        if role == Qt.ItemDataRole.ToolTipRole and column == Column.SYNC:
            return self._sync_tooltip(case)
        if role == Qt.ItemDataRole.DecorationRole and column == Column.PRIORITY:
            colour = PRIORITY_COLOURS.get((case.priority or "").lower())
            return QColor(colour) if colour else None
        overdue = case.due_date is not None and case.due_date < self.today()
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.DUE and overdue:
            return QColor("#e0675b")
        return None

    def _display(self, case: CaseSummary, column: Column) -> str:
        today = self.today()
        if column == Column.PRIORITY:
            code = (case.priority or "").lower()
            return PRIORITY_LABEL.get(code) or _label(code) or "—"
        if column == Column.DUE:
            return due_text(case.due_date, today)
        if column == Column.PATIENT:
            return "—" if case.status == ORPHAN_STATUS else patient_text(case, today)
        if column == Column.SPECIALTY:
            return _label(case.specialty) if case.specialty else "—"
        if column == Column.QUESTION:
            return _one_line(case.clinical_question)
        if column == Column.SYNC:
            return sync_text(self._status.get(case.case_id))
        if column == Column.OPINION:
            return opinion_text(self._opinions.get(case.case_id))
        return status_text(case)

    def _opinion_colour(self, case_id: str) -> QColor | None:
        state = self._opinions.get(case_id)
        colour = None if state is None else OPINION_COLOURS.get(state.stage)
        return QColor(colour) if colour else None

    def _sync_tooltip(self, case: CaseSummary) -> str | None:
        status = self._status.get(case.case_id)
        lines = ["Pinned: kept and synced first"] if case.pinned else []
        if status is not None and len(status.errors) > 1:
            lines += [f"{len(status.errors)} items failed:", *status.errors[:5]]
        return "\n".join(lines) or None

    def _sort_key(self, case: CaseSummary, column: Column) -> Any:
        if column == Column.PRIORITY:
            return PRIORITY_RANK.get((case.priority or "").lower(), len(PRIORITY_RANK))
        if column == Column.DUE:
            # Cases without a due date sort after all dated ones.
            return case.due_date.isoformat() if case.due_date else "9999-12-31"
        if column == Column.SYNC:
            return sync_rank(self._status.get(case.case_id))
        if column == Column.OPINION:
            return opinion_rank(self._opinions.get(case.case_id))
        return self._display(case, column).casefold()


class WorklistFilter(QSortFilterProxyModel):
    """Sorts by meaning and keeps the rows whose text contains every typed word."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._words: list[str] = []

    def set_filter_text(self, text: str) -> None:
        """Show only rows matching all words of ``text`` (any column, any case)."""
        words = text.casefold().split()
        if words == self._words:
            return
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; the older call is deprecated
            self.beginFilterChange()
            self._words = words
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = words
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        text = " ".join(
            str(model.data(model.index(source_row, column, source_parent)) or "")
            for column in range(model.columnCount(source_parent))
        ).casefold()
        return all(word in text for word in self._words)
