"""First-run set-up: welcome, choose the local passphrase, create the profile.

Shown when the profile folder holds no profile yet. The passphrase unlocks the app after
an idle lock (and, in later versions, confirms signing). Where the key will live is
said plainly: in the OS keyring, or — without a usable keyring — protected by this
passphrase. Creating runs off the UI thread (scrypt is deliberately slow).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from reviewer_app.errors import ReviewerError
from ui.heading import dialog_heading
from ui.operations import Operations
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QIcon,
    QLabel,
    QLineEdit,
    QProgressBar,
    Qt,
    QVBoxLayout,
    QWidget,
)

MIN_LENGTH = 10


def strength(passphrase: str) -> tuple[int, str]:
    """A rough 0–4 score and a word for it (length and variety; a hint, not a gate)."""
    if len(passphrase) < MIN_LENGTH:
        return 0, f"Too short: at least {MIN_LENGTH} characters"
    classes = sum(
        any(c in group for c in passphrase)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
    ) + any(not c.isalnum() for c in passphrase)
    distinct = len(set(passphrase.lower()))
    score = 1
    if len(passphrase) >= 14 or classes >= 3:
        score = 2
    if len(passphrase) >= 18 or (len(passphrase) >= 14 and classes >= 3):
        score = 3
    if len(passphrase) >= 24 and distinct >= 10:
        score = 4
    if distinct < 5:
        score = 1
    words = {1: "Weak: add words or characters", 2: "Fair", 3: "Good", 4: "Strong"}
    return score, words[score]


def problem(passphrase: str, repeated: str) -> str:
    """Why the two fields cannot be used yet, or '' when they can."""
    if len(passphrase) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if passphrase.strip() != passphrase:
        return "Leading or trailing spaces are easy to forget: leave them out."
    if repeated != passphrase:
        return "The two passphrases differ."
    return ""


class FirstRunDialog(QDialog):
    """Welcome and passphrase set-up; ``vault`` is set when it is accepted."""

    def __init__(
        self,
        ops: Operations,
        icon: QIcon,
        create: Callable[[str], Any],
        *,
        keyring_available: bool,
        profile_folder: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to Reviewer")
        self.setWindowIcon(icon)
        self.setModal(True)
        self.vault: Any = None
        self._ops = ops
        self._create = create
        self._busy = False

        top = dialog_heading(
            icon,
            "Welcome to Reviewer",
            "Cases you review are kept on this computer in an encrypted vault. Choose a "
            "passphrase: it unlocks Reviewer after it locks itself when you step away.",
        )

        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("newPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText(f"At least {MIN_LENGTH} characters")
        self.repeat = QLineEdit()
        self.repeat.setObjectName("repeatPassphrase")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setPlaceholderText("Type it again")
        self.meter = QProgressBar()
        self.meter.setObjectName("strengthMeter")
        self.meter.setRange(0, 4)
        self.meter.setTextVisible(False)
        self.meter.setFixedHeight(6)
        self.strength_label = QLabel("")
        self.strength_label.setObjectName("strengthLabel")
        self.strength_label.setMinimumWidth(200)
        meter_row = QHBoxLayout()
        meter_row.setSpacing(10)
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.strength_label)
        form = QGridLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        form.addWidget(QLabel("Passphrase"), 0, 0, right)
        form.addWidget(self.passphrase, 0, 1)
        form.addLayout(meter_row, 1, 1)
        form.addWidget(QLabel("Repeat"), 2, 0, right)
        form.addWidget(self.repeat, 2, 1)
        form.setColumnStretch(1, 1)

        if keyring_available:
            storage = (
                "<b>Where the key goes.</b> The vault's encryption key is stored in your "
                "computer's keyring (the same place your desktop keeps saved passwords), "
                "so it never sits on disk in the clear."
            )
        else:
            storage = (
                "<b>Where the key goes.</b> No system keyring is available, so the vault's "
                "encryption key is protected by this passphrase instead. You will type it "
                "each time Reviewer starts. If you forget it, the local data cannot be "
                "recovered (cases are downloaded again at the next sync)."
            )
        self.storage_note = QLabel(storage)
        self.storage_note.setObjectName("infoNote")
        self.storage_note.setWordWrap(True)
        note = QFrame()
        note.setObjectName("infoFrame")
        note_layout = QVBoxLayout(note)
        note_layout.setContentsMargins(14, 12, 14, 12)
        note_layout.addWidget(self.storage_note)

        folder = QLabel(f"Profile folder: {profile_folder}")
        folder.setObjectName("mutedLabel")
        folder.setWordWrap(True)
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.message = QLabel("")
        self.message.setObjectName("formMessage")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(20)

        self.buttons = QDialogButtonBox()
        self.quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.create_button = self.buttons.addButton(
            "Create profile", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setObjectName("primaryButton")
        self.create_button.setDefault(True)
        self.create_button.setEnabled(False)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 26, 28, 20)
        layout.setSpacing(18)
        layout.addLayout(top)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(folder)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(580)

        self.passphrase.textChanged.connect(self._update)
        self.repeat.textChanged.connect(self._update)
        self._update()
        # Wrapped labels make Qt guess the height for a narrower width: size it for ours.
        self.resize(self.minimumWidth(), layout.heightForWidth(self.minimumWidth()))

    def _update(self) -> None:
        first, second = self.passphrase.text(), self.repeat.text()
        score, word = strength(first)
        self.meter.setValue(score)
        self.meter.setProperty("score", score)
        self.meter.style().unpolish(self.meter)
        self.meter.style().polish(self.meter)
        self.strength_label.setText(word if first else "")
        issue = problem(first, second)
        self.create_button.setEnabled(not issue and not self._busy)
        # Only complain about the repeat once something was typed there.
        self.message.setText(issue if second and issue else "")

    def submit(self) -> None:
        """Create the profile with the typed passphrase (off the UI thread)."""
        passphrase = self.passphrase.text()
        if self._busy or problem(passphrase, self.repeat.text()):
            return
        self._busy = True
        for widget in (self.passphrase, self.repeat, self.create_button, self.quit_button):
            widget.setEnabled(False)
        self.message.setText("Creating your encrypted vault…")
        create = self._create
        self._ops.run(
            lambda _ctx: create(passphrase),
            success=self._on_created,
            failure=self._on_failed,
            label="create profile",
        )

    def _on_created(self, vault: Any) -> None:
        self._busy = False
        self.vault = vault
        self.accept()

    def _on_failed(self, error: BaseException) -> None:
        self._busy = False
        for widget in (self.passphrase, self.repeat, self.quit_button):
            widget.setEnabled(True)
        self._update()
        if isinstance(error, ReviewerError):
            self.message.setText(f"{error.title}: {error.user_text()}")
        else:
            self._ops.unhandled.emit(error)
            self.message.setText("The profile could not be created.")

    def reject(self) -> None:
        if not self._busy:  # creating cannot be abandoned halfway
            super().reject()
