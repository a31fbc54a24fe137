"""Dialogs for failures: one mapping from an error to what the specialist reads.

Every :class:`~reviewer_app.errors.ReviewerError` carries its own title and
``user_text()``; this module only shows them, so the wording lives in ``errors.py``.
Unexpected exceptions get a generic, friendly dialog: their text is never shown (it may
hold anything) and only their type goes to the log. "Reset profile…" is offered only
for the vault errors it can fix, and only behind a typed confirmation.
"""

from __future__ import annotations

import logging
import platform
import traceback
from pathlib import Path

from reviewer_app import __version__
from reviewer_app.errors import (
    DatabaseCorrupt,
    KeyringEntryMissing,
    KeyringLocked,
    KeyringUnavailable,
    ProfileDamaged,
    ProfileInUse,
    ReviewerError,
    WrongKey,
)
from ui.qt import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
    qVersion,
)

log = logging.getLogger(__name__)


def advice(error: ReviewerError) -> str:
    """What happened, a blank line, then what to do (the error's own wording)."""
    return "\n\n".join(part for part in (error.message, error.hint) if part)


#: Errors after which starting again (erasing the local data) is a way out.
RESETTABLE = (WrongKey, KeyringEntryMissing, DatabaseCorrupt, ProfileDamaged)
#: Errors that can go away by themselves (unlock the keyring, close the other window).
RETRYABLE = (KeyringLocked, KeyringUnavailable, ProfileInUse)
RESET_WORD = "ERASE"


def error_report(error: BaseException) -> str:
    """A report support can use, safe to paste anywhere: the error's type, where it
    happened (file:line function per frame), Reviewer's version and the OS. Never the
    error's message or any value: both can hold patient data."""
    frames = traceback.extract_tb(error.__traceback__)[-12:]
    lines = [
        f"Reviewer {__version__} (Qt {qVersion()}, Python {platform.python_version()})",
        f"OS: {platform.system()} {platform.release()} {platform.machine()}",
        f"Error: {type(error).__module__}.{type(error).__qualname__}",
        "Where (innermost last):",
        *(f"  {Path(frame.filename).name}:{frame.lineno} {frame.name}" for frame in frames),
    ]
    return "\n".join(lines)


def error_box(parent: QWidget | None, error: BaseException) -> QMessageBox:
    """A message box for ``error`` (not yet shown). An unexpected error's box has a
    "Copy report" button and shows the report under "Show Details…"."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    if isinstance(error, ReviewerError):
        box.setWindowTitle(error.title)
        box.setText(f"<b>{error.title}</b>")
        box.setInformativeText(advice(error))
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Something went wrong")
        box.setText("<b>Something went wrong</b>")
        box.setInformativeText(
            "Reviewer hit an unexpected problem and stopped that action. Your data is safe "
            "in the vault, and you can keep working. If it happens again, the log file in "
            "the profile folder helps support (it holds no patient data). "
            "“Copy report” copies a short report for support; it holds no patient data."
        )
        report = error_report(error)
        box.setDetailedText(report)
        copy = box.addButton("Copy report", QMessageBox.ButtonRole.ActionRole)
        copy.setObjectName("copyReport")
        copy.clicked.connect(lambda: QApplication.clipboard().setText(report))
    box.setStandardButtons(box.standardButtons() | QMessageBox.StandardButton.Ok)
    return box


def show_error(parent: QWidget | None, error: BaseException) -> None:
    """Show ``error`` modally."""
    error_box(parent, error).exec()


class StartupErrorDialog(QMessageBox):
    """A vault error at start: Quit, or (where it helps) Try again / Reset profile… ."""

    QUIT = 0
    RESET = 1
    RETRY = 2

    def __init__(self, error: ReviewerError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startupErrorDialog")
        self.error = error
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle(error.title)
        self.setText(f"<b>{error.title}</b>")
        self.setInformativeText(advice(error))
        self.quit_button = self.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        self.reset_button: QPushButton | None = None
        self.retry_button: QPushButton | None = None
        if isinstance(error, RETRYABLE):
            self.retry_button = self.addButton("Try again", QMessageBox.ButtonRole.AcceptRole)
        if isinstance(error, RESETTABLE):
            self.reset_button = self.addButton(
                "Reset profile…", QMessageBox.ButtonRole.DestructiveRole
            )
        self.setDefaultButton(self.retry_button or self.quit_button)

    def choice(self) -> int:
        """Which button ended the dialog."""
        clicked = self.clickedButton()
        if self.reset_button is not None and clicked is self.reset_button:
            return self.RESET
        if self.retry_button is not None and clicked is self.retry_button:
            return self.RETRY
        return self.QUIT


class ResetProfileDialog(QDialog):
    """Typed confirmation before erasing a profile's local data."""

    def __init__(self, profile_folder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resetProfileDialog")
        self.setWindowTitle("Reset profile")
        self.setModal(True)
        text = QLabel(
            "<b>Erase this profile's local data?</b><br><br>"
            f"Everything Reviewer keeps in <code>{profile_folder}</code> is erased: "
            "downloaded cases, drafts and opinions not yet sent. Cases assigned to you "
            "are downloaded again at the next sync; unsent work is lost.<br><br>"
            f"Type <b>{RESET_WORD}</b> to confirm."
        )
        text.setWordWrap(True)
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("resetConfirm")
        self.confirm_edit.setPlaceholderText(RESET_WORD)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.erase_button = self.buttons.addButton(
            "Erase and start again", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.erase_button.setObjectName("dangerButton")
        self.erase_button.setEnabled(False)
        self.erase_button.clicked.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.confirm_edit.textChanged.connect(
            lambda typed: self.erase_button.setEnabled(typed.strip() == RESET_WORD)
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 22, 24, 18)
        layout.setSpacing(14)
        layout.addWidget(text)
        layout.addWidget(self.confirm_edit)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)

    def confirmed(self) -> bool:
        return self.confirm_edit.text().strip() == RESET_WORD
