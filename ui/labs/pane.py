"""The Labs pane: a Case's lab results as a flowsheet or a list, and an analyte's trend.

Implements the workspace's CasePane contract (``ui/workspace``): ``show_case`` replaces
everything, ``clear`` shows nothing of any patient, ``open_ref("lab:<code>")`` selects and
plots an analyte. The flowsheet is built on the operations pool; its result carries the
case it was built for and is dropped if the pane has moved to another case meanwhile
(showing one patient's results under another's name is the worst error this pane can
make).
"""

from __future__ import annotations

from reviewer_app.casefile import CaseFile, LabEntry
from reviewer_app.labs.flowsheet import Analyte, Flowsheet, LabValue, build_flowsheet
from reviewer_app.labs.trend import trend_of
from reviewer_app.opinion.evidence import Citation, CitationKind, add_citation
from reviewer_app.vault import Vault
from ui.figures import png_bytes
from ui.labs.cite import (
    LAB_PREFIX,
    result_label,
    result_view,
    trend_label,
    trend_ref,
    trend_view,
    x_range_of,
)
from ui.labs.models import (
    ANALYTE_ROLE,
    VALUES_ROLE,
    FlowsheetFilter,
    LabsFlowsheetModel,
    LabsListModel,
    ListColumn,
    ListFilter,
)
from ui.labs.trend_plot import TrendPlot, figure_caption, trend_figure
from ui.operations import OpContext, Operations, Priority
from ui.qt import (
    QAbstractItemView,
    QAction,
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QImage,
    QItemSelectionModel,
    QLabel,
    QLineEdit,
    QMenu,
    QModelIndex,
    QPainter,
    QPersistentModelIndex,
    QSizePolicy,
    QSortFilterProxyModel,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    Qt,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.workspace.citing import cite_in_background
from ui.workspace.pane_header import PaneHeader
from ui.workspace.shortcuts import add_shortcut, describe

REF_PREFIX = "lab:"
#: Rows measured around the visible ones when a view sizes its columns to content.
FIT_ROWS = 40
CITED_OTHER_CASE = "This citation belongs to another case: it is not shown here."
CITED_GONE = (
    "The cited {what} is no longer in this case (the case was updated since it was cited): {label}"
)
NOTHING_TO_CITE = "Select a result (or an analyte, to cite its trend) first."


class _TintDelegate(QStyledItemDelegate):
    """Paints a cell's BackgroundRole (critical tint, panel headings) first: the app's
    stylesheet styles table items, and Qt then ignores the model's background."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        brush = index.data(Qt.ItemDataRole.BackgroundRole)
        selected = option.state & QStyle.StateFlag.State_Selected
        if brush is not None and not selected:
            painter.fillRect(option.rect, brush)
        super().paint(painter, option, index)


def _table(model: QSortFilterProxyModel, name: str, *, sorting: bool) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setItemDelegate(_TintDelegate(view))
    view.setSortingEnabled(sorting)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setResizeContentsPrecision(FIT_ROWS)
    return view


class LabsPane(QWidget):
    """Flowsheet/list of lab results with a filter, and the selected analyte's trend."""

    pane_title = "Labs"
    #: The case id, once its results (or "no results") are on screen (bench/workspace_open).
    content_shown = Signal(str)
    #: A result or trend was cited: the stored Citation (its case_id is the case it was
    #: cited from, even if the pane shows another one by the time it arrives).
    cite_requested = Signal(object)

    def __init__(self, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labsPane")
        self._ops = ops
        self._case_id: str | None = None
        self._vault: Vault | None = None
        self._pending_citation: Citation | None = None
        self._generation = 0  # which show_case a background result belongs to
        self._pending_ref: str | None = None
        self._loaded = False  # the shown case's flowsheet has arrived
        # Selected analyte and filter to put back when the same case is shown again.
        self._restore: tuple[str | None, str, bool] | None = None
        self._selected_key: str | None = None
        self._labs: list[LabEntry] = []  # what the shown flowsheet was built from
        self._unsized: set[QTableView] = set()

        self.header = PaneHeader(self.pane_title)
        self.flowsheet_model = LabsFlowsheetModel(self)
        self.flowsheet_proxy = FlowsheetFilter(self)
        self.flowsheet_proxy.setSourceModel(self.flowsheet_model)
        self.list_model = LabsListModel(self)
        self.list_proxy = ListFilter(self)
        self.list_proxy.setSourceModel(self.list_model)

        self.filter_box = QLineEdit()
        self.filter_box.setObjectName("labsFilter")
        self.filter_box.setPlaceholderText("Filter analytes (name, LOINC code, panel)")
        self.filter_box.setClearButtonEnabled(True)
        self.abnormal_only = QCheckBox("Abnormal only")
        self.abnormal_only.setToolTip("Show only results flagged high, low, critical or abnormal")
        self.flowsheet_button = QToolButton()
        self.flowsheet_button.setText("Flowsheet")
        self.list_button = QToolButton()
        self.list_button.setText("List")
        self._view_buttons = QButtonGroup(self)
        for button in (self.flowsheet_button, self.list_button):
            button.setCheckable(True)
            self._view_buttons.addButton(button)
        self.flowsheet_button.setChecked(True)
        for button in (self.flowsheet_button, self.list_button):
            # Which view is on must be plain to see (Fusion draws "checked" very faintly).
            button.setStyleSheet(
                "QToolButton { padding: 2px 10px; }"
                "QToolButton:checked { background: palette(highlight);"
                " color: palette(highlighted-text); }"
            )
        self.count_label = QLabel("")
        self.count_label.setObjectName("labsCount")
        self.cite_action = QAction("❝ Cite", self)
        self.cite_action.setObjectName("citeLabs")
        self.cite_action.setToolTip(
            "Cite in opinion: the selected result, or the trend shown (Ctrl+Shift+C)"
        )
        self.cite_action.triggered.connect(lambda _checked=False: self.cite())
        self.cite_button = QToolButton()
        self.cite_button.setDefaultAction(self.cite_action)
        self.cite_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        cite_menu = QMenu(self.cite_button)
        cite_menu.addAction("Cite the selected result", self.cite_result)
        cite_menu.addAction("Cite the trend shown (with its plot)", self.cite_trend)
        self.cite_button.setMenu(cite_menu)
        # Never elided to "…": the filter field gives way first.
        self.cite_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.cite_button.setMinimumWidth(self.cite_button.sizeHint().width())
        self.cite_status = QLabel("")
        self.cite_status.setObjectName("formMessage")
        self.cite_status.setWordWrap(True)
        self.cite_status.hide()

        # The flowsheet keeps the panels' order until a header is clicked (Qt's own
        # sorting would sort at once by its default column, descending).
        self.flowsheet_view = _table(self.flowsheet_proxy, "labsFlowsheet", sorting=False)
        self.flowsheet_view.horizontalHeader().setSectionsClickable(True)
        self.flowsheet_view.horizontalHeader().sectionClicked.connect(self._sort_flowsheet)
        self.list_view = _table(self.list_proxy, "labsList", sorting=True)
        # Newest first, like the flowsheet's columns.
        self.list_view.sortByColumn(ListColumn.DATE, Qt.SortOrder.DescendingOrder)
        self.list_view.horizontalHeader().setStretchLastSection(True)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.flowsheet_view)
        self.stack.addWidget(self.list_view)
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("labsEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty_label)
        self.trend_plot = TrendPlot()

        # Two rows: in a narrow dock one row cut "Abnormal only" and the view buttons
        # down to "…". The count may shrink (its tooltip keeps the full text).
        search = QHBoxLayout()
        search.setContentsMargins(6, 2, 6, 0)
        search.addWidget(self.filter_box, 1)
        search.addWidget(self.abnormal_only)
        tools = QHBoxLayout()
        tools.setContentsMargins(6, 0, 6, 2)
        tools.addWidget(self.flowsheet_button)
        tools.addWidget(self.list_button)
        tools.addSpacing(12)
        tools.addWidget(self.count_label, 1)
        tools.addWidget(self.cite_button)
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.trend_plot)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([600, 340])  # the table first: it is what a reviewer reads
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addLayout(search)
        layout.addLayout(tools)
        layout.addWidget(self.cite_status)
        layout.addWidget(splitter, 1)

        self.filter_box.textChanged.connect(self._apply_filter)
        self.abnormal_only.toggled.connect(self._apply_filter)
        self.flowsheet_button.toggled.connect(self._switch_view)
        for view in (self.flowsheet_view, self.list_view):
            view.selectionModel().currentRowChanged.connect(self._row_selected)
        self._build_shortcuts()
        self.clear()

    def _build_shortcuts(self) -> None:
        # Listed by the workspace's help overlay (ui.workspace.shortcuts); they work
        # while the keyboard is anywhere in the pane.
        add_shortcut(self, "Filter the analytes", ["Ctrl+F"], self.focus_filter)
        add_shortcut(self, "Flowsheet or list (switch)", ["Ctrl+T"], self.toggle_view)
        add_shortcut(
            self, "Abnormal results only (on or off)", ["Ctrl+Shift+A"], self.abnormal_only.toggle
        )
        describe(
            self.cite_action,
            "Cite in the opinion (the selected result, or the trend)",
            ["Ctrl+Shift+C"],
            self,
        )

    def focus_filter(self) -> None:
        """Put the keyboard in the filter field, its text selected (typing replaces it)."""
        self.filter_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_box.selectAll()

    def toggle_view(self) -> None:
        """Show the list if the flowsheet is shown, and the other way round."""
        other = self.list_button if self.flowsheet_button.isChecked() else self.flowsheet_button
        other.setChecked(True)

    # -- CasePane --------------------------------------------------------------------
    def case_id(self) -> str | None:
        """The case whose results this pane shows (or is loading)."""
        return self._case_id

    def show_case(self, case: CaseFile, vault: Vault | None = None) -> None:
        """Show ``case``'s lab results (built off the UI thread), replacing everything.

        ``vault`` is where citations are stored (lab results carry no payload bytes).
        The same case shown again (new results after a sync) keeps the filter and the
        selected analyte."""
        same = case.case_id == self._case_id
        if same and self._loaded and case.labs == self._labs:
            # A sync that brought other parts of the case: the flowsheet, its sort and
            # scroll, stay exactly as they are.
            self.header.set_case(case)
            self._vault = vault
            return
        kept = (self._selected_key, self.filter_box.text(), self.abnormal_only.isChecked())
        self._reset()
        self._case_id = case.case_id
        self._vault = vault
        if same:
            self._restore = kept
        self.header.set_case(case)
        self.empty_label.setText("Loading lab results\u2026")
        self.stack.setCurrentWidget(self.empty_label)
        generation = self._generation
        labs = self._labs = list(case.labs)

        def build(ctx: OpContext) -> Flowsheet:
            ctx.check()
            return build_flowsheet(labs)

        self._ops.run(
            build,
            success=lambda sheet: self._built(case.case_id, generation, sheet),
            failure=lambda error: self._failed(case.case_id, generation, error),
            priority=Priority.HIGH,
            label="lab flowsheet",
        )

    def clear(self) -> None:
        """Show nothing of any patient (no case open, or the app locked)."""
        self._reset()
        self._case_id = None
        self._vault = None
        self._labs = []
        self.header.clear()
        self.empty_label.setText("No case open")
        self.stack.setCurrentWidget(self.empty_label)

    def open_ref(self, ref: str) -> None:
        """Select and plot the analyte of ``lab:<code>`` (a timeline click)."""
        if not ref.startswith(REF_PREFIX):
            return
        if self._case_id is not None and not self._loaded:
            self._pending_ref = ref  # still loading: done when the flowsheet arrives
            return
        rows = self.flowsheet_model.flowsheet().find_code(ref.removeprefix(REF_PREFIX))
        if not rows:
            return
        # The row with the latest result, when the code came in more than one unit.
        latest = max(
            rows,
            key=lambda a: (
                a.values[-1].effective is not None,
                a.values[-1].effective.timestamp() if a.values[-1].effective else 0,
            ),
        )
        self.select_analyte(latest.key)

    # -- selection and trend ---------------------------------------------------------
    def select_analyte(self, key: str) -> bool:
        """Select the analyte row ``key`` in the current view and plot its trend.

        If the filter hides it, the filter is cleared first (the ref must be shown)."""
        analyte = self.flowsheet_model.flowsheet().analyte(key)
        if analyte is None:
            return False
        index = self._proxy_index(key)
        if index is None or not index.isValid():
            self.filter_box.clear()
            self.abnormal_only.setChecked(False)
            index = self._proxy_index(key)
        self._plot(analyte)
        if index is not None and index.isValid():
            self._select_row(index)
        return True

    def _select_row(self, index: QModelIndex) -> None:
        """Make ``index`` (of the view shown) the current, selected row, scrolled to."""
        view = self._current_view()
        view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        view.scrollTo(index)

    def selected_analyte(self) -> Analyte | None:
        """The analyte whose trend is shown."""
        return self.trend_plot.trend.analyte if self.trend_plot.trend else None

    def _proxy_index(self, key: str) -> QModelIndex | None:
        if self.stack.currentWidget() is self.list_view:
            for row in range(self.list_proxy.rowCount()):
                index = self.list_proxy.index(row, ListColumn.ANALYTE)
                analyte = index.data(ANALYTE_ROLE)
                if analyte is not None and analyte.key == key:
                    return index
            return None
        source_row = self.flowsheet_model.row_of(key)
        if source_row is None:
            return None
        return self.flowsheet_proxy.mapFromSource(self.flowsheet_model.index(source_row, 0))

    def _current_view(self) -> QTableView:
        return self.list_view if self.list_button.isChecked() else self.flowsheet_view

    def _row_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        analyte = current.data(ANALYTE_ROLE) if current.isValid() else None
        if isinstance(analyte, Analyte) and analyte.key != self._selected_key:
            self._plot(analyte)

    def _plot(self, analyte: Analyte) -> None:
        self._selected_key = analyte.key
        self.trend_plot.show_trend(trend_of(analyte))

    # -- internals -------------------------------------------------------------------
    def _reset(self) -> None:
        # Everything of the previous case goes, including the filter the user typed.
        self._generation += 1
        self._pending_ref = None
        self._pending_citation = None
        self._say("")
        self._restore = None
        self._loaded = False
        self._selected_key = None
        self.flowsheet_model.clear()
        self.list_model.clear()
        self.trend_plot.clear()
        self.count_label.setText("")
        for widget in (self.filter_box, self.abnormal_only):
            widget.blockSignals(True)
        self.filter_box.clear()
        self.abnormal_only.setChecked(False)
        for widget in (self.filter_box, self.abnormal_only):
            widget.blockSignals(False)
        self.flowsheet_proxy.set_filter("", False)
        self.list_proxy.set_filter("", False)
        # Draw columns differ between cases: a sort by "the third draw" means nothing now.
        self.flowsheet_proxy.sort(-1)
        self.flowsheet_view.horizontalHeader().setSortIndicatorShown(False)

    def _built(self, case_id: str, generation: int, sheet: Flowsheet) -> None:
        if case_id != self._case_id or generation != self._generation:
            return  # built for a case this pane no longer shows: never display it
        self._loaded = True
        self.flowsheet_model.set_flowsheet(sheet)
        self.list_model.set_flowsheet(sheet)
        # Each view is sized when it is first shown (see _fit_columns).
        self._unsized = {self.flowsheet_view, self.list_view}
        self._update_count()
        if not sheet.panels:
            self.empty_label.setText("No lab results in this case")
            self.stack.setCurrentWidget(self.empty_label)
            self.content_shown.emit(case_id)
            return
        self._switch_view()
        self.content_shown.emit(case_id)
        if self._restore is not None:
            key, text, abnormal = self._restore
            self._restore = None
            self.filter_box.setText(text)
            self.abnormal_only.setChecked(abnormal)
            if key is not None and sheet.analyte(key) is not None:
                self.select_analyte(key)
        if self._pending_ref is not None:
            ref, self._pending_ref = self._pending_ref, None
            self.open_ref(ref)
        if self._pending_citation is not None:
            citation, self._pending_citation = self._pending_citation, None
            self.open_citation(citation)

    def _failed(self, case_id: str, generation: int, error: BaseException) -> None:
        if case_id != self._case_id or generation != self._generation:
            return
        self.empty_label.setText("The lab results of this case could not be shown")
        self.stack.setCurrentWidget(self.empty_label)
        self._ops.unhandled.emit(error)  # the app's hook shows it (no patient data)

    def _apply_filter(self) -> None:
        text, abnormal = self.filter_box.text(), self.abnormal_only.isChecked()
        self.flowsheet_proxy.set_filter(text, abnormal)
        self.list_proxy.set_filter(text, abnormal)
        self._update_count()

    def _switch_view(self) -> None:
        if self.flowsheet_model.rowCount() == 0:
            return
        view = self.flowsheet_view if self.flowsheet_button.isChecked() else self.list_view
        self.stack.setCurrentWidget(view)
        self._fit_columns(view)
        if self._selected_key is not None:
            self.select_analyte(self._selected_key)

    def _fit_columns(self, view: QTableView) -> None:
        """Size ``view``'s columns to their content, once per case, when first shown.

        Only the rows in view (and FIT_ROWS around them) are measured: measuring every
        cell asks the model for thousands of values on the UI thread, which was most of
        the time it took to open a case (bench/README.md "Workspace")."""
        if view not in self._unsized:
            return
        self._unsized.discard(view)
        view.resizeColumnsToContents()
        header = view.horizontalHeader()
        for column in range(header.count()):
            header.resizeSection(column, min(header.sectionSize(column), 320))

    def _sort_flowsheet(self, column: int) -> None:
        header = self.flowsheet_view.horizontalHeader()
        order = Qt.SortOrder.AscendingOrder
        if header.isSortIndicatorShown() and header.sortIndicatorSection() == column:
            ascending = header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
            order = Qt.SortOrder.DescendingOrder if ascending else Qt.SortOrder.AscendingOrder
        header.setSortIndicatorShown(True)
        header.setSortIndicator(column, order)
        self.flowsheet_proxy.sort(column, order)

    def _update_count(self) -> None:
        total = self.list_model.rowCount()
        shown = self.list_proxy.rowCount()
        if total == 0:
            self.count_label.setText("")
        elif shown == total:
            self.count_label.setText(f"{total} results")
        else:
            self.count_label.setText(f"{shown} of {total} results")
        self.count_label.setToolTip(self.count_label.text())

    # -- citations -------------------------------------------------------------------
    def selected_result(self) -> tuple[Analyte, LabValue] | None:
        """The one result selected: a list row, or a flowsheet cell holding one result."""
        if not self._loaded:
            return None
        index = self._current_view().currentIndex()
        if not index.isValid():
            return None
        analyte, values = index.data(ANALYTE_ROLE), index.data(VALUES_ROLE)
        if isinstance(values, LabValue) and isinstance(analyte, Analyte):
            return analyte, values
        if isinstance(values, tuple) and len(values) == 1 and isinstance(analyte, Analyte):
            return analyte, values[0]
        return None

    def cite(self) -> None:
        """Cite the selected result; with an analyte (not one result) selected, its trend."""
        if self.selected_result() is not None:
            self.cite_result()
        elif self.trend_plot.trend is not None:
            self.cite_trend()
        else:
            self._say(NOTHING_TO_CITE)

    def cite_result(self) -> None:
        """Cite the selected result (value, unit, flag, range, date)."""
        picked = self.selected_result()
        if picked is None:
            self._say("Select one result to cite (a value in the flowsheet, a row in the list).")
            return
        analyte, value = picked
        mode = "list" if self.list_button.isChecked() else "flowsheet"
        self._store(
            CitationKind.LAB,
            LAB_PREFIX + value.lab_id,
            result_label(analyte, value),
            result_view(analyte, value, mode),
            None,
        )

    def cite_trend(self) -> None:
        """Cite the trend shown over the dates shown, with its plot as the figure."""
        trend = self.trend_plot.trend
        if trend is None or not self.trend_plot.plot.isVisible():
            self._say("Select an analyte to cite its trend.")
            return
        first, last = self.trend_plot.x_range()
        label = trend_label(trend, first, last)
        figure = trend_figure(trend, (first, last), figure_caption(trend, label))
        self._store(
            CitationKind.TREND,
            trend_ref(trend.analyte),
            label,
            trend_view(trend, first, last),
            figure,
        )

    def _store(
        self,
        kind: CitationKind,
        ref: str,
        label: str,
        view: dict[str, object],
        figure: QImage | None,
    ) -> None:
        vault, case_id = self._vault, self._case_id
        if vault is None or case_id is None:
            self._say(NOTHING_TO_CITE)
            return

        def work(_ctx: OpContext) -> Citation:
            png = png_bytes(figure) if figure is not None else None
            return add_citation(vault, case_id, kind, ref, label, view, png)

        self._say("")
        cite_in_background(
            self,
            self._ops,
            case_id,
            work,
            what="This",
            say=lambda text, problem: self._say(text, problem=problem),
            label="labs: cite",
        )

    def open_citation(self, citation: Citation) -> None:
        """Show exactly what was cited: the result selected (in the view it was cited
        from), or the trend over the cited dates. A citation of another case, or of a
        result the case no longer has, is not opened: the pane says why."""
        self._say("")
        if citation.kind not in (CitationKind.LAB, CitationKind.TREND):
            return
        if self._case_id is None or citation.case_id != self._case_id:
            self._say(CITED_OTHER_CASE)
            return
        if not self._loaded:
            self._pending_citation = citation  # done when the flowsheet arrives
            return
        if citation.kind is CitationKind.LAB:
            self._open_result(citation)
        else:
            self._open_trend(citation)

    def citation_message(self) -> str:
        """What the pane says about citing or opening a citation ("" for nothing)."""
        return self.cite_status.text()

    def _open_result(self, citation: Citation) -> None:
        sheet = self.flowsheet_model.flowsheet()
        lab_id = citation.ref.removeprefix(LAB_PREFIX)
        value = next((v for v in sheet.values() if v.lab_id == lab_id), None)
        analyte = sheet.analyte(value.analyte_key) if value is not None else None
        if value is None or analyte is None:
            self._say(CITED_GONE.format(what="result", label=citation.label))
            return
        wanted = self.list_button if citation.view.get("mode") == "list" else None
        (wanted or self.flowsheet_button).setChecked(True)
        self.select_analyte(analyte.key)
        index = self._result_index(analyte, value)
        if index is None or not index.isValid():
            return
        self._select_row(index)

    def _result_index(self, analyte: Analyte, value: LabValue) -> QModelIndex | None:
        if self.list_button.isChecked():
            for row in range(self.list_proxy.rowCount()):
                index = self.list_proxy.index(row, 0)
                shown = index.data(VALUES_ROLE)
                if isinstance(shown, LabValue) and shown.lab_id == value.lab_id:
                    return index
            return None
        source_row = self.flowsheet_model.row_of(analyte.key)
        if source_row is None:
            return None
        for column in range(self.flowsheet_model.FIXED_COLUMNS, self.flowsheet_model.columnCount()):
            if self.flowsheet_model.draw_at(column) == value.effective:
                source = self.flowsheet_model.index(source_row, column)
                return self.flowsheet_proxy.mapFromSource(source)
        return None

    def _open_trend(self, citation: Citation) -> None:
        sheet = self.flowsheet_model.flowsheet()
        view = citation.view
        analyte = sheet.analyte(str(view.get("analyte_key", "")))
        if analyte is None:
            code = citation.ref.removeprefix("trend:")
            same = [a for a in sheet.find_code(code) if a.unit == view.get("unit")]
            analyte = same[0] if same else None
        if analyte is None:
            self._say(CITED_GONE.format(what="trend", label=citation.label))
            return
        self.select_analyte(analyte.key)
        span = x_range_of(view)
        if span is not None:
            self.trend_plot.set_x_range(*span)

    def _say(self, text: str, *, problem: bool = True) -> None:
        # A problem in the form-message colour; a confirmation muted.
        name = "formMessage" if problem else "mutedLabel"
        if self.cite_status.objectName() != name:
            self.cite_status.setObjectName(name)
            self.cite_status.style().unpolish(self.cite_status)
            self.cite_status.style().polish(self.cite_status)
        self.cite_status.setText(text)
        self.cite_status.setVisible(bool(text))
