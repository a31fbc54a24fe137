"""The review workspace page: banner, records, labs and imaging panes, questions, timeline.

One Case at a time. Opening a case clears everything at once (so no pane can show the
previous patient under the new banner), reads the :class:`CaseFile` off the UI thread,
and hands that one object to the banner and every pane together. A load that finishes
for a case that is no longer the one asked for is dropped: switching quickly through the
worklist can never leave a pane on the wrong patient.

The panes live in dock widgets of an inner QMainWindow (see docs/architecture.md,
"Workspace"): the user can resize, rearrange, tab, float and maximise them (double-click
a title), and the layout is kept in QSettings.

The opinion editor (a pane titled "Opinion") docks on the right, beside the panes, and
follows the case with them. Citations travel through the workspace: a pane's
``cite_requested`` goes into the editor, a click on a citation in the editor reopens
the cited view in the pane of its kind (``open_citation``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from reviewer_app.casefile import CaseFile, load_case
from reviewer_app.errors import CaseNotFound, ReviewerError
from ui.notifier import Change
from ui.operations import Operation, Operations, Priority
from ui.qt import (
    QAction,
    QByteArray,
    QDockWidget,
    QEvent,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QMainWindow,
    QObject,
    QSettings,
    QShowEvent,
    Qt,
    QTimer,
    QToolButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.workspace.banner import PatientBanner
from ui.workspace.help_overlay import HelpOverlay
from ui.workspace.pane_header import PaneHeader
from ui.workspace.panes import OPINION_TITLE, pane_for_citation, pane_for_ref
from ui.workspace.questions import QuestionsPanel
from ui.workspace.shortcuts import keys_text
from ui.workspace.shortcuts import shortcut_rows as actions_of
from ui.workspace.timeline import TimelinePanel

log = logging.getLogger(__name__)

#: Bump when the docks change: a layout saved for other docks is not restored.
LAYOUT_VERSION = 2
_STATE_KEY = f"workspace/docks-{LAYOUT_VERSION}"
LOADING_TEXT = "Opening case…"
MIN_PANE_WIDTH = 240
MIN_OPINION_WIDTH = 380
#: While a sync streams change notices, the case shown is read again at most this often.
REFRESH_INTERVAL_MS = 2000

Loader = Callable[[Any, str], CaseFile]


class WorkspacePage(QWidget):
    """The workspace: one Case in a banner and panes, with a case switcher."""

    #: The user asked to go back to the worklist.
    back_requested = Signal()
    #: The banner and every pane now show this case_id.
    case_shown = Signal(str)
    #: Opening a case failed (the error; the workspace shows no patient).
    case_failed = Signal(object)
    #: The case shown was read again after a sync and had changed: every view took it.
    case_refreshed = Signal(str)

    def __init__(
        self,
        ops: Operations,
        settings: QSettings,
        panes: Sequence[Any],
        *,
        case_order: Callable[[], list[str]] = list,
        loader: Loader = load_case,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("workspace")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._ops = ops
        self._settings = settings
        self._case_order = case_order
        self._loader = loader
        self._vault: Any = None
        self._requested: str | None = None
        self._generation = 0
        self._pending: Operation | None = None
        self._shown: CaseFile | None = None
        self._maximised: QDockWidget | None = None
        self._state_before_max: QByteArray | None = None
        self.refresh_interval_ms = REFRESH_INTERVAL_MS
        #: The top-level window whose closing saves the opinion (see eventFilter).
        self._watched_window: QWidget | None = None
        self._refreshing: Operation | None = None
        self._last_refresh = -float("inf")
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh)

        panes = list(panes)
        #: The opinion editor, if the panes hold one (it is docked apart, see module).
        self.opinion: Any = next((p for p in panes if p.pane_title == OPINION_TITLE), None)
        self.panes = [p for p in panes if p is not self.opinion]
        self.banner = PatientBanner()
        self.questions = QuestionsPanel()
        self.timeline = TimelinePanel()
        self.timeline.ref_activated.connect(self.open_ref)

        self.docks_host = QMainWindow()
        self.docks_host.setObjectName("workspaceDocks")
        self.docks_host.setWindowFlags(Qt.WindowType.Widget)
        self.docks_host.setDockNestingEnabled(True)
        self.docks_host.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.docks: dict[str, QDockWidget] = {}
        for widget in [*self._case_views(), self.questions, self.timeline]:
            self._add_dock(widget)
        self._connect_citations()
        for pane in self.panes:
            imported = getattr(pane, "imported", None)
            if imported is not None:
                # Images imported from a CD change the case: every pane reads it again.
                imported.connect(self._on_imported)
        self._arrange_default()
        self._default_state = self.docks_host.saveState(LAYOUT_VERSION)

        self._build_top_bar()
        self._build_actions()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.top_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.docks_host, 1)
        self.help = HelpOverlay(self)
        self.help.set_groups(self.shortcut_groups())
        self._sized = self.restore_layout()
        self._sized_for_content = self._sized

    # -- building ------------------------------------------------------------------
    def _add_dock(self, widget: QWidget) -> None:
        title = str(widget.pane_title)  # type: ignore[attr-defined]
        # An explicit minimum (instead of the content's hint): three rich panes side by
        # side must fit a laptop screen; each pane's own layout copes with less room.
        widget.setMinimumWidth(MIN_PANE_WIDTH)
        dock = QDockWidget(title, self.docks_host)
        dock.setObjectName(f"dock{title}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        dock.installEventFilter(self)
        header = widget.findChild(PaneHeader)
        if header is not None:
            # The pane's own header (title, patient, case key) becomes the dock's title
            # bar: one strip instead of two, and it is where the user drags the pane to
            # rearrange it and double-clicks it to maximise.
            header.installEventFilter(self)
            dock.setTitleBarWidget(header)
        self.docks[title] = dock

    def _case_views(self) -> list[Any]:
        """The panes and the opinion editor: every view that shows the case's data."""
        return [*self.panes, *([self.opinion] if self.opinion is not None else [])]

    def _connect_citations(self) -> None:
        if self.opinion is None:
            return
        self.opinion.citation_activated.connect(self.open_citation)
        for pane in self.panes:
            # Panes gain "Cite" with the opinion issue; one without it is simply skipped.
            cite_requested = getattr(pane, "cite_requested", None)
            if cite_requested is not None:
                cite_requested.connect(self.opinion.insert_citation)

    def _arrange_default(self) -> None:
        host = self.docks_host
        panes = [self.docks[str(p.pane_title)] for p in self.panes]
        for dock in panes:
            host.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, dock)
        for left, right in pairwise(panes):
            host.splitDockWidget(left, right, Qt.Orientation.Horizontal)
        host.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.docks["Timeline"])
        host.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.docks["Questions"])
        host.splitDockWidget(
            self.docks["Timeline"], self.docks["Questions"], Qt.Orientation.Horizontal
        )
        if self.opinion is not None:
            # Full height on the right: the specialist writes while looking at the panes
            # (the right area owns both right corners, beside the top and bottom areas).
            host.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
            host.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
            host.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.docks[OPINION_TITLE])
        self._size_docks()

    def _size_docks(self) -> None:
        """Default proportions: imaging widest, the panes get most of the height."""
        host = self.docks_host
        panes = [self.docks[str(p.pane_title)] for p in self.panes]
        width = max(host.width(), 900)
        height = max(host.height(), 500)
        if self.opinion is not None:
            # The opinion takes 30 % (a readable line of prose), the panes the rest.
            opinion_width = max(width * 3 // 10, MIN_OPINION_WIDTH)
            host.resizeDocks(
                [self.docks[OPINION_TITLE]], [opinion_width], Qt.Orientation.Horizontal
            )
            width -= opinion_width
        if panes:
            weights = [3, 3, 4][: len(panes)] if len(panes) == 3 else [1] * len(panes)
            total = sum(weights)
            host.resizeDocks(
                panes, [width * w // total for w in weights], Qt.Orientation.Horizontal
            )
            host.resizeDocks(
                [panes[0], self.docks["Timeline"]],
                [height * 7 // 10, height * 3 // 10],
                Qt.Orientation.Vertical,
            )
        host.resizeDocks(
            [self.docks["Timeline"], self.docks["Questions"]],
            [width * 3 // 5, width * 2 // 5],
            Qt.Orientation.Horizontal,
        )

    def _build_top_bar(self) -> None:
        self.top_bar = QWidget()
        self.top_bar.setObjectName("workspaceBar")
        bar = QHBoxLayout(self.top_bar)
        bar.setContentsMargins(4, 2, 4, 2)
        self.back_button = QToolButton()
        self.back_button.setObjectName("backToWorklist")
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.prev_button = QToolButton()
        self.prev_button.setObjectName("previousCase")
        self.next_button = QToolButton()
        self.next_button.setObjectName("nextCase")
        self.position_label = QLabel("")
        self.position_label.setObjectName("casePosition")
        self.help_button = QToolButton()
        self.help_button.setObjectName("helpButton")
        bar.addWidget(self.back_button)
        bar.addStretch(1)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.position_label)
        bar.addWidget(self.next_button)
        bar.addWidget(self.help_button)

    def _action(
        self, text: str, keys: Sequence[str], slot: Callable[[], None], help_text: str
    ) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{help_text} ({keys[0]})" if keys else help_text)
        action.setData(help_text)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.back_action = self._action(
            "← Worklist", ["Alt+Left", "Ctrl+W"], self.back_requested.emit, "Back to the worklist"
        )
        self.prev_action = self._action(
            "◀", ["Ctrl+PgUp"], lambda: self.step_case(-1), "Previous case in the worklist"
        )
        self.next_action = self._action(
            "▶", ["Ctrl+PgDown"], lambda: self.step_case(1), "Next case in the worklist"
        )
        self.focus_actions = [
            self._action(
                f"Focus {pane.pane_title}",
                [f"Ctrl+{n}"],
                lambda p=pane: self.focus_pane(p),
                f"Go to the {str(pane.pane_title).lower()} pane",
            )
            for n, pane in enumerate([*self._case_views(), self.questions, self.timeline], start=1)
        ]
        self.maximise_action = self._action(
            "Maximise pane",
            ["Ctrl+Shift+M"],
            self.toggle_maximise_focused,
            "Maximise the current pane, or restore all panes (or double-click a pane's title)",
        )
        self.reset_layout_action = self._action(
            "Reset layout", ["Ctrl+Shift+R"], self.reset_layout, "Put the panes back in place"
        )
        self.help_action = self._action("?", ["F1", "?"], self.toggle_help, "Show these shortcuts")
        self.back_button.setDefaultAction(self.back_action)
        self.prev_button.setDefaultAction(self.prev_action)
        self.next_button.setDefaultAction(self.next_action)
        self.help_button.setDefaultAction(self.help_action)

    def shortcut_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(group, [(keys, what they do)]): the workspace's own actions and the lock
        first, then each pane's (its actions and those of its parts, see
        ``ui.workspace.shortcuts``), in the panes' order."""
        rows = [(keys_text(a), str(a.data())) for a in self.actions() if a.shortcuts()]
        rows.append(("Ctrl+L", "Lock Reviewer now"))
        groups = [("Workspace", rows)]
        for pane in self._case_views():
            pane_rows = actions_of(pane)
            if pane_rows:
                groups.append((str(pane.pane_title), pane_rows))
        return groups

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """Every (keys, what they do), the panes' prefixed with the pane's title."""
        return [
            (keys, text if group == "Workspace" else f"{group}: {text}")
            for group, rows in self.shortcut_groups()
            for keys, text in rows
        ]

    # -- cases -----------------------------------------------------------------------
    def set_vault(self, vault: Any) -> None:
        self._vault = vault

    def requested_case_id(self) -> str | None:
        """The case the user last opened (shown, or still loading)."""
        return self._requested

    def shown_case(self) -> CaseFile | None:
        """The case the banner and panes show now (None while loading or cleared)."""
        return self._shown

    def open_case(self, case_id: str) -> None:
        """Show ``case_id``: clear everything now, load it off the UI thread, then show."""
        if self._vault is None:
            raise RuntimeError("the workspace has no vault")
        self._requested = case_id
        self._generation += 1
        generation = self._generation
        self._clear_views()
        self.banner.show_message(LOADING_TEXT)
        self._update_switcher()
        if self._pending is not None:
            self._pending.cancel()
        vault = self._vault
        loader = self._loader
        self._pending = self._ops.run(
            lambda _ctx: loader(vault, case_id),
            success=lambda case: self._loaded(generation, case),
            failure=lambda error: self._load_failed(generation, error),
            priority=Priority.HIGH,
            label="open case",
        )

    def reload(self) -> None:
        """Read the requested case again (after unlock) and show it."""
        if self._requested is not None:
            self.open_case(self._requested)

    def _on_imported(self, case_id: str, *_details: object) -> None:
        if case_id == self._requested and self._shown is not None:
            self.reload()

    def _loaded(self, generation: int, case: CaseFile) -> None:
        if generation != self._generation or case.case_id != self._requested:
            log.debug("dropped a case load that is no longer current")
            return
        self._pending = None
        self._shown = case
        self.banner.show_case(case)
        self.questions.show_case(case)
        self.timeline.show_case(case)
        failures: list[BaseException] = []
        for pane in self._case_views():
            try:
                pane.show_case(case, self._vault)
            except Exception as error:  # one broken pane must not keep the others empty
                log.error("%s pane could not show the case: %s", pane.pane_title, type(error))
                pane.clear()
                failures.append(error)
        self._update_switcher()
        if not self._sized_for_content:
            # The panes' size hints grow with their first content: settle the default
            # proportions again once (a saved layout is never overridden).
            self._sized_for_content = True
            QTimer.singleShot(0, self, self._size_docks)
        self.case_shown.emit(case.case_id)
        if failures:
            raise failures[0]

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._pending = None
        self._clear_views()
        message = error.title if isinstance(error, ReviewerError) else "The case cannot be shown"
        self.banner.show_message(message)
        self.case_failed.emit(error)

    def check_still_there(self) -> None:
        """After a sync: if the case shown was removed (withdrawn, reassigned, purged),
        show nothing of it any more. A case that is still there is read again by
        ``refresh``, whose views keep their place: a sync never moves what the
        specialist is reading."""
        case_id, generation, vault = self._requested, self._generation, self._vault
        if case_id is None or vault is None or self._shown is None:
            return

        def exists(_ctx: object) -> bool:
            row = vault.read().execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,))
            return row.fetchone() is not None

        def checked(found: bool) -> None:
            if not found and generation == self._generation and case_id == self._requested:
                self._load_failed(generation, CaseNotFound())

        self._ops.run(exists, success=checked, label="check case")

    def follow_changes(self, changes: Change) -> None:
        """A change notice: after a sync (or a case change) read the case shown again,
        at most once per ``refresh_interval_ms`` while a sync streams notices."""
        if not changes & (Change.SYNC | Change.CASES) or self._shown is None:
            return
        if self._refresh_timer.isActive():
            return  # one refresh is already due; it reads whatever is there by then
        elapsed_ms = (time.monotonic() - self._last_refresh) * 1000
        self._refresh_timer.start(int(max(0.0, self.refresh_interval_ms - elapsed_ms)))

    def refresh(self) -> None:
        """Read the case shown again off the UI thread; if it changed (a sync brought
        more images, records, results), hand it to every view, which keep their place.

        The result carries the case and the generation it was read for and is dropped if
        the user opened another case (or locked) meanwhile."""
        case_id, generation, vault = self._requested, self._generation, self._vault
        if case_id is None or vault is None or self._shown is None:
            return
        self._last_refresh = time.monotonic()
        if self._refreshing is not None:
            self._refreshing.cancel()
        loader = self._loader

        def failed(error: BaseException) -> None:
            # A case gone is check_still_there's to show; anything else keeps what is
            # shown (the next notice tries again). Type only: no patient data in logs.
            if not isinstance(error, CaseNotFound):
                log.warning("the case shown could not be read again: %s", type(error).__name__)

        self._refreshing = self._ops.run(
            lambda _ctx: loader(vault, case_id),
            success=lambda case: self._refreshed(generation, case),
            failure=failed,
            priority=Priority.LOW,
            label="refresh case",
        )

    def _refreshed(self, generation: int, case: CaseFile) -> None:
        self._refreshing = None
        shown = self._shown
        if (
            generation != self._generation
            or case.case_id != self._requested
            or shown is None
            or shown.case_id != case.case_id
        ):
            log.debug("dropped a case refresh that is no longer current")
            return
        if case == shown:
            return
        self._shown = case
        self.banner.show_case(case)
        self.questions.show_case(case)
        self.timeline.show_case(case)
        for pane in self._case_views():
            try:
                pane.show_case(case, self._vault)
            except Exception as error:  # one broken pane must not keep the others stale
                log.error("%s pane could not show the case again: %s", pane.pane_title, type(error))
                pane.clear()
        self.case_refreshed.emit(case.case_id)

    def step_case(self, step: int) -> None:
        """Open the case ``step`` rows away in the worklist's current order."""
        order = self._case_order()
        if not order or self._requested is None:
            return
        if self._requested in order:
            index = order.index(self._requested) + step
        else:
            index = 0 if step > 0 else len(order) - 1
        if 0 <= index < len(order) and order[index] != self._requested:
            self.open_case(order[index])

    def _update_switcher(self) -> None:
        order = self._case_order()
        if self._requested in order:
            index = order.index(self._requested)
            self.position_label.setText(f"Case {index + 1} of {len(order)}")
            self.prev_action.setEnabled(index > 0)
            self.next_action.setEnabled(index < len(order) - 1)
        else:
            self.position_label.setText("")
            self.prev_action.setEnabled(bool(order))
            self.next_action.setEnabled(bool(order))

    def open_ref(self, ref: str) -> None:
        """Open a timeline item in the pane that shows it, and bring that pane forward."""
        pane = pane_for_ref(self.panes, ref)
        if pane is None or self._shown is None:
            return
        self._bring_forward(pane)
        pane.open_ref(ref)

    def open_citation(self, citation: Any) -> None:
        """Reopen the cited view in the pane of its kind, and bring that pane forward."""
        shown = self._shown
        if shown is None or citation.case_id != shown.case_id:
            return  # a citation of another case never opens under this banner
        pane = pane_for_citation(self.panes, citation)
        open_citation = getattr(pane, "open_citation", None)
        if pane is None or open_citation is None:
            return
        self._bring_forward(pane)
        open_citation(citation)

    def _bring_forward(self, pane: Any) -> None:
        """Show ``pane``'s dock on top (leaving another pane's maximised view)."""
        dock = self.docks[str(pane.pane_title)]
        if self._maximised is not None and self._maximised is not dock:
            self.restore_panes()
        dock.show()
        dock.raise_()

    def flush_opinion(self) -> Any:
        """Save what is typed in the opinion now (before quitting): the writer's future,
        or None when nothing was unsaved."""
        return None if self.opinion is None else self.opinion.flush()

    def _clear_views(self) -> None:
        self._shown = None
        self.banner.clear()
        self.questions.clear()
        self.timeline.clear()
        # The opinion first: clearing it saves what was typed, under the case it was
        # typed for, before anything else moves.
        for pane in reversed(self._case_views()):
            pane.clear()

    def clear(self) -> None:
        """Show no patient at all (lock); ``reload`` shows the same case again."""
        self._generation += 1
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self._refresh_timer.stop()
        if self._refreshing is not None:
            self._refreshing.cancel()
            self._refreshing = None
        self.help.hide()
        self._clear_views()
        self.position_label.setText("")

    def close_case(self) -> None:
        """Forget the case (back to the worklist): nothing is shown or remembered."""
        self.clear()
        self._requested = None

    # -- layout ----------------------------------------------------------------------
    def focus_pane(self, pane: Any) -> None:
        """Bring ``pane`` forward and give the keyboard to its first focusable part."""
        dock = self.docks[str(pane.pane_title)]
        dock.show()
        dock.raise_()
        tab = Qt.FocusPolicy.TabFocus
        focusable = (
            w
            for w in pane.findChildren(QWidget)
            if w.isVisible() and w.isEnabled() and (w.focusPolicy().value & tab.value)
        )
        # A pane names the part that should get the keys (the image, not the series list).
        target = pane.focusProxy() or next(focusable, None) or pane
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def maximised_dock(self) -> QDockWidget | None:
        return self._maximised

    def toggle_maximise(self, dock: QDockWidget) -> None:
        """Give ``dock`` the whole workspace, or put every dock back if it has it."""
        if self._maximised is not None:
            self.restore_panes()
            return
        self._state_before_max = self.docks_host.saveState(LAYOUT_VERSION)
        self._maximised = dock
        for other in self.docks.values():
            if other is not dock:
                other.hide()

    def toggle_maximise_focused(self) -> None:
        focus = self.focusWidget()
        for dock in self.docks.values():
            if focus is not None and (dock is focus or dock.isAncestorOf(focus)):
                self.toggle_maximise(dock)
                return
        if self._maximised is not None:
            self.restore_panes()

    def restore_panes(self) -> None:
        """Undo a maximise: every dock where it was."""
        if self._maximised is None:
            return
        self._maximised = None
        state, self._state_before_max = self._state_before_max, None
        if state is None or not self.docks_host.restoreState(state, LAYOUT_VERSION):
            for dock in self.docks.values():
                dock.show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and watched is self._watched_window:
            # The window closes (quit): what was typed goes to the vault first.
            self.flush_opinion()
        if event.type() == QEvent.Type.MouseButtonDblClick:
            dock = self._dock_of_title(watched, event)
            if dock is not None:
                # Double-click maximises (instead of Qt's default: float the dock).
                self.toggle_maximise(dock)
                return True
        return super().eventFilter(watched, event)

    def _dock_of_title(self, watched: QObject, event: Any) -> QDockWidget | None:
        if isinstance(watched, QDockWidget):
            content = watched.widget()
            top = content.geometry().top() if content is not None else 0
            return watched if event.position().y() < top else None
        if isinstance(watched, PaneHeader):
            for dock in self.docks.values():
                if dock.isAncestorOf(watched):
                    return dock
        return None

    def restore_layout(self) -> bool:
        """The dock layout the user left (False: none saved, or unusable)."""
        state = self._settings.value(_STATE_KEY)
        if isinstance(state, QByteArray | bytes) and self.docks_host.restoreState(
            QByteArray(state), LAYOUT_VERSION
        ):
            for dock in self.docks.values():
                if dock.isHidden() and not dock.isFloating():
                    dock.show()
            return True
        return False

    def save_layout(self) -> None:
        """Remember the dock layout (a maximised pane is saved as before maximising)."""
        state = self._state_before_max or self.docks_host.saveState(LAYOUT_VERSION)
        self._settings.setValue(_STATE_KEY, state)

    def reset_layout(self) -> None:
        """The default arrangement and proportions (Ctrl+Shift+R)."""
        self._maximised = None
        self._state_before_max = None
        for dock in self.docks.values():
            dock.setFloating(False)
        self.docks_host.restoreState(self._default_state, LAYOUT_VERSION)
        for dock in self.docks.values():
            dock.show()
        self._size_docks()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        window = self.window()
        if self.opinion is not None and window is not self and window is not self._watched_window:
            self._watched_window = window
            window.installEventFilter(self)
        if not self._sized:
            # Sizes need the real geometry: apply the default proportions once shown.
            self._sized = True
            QTimer.singleShot(0, self, self._size_docks)

    # -- help ------------------------------------------------------------------------
    def toggle_help(self) -> None:
        if self.help.isVisible():
            self.help.hide()
        else:
            self.help.open()
