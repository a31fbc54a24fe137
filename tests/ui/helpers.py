"""Helpers for the UI tests: a real case row in the vault, and what is on screen."""

from __future__ import annotations

from typing import Any

from reviewer_app.vault import ScryptParams
from ui.qt import QApplication, QWidget

#: Cheap scrypt for tests that do not measure its cost (production: n=2**17).
FAST_SCRYPT = ScryptParams(n=2**10, r=8, p=1)
PASSPHRASE = "correct horse battery staple"


def add_case(vault: Any, case_id: str, patient_name: str, **fields: Any) -> None:
    """Write one case row into the vault, the way sync will."""
    row = {
        "case_id": case_id,
        "patient_name": patient_name,
        "patient_sex": "female",
        "patient_birth_date": "1970-05-04",
        "specialty": "cardiology",
        "priority": "routine",
        "due_date": "2030-01-15",
        "status": "new",
        "clinical_question": "Is the ejection fraction consistent with the history?",
        "received_at": "2029-12-01T10:00:00Z",
        "updated_at": "2029-12-01T10:00:00Z",
        "sync_state": "synced",
        "pinned": 0,
    }
    row.update(fields)
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    vault.write_sync(
        lambda conn: conn.execute(
            f"INSERT INTO cases ({columns}) VALUES ({marks})", list(row.values())
        )
    )


def visible_texts(root: QWidget) -> list[str]:
    """Every text a person could read in ``root`` and its visible children: window
    titles, tooltips, labels, buttons, line edits, and the data of visible item views."""
    from ui.qt import QAbstractButton, QAbstractItemView, QLabel, QLineEdit, Qt

    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisible():
            continue
        texts += [widget.windowTitle(), widget.toolTip()]
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            try:
                columns = model.columnCount()
            except TypeError:  # PySide6 keeps QAbstractListModel.columnCount private
                columns = 1
            for row in range(model.rowCount()):
                for column in range(columns):
                    index = model.index(row, column)
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        value = model.data(index, role)
                        if value is not None:
                            texts.append(str(value))
    return [text for text in texts if text]


def all_visible_texts() -> list[str]:
    """visible_texts of every visible top-level window (dialogs and menus included)."""
    texts: list[str] = []
    for window in QApplication.topLevelWidgets():
        if window.isVisible():
            texts += visible_texts(window)
    return texts


class ModalAnswers:
    """Answers the modal dialogs a blocking ``exec()`` opens, one handler each, in order.

    Each handler gets the active modal widget and must close it (accept, reject, click).
    A polling QTimer is the only way in while ``exec()`` runs its own event loop; it
    stops itself when every handler has run (or at :meth:`stop`).
    """

    def __init__(self, *handlers: Any) -> None:
        from ui.qt import QTimer

        self.handlers = list(handlers)
        self.seen: list[str] = []
        self._last: Any = None
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def _poll(self) -> None:
        modal = QApplication.activeModalWidget()
        if modal is None or modal is self._last or not modal.isVisible() or not self.handlers:
            return
        self._last = modal
        self.seen.append(modal.objectName())
        handler = self.handlers.pop(0)
        if not self.handlers:
            self._timer.stop()
        handler(modal)

    def stop(self) -> None:
        self._timer.stop()

    @property
    def done(self) -> bool:
        return not self.handlers


def unlocked_window(
    qtbot: Any, make_shell: Any, vault: Any, size: tuple[int, int] = (1400, 900)
) -> Any:
    """The main window of a new shell on ``vault``, shown at ``size``, unlocked, with
    its worklist loaded (no sync)."""
    shell = make_shell()
    shell._use_vault(vault, sync=False)
    shell.window.resize(*size)
    shell.window.show()
    with qtbot.waitSignal(shell.window.worklist.loaded):
        shell.window.start_unlocked()
    return shell.window
