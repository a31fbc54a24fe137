"""Change notices: how views learn that data they show has changed.

Anki's operations return a change set and one hook tells every view; napari's evented
models emit per field. Here one app-level :class:`Notifier` carries a :class:`Change`
flag set. Whoever changes the vault (a write operation, later the sync engine) calls
:meth:`Notifier.notify`; views connect to the signal for what they show and reload.
No view polls, and no view reaches into another.
"""

from __future__ import annotations

import enum

from ui.qt import QObject, Signal


class Change(enum.Flag):
    """What kind of data changed in the vault."""

    NONE = 0
    CASES = enum.auto()
    SETTINGS = enum.auto()
    SYNC = enum.auto()


class Notifier(QObject):
    """The app's change-notice hub (one per open vault)."""

    #: Any change, with the flags of what changed.
    changed = Signal(object)
    #: The worklist's rows changed (cases added, updated or removed).
    cases_changed = Signal()
    #: Sync state changed (connection, last sync).
    sync_changed = Signal()

    def notify(self, changes: Change) -> None:
        """Announce ``changes``; call on the UI thread."""
        if not changes:
            return
        self.changed.emit(changes)
        if Change.CASES in changes:
            self.cases_changed.emit()
        if Change.SYNC in changes:
            self.sync_changed.emit()
