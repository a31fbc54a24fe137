"""The keyboard help overlay (F1 or ?): every workspace shortcut, over the workspace.

Built from the workspace's own actions, so the list cannot drift from the keys that
work. Any key or click closes it.
"""

from __future__ import annotations

from ui.qt import (
    QColor,
    QEvent,
    QFrame,
    QGridLayout,
    QHideEvent,
    QKeyEvent,
    QLabel,
    QMouseEvent,
    QObject,
    QPainter,
    QPaintEvent,
    Qt,
    QVBoxLayout,
    QWidget,
)

_MODIFIERS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta}


class HelpOverlay(QWidget):
    """A dimmed layer over its parent with a card listing (keys, what they do)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("helpOverlay")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._card = QFrame(self)
        self._card.setObjectName("helpCard")
        self._card.setFrameShape(QFrame.Shape.StyledPanel)
        self._card.setAutoFillBackground(True)
        title = QLabel("Keyboard shortcuts")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        self._grid = QGridLayout()
        self._grid.setHorizontalSpacing(24)
        self._grid.setVerticalSpacing(4)
        hint = QLabel("Press any key or click to close.")
        hint.setObjectName("helpHint")
        card_layout = QVBoxLayout(self._card)
        card_layout.setContentsMargins(20, 16, 20, 16)
        card_layout.addWidget(title)
        card_layout.addLayout(self._grid)
        card_layout.addWidget(hint)
        outer = QVBoxLayout(self)
        outer.addWidget(self._card, 0, Qt.AlignmentFlag.AlignCenter)
        self._rows: list[tuple[str, str]] = []
        parent.installEventFilter(self)
        self.hide()

    def set_shortcuts(self, rows: list[tuple[str, str]]) -> None:
        """The (keys, description) rows to list, in order."""
        while self._grid.count():
            item = self._grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._rows = list(rows)
        for row, (keys, text) in enumerate(self._rows):
            key_label = QLabel(keys)
            key_label.setObjectName("helpKeys")
            font = key_label.font()
            font.setBold(True)
            key_label.setFont(font)
            self._grid.addWidget(key_label, row, 0, Qt.AlignmentFlag.AlignRight)
            self._grid.addWidget(QLabel(text), row, 1)

    def rows(self) -> list[tuple[str, str]]:
        return list(self._rows)

    def open(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:
        # Give the keyboard back to where it was, so the shortcuts work again at once.
        parent = self.parentWidget()
        if parent is not None and self.hasFocus():
            parent.setFocus()
        super().hideEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 150))
        painter.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Shift alone is half of "?": closing on it would close the overlay at once.
        if event.key() not in _MODIFIERS:
            self.hide()
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.hide()
        event.accept()
