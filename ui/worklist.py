"""The worklist view: a filter box over a sortable table of Cases, with an empty state.

It reloads when the notifier says cases changed (reading the vault off the UI thread
through :class:`~ui.operations.Operations`), never by polling: a sync, a signature, a
resend all announce it, so the Opinion column follows each opinion from draft to the
platform's receipt. While the app is locked
it holds no rows at all (:meth:`WorklistView.clear`).
"""

from __future__ import annotations

from typing import Any

from ui import resources
from ui.notifier import Change, Notifier
from ui.operations import Operations
from ui.qt import (
    QAbstractItemView,
    QAction,
    QByteArray,
    QColor,
    QHBoxLayout,
    QHeaderView,
    QIcon,
    QKeySequence,
    QLabel,
    QLineEdit,
    QMenu,
    QPainter,
    QPixmap,
    QPoint,
    QSize,
    QStackedWidget,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.sync_status import ORPHAN_STATUS, WorklistRows, load_worklist
from ui.worklist_model import (
    CASE_ID_ROLE,
    OPINION_STAGE_ROLE,
    PINNED_ROLE,
    Column,
    WorklistFilter,
    WorklistModel,
)

PIN_SHORTCUT = "Ctrl+Shift+P"
EMPTY_TITLE = "No cases yet"
EMPTY_DETAIL = "Cases assigned to you appear here after sync."
NO_MATCH_TITLE = "No cases match the filter"
NO_MATCH_DETAIL = "Check the spelling, or clear the filter to see every case."


def load_opinion_states(vault: Any) -> dict[str, Any]:
    """Each case's opinion state (``states.opinion_states``: one query; off the UI
    thread)."""
    from reviewer_app.opinion.states import opinion_states

    return opinion_states(vault)


def _dot(colour: QColor, size: int = 10) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class _DotModel(WorklistModel):
    """Turns the priority colour into a small dot icon and shows a pin on pinned cases
    (pixels belong to the UI side)."""

    _icons: dict[str, QIcon] = {}  # noqa: RUF012 - a shared cache of a few icons

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        value = super().data(index, role)
        if role == Qt.ItemDataRole.DecorationRole and isinstance(value, QColor):
            name = value.name()
            if name not in self._icons:
                self._icons[name] = _dot(value)
            return self._icons[name]
        if (
            role == Qt.ItemDataRole.DecorationRole
            and index.column() == Column.SYNC
            and super().data(index, PINNED_ROLE)
        ):
            if "pin" not in self._icons:
                self._icons["pin"] = resources.icon("pin")
            return self._icons["pin"]
        return value


class WorklistView(QWidget):
    """Filter box, case table and empty-state message."""

    #: The user opened a Case (double click / Enter): its case_id.
    case_activated = Signal(str)
    #: Rows were (re)loaded: how many.
    loaded = Signal(int)
    #: Context menu: export the case's signed opinion (case_id).
    export_requested = Signal(str)
    #: Context menu: what happened to the case's opinion, send it again (case_id).
    problem_requested = Signal(str)

    def __init__(
        self,
        ops: Operations,
        notifier: Notifier,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("worklist")
        self._ops = ops
        self._vault: Any = None
        self._reload_pending = False
        self._loading = False

        self.model = _DotModel(self)
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(self.model)

        title = QLabel("Worklist")
        title.setObjectName("pageTitle")
        self.count_label = QLabel("")
        self.count_label.setObjectName("countLabel")
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setPlaceholderText("Filter by patient, specialty, question…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(320)
        self.filter_edit.textChanged.connect(self._on_filter)

        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(title)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(self.filter_edit)

        self.table = QTableView()
        self.table.setObjectName("worklistTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.PRIORITY, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setIconSize(QSize(14, 14))
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(38)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(Column.QUESTION, QHeaderView.ResizeMode.Stretch)
        # Sized for their usual contents ("Overdue 12 d", "Ready offline ✓ 34 MB"), so
        # that the clinical question, which takes what is left, can still be read on
        # a 1280-pixel-wide laptop screen.
        for column, width in (
            (Column.PRIORITY, 100),
            (Column.DUE, 120),
            (Column.PATIENT, 230),
            (Column.SPECIALTY, 140),
            (Column.STATUS, 105),
            (Column.SYNC, 190),
            (Column.OPINION, 130),
        ):
            header.resizeSection(column, width)
        self._default_header_state = header.saveState()
        self.table.activated.connect(self._on_activated)

        # Pin: keep a case offline and sync it first (context menu and shortcut).
        self.pin_action = QAction("&Pin for travel", self)
        self.pin_action.setObjectName("pinAction")
        self.pin_action.setShortcut(QKeySequence(PIN_SHORTCUT))
        self.pin_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.pin_action.setCheckable(True)
        self.pin_action.triggered.connect(self._on_pin_triggered)
        self.addAction(self.pin_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.export_action = QAction("&Export signed PDF…", self)
        self.export_action.setObjectName("exportOpinionAction")
        self.export_action.triggered.connect(lambda: self._emit_for_selected(self.export_requested))
        self.problem_action = QAction("Send &again…", self)
        self.problem_action.setObjectName("opinionProblemAction")
        self.problem_action.triggered.connect(
            lambda: self._emit_for_selected(self.problem_requested)
        )

        self.empty_state = QWidget()
        self.empty_state.setObjectName("emptyState")
        empty_icon = QLabel()
        empty_icon.setPixmap(resources.icon("inbox").pixmap(QSize(88, 88)))
        empty_icon.setFixedHeight(88)
        empty_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title = QLabel(EMPTY_TITLE)
        self.empty_title.setObjectName("emptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_detail = QLabel(EMPTY_DETAIL)
        self.empty_detail.setObjectName("emptyDetail")
        self.empty_detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_detail.setWordWrap(True)
        empty_layout = QVBoxLayout(self.empty_state)
        empty_layout.setSpacing(8)
        empty_layout.addStretch(2)
        empty_layout.addWidget(empty_icon)
        empty_layout.addSpacing(8)
        empty_layout.addWidget(self.empty_title)
        empty_layout.addWidget(self.empty_detail)
        empty_layout.addStretch(3)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_state)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(14)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)

        notifier.cases_changed.connect(self.reload)
        self.proxy.modelReset.connect(self._update_empty_state)
        self.proxy.rowsInserted.connect(self._update_empty_state)
        self.proxy.rowsRemoved.connect(self._update_empty_state)
        self.proxy.layoutChanged.connect(self._update_empty_state)
        self._update_empty_state()

    # -- data ------------------------------------------------------------------------
    def set_vault(self, vault: Any) -> None:
        """Show ``vault``'s cases (None: show nothing)."""
        self._vault = vault
        if vault is None:
            self.clear()
        else:
            self.reload()

    def reload(self) -> None:
        """Read the cases again, off the UI thread; coalesces bursts of notices."""
        if self._vault is None:
            return
        if self._loading:
            self._reload_pending = True
            return
        self._loading = True
        vault = self._vault
        self._ops.run(
            lambda _ctx: (load_worklist(vault), load_opinion_states(vault)),
            success=self._on_loaded,
            failure=self._on_load_failed,
            label="load worklist",
        )

    def clear(self) -> None:
        """Drop every row and the filter text (nothing about patients stays in here)."""
        self._vault = None
        self._reload_pending = False
        self.filter_edit.clear()
        self.model.clear()

    def _on_loaded(self, loaded: tuple[WorklistRows, dict[str, Any]]) -> None:
        self._loading = False
        if self._vault is None:  # locked or closed while loading: keep nothing
            return
        rows, opinions = loaded
        selected = self.selected_case_id()
        self.model.set_cases(rows.cases, rows.status, opinions)
        if selected is not None:
            self.select_case(selected)
        self.loaded.emit(len(rows.cases))
        if self._reload_pending:
            self._reload_pending = False
            self.reload()

    def _on_load_failed(self, error: BaseException) -> None:
        self._loading = False
        self._reload_pending = False
        self._ops.unhandled.emit(error)

    # -- pin -------------------------------------------------------------------------
    def selected_case_pinned(self) -> bool | None:
        """Whether the selected case is pinned (None: no case selected)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return bool(self.proxy.data(rows[0], PINNED_ROLE))

    def set_pinned(self, case_id: str, pinned: bool) -> None:
        """Pin (keep offline, sync first) or unpin a case; written through the vault."""
        from reviewer_app.sync.purge import set_pinned

        vault = self._vault
        if vault is None:
            return
        self._ops.run(
            lambda _ctx: set_pinned(vault, case_id, pinned),
            changes=Change.CASES,
            label="pin case",
        )

    def toggle_pin(self) -> None:
        """Pin the selected case, or unpin it if it is pinned."""
        case_id = self.selected_case_id()
        pinned = self.selected_case_pinned()
        if case_id is None or pinned is None:
            return
        model_row = self.proxy.mapToSource(self.table.selectionModel().selectedRows()[0]).row()
        if self.model.case_at(model_row).status == ORPHAN_STATUS:
            return
        self.set_pinned(case_id, not pinned)

    def _on_pin_triggered(self) -> None:
        self.toggle_pin()

    def context_actions(self, index: Any) -> list[QAction | None]:
        """The context menu of the row at ``index`` (None: a separator); selects it."""
        self.table.selectRow(index.row())
        self.pin_action.setChecked(bool(self.proxy.data(index, PINNED_ROLE)))
        actions: list[QAction | None] = [self.pin_action]
        stage = self.proxy.data(index, OPINION_STAGE_ROLE)
        if stage in ("signed", "queued", "uploaded", "conflict", "rejected"):
            actions.append(None)
            if stage in ("conflict", "rejected"):
                self.problem_action.setText(
                    "Send &again…" if stage == "conflict" else "What &happened…"
                )
                actions.append(self.problem_action)
            actions.append(self.export_action)
        return actions

    def _show_context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        if not index.isValid():
            return
        menu = QMenu(self)
        menu.setObjectName("worklistMenu")
        for action in self.context_actions(index):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    def _emit_for_selected(self, signal: Any) -> None:
        case_id = self.selected_case_id()
        if case_id is not None:
            signal.emit(case_id)

    def selected_opinion_stage(self) -> str | None:
        """The opinion stage of the selected case ("draft", "uploaded", … or None)."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        value = self.proxy.data(rows[0], OPINION_STAGE_ROLE)
        return str(value) if value is not None else None

    # -- selection -------------------------------------------------------------------
    def selected_case_id(self) -> str | None:
        """The case_id of the selected row, if any."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        value = self.proxy.data(rows[0], CASE_ID_ROLE)
        return str(value) if value is not None else None

    def select_case(self, case_id: str) -> bool:
        """Select the row of ``case_id`` (kept across reloads); False if not shown."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if self.proxy.data(index, CASE_ID_ROLE) == case_id:
                self.table.selectRow(row)
                self.table.scrollTo(index)
                return True
        return False

    # -- view ------------------------------------------------------------------------
    def _on_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_empty_state()

    def _update_empty_state(self) -> None:
        total = self.model.rowCount()
        shown = self.proxy.rowCount()
        if total == 0:
            self._show_empty(EMPTY_TITLE, EMPTY_DETAIL)
            self.count_label.setText("")
        elif shown == 0:
            self._show_empty(NO_MATCH_TITLE, NO_MATCH_DETAIL)
            self.count_label.setText(f"0 of {total}")
        else:
            self.stack.setCurrentWidget(self.table)
            noun = "case" if total == 1 else "cases"
            self.count_label.setText(
                f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}"
            )

    def _show_empty(self, title: str, detail: str) -> None:
        self.empty_title.setText(title)
        self.empty_detail.setText(detail)
        self.stack.setCurrentWidget(self.empty_state)

    def _on_activated(self, index: Any) -> None:
        case_id = self.proxy.data(index, CASE_ID_ROLE)
        if case_id:
            self.case_activated.emit(str(case_id))

    # -- layout persistence ------------------------------------------------------------
    def header_state(self) -> QByteArray:
        return self.table.horizontalHeader().saveState()

    def restore_header_state(self, state: Any) -> bool:
        """Restore column widths/order/sort; falls back to the defaults if unusable."""
        header = self.table.horizontalHeader()
        if isinstance(state, QByteArray | bytes) and header.restoreState(QByteArray(state)):
            # The question column keeps absorbing the spare width.
            header.setSectionResizeMode(Column.QUESTION, QHeaderView.ResizeMode.Stretch)
            return True
        header.restoreState(self._default_header_state)
        return False
