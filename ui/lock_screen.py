"""The lock screen: what the window shows instead of patient data while locked.

It asks for the local passphrase and checks it off the UI thread (scrypt takes a
noticeable fraction of a second) with the ``unlock`` function it is given: normally
``vault.lock.verify``, or opening a passphrase-protected vault at start. After wrong
attempts the check raises :class:`~reviewer_app.errors.LockThrottled`; the field is then
disabled and a countdown shows when the next attempt is allowed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from reviewer_app.errors import LockThrottled, ReviewerError, WrongPassphrase
from ui.operations import Operations
from ui.qt import (
    QFrame,
    QIcon,
    QLabel,
    QLineEdit,
    QPushButton,
    QSize,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)

#: Checks a passphrase: a truthy result if right (True, or the vault it opened), False if
#: wrong; may raise LockThrottled or WrongPassphrase.
Unlocker = Callable[[str], object]


class LockScreen(QWidget):
    """Passphrase prompt with throttling countdown."""

    #: The passphrase was right: the unlock function's result (True, or an opened vault).
    unlocked = Signal(object)
    #: Unlocking failed for another reason than a wrong passphrase (a ReviewerError
    #: such as WrongKey or DatabaseCorrupt while opening a passphrase profile).
    failed = Signal(object)

    def __init__(self, ops: Operations, icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self._ops = ops
        self._unlock: Unlocker | None = None
        self._retry_after: Callable[[], float] | None = None
        self._checking = False
        self._retry_at = 0.0
        self._countdown_prefix = ""
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)

        card = QFrame()
        card.setObjectName("lockCard")
        card.setFixedWidth(440)

        badge = QLabel()
        badge.setPixmap(icon.pixmap(QSize(72, 72)))
        badge.setFixedHeight(72)
        badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel("Reviewer is locked")
        self.title.setObjectName("lockTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explanation = QLabel("Patient data is hidden until you unlock.")
        self.explanation.setObjectName("lockExplanation")
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.explanation.setWordWrap(True)

        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("lockPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Passphrase")
        self.passphrase.returnPressed.connect(self.submit)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setObjectName("primaryButton")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.submit)
        self.message = QLabel("")
        self.message.setObjectName("lockMessage")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.hint = QLabel("")
        self.hint.setObjectName("lockHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint.hide()

        inner = QVBoxLayout(card)
        inner.setContentsMargins(36, 36, 36, 32)
        inner.setSpacing(12)
        inner.addWidget(badge)
        inner.addSpacing(10)
        inner.addWidget(self.title)
        inner.addWidget(self.explanation)
        inner.addSpacing(10)
        inner.addWidget(self.passphrase)
        inner.addWidget(self.unlock_button)
        inner.addWidget(self.message)
        inner.addWidget(self.hint)

        outer = QVBoxLayout(self)
        outer.addStretch(2)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(3)

    def activate(
        self,
        unlock: Unlocker,
        *,
        retry_after: Callable[[], float] | None = None,
        hint: str = "",
    ) -> None:
        """Show the prompt, checking passphrases with ``unlock``.

        ``retry_after`` (seconds until the next try is allowed) lets a wrong attempt
        show its waiting time at once instead of at the next try.
        """
        self._unlock = unlock
        self._retry_after = retry_after
        self.passphrase.clear()
        self.message.clear()
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self._set_busy(False)
        self.passphrase.setFocus()

    def deactivate(self) -> None:
        """Forget the passphrase text and stop the countdown."""
        self._countdown.stop()
        self.passphrase.clear()
        self.message.clear()

    def is_checking(self) -> bool:
        """A passphrase check is running in the background."""
        return self._checking

    def is_throttled(self) -> bool:
        return self._countdown.isActive()

    def submit(self) -> None:
        """Check the typed passphrase (off the UI thread)."""
        if self._unlock is None or self._checking or self.is_throttled():
            return
        attempt = self.passphrase.text()
        if not attempt:
            self.message.setText("Enter your passphrase.")
            return
        unlock, retry_after = self._unlock, self._retry_after

        def check(_ctx: object) -> tuple[object, float]:
            result = unlock(attempt)
            wait = retry_after() if not result and retry_after is not None else 0.0
            return result, wait

        self._set_busy(True)
        self.message.setText("Checking…")
        self._ops.run(
            check,
            success=self._on_checked,
            failure=self._on_failed,
            label="check passphrase",
        )

    def _on_checked(self, outcome: tuple[object, float]) -> None:
        result, wait = outcome
        self._set_busy(False)
        self.passphrase.clear()
        if result:
            self.message.clear()
            self.unlocked.emit(result)
        elif wait > 0:
            self._start_countdown(wait, "Wrong passphrase.")
        else:
            self.message.setText("Wrong passphrase. Please try again.")
            self.passphrase.setFocus()

    def _on_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        self.passphrase.clear()
        if isinstance(error, LockThrottled):
            self._start_countdown(error.retry_after)
        elif isinstance(error, WrongPassphrase):
            self.message.setText("Wrong passphrase. Please try again.")
        elif isinstance(error, ReviewerError):
            self.message.setText(error.title)
            self.failed.emit(error)
        else:
            self._ops.unhandled.emit(error)

    def _start_countdown(self, seconds: float, prefix: str = "Too many wrong attempts.") -> None:
        self._retry_at = time.monotonic() + max(0.0, seconds)
        self._countdown_prefix = prefix
        self.passphrase.setEnabled(False)
        self.unlock_button.setEnabled(False)
        self._countdown.start()
        self._tick()

    def _tick(self) -> None:
        left = self._retry_at - time.monotonic()
        if left <= 0:
            self._countdown.stop()
            self.passphrase.setEnabled(True)
            self.unlock_button.setEnabled(True)
            self.message.setText("You can try again now.")
            self.passphrase.setFocus()
            return
        self.message.setText(f"{self._countdown_prefix} Try again in {math.ceil(left)} s.")

    def _set_busy(self, busy: bool) -> None:
        self._checking = busy
        self.passphrase.setEnabled(not busy)
        self.unlock_button.setEnabled(not busy)
