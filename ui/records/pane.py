"""The Records pane: a Case's documents, read page by page (a CasePane of the workspace).

Left, the document list (type, date, title, pages); then the open Record's thumbnails;
then its pages in one continuous scroll with zoom (fit width, fit page, percent,
Ctrl+wheel, Ctrl+= / Ctrl+-), rotation (R), search (Ctrl+F, F3 / Shift+F3, all hits
highlighted) and text selection (drag, Ctrl+C). Opening, rendering and searching run
off the UI thread; each result carries the token of the Case and Record it was started
for and is dropped if the pane shows something else by then (wrong patient is the worst
error a viewer can make). Records that cannot be shown (still downloading, encrypted,
damaged, empty, not a PDF) say so in the pane.
"""

from __future__ import annotations

import logging
from typing import Any

from reviewer_app.casefile import CaseFile, RecordEntry
from reviewer_app.errors import ReviewerError
from reviewer_app.opinion.evidence import Citation, CitationKind, add_citation
from reviewer_app.records import RecordDocument, SearchHit, open_record
from ui.operations import Operation, Operations, Priority
from ui.qt import (
    QAbstractItemView,
    QAction,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QKeySequence,
    QLabel,
    QModelIndex,
    QSortFilterProxyModel,
    QSplitter,
    QStackedWidget,
    Qt,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.records.cite import page_label, page_ref, page_view, parse_page_ref, state_of
from ui.records.page_view import FIT_PAGE, FIT_WIDTH, PageView, ViewState, ZoomMode
from ui.records.record_list import RECORD_ID_ROLE, SORT_ROLE, Column, RecordListModel
from ui.records.renderer import PageRenderer
from ui.records.search_bar import SearchBar
from ui.records.thumbnails import ThumbnailModel, ThumbnailStrip
from ui.workspace.citing import cite_in_background
from ui.workspace.pane_header import PaneHeader
from ui.workspace.shortcuts import add_shortcut, describe

log = logging.getLogger(__name__)

STILL_DOWNLOADING = "Still downloading — available when sync completes"
NO_RECORDS = "This case has no records."
OPENING = "Opening record…"
REPAIRED_NOTICE = (
    "This record's file was damaged and has been repaired to show it: parts may be missing."
)
#: Below this width the thumbnail strip hides.
NARROW_WIDTH = 560
ZOOM_CHOICES = ("Fit width", "Fit page", "50 %", "75 %", "100 %", "125 %", "150 %", "200 %")
CITED_OTHER_CASE = "This citation belongs to another case: it is not shown here."
CITED_RECORD_GONE = (
    "The cited record is no longer in this case (the case was updated since it was cited): {label}"
)
CITED_FILE_CHANGED = (
    "This record's file has changed since it was cited: check that page {page} still "
    "shows what was cited ({label})."
)
NOTHING_TO_CITE = "Open a record first: its page on screen is what is cited."

# (case_id, record_id, serial): what a background result must match to be shown.
Token = tuple[str | None, str | None, int]


class RecordsPane(QWidget):
    """The Records of the Case the workspace shows."""

    pane_title = "Records"
    #: The page on screen was cited: the stored Citation (its case_id is the case it was
    #: cited from, even if the pane shows another one by the time it arrives).
    cite_requested = Signal(object)

    def __init__(self, ops: Operations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordsPane")
        self._ops = ops
        self._case: CaseFile | None = None
        self._vault: Any = None
        self._record_id: str | None = None
        self._serial = 0
        self._case_serial = 0
        self._opening: Operation | None = None
        self._counting: Operation | None = None
        self._searching: Operation | None = None
        self._pending_page: int | None = None
        self._pending_state: ViewState | None = None
        # Where the reader was when the pane last let a Record go (case id, record id,
        # object id, place): showing that case again (unlock, reload) returns there.
        # Ids and a page number only, nothing of the Record's content.
        self._kept: tuple[str, str, str, ViewState] | None = None
        # object id -> page count (or "—"): a case shown again need not open every PDF.
        self._page_counts: dict[str, int | str] = {}
        self._query = ""
        self._hits: list[SearchHit] = []
        self._hit = -1

        self.header = PaneHeader(self.pane_title)
        self.renderer = PageRenderer(ops)
        self.view = PageView(self.renderer)
        self.records = RecordListModel()
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self.records)
        self._proxy.setSortRole(SORT_ROLE)
        self.record_table = self._make_table()
        self._thumb_model = ThumbnailModel(self.renderer)
        self.thumbnails = ThumbnailStrip(self._thumb_model)
        self.search_bar = SearchBar()
        self.search_bar.hide()
        self._notice = QLabel(REPAIRED_NOTICE)
        self._notice.setObjectName("formMessage")
        self._notice.setWordWrap(True)
        self._notice.hide()
        self.cite_status = QLabel("")
        self.cite_status.setObjectName("formMessage")
        self.cite_status.setWordWrap(True)
        self.cite_status.hide()
        self._message_title = QLabel("")
        self._message_title.setObjectName("emptyTitle")
        self._message_detail = QLabel("")
        self._message_detail.setObjectName("emptyDetail")
        self._stack = QStackedWidget()
        self._build_layout()
        self._build_actions()
        self._show_message("", "")

        self.record_table.selectionModel().currentRowChanged.connect(self._on_row_changed)
        self.thumbnails.clicked.connect(lambda index: self.view.show_page(index.row()))
        self.view.current_page_changed.connect(self.thumbnails.select_page)
        self.view.zoom_changed.connect(self._on_zoom_changed)
        self.search_bar.step.connect(self.step_hit)
        self.search_bar.closed.connect(self.close_search)

    # --- building -----------------------------------------------------------------------

    def _make_table(self) -> QTableView:
        table = QTableView()
        table.setObjectName("recordList")
        table.setModel(self._proxy)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setSortingEnabled(True)
        table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # the CaseFile's order
        table.verticalHeader().hide()
        table.setWordWrap(False)
        table.setAlternatingRowColors(True)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = table.horizontalHeader()
        # The title gets the room; a long type is elided (its full text is a tooltip).
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(Column.TYPE, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.TITLE, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        return table

    def _build_layout(self) -> None:
        self._zoom_box = QComboBox()
        self._zoom_box.setEditable(True)
        self._zoom_box.addItems(ZOOM_CHOICES)
        self._zoom_box.setToolTip("Zoom (Ctrl+wheel, Ctrl+= and Ctrl+-)")
        self._zoom_box.setMinimumContentsLength(7)
        self._zoom_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self._zoom_box.textActivated.connect(self._on_zoom_chosen)
        self._zoom_label = QLabel("")
        self._zoom_label.setObjectName("mutedLabel")
        tools = QHBoxLayout()
        tools.setContentsMargins(4, 2, 4, 2)
        for text, tip, slot in (
            ("−", "Zoom out (Ctrl+-)", lambda: self.view.zoom_by(-1)),
            ("+", "Zoom in (Ctrl+=)", lambda: self.view.zoom_by(1)),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            tools.addWidget(button)
        tools.addWidget(self._zoom_box)
        tools.addWidget(self._zoom_label)
        rotate = QToolButton()
        rotate.setText("↻")
        rotate.setToolTip("Rotate pages clockwise (R)")
        rotate.clicked.connect(self.rotate)
        tools.addWidget(rotate)
        tools.addStretch(1)
        find = QToolButton()
        find.setText("Find")
        find.setToolTip("Find in record (Ctrl+F)")
        find.clicked.connect(self.open_search)
        tools.addWidget(find)
        self.cite_action = QAction("❝ Cite", self)
        self.cite_action.setObjectName("citeRecord")
        self.cite_action.setToolTip("Cite in opinion: the page on screen (Ctrl+Shift+C)")
        self.cite_action.triggered.connect(lambda _checked=False: self.cite())
        cite = QToolButton()
        cite.setDefaultAction(self.cite_action)
        # Never elided to "…": the zoom box gives way first.
        cite.setMinimumWidth(cite.sizeHint().width())
        tools.addWidget(cite)
        self._tools = QWidget()
        self._tools.setLayout(tools)

        message = QWidget()
        message_layout = QVBoxLayout(message)
        message_layout.addStretch(1)
        for label in (self._message_title, self._message_detail):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            message_layout.addWidget(label)
        message_layout.addStretch(2)
        self._stack.addWidget(self.view)
        self._stack.addWidget(message)

        reader = QWidget()
        reader_layout = QVBoxLayout(reader)
        reader_layout.setContentsMargins(0, 0, 0, 0)
        reader_layout.setSpacing(0)
        reader_layout.addWidget(self._tools)
        reader_layout.addWidget(self.search_bar)
        reader_layout.addWidget(self._notice)
        reader_layout.addWidget(self.cite_status)
        reader_layout.addWidget(self._stack, 1)

        # The list above the pages, not beside them: the pane often gets a third of the
        # window, and pages need the width more than the list does.
        pages = QWidget()
        pages_layout = QHBoxLayout(pages)
        pages_layout.setContentsMargins(0, 0, 0, 0)
        pages_layout.setSpacing(0)
        pages_layout.addWidget(self.thumbnails)
        pages_layout.addWidget(reader, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.record_table)
        splitter.addWidget(pages)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([150, 650])
        self.record_table.setMinimumHeight(90)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(splitter, 1)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        # In a narrow pane the pages need every pixel; the thumbnails come back with room.
        self.thumbnails.setVisible(self.width() >= NARROW_WIDTH)
        self._zoom_label.setVisible(self.width() >= NARROW_WIDTH * 2 / 3)
        # The title column takes what the others leave: keep the type column modest, and
        # in a narrow pane leave it out (the title names the document; it was cut to "t").
        self.record_table.setColumnHidden(Column.TYPE, self.width() < NARROW_WIDTH)
        width = max(80, min(170, self.width() // 4))
        self.record_table.horizontalHeader().resizeSection(Column.TYPE, width)

    def _build_actions(self) -> None:
        # Listed by the workspace's help overlay (ui.workspace.shortcuts).
        def add(name: str, keys: list[Any], slot: Any) -> None:
            add_shortcut(self, name, keys, slot)

        add("Find in the record", [QKeySequence.StandardKey.Find], self.open_search)
        add("Next search hit", ["F3"], lambda: self.step_hit(True))
        add("Previous search hit", ["Shift+F3"], lambda: self.step_hit(False))
        add("Zoom in", ["Ctrl+=", "Ctrl++", QKeySequence.StandardKey.ZoomIn], self._zoom_in)
        add("Zoom out", ["Ctrl+-", QKeySequence.StandardKey.ZoomOut], self._zoom_out)
        add("Actual size (100 %)", ["Ctrl+0"], lambda: self.set_zoom(100.0))
        add("Rotate pages clockwise", ["R"], self.rotate)
        add("Copy the selected text", [QKeySequence.StandardKey.Copy], self.copy_selection)
        describe(self.cite_action, "Cite the page on screen in the opinion", ["Ctrl+Shift+C"], self)

    # --- CasePane -------------------------------------------------------------------------

    def case_id(self) -> str | None:
        return self._case.case_id if self._case is not None else None

    def show_case(self, case: CaseFile, vault: Any) -> None:
        """Replace everything with ``case``'s Records and open the first one.

        The same case shown again (after a sync, an unlock) keeps the Record open where
        the reader was: its page, zoom and rotation, as long as its file is unchanged."""
        if self._keep_reading(case, vault):
            return
        # The same case with a Record that could not be read yet (a sync brings it now):
        # the reader stays on that Record rather than being sent to the first one.
        waiting = self._record_id if self.case_id() == case.case_id else None
        self._reset()
        kept, self._kept = self._kept, None
        self._case = case
        self._vault = vault
        self.header.set_case(case)
        self.records.set_records(case.records)
        self._count_pages()
        if not case.records:
            self._show_message(NO_RECORDS, "")
            return
        if kept is not None and kept[0] == case.case_id:
            entry = self._entry(kept[1])
            if entry is not None and entry.object_id == kept[2]:
                self.open_record(entry.record_id, state=kept[3])
                return
        if waiting is not None and self._entry(waiting) is not None:
            self.open_record(waiting)
            return
        synced = [r for r in case.records if r.object_id is not None]
        self.open_record((synced or case.records)[0].record_id)

    def _keep_reading(self, case: CaseFile, vault: Any) -> bool:
        """Show ``case`` again without closing the open Record, if it is the case shown
        and the Record's file is the same; False if a full reset is needed."""
        if self._case is None or self._case.case_id != case.case_id:
            return False
        current = self._entry(self._record_id) if self._record_id else None
        fresh = next((r for r in case.records if r.record_id == self._record_id), None)
        if current is None or fresh is None or fresh.object_id != current.object_id:
            return False
        if self.renderer.document is None and self._opening is None:
            return False  # a message (error, downloading) is shown: try again from scratch
        self._case_serial += 1
        if self._counting is not None:
            self._counting.cancel()
            self._counting = None
        self._case = case
        self._vault = vault
        self.header.set_case(case)
        self.records.set_records(case.records)
        self._select_row(fresh.record_id)
        if self.renderer.document is not None:
            self.records.set_pages(fresh.record_id, self.renderer.document.page_count)
        self._count_pages()
        return True

    def clear(self) -> None:
        """Show nothing of any patient."""
        self._reset()
        self._show_message("", "")

    def open_ref(self, ref: str) -> None:
        """``record:<record_id>[#page]`` (page 1-based) opens that Record at that page."""
        kind, _, rest = ref.partition(":")
        if kind != "record" or self._case is None:
            return
        record_id, _, page_text = rest.partition("#")
        page = int(page_text) - 1 if page_text.isdigit() and int(page_text) > 0 else None
        if record_id == self._record_id and self.renderer.document is not None:
            if page is not None:
                self.view.show_page(page)
            return
        self.open_record(record_id, page=page)

    # --- records --------------------------------------------------------------------------

    def current_record_id(self) -> str | None:
        return self._record_id

    def _entry(self, record_id: str) -> RecordEntry | None:
        row = self.records.row_of(record_id)
        return self.records.record(row) if row is not None else None

    def _token(self) -> Token:
        return (self.case_id(), self._record_id, self._serial)

    def open_record(
        self, record_id: str, *, page: int | None = None, state: ViewState | None = None
    ) -> None:
        """Open one of the shown Case's Records (in the background), at ``page`` or, for
        a Record opened again, at its former ``state``."""
        entry = self._entry(record_id)
        if entry is None or self._case is None:
            return
        self._drop_document()
        self._record_id = record_id
        self._pending_page = page
        self._pending_state = state
        self._select_row(record_id)
        if entry.object_id is None or self._vault is None:
            self._show_message(STILL_DOWNLOADING, "")
            return
        self._show_message(OPENING, "")
        token = self._token()
        objects = self._vault.objects
        object_id = entry.object_id

        def opened(doc: RecordDocument) -> None:
            if token != self._token():
                self._close_later(doc)
                return
            self._opening = None
            self._show_document(doc)

        def failed(error: BaseException) -> None:
            if token != self._token():
                return
            self._opening = None
            self._show_error(error)

        self._opening = self._ops.run(
            lambda ctx: open_record(objects, object_id),
            success=opened,
            failure=failed,
            priority=Priority.HIGH,
            label="open record",
        )

    def _show_document(self, doc: RecordDocument) -> None:
        assert self._record_id is not None
        self.renderer.set_document(doc)
        self.records.set_pages(self._record_id, doc.page_count)
        self._notice.setVisible(doc.repaired)
        self._stack.setCurrentIndex(0)
        self.view.set_pages(doc.page_sizes)
        entry = self._entry(self._record_id)
        if entry is not None and entry.object_id is not None:
            self._page_counts[entry.object_id] = doc.page_count
        state, self._pending_state = self._pending_state, None
        if state is not None:
            self.view.restore_state(state)
        # The first page starts rendering now (HIGH), ahead of the fill-in work queued.
        self.view.request_visible()
        self._thumb_model.set_pages(list(doc.page_sizes), self.view.rotation())
        self.thumbnails.select_page(0)
        self._on_zoom_changed(self.view.zoom_percent())
        if self._pending_page is not None:
            self.view.show_page(self._pending_page)
            self._pending_page = None
        if self.search_bar.isVisible() and self.search_bar.text():
            self._run_search(self.search_bar.text(), forward=True)

    def _show_error(self, error: BaseException) -> None:
        if isinstance(error, ReviewerError):
            self._show_message(error.title, error.user_text())
            if self._record_id is not None:
                self.records.set_pages(self._record_id, "—")
            return
        # Unexpected: say so without details (they could quote the document).
        log.error("opening a record failed: %s", type(error).__name__)
        self._show_message("Record cannot be shown", "Reviewer could not open this record.")

    def _show_message(self, title: str, detail: str) -> None:
        self._message_title.setText(title)
        self._message_detail.setText(detail)
        self._message_detail.setVisible(bool(detail))
        self._stack.setCurrentIndex(1)
        self._notice.hide()

    def message(self) -> str:
        """The message shown instead of pages ('' when pages are shown)."""
        if self._stack.currentIndex() == 0:
            return ""
        return "\n".join(t for t in (self._message_title.text(), self._message_detail.text()) if t)

    def _select_row(self, record_id: str) -> None:
        row = self.records.row_of(record_id)
        if row is None:
            return
        index = self._proxy.mapFromSource(self.records.index(row, 0))
        selection = self.record_table.selectionModel()
        if selection.currentIndex().row() != index.row():
            selection.blockSignals(True)
            try:
                self.record_table.selectRow(index.row())
                selection.setCurrentIndex(
                    index,
                    selection.SelectionFlag.ClearAndSelect | selection.SelectionFlag.Rows,
                )
            finally:
                selection.blockSignals(False)
            self.record_table.scrollTo(index)
            self.record_table.viewport().update()

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        record_id = self._proxy.data(current, RECORD_ID_ROLE)
        if record_id != self._record_id:
            self.open_record(record_id)

    def _count_pages(self) -> None:
        """Open every synced Record once in the background to fill in its page count."""
        if self._vault is None:
            return
        serial = self._case_serial
        objects = self._vault.objects
        todo = []
        for r in self.records_entries():
            if r.object_id is None:
                continue
            known = self._page_counts.get(r.object_id)
            if known is None:
                todo.append((r.record_id, r.object_id))
            else:
                self.records.set_pages(r.record_id, known)

        def count(ctx: Any) -> None:
            for record_id, object_id in todo:
                ctx.check()
                try:
                    doc = open_record(objects, object_id)
                except ReviewerError:
                    ctx.report((record_id, "—"))
                    continue
                except Exception as error:  # one bad record must not hide the others' counts
                    log.error("counting a record's pages failed: %s", type(error).__name__)
                    ctx.report((record_id, "—"))
                    continue
                pages = doc.page_count
                doc.close()
                ctx.report((record_id, pages))

        by_record = dict(todo)

        def counted(value: tuple[str, int | str]) -> None:
            record_id, pages = value
            if pages != "—":
                self._page_counts[by_record[record_id]] = pages
            if serial == self._case_serial:
                self.records.set_pages(record_id, pages)

        if todo:
            # Fill-in work: after the first page is on screen (LOW waits for HIGH).
            self._counting = self._ops.run(
                count,
                progress=counted,
                success=lambda _r: None,
                priority=Priority.LOW,
                label="count record pages",
            )

    def records_entries(self) -> list[RecordEntry]:
        return [self.records.record(row) for row in range(self.records.rowCount())]

    def _drop_document(self) -> None:
        """Forget the open Record: its pending work is cancelled, results dropped."""
        self._serial += 1
        for op in (self._opening, self._searching):
            if op is not None:
                op.cancel()
        self._opening = self._searching = None
        doc = self.renderer.document
        self.renderer.set_document(None)
        if doc is not None:
            self._close_later(doc)
        self._record_id = None
        self._hits, self._hit, self._query = [], -1, ""
        self.view.clear()
        self._thumb_model.set_pages([])
        self.search_bar.set_status(0, 0)
        self.search_bar.set_unsearched(0)
        self._notice.hide()

    def _remember_place(self) -> None:
        entry = self._entry(self._record_id) if self._record_id else None
        if self._case is None or entry is None or entry.object_id is None:
            return
        if self.renderer.document is not None:
            place = self.view.view_state()
        elif self._pending_state is not None:
            place = self._pending_state  # still reopening: keep the place it goes to
        else:
            return
        self._kept = (self._case.case_id, entry.record_id, entry.object_id, place)

    def _close_later(self, doc: RecordDocument) -> None:
        if self._ops.closed:
            # Shut down: no render can hold the engine lock any more.
            doc.close()
            return
        # Closing waits for the engine lock, which a render may hold: not on the UI thread.
        self._ops.run(lambda ctx: doc.close(), success=lambda _r: None, label="close record")

    def _reset(self) -> None:
        self._remember_place()
        self._drop_document()
        self._case_serial += 1
        if self._counting is not None:
            self._counting.cancel()
            self._counting = None
        self._case = None
        self._vault = None
        self._pending_page = None
        self._pending_state = None
        self._say("")
        self.header.clear()
        self.records.clear()

    # --- zoom and rotation --------------------------------------------------------------------

    def set_zoom(self, mode: ZoomMode) -> None:
        self.view.set_zoom(mode)
        self._on_zoom_changed(self.view.zoom_percent())

    def _zoom_in(self) -> None:
        self.view.zoom_by(1)
        self._on_zoom_changed(self.view.zoom_percent())

    def _zoom_out(self) -> None:
        self.view.zoom_by(-1)
        self._on_zoom_changed(self.view.zoom_percent())

    def rotate(self) -> None:
        self.view.rotate(90)
        self._thumb_model.set_rotation(self.view.rotation())

    def _on_zoom_chosen(self, text: str) -> None:
        choice = text.strip().lower()
        if choice.startswith("fit w"):
            self.set_zoom(FIT_WIDTH)
        elif choice.startswith("fit p"):
            self.set_zoom(FIT_PAGE)
        else:
            try:
                self.set_zoom(float(choice.rstrip("% ").strip()))
            except ValueError:
                self._on_zoom_changed(self.view.zoom_percent())

    def _on_zoom_changed(self, percent: float) -> None:
        mode = self.view.zoom_mode()
        self._zoom_label.setText(f"{percent:.0f} %")
        text = {FIT_WIDTH: "Fit width", FIT_PAGE: "Fit page"}.get(str(mode), f"{percent:.0f} %")
        self._zoom_box.setEditText(text)

    # --- search ---------------------------------------------------------------------------

    def open_search(self) -> None:
        self.search_bar.show()
        self.search_bar.field.setFocus()
        self.search_bar.field.selectAll()

    def close_search(self) -> None:
        self.search_bar.hide()
        if self._searching is not None:
            self._searching.cancel()
            self._searching = None
        self._hits, self._hit, self._query = [], -1, ""
        self.view.set_hits([])
        self.view.setFocus()

    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def current_hit(self) -> int:
        return self._hit

    def step_hit(self, forward: bool = True) -> None:
        """Next (or previous) hit; searches first if the text changed."""
        text = self.search_bar.text()
        if not text:
            return
        if text != self._query:
            self._run_search(text, forward=forward)
            return
        if not self._hits:
            return
        self._hit = (self._hit + (1 if forward else -1)) % len(self._hits)
        self.view.show_hit(self._hit)
        self.search_bar.set_status(self._hit, len(self._hits))

    def _run_search(self, text: str, *, forward: bool) -> None:
        if self._searching is not None:
            self._searching.cancel()
        self._query = text
        self._hits, self._hit = [], -1
        self.view.set_hits([])
        self.search_bar.set_status(0, 0, searching=True)
        start_page = self.view.current_page()

        def found(result: tuple[list[SearchHit], tuple[int, ...]]) -> None:
            if text != self._query:
                return
            self._searching = None
            hits, textless = result
            self.search_bar.set_unsearched(len(textless))
            self._hits = hits
            if hits:
                after = [n for n, h in enumerate(hits) if h.page >= start_page]
                before = [n for n, h in enumerate(hits) if h.page < start_page]
                if forward:
                    self._hit = after[0] if after else 0
                else:
                    self._hit = before[-1] if before else len(hits) - 1
            self.view.set_hits(hits, self._hit)
            self.search_bar.set_status(self._hit, len(hits))

        def search(doc: RecordDocument, ctx: Any) -> tuple[list[SearchHit], tuple[int, ...]]:
            return doc.search(text, ctx.check), doc.pages_without_text()

        self._searching = self.renderer.run_on_document(search, found)

    # --- selection --------------------------------------------------------------------------

    def copy_selection(self) -> None:
        """Put the selected text on the clipboard (nothing selected: nothing changes)."""
        text = self.view.selected_text()
        if text:
            QApplication.clipboard().setText(text)

    # --- citations ------------------------------------------------------------------------

    def cite(self) -> None:
        """Cite the page on screen (stored off the UI thread); emits ``cite_requested``
        with the Citation once it is in the vault."""
        case, vault, record_id = self._case, self._vault, self._record_id
        entry = self._entry(record_id) if record_id else None
        document = self.renderer.document
        if case is None or vault is None or entry is None or document is None:
            self._say(NOTHING_TO_CITE)
            return
        page = self.view.current_page()
        state = self.view.view_state()
        ref = page_ref(entry.record_id, page)
        label = page_label(entry, page, document.page_count)
        view = page_view(entry, page, state, self.view.zoom_percent())
        case_id = case.case_id

        def work(_ctx: Any) -> Citation:
            return add_citation(vault, case_id, CitationKind.PAGE, ref, label, view)

        self._say("")
        cite_in_background(
            self,
            self._ops,
            case_id,
            work,
            what="The page",
            say=lambda text, problem: self._say(text, problem=problem),
            label="records: cite",
        )

    def open_citation(self, citation: Citation) -> None:
        """Open the cited Record at the cited page, zoom and rotation. A citation of
        another case, or of a Record the case no longer has, is not opened: the pane
        says why."""
        self._say("")
        if citation.kind is not CitationKind.PAGE:
            return
        if self._case is None or citation.case_id != self._case.case_id:
            self._say(CITED_OTHER_CASE)
            return
        parsed = parse_page_ref(citation.ref)
        entry = self._entry(parsed[0]) if parsed is not None else None
        if parsed is None or entry is None:
            self._say(CITED_RECORD_GONE.format(label=citation.label))
            return
        record_id, page = parsed
        state = state_of(citation.view, page)
        if citation.view.get("object_id") not in (None, entry.object_id):
            self._say(CITED_FILE_CHANGED.format(page=page, label=citation.label))
        if record_id == self._record_id and self.renderer.document is not None:
            self.view.restore_state(state)
            self._thumb_model.set_rotation(self.view.rotation())
            self._on_zoom_changed(self.view.zoom_percent())
            return
        self.open_record(record_id, state=state)

    def citation_message(self) -> str:
        """What the pane says about citing or opening a citation ("" for nothing)."""
        return self.cite_status.text()

    def _say(self, text: str, *, problem: bool = True) -> None:
        # A problem in the form-message colour; a confirmation muted.
        name = "formMessage" if problem else "mutedLabel"
        if self.cite_status.objectName() != name:
            self.cite_status.setObjectName(name)
            self.cite_status.style().unpolish(self.cite_status)
            self.cite_status.style().polish(self.cite_status)
        self.cite_status.setText(text)
        self.cite_status.setVisible(bool(text))
