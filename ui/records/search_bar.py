"""The Records pane's search bar: a text box, "3 of 17", previous and next.

Enter searches (or, when the text has not changed, goes to the next hit); Shift+Enter
goes to the previous one; Escape closes the bar. The pane runs the search itself.
"""

from __future__ import annotations

from typing import Any

from ui.qt import QHBoxLayout, QLabel, QLineEdit, Qt, QToolButton, QWidget, Signal


class _SearchField(QLineEdit):
    """A line edit that tells Enter from Shift+Enter and reports Escape."""

    entered = Signal(bool)  # True with Shift held: search backwards
    escaped = Signal()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.entered.emit(bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """Search text and hit navigation for the open Record."""

    #: Go to a hit: True forwards, False backwards (the pane searches first if needed).
    step = Signal(bool)
    closed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("recordSearch")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        self.field = _SearchField()
        self.field.setPlaceholderText("Find in record (Ctrl+F)")
        self.field.setClearButtonEnabled(True)
        self.count = QLabel("")
        self.count.setObjectName("recordSearchCount")
        self.count.setMinimumWidth(80)
        # Scanned pages have no text layer: say that search could not look at them.
        self.unsearched = QLabel("")
        self.unsearched.setObjectName("formMessage")
        self.unsearched.hide()
        self.previous_button = QToolButton()
        self.previous_button.setText("▲")
        self.previous_button.setToolTip("Previous hit (Shift+Enter, Shift+F3)")
        self.next_button = QToolButton()
        self.next_button.setText("▼")
        self.next_button.setToolTip("Next hit (Enter, F3)")
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Close search (Escape)")
        layout.addWidget(self.field, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.unsearched)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(close)
        self.field.entered.connect(lambda backwards: self.step.emit(not backwards))
        self.field.escaped.connect(self.closed)
        self.previous_button.clicked.connect(lambda: self.step.emit(False))
        self.next_button.clicked.connect(lambda: self.step.emit(True))
        close.clicked.connect(self.closed)

    def text(self) -> str:
        return self.field.text().strip()

    def set_unsearched(self, pages: int) -> None:
        """Warn that ``pages`` pages (scans) could not be searched; 0 hides the warning."""
        plural = "s" if pages != 1 else ""
        self.unsearched.setText(f"{pages} scanned page{plural} not searched")
        self.unsearched.setToolTip(
            "These pages are pictures without a text layer: read them, search cannot."
        )
        self.unsearched.setVisible(pages > 0)

    def set_status(self, current: int, total: int, *, searching: bool = False) -> None:
        """ "3 of 17", "No matches", "Searching…" or nothing."""
        if searching:
            self.count.setText("Searching…")
        elif not self.text():
            self.count.setText("")
        elif total == 0:
            self.count.setText("No matches")
        else:
            self.count.setText(f"{current + 1} of {total}")
