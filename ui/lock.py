"""When to lock: after idle time, and when the desktop session locks or the machine sleeps.

:class:`IdleTracker` is an application-wide event filter: any keyboard, mouse, wheel or
touch input restarts a single-shot timer; when it fires, ``idle`` is emitted.
:class:`SessionWatcher` listens, best effort, on D-Bus for the signals a Linux desktop
sends before it locks or suspends (logind ``PrepareForSleep`` and the session's ``Lock``
on the system bus, ``org.freedesktop.ScreenSaver.ActiveChanged`` on the session bus).
Where there is no bus (Windows, macOS, a bare container) it is silently absent: the
idle timer still locks. What locking *does* is the main window's job.
"""

from __future__ import annotations

import logging
import os

from ui.qt import (
    HAVE_DBUS,
    SLOT,
    QApplication,
    QEvent,
    QObject,
    QTimer,
    Signal,
    Slot,
)

log = logging.getLogger(__name__)

DEFAULT_IDLE_MINUTES = 5

# Input that proves a person is at the keyboard. Paint, timer and focus events are not.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
    }
)


class IdleTracker(QObject):
    """Emits ``idle`` after ``interval_ms`` without user input while running."""

    idle = Signal()

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, interval_ms))
        self._timer.timeout.connect(self.idle)
        self._installed = False

    @staticmethod
    def minutes_to_ms(minutes: int) -> int:
        return max(1, int(minutes)) * 60_000

    def interval_ms(self) -> int:
        return self._timer.interval()

    def set_interval_ms(self, interval_ms: int) -> None:
        """Change the idle time; restarts the countdown if it is running."""
        self._timer.setInterval(max(1, interval_ms))
        if self._timer.isActive():
            self._timer.start()

    def start(self) -> None:
        """Start watching input (when the app is unlocked)."""
        app = QApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True
        self._timer.start()

    def stop(self) -> None:
        """Stop watching (while locked, and at quit: no timer left running)."""
        self._timer.stop()
        app = QApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
            self._installed = False

    def is_running(self) -> bool:
        return self._timer.isActive()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and self._timer.isActive():
            self._timer.start()
        return False


def _bus_path_escape(text: str) -> str:
    """systemd's sd_bus_path_encode for one path element."""
    out = []
    for i, char in enumerate(text):
        if char.isascii() and (char.isalpha() or (char.isdigit() and i > 0)):
            out.append(char)
        else:
            out.append(f"_{ord(char):02x}")
    return "".join(out) or "_"


class SessionWatcher(QObject):
    """Emits ``lock_requested`` when the session locks or the machine goes to sleep."""

    lock_requested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.listening: list[str] = []
        if HAVE_DBUS:
            self._connect()

    def _connect(self) -> None:
        from ui.qt import QDBusConnection

        system = QDBusConnection.systemBus()
        if system.isConnected():
            if system.connect(
                "org.freedesktop.login1",
                "/org/freedesktop/login1",
                "org.freedesktop.login1.Manager",
                "PrepareForSleep",
                self,
                SLOT("_on_prepare_for_sleep(bool)"),
            ):
                self.listening.append("login1.PrepareForSleep")
            session_id = os.environ.get("XDG_SESSION_ID")
            if session_id and system.connect(
                "org.freedesktop.login1",
                f"/org/freedesktop/login1/session/{_bus_path_escape(session_id)}",
                "org.freedesktop.login1.Session",
                "Lock",
                self,
                SLOT("_on_session_lock()"),
            ):
                self.listening.append("login1.Session.Lock")
        session = QDBusConnection.sessionBus()
        if session.isConnected():
            # Desktops differ in the object path; any sender may own the name.
            for path in ("/org/freedesktop/ScreenSaver", "/ScreenSaver"):
                if session.connect(
                    "",
                    path,
                    "org.freedesktop.ScreenSaver",
                    "ActiveChanged",
                    self,
                    SLOT("_on_screensaver(bool)"),
                ):
                    self.listening.append(f"ScreenSaver.ActiveChanged {path}")
        log.debug("session watcher listening to: %s", ", ".join(self.listening) or "nothing")

    @Slot(bool)
    def _on_prepare_for_sleep(self, going_to_sleep: bool) -> None:
        if going_to_sleep:
            self.lock_requested.emit("suspend")

    @Slot()
    def _on_session_lock(self) -> None:
        self.lock_requested.emit("session locked")

    @Slot(bool)
    def _on_screensaver(self, active: bool) -> None:
        if active:
            self.lock_requested.emit("screen saver")
