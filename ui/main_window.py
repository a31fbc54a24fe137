"""The main window: menu, worklist, status bar, and the lock that hides them.

The central area is a stack of pages: the worklist, the review workspace (one Case,
built when the first case is opened) and the lock screen. Locking switches to the lock
screen *and* empties the views (worklist, banner and every pane), closes open dialogs and
menus, and keeps the window title free of patient data, so nothing about
a patient is left on screen or in a widget while the specialist is away. The window
starts locked when it opens an existing profile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ui import logs, resources, theme
from ui.lock import IdleTracker, SessionWatcher
from ui.lock_screen import LockScreen, Unlocker
from ui.notifier import Notifier
from ui.operations import Operations
from ui.qt import (
    QAction,
    QActionGroup,
    QApplication,
    QCloseEvent,
    QDesktopServices,
    QDialog,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSettings,
    QStackedWidget,
    Qt,
    QToolTip,
    QUrl,
    Signal,
)
from ui.worklist import WorklistView
from ui.worklist_model import CASE_ID_ROLE, Column
from ui.workspace.page import WorkspacePage
from ui.workspace.panes import default_panes

log = logging.getLogger(__name__)

TITLE = "Reviewer"
_GEOMETRY_KEY = "window/geometry"
_STATE_KEY = "window/state"
# The column count is part of the key: a layout saved with other columns is not reused.
# So is a layout version, raised when the default widths change: a saved layout holds
# every width, whether the user set it or not, and would otherwise keep the old ones.
_HEADER_LAYOUT = 2
_HEADER_KEY = f"worklist/header-{len(Column)}.{_HEADER_LAYOUT}"
# The last opened case, reopened after the unlock at start. Kept in the vault (an
# identifier), not in QSettings, which is a plain file.
LAST_CASE_SETTING = "ui.last_case"


def open_folder(folder: Path) -> bool:
    """Show ``folder`` in the desktop's file manager."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class MainWindow(QMainWindow):
    """Reviewer's one main window."""

    #: True when the window locked, False when it unlocked.
    lock_changed = Signal(bool)

    def __init__(
        self,
        ops: Operations,
        notifier: Notifier,
        settings: QSettings,
        *,
        icon: QIcon,
        profile_name: str,
        idle_ms: int | None = None,
        watch_session: bool = True,
        on_theme: Callable[[theme.Theme], None] | None = None,
        pane_factory: Callable[[Operations], list[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(icon)
        self.ops = ops
        self.notifier = notifier
        self.settings = settings
        self.vault: Any = None
        self._locked = False
        self._on_theme = on_theme
        self._lock_hint = ""
        # An explicit interval (tests) wins over the vault's idle_minutes setting.
        self._idle_override = idle_ms
        self._about: Any = None
        #: Reopen the last case at the first unlock (once per start).
        self.reopen_last_case = True
        #: Shows a folder (Help ▸ Open log folder); tests replace it.
        self.open_folder: Callable[[Path], object] = open_folder

        self.worklist = WorklistView(ops, notifier)
        self.worklist.case_activated.connect(self.open_case)
        from ui.opinion.signing_flow import SigningFlow

        # Certificate set-up, signing, export and resend (the editor's sign_requested
        # goes to self.signing.start).
        self.signing = SigningFlow(ops, notifier, self)
        self.worklist.export_requested.connect(self.signing.export)
        self.worklist.problem_requested.connect(self.signing.review_problem)
        # Built at the first opened case: the panes are heavy and most starts are a
        # glance at the worklist.
        self.workspace: WorkspacePage | None = None
        self.pane_factory = pane_factory or default_panes
        self.lock_screen = LockScreen(ops, resources.icon("lock"))
        self.lock_screen.unlocked.connect(self._on_unlocked)
        self.pages = QStackedWidget()
        self.pages.setObjectName("pages")
        self.pages.addWidget(self.worklist)
        self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)

        self.idle = IdleTracker(idle_ms or IdleTracker.minutes_to_ms(5), self)
        self.idle.idle.connect(lambda: self.lock("idle"))
        self.session_watcher = SessionWatcher(self) if watch_session else None
        if self.session_watcher is not None:
            self.session_watcher.lock_requested.connect(self.lock)

        self._build_menus()
        self._build_status_bar(profile_name)
        self._update_title()
        self.resize(1280, 800)
        self.setMinimumSize(720, 480)

    # -- building ------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.quit_action = QAction("&Quit", self)
        # StandardKey.Quit is empty on desktops whose platform theme defines none (e.g. a
        # bare X session); Ctrl+Q is what every Linux and Windows user expects then.
        self.quit_action.setShortcuts(
            QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")]
        )
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        self.certificate_action = QAction("Signing &certificate…", self)
        self.certificate_action.setObjectName("signingCertificateAction")
        self.certificate_action.triggered.connect(
            lambda _checked=False: self.signing.setup_certificate()
        )
        self.export_opinion_action = QAction("&Export signed opinion…", self)
        self.export_opinion_action.setObjectName("exportSignedAction")
        self.export_opinion_action.triggered.connect(self.export_current_opinion)
        file_menu.addAction(self.certificate_action)
        file_menu.addAction(self.export_opinion_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[theme.Theme, QAction] = {}
        for choice, label in ((theme.Theme.DARK, "&Dark"), (theme.Theme.LIGHT, "&Light")):
            action = QAction(label, self, checkable=True)
            action.setData(choice.value)
            action.triggered.connect(lambda _checked=False, c=choice: self.set_theme(c))
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[choice] = action
        app = QApplication.instance()
        current = theme.current(app) if isinstance(app, QApplication) else theme.Theme.DARK
        self.theme_actions[current].setChecked(True)
        view_menu.addSeparator()
        self.lock_action = QAction("&Lock now", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(lambda: self.lock("requested"))
        view_menu.addAction(self.lock_action)

        help_menu = bar.addMenu("&Help")
        self.log_folder_action = QAction("Open &log folder", self)
        self.log_folder_action.setStatusTip("The log holds no patient data; support may ask for it")
        self.log_folder_action.triggered.connect(self.show_log_folder)
        help_menu.addAction(self.log_folder_action)
        help_menu.addSeparator()
        self.about_action = QAction("&About Reviewer", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self, profile_name: str) -> None:
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        # The folder name only: a profile path could contain a person's name.
        self.profile_label = QLabel(f"Profile: {profile_name}")
        self.profile_label.setObjectName("statusProfile")
        self.connection_label = QLabel()
        self.connection_label.setObjectName("statusConnection")
        self.sync_label = QLabel()
        self.sync_label.setObjectName("statusSync")
        status.addWidget(self.profile_label)
        status.addPermanentWidget(self.connection_label)
        status.addPermanentWidget(self.sync_label)
        self.set_online(False)
        self.set_last_sync(None)

    # -- status ----------------------------------------------------------------------
    def set_online(self, online: bool) -> None:
        """Connection state, fed by the sync engine (Offline until it exists)."""
        self.connection_label.setText("● Online" if online else "● Offline")
        self.connection_label.setProperty("online", online)
        self.connection_label.style().unpolish(self.connection_label)
        self.connection_label.style().polish(self.connection_label)

    def set_last_sync(self, when: dt.datetime | None) -> None:
        """Time of the last successful sync (None: never)."""
        text = "never" if when is None else when.astimezone().strftime("%d %b %Y %H:%M")
        self.sync_label.setText(f"Last sync: {text}")

    def _update_title(self) -> None:
        # The title is visible in task bars and window switchers: never patient data.
        self.setWindowTitle(f"{TITLE} — Locked" if self._locked else TITLE)

    # -- vault -----------------------------------------------------------------------
    def attach_vault(self, vault: Any) -> None:
        """Use ``vault`` (already open); shows its cases unless locked."""
        self.vault = vault
        self.signing.set_vault(vault)
        if self._idle_override is None:
            minutes = getattr(getattr(vault, "lock", None), "idle_minutes", 5)
            self.idle.set_interval_ms(IdleTracker.minutes_to_ms(minutes))
        if self.workspace is not None:
            self.workspace.set_vault(vault)
        if not self._locked:
            self.worklist.set_vault(vault)

    # -- lock ------------------------------------------------------------------------
    def is_locked(self) -> bool:
        return self._locked

    def lock(
        self,
        reason: str = "requested",
        *,
        unlocker: Unlocker | None = None,
        retry_after: Callable[[], float] | None = None,
        hint: str = "",
    ) -> None:
        """Hide every piece of patient data behind the lock screen."""
        if self._locked:
            # Already locked: keep the running prompt (and any throttling countdown).
            self._close_transient_windows()
            return
        if unlocker is None:
            if self.vault is None:
                raise RuntimeError("nothing to unlock with: no vault and no unlocker")
            unlocker = self.vault.lock.verify
            retry_after = self.vault.lock.retry_after
        self._locked = True
        self.idle.stop()
        self._close_transient_windows()
        self.worklist.clear()
        self.signing.set_vault(None)
        if self.workspace is not None:
            self.workspace.clear()
        self.pages.setCurrentWidget(self.lock_screen)
        self.lock_screen.activate(unlocker, retry_after=retry_after, hint=hint or self._lock_hint)
        self.lock_action.setEnabled(False)
        self._update_title()
        log.info("locked (%s)", reason)
        self.lock_changed.emit(True)

    def set_lock_hint(self, hint: str) -> None:
        """A line under the lock prompt (the demo shows its passphrase there)."""
        self._lock_hint = hint

    def _close_transient_windows(self) -> None:
        QToolTip.hideText()
        for widget in QApplication.topLevelWidgets():
            if widget is self or not widget.isVisible():
                continue
            if isinstance(widget, QDialog):
                widget.reject()
            elif isinstance(widget, QMenu):
                widget.close()
        popup = QApplication.activePopupWidget()
        if popup is not None:
            popup.close()

    def _on_unlocked(self, result: object) -> None:
        if result is not True and result is not None:
            # The unlocker opened the vault itself (passphrase-protected profiles).
            self.attach_vault(result)
        self._locked = False
        self.lock_screen.deactivate()
        self.lock_action.setEnabled(True)
        self._update_title()
        self.worklist.set_vault(self.vault)
        self.signing.set_vault(self.vault)
        workspace = self.workspace
        if workspace is not None and workspace.requested_case_id() is not None:
            # Back to the case that was open, read again from the vault.
            workspace.set_vault(self.vault)
            self.pages.setCurrentWidget(workspace)
            workspace.reload()
            workspace.setFocus()
        else:
            self.pages.setCurrentWidget(self.worklist)
            self.worklist.table.setFocus()
            if self.reopen_last_case:
                self._reopen_last_case()
        self.reopen_last_case = False
        self.idle.start()
        log.info("unlocked")
        self.lock_changed.emit(False)

    # -- workspace ---------------------------------------------------------------------
    def ensure_workspace(self) -> WorkspacePage:
        """The workspace page (built on first use)."""
        if self.workspace is None:
            self.workspace = WorkspacePage(
                self.ops,
                self.settings,
                self.pane_factory(self.ops),
                case_order=self.worklist_order,
            )
            self.workspace.back_requested.connect(self.show_worklist)
            self.workspace.case_shown.connect(self._audit_view)
            self.notifier.cases_changed.connect(self.workspace.check_still_there)
            # The case shown follows a sync that is still bringing it in (see "Workspace"
            # in docs/architecture.md): every view keeps its place.
            self.notifier.changed.connect(self.workspace.follow_changes)
            self.workspace.set_vault(self.vault)
            self._connect_signing(self.workspace.opinion)
            self.pages.insertWidget(1, self.workspace)
        return self.workspace

    def _connect_signing(self, editor: Any) -> None:
        """The opinion editor's Sign goes to the signing flow, which first has the editor
        save (and waits for that save), and tells it when the draft became signed."""
        if editor is None or not hasattr(editor, "sign_requested"):
            return
        editor.sign_requested.connect(self.signing.start)
        self.signing.save_draft = editor.save_case
        self.signing.signed.connect(editor.refresh_draft)

    def open_case(self, case_id: str) -> None:
        """Show ``case_id`` in the workspace (from the worklist: double-click, Enter)."""
        if self._locked or self.vault is None:
            return
        workspace = self.ensure_workspace()
        self.pages.setCurrentWidget(workspace)
        workspace.open_case(case_id)
        workspace.setFocus()
        self._remember_case(case_id)

    def _audit_view(self, case_id: str) -> None:
        # Every time a case's data is put on screen is a "view" in the audit trail.
        from reviewer_app import audit

        if self.vault is not None:
            self.ops.write(
                self.vault,
                lambda conn: audit.write_event(conn, audit.AuditAction.VIEW, case_id),
                label="audit",
            )

    def _remember_case(self, case_id: str | None) -> None:
        from reviewer_app.vault.database import set_setting

        value = case_id or ""
        self.ops.write(
            self.vault,
            lambda conn: set_setting(conn, LAST_CASE_SETTING, value),
            label="remember last case",
        )

    def _reopen_last_case(self) -> None:
        """Open the case that was open when Reviewer last quit, if it is still here."""
        from reviewer_app.vault.database import get_setting

        vault = self.vault

        def find(_ctx: object) -> str | None:
            case_id = get_setting(vault.read(), LAST_CASE_SETTING)
            if not case_id:
                return None
            known = {case.case_id for case in vault.cases()}
            return case_id if case_id in known else None

        def reopen(case_id: str | None) -> None:
            # Only if the specialist has not moved on meanwhile (opened a case, locked).
            if case_id and self.vault is vault and self.pages.currentWidget() is self.worklist:
                self.open_case(case_id)

        self.ops.run(find, success=reopen, label="last case")

    def show_worklist(self) -> None:
        """Close the case and go back to the worklist, its row selected."""
        case_id = None
        if self.workspace is not None:
            case_id = self.workspace.requested_case_id()
            self.workspace.close_case()
            if self.vault is not None:
                self._remember_case(None)
        self.pages.setCurrentWidget(self.worklist)
        if case_id is not None:
            self.worklist.select_case(case_id)
        self.worklist.table.setFocus()

    def worklist_order(self) -> list[str]:
        """The case_ids in the order the worklist shows them (sort and filter applied)."""
        proxy = self.worklist.proxy
        ids = (proxy.data(proxy.index(row, 0), CASE_ID_ROLE) for row in range(proxy.rowCount()))
        return [str(case_id) for case_id in ids if case_id]

    def start_unlocked(self) -> None:
        """Show the content now (a profile just created) and start the idle timer."""
        self._on_unlocked(True)

    # -- menu actions ------------------------------------------------------------------
    def current_case_id(self) -> str | None:
        """The case open in the workspace, else the one selected in the worklist."""
        workspace = self.workspace
        if workspace is not None and self.pages.currentWidget() is workspace:
            return workspace.requested_case_id()
        return self.worklist.selected_case_id()

    def export_current_opinion(self) -> None:
        """File ▸ Export signed opinion…: the current case's newest signed PDF."""
        case_id = self.current_case_id()
        if self._locked or case_id is None:
            return
        self.signing.export(case_id)

    def set_theme(self, choice: theme.Theme) -> None:
        """Switch theme and remember it."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, choice)
        theme.save(self.settings, choice)
        self.theme_actions[choice].setChecked(True)
        if self._on_theme is not None:
            self._on_theme(choice)

    def show_about(self) -> None:
        """Help ▸ About: version, Qt, and every dependency's licence."""
        from ui.about import AboutDialog

        if self._about is None:
            self._about = AboutDialog(self.windowIcon(), self)
        self._about.open()

    def show_log_folder(self) -> None:
        """Help ▸ Open log folder: the profile's ``logs`` folder in the file manager."""
        folder = logs.log_folder()
        if folder is None:
            box = QMessageBox(self)
            box.setWindowTitle("No log file")
            box.setText("This session writes no log file (no profile is open).")
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
            return
        self.open_folder(folder)

    # -- layout persistence ------------------------------------------------------------
    def restore_layout(self) -> None:
        """Restore window geometry, dock/toolbar state and the worklist's columns."""
        geometry = self.settings.value(_GEOMETRY_KEY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._first_start_size()
        state = self.settings.value(_STATE_KEY)
        if state is not None:
            self.restoreState(state)
        self.worklist.restore_header_state(self.settings.value(_HEADER_KEY))

    def _first_start_size(self) -> None:
        # Three panes side by side need room: at the first start take most of the screen
        # (a fixed 1280 × 800 left a 1920-pixel laptop mostly unused), centred on it.
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        width = min(area.width(), max(1280, int(area.width() * 0.9)))
        height = min(area.height(), max(800, int(area.height() * 0.9)))
        self.resize(width, height)
        self.move(area.center() - self.rect().center())

    def save_layout(self) -> None:
        """Remember the layout for the next start."""
        self.settings.setValue(_GEOMETRY_KEY, self.saveGeometry())
        self.settings.setValue(_STATE_KEY, self.saveState())
        self.settings.setValue(_HEADER_KEY, self.worklist.header_state())
        if self.workspace is not None:
            self.workspace.save_layout()
        self.settings.sync()

    def shutdown(self) -> None:
        """Stop every timer this window runs (idle, countdown)."""
        self.idle.stop()
        self.lock_screen.deactivate()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.shutdown()
        super().closeEvent(event)
