"""Signing in to the platform, and where the platform is.

:class:`SignInDialog` says "Continue in your browser…" while the OAuth sign-in
(:meth:`PlatformSession.sign_in`: system browser, loopback redirect) runs off the UI
thread; Cancel stops the wait at once. The app never sees the password.

:class:`PlatformSettingsDialog` edits the platform's FHIR base URL and an optional CA
bundle (for platforms with their own certificate authority). Both go to QSettings:
addresses and file paths, never patient data or secrets.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from reviewer_app.errors import InsecureServerAddress, ReviewerError
from reviewer_app.exchange.http import check_server_url
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.sync_controller import PlatformConfig, SyncController

WAITING_TITLE = "Continue in your browser…"
WAITING_DETAIL = (
    "Your web browser opened the platform's sign-in page. Sign in there; Reviewer "
    "continues by itself when you are done. Reviewer never sees your password."
)


class SignInDialog(QDialog):
    """Waits for the browser sign-in; Cancel gives up. Accepted when signed in."""

    #: Sign-in failed (the error), the dialog shows it and offers Try again.
    failed = Signal(object)

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in to the platform")
        self.setModal(True)
        self.controller = controller
        self._cancel: threading.Event | None = None
        self._closed = False
        self.error: BaseException | None = None

        self.title = QLabel(WAITING_TITLE)
        self.title.setObjectName("dialogTitle")
        self.detail = QLabel(WAITING_DETAIL)
        self.detail.setObjectName("dialogSubtitle")
        self.detail.setWordWrap(True)
        self.busy = QProgressBar()
        self.busy.setObjectName("signInBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.message = QLabel()
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox()
        self.retry_button = self.buttons.addButton(
            "Try again", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.retry_button.setObjectName("primaryButton")
        self.retry_button.hide()
        self.retry_button.clicked.connect(self.start)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)

    def start(self) -> None:
        """Open the browser and wait for the sign-in (off the UI thread)."""
        if self._closed:
            return
        self.error = None
        self.title.setText(WAITING_TITLE)
        self.detail.setText(WAITING_DETAIL)
        self.message.hide()
        self.retry_button.hide()
        self.busy.show()
        self._cancel = self.controller.sign_in(success=self._on_success, failure=self._on_failure)
        if self._cancel is None:
            self._on_failure(ReviewerError("No platform address is set."))

    # The sign-in may end after the dialog closed (and was deleted): check the Python-side
    # flag before touching any widget.
    def _on_success(self, _tokens: Any) -> None:
        self._cancel = None
        if not self._closed:
            self.accept()

    def _on_failure(self, error: BaseException) -> None:
        self._cancel = None
        if self._closed:
            return
        self.error = error
        self.busy.hide()
        self.title.setText("Sign-in did not complete")
        if isinstance(error, ReviewerError):
            self.message.setText(f"{error.message}\n{error.hint}".strip())
        else:
            self.message.setText("Something went wrong while signing in. Please try again.")
        self.message.show()
        self.retry_button.show()
        self.failed.emit(error)

    def done(self, result: int) -> None:
        # Closing the dialog in any way stops the wait for the browser.
        self._closed = True
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        super().done(result)


class PlatformSettingsDialog(QDialog):
    """The platform's address and, optionally, its CA bundle."""

    def __init__(self, config: PlatformConfig | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("platformSettingsDialog")
        self.setWindowTitle("Platform settings")
        self.setModal(True)
        self.config: PlatformConfig | None = config

        title = QLabel("Platform")
        title.setObjectName("dialogTitle")
        intro = QLabel(
            "The address your platform gave you (its FHIR base, for example "
            "https://platform.example.org/fhir). Everything else is found from it."
        )
        intro.setObjectName("dialogSubtitle")
        intro.setWordWrap(True)
        self.url_edit = QLineEdit(config.url if config else "")
        self.url_edit.setObjectName("platformUrl")
        self.url_edit.setPlaceholderText("https://platform.example.org/fhir")
        self.ca_edit = QLineEdit(str(config.ca_bundle) if config and config.ca_bundle else "")
        self.ca_edit.setObjectName("caBundle")
        self.ca_edit.setPlaceholderText("Optional: only if your IT team gave you one")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Platform server URL", self.url_edit)
        form.addRow("CA bundle file", ca_row)
        self.message = QLabel()
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.message.hide()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        save = buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setObjectName("primaryButton")
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.setSpacing(14)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "CA bundle", "", "Certificates (*.pem *.crt *.cer);;All files (*)"
        )
        if name:
            self.ca_edit.setText(name)

    def _fail(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _save(self) -> None:
        url = self.url_edit.text().strip().rstrip("/")
        try:
            check_server_url(url)
        except InsecureServerAddress as error:
            self._fail(f"{error.message} {error.hint}")
            return
        except ReviewerError as error:
            self._fail(error.message)
            return
        except ValueError:
            self._fail("This is not a web address. It starts with https://")
            return
        ca_text = self.ca_edit.text().strip()
        ca_bundle = Path(ca_text).expanduser() if ca_text else None
        if ca_bundle is not None and not ca_bundle.is_file():
            self._fail("The CA bundle file was not found. Choose the file your IT team gave you.")
            return
        self.config = PlatformConfig(url, ca_bundle)
        self.accept()
