"""The keyboard help overlay (F1 or ?): every workspace shortcut, over the workspace.

Built from the workspace's own actions and the panes' (``ui.workspace.shortcuts``), one
group per pane, so the list cannot drift from the keys that work. Any key or click
closes it.
"""

from __future__ import annotations

from ui.qt import (
    QColor,
    QEvent,
    QFrame,
    QGridLayout,
    QHBoxLayout,
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
#: Groups are laid out in up to this many columns (a long list would not fit the height).
COLUMNS = 3

Rows = list[tuple[str, str]]


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
        self._columns = QHBoxLayout()
        self._columns.setSpacing(32)
        self._body = QWidget()
        self._body.setLayout(self._columns)
        hint = QLabel("Press any key or click to close.")
        hint.setObjectName("helpHint")
        card_layout = QVBoxLayout(self._card)
        card_layout.setContentsMargins(20, 16, 20, 16)
        card_layout.addWidget(title)
        card_layout.addWidget(self._body)
        card_layout.addWidget(hint)
        outer = QVBoxLayout(self)
        outer.addWidget(self._card, 0, Qt.AlignmentFlag.AlignCenter)
        self._groups: list[tuple[str, Rows]] = []
        parent.installEventFilter(self)
        self.hide()

    def set_shortcuts(self, rows: Rows) -> None:
        """The (keys, description) rows to list, in order, as one group."""
        self.set_groups([("", rows)])

    def set_groups(self, groups: list[tuple[str, Rows]]) -> None:
        """(heading, rows) groups to list: each under its heading, in columns."""
        old = self._body
        self._body = QWidget()
        self._columns = QHBoxLayout(self._body)
        self._columns.setContentsMargins(0, 0, 0, 0)
        self._columns.setSpacing(32)
        layout = self._card.layout()
        layout.replaceWidget(old, self._body)
        old.deleteLater()
        self._groups = [(title, list(rows)) for title, rows in groups]
        count = min(COLUMNS, len(self._groups)) or 1
        columns = [QVBoxLayout() for _ in range(count)]
        heights = [0] * count
        for title, rows in self._groups:
            # The shortest column so far takes the next group: columns end up even.
            n = heights.index(min(heights))
            columns[n].addWidget(self._group_widget(title, rows))
            heights[n] += len(rows) + 2
        for column in columns:
            column.addStretch(1)
            self._columns.addLayout(column)

    @staticmethod
    def _group_widget(title: str, rows: Rows) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 8)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(3)
        first = 0
        if title:
            heading = QLabel(title)
            heading.setObjectName("helpGroup")
            font = heading.font()
            font.setBold(True)
            heading.setFont(font)
            grid.addWidget(heading, 0, 0, 1, 2)
            first = 1
        for row, (keys, text) in enumerate(rows, start=first):
            key_label = QLabel(keys)
            key_label.setObjectName("helpKeys")
            font = key_label.font()
            font.setBold(True)
            key_label.setFont(font)
            grid.addWidget(key_label, row, 0, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(QLabel(text), row, 1)
        return box

    def rows(self) -> Rows:
        """Every row listed, in order (all groups)."""
        return [row for _, rows in self._groups for row in rows]

    def groups(self) -> list[tuple[str, Rows]]:
        """The groups listed: (heading, rows)."""
        return [(title, list(rows)) for title, rows in self._groups]

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
