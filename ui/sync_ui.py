"""The sync's place in the main window: the Sync menu, the status-bar progress, and the
dialogs it opens (sign-in, platform settings, travel summary).

:func:`install` wires a :class:`~ui.sync_controller.SyncController` to a
:class:`~ui.main_window.MainWindow`; the controller knows nothing about widgets, and
the window knows the controller only through what is installed here.
"""

from __future__ import annotations

from typing import Any

from ui.operations import Operations
from ui.qt import (
    QAction,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)
from ui.sign_in import PlatformSettingsDialog, SignInDialog
from ui.sync_controller import SyncController, SyncState, save_config
from ui.sync_status import load_worklist
from ui.sync_travel import TravelSummaryDialog, travel_summary


class SyncStatusBar(QWidget):
    """Progress bar, one line of sync status, Cancel and Sign in buttons."""

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self.bar = QProgressBar()
        self.bar.setObjectName("syncProgress")
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(160)
        self.bar.setMaximumHeight(8)
        self.bar.hide()
        self.label = QLabel()
        self.label.setObjectName("syncStatusText")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("syncCancel")
        self.cancel_button.setToolTip("Stop the sync; the next sync resumes where it stopped")
        self.cancel_button.clicked.connect(controller.cancel)
        self.cancel_button.hide()
        self.sign_in_button = QPushButton("Sign in…")
        self.sign_in_button.setObjectName("syncSignIn")
        self.sign_in_button.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(8)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        layout.addWidget(self.cancel_button)
        layout.addWidget(self.sign_in_button)
        layout.addStretch(1)
        controller.status_changed.connect(self.label.setText)
        controller.progress_changed.connect(self._on_progress)
        controller.state_changed.connect(self._on_state)
        self._on_state(controller.state)
        self.label.setText(controller.status)

    def _on_progress(self, value: int, maximum: int) -> None:
        self.bar.setRange(0, maximum)
        self.bar.setValue(value)

    def _on_state(self, state: SyncState) -> None:
        syncing = state is SyncState.SYNCING
        self.bar.setVisible(syncing)
        self.cancel_button.setVisible(syncing)
        self.sign_in_button.setVisible(state is SyncState.SIGNED_OUT)


class SyncUi:
    """The sync's menu, status bar and dialogs for one window."""

    def __init__(self, window: Any, controller: SyncController, ops: Operations) -> None:
        self.window = window
        self.controller = controller
        self.ops = ops
        self.dialog: Any = None
        self._sync_after_sign_in = False

        self.status = SyncStatusBar(controller)
        window.statusBar().addWidget(self.status, 1)
        self.status.sign_in_button.clicked.connect(lambda: self.sign_in(then_sync=True))

        menu = window.menuBar().addMenu("&Sync")
        # Keep the Help menu last.
        help_action = window.menuBar().actions()[-2]
        window.menuBar().insertMenu(help_action, menu)
        self.menu = menu
        self.sync_action = QAction("&Sync now", window)
        self.sync_action.setShortcut(QKeySequence("F5"))
        self.sync_action.triggered.connect(self.sync_now)
        self.cancel_action = QAction("&Cancel sync", window)
        self.cancel_action.triggered.connect(controller.cancel)
        self.travel_action = QAction("&Prepare for travel…", window)
        self.travel_action.setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.travel_action.triggered.connect(controller.prepare_for_travel)
        self.sign_in_action = QAction("Sign &in…", window)
        self.sign_in_action.triggered.connect(lambda: self.sign_in(then_sync=True))
        self.sign_out_action = QAction("Sign &out", window)
        self.sign_out_action.triggered.connect(controller.sign_out)
        self.settings_action = QAction("Platform &settings…", window)
        self.settings_action.triggered.connect(self.edit_settings)
        for action in (self.sync_action, self.cancel_action, self.travel_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.sign_in_action, self.sign_out_action, self.settings_action):
            menu.addAction(action)
        # "Prepare for travel" also lives in the File menu, where people look for it.
        file_menu = window.menuBar().actions()[0].menu()
        file_menu.insertAction(window.quit_action, self.travel_action)
        file_menu.insertSeparator(window.quit_action)
        self.pin_action = window.worklist.pin_action
        menu.addSeparator()
        menu.addAction(self.pin_action)

        controller.online_changed.connect(window.set_online)
        controller.last_sync_changed.connect(window.set_last_sync)
        controller.state_changed.connect(self._on_state)
        controller.sign_in_needed.connect(self._on_sign_in_needed)
        controller.settings_needed.connect(self.edit_settings)
        controller.travel_ready.connect(self._show_travel)
        controller.count_ready = window.worklist.model.ready_offline
        window.worklist.loaded.connect(lambda _n: controller.refresh_text())
        self._on_state(controller.state)

    def _on_state(self, state: SyncState) -> None:
        syncing = state is SyncState.SYNCING
        self.cancel_action.setEnabled(syncing)
        self.sync_action.setEnabled(not syncing)
        self.sign_out_action.setEnabled(state not in (SyncState.SIGNED_OUT, SyncState.UNCONFIGURED))

    # -- actions -----------------------------------------------------------------------
    def sync_now(self) -> None:
        """Sync now (while offline: skip the wait)."""
        if self.controller.state is SyncState.OFFLINE:
            self.controller.retry_now()
        else:
            self.controller.sync_now(interactive=True)

    def _on_sign_in_needed(self, interactive: bool) -> None:
        if interactive:
            self.sign_in(then_sync=True)

    def sign_in(self, *, then_sync: bool) -> SignInDialog | None:
        """Open the sign-in dialog (non-modal to the event loop: it runs in the
        background); sync after a successful sign-in when ``then_sync``."""
        if self.window.is_locked() or self.controller.config is None:
            if self.controller.config is None:
                self.edit_settings()
            return None
        if isinstance(self.dialog, SignInDialog) and self.dialog.isVisible():
            return self.dialog
        dialog = SignInDialog(self.controller, self.window)
        self._sync_after_sign_in = then_sync
        dialog.accepted.connect(self._signed_in)
        dialog.rejected.connect(self.controller.drop_travel_request)
        dialog.finished.connect(lambda _r: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        dialog.start()
        return dialog

    def _signed_in(self) -> None:
        if self._sync_after_sign_in:
            self.controller.sync_now(interactive=False)

    def _forget(self, dialog: Any) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def edit_settings(self) -> PlatformSettingsDialog:
        """Open the platform settings."""
        dialog = PlatformSettingsDialog(self.controller.config, self.window)

        def saved() -> None:
            config = dialog.config
            if config is not None and config != self.controller.config:
                save_config(self.controller.settings, config)
                self.controller.configure(config)
                self.controller.sync_now(interactive=True)

        dialog.accepted.connect(saved)
        dialog.rejected.connect(self.controller.drop_travel_request)
        dialog.finished.connect(lambda _r: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _show_travel(self, report: Any) -> None:
        vault = self.controller.vault
        if vault is None or self.window.is_locked():
            return
        state = None if report is None else report.state

        def show(rows: Any) -> None:
            if self.window.is_locked():
                return
            dialog = TravelSummaryDialog(travel_summary(rows, state), self.window)
            dialog.finished.connect(lambda _r: self._forget(dialog))
            self.dialog = dialog
            dialog.open()

        self.ops.run(lambda _ctx: load_worklist(vault), success=show, label="travel summary")


def install(window: Any, controller: SyncController, ops: Operations) -> SyncUi:
    """Add the sync's menu and status bar to ``window``."""
    return SyncUi(window, controller, ops)
