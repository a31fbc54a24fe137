"""The opinion editor's formatting toolbar: bold, italic, lists, heading, table, undo/redo.

Each button acts on the section that last had the keyboard (the toolbar takes the focus
away when clicked), and each has the usual shortcut, listed in the workspace's help.
Formatting goes through QTextCursor, so it is one undo step like typing.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.opinion.section_editor import SectionEditor
from ui.qt import (
    QAction,
    QFont,
    QKeySequence,
    QTextBlockFormat,
    QTextCharFormat,
    QTextFormat,
    QTextLength,
    QTextListFormat,
    QTextTableFormat,
    QToolBar,
    QWidget,
)
from ui.workspace.shortcuts import describe

#: Rows and columns of a new table (the first row is its header, repeated across pages).
TABLE_SIZE = (3, 3)
HEADING_LEVEL = 3


class FormatBar(QToolBar):
    """Formatting actions for the current section (``target()``)."""

    def __init__(
        self,
        target: Callable[[], SectionEditor | None],
        keys_on: QWidget,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("opinionFormatBar")
        self._target = target
        self.bold = self._add("B", "Bold", ["Ctrl+B"], self._toggle_bold, keys_on)
        self.italic = self._add("I", "Italic", ["Ctrl+I"], self._toggle_italic, keys_on)
        font = self.bold.font()
        font.setBold(True)
        self.bold.setFont(font)
        font = self.italic.font()
        font.setItalic(True)
        self.italic.setFont(font)
        self.addSeparator()
        self.bullets = self._add("•", "Bulleted list", ["Ctrl+Shift+8"], self._bullets, keys_on)
        self.numbers = self._add("1.", "Numbered list", ["Ctrl+Shift+7"], self._numbers, keys_on)
        self.heading = self._add("H", "Heading", ["Ctrl+Alt+H"], self._heading, keys_on)
        self.table = self._add("⊞", "Insert a table", ["Ctrl+Alt+T"], self._table, keys_on)
        self.addSeparator()
        # Undo and redo keys are the text editor's own (Ctrl+Z, Ctrl+Shift+Z / Ctrl+Y);
        # the buttons only make them visible.
        self.undo = self._add("↶", "Undo", [], self._undo, keys_on)
        self.redo = self._add("↷", "Redo", [], self._redo, keys_on)
        self.undo.setToolTip(f"Undo ({QKeySequence(QKeySequence.StandardKey.Undo).toString()})")
        self.redo.setToolTip(f"Redo ({QKeySequence(QKeySequence.StandardKey.Redo).toString()})")

    def _add(
        self,
        text: str,
        description: str,
        keys: list[str],
        slot: Callable[[SectionEditor], None],
        keys_on: QWidget,
    ) -> QAction:
        action = QAction(text, self)
        action.setToolTip(f"{description} ({keys[0]})" if keys else description)
        action.triggered.connect(lambda _checked=False: self._apply(slot))
        if keys:
            describe(action, description, keys, keys_on)
        self.addAction(action)
        return action

    def _apply(self, slot: Callable[[SectionEditor], None]) -> None:
        editor = self._target()
        if editor is None or editor.isReadOnly():
            return
        slot(editor)
        editor.setFocus()

    # -- formatting ----------------------------------------------------------------
    @staticmethod
    def _toggle_bold(editor: SectionEditor) -> None:
        bold = editor.fontWeight() < QFont.Weight.Bold
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        editor.mergeCurrentCharFormat(fmt)

    @staticmethod
    def _toggle_italic(editor: SectionEditor) -> None:
        fmt = QTextCharFormat()
        fmt.setFontItalic(not editor.fontItalic())
        editor.mergeCurrentCharFormat(fmt)

    @staticmethod
    def _list(editor: SectionEditor, style: QTextListFormat.Style) -> None:
        cursor = editor.textCursor()
        current = cursor.currentList()
        cursor.beginEditBlock()
        if current is not None and current.format().style() == style:
            # The same button again takes the paragraph out of the list.
            block = cursor.block()
            current.remove(block)
            fmt = cursor.blockFormat()
            fmt.setIndent(0)
            cursor.setBlockFormat(fmt)
        elif current is not None:
            list_format = current.format()
            list_format.setStyle(style)
            current.setFormat(list_format)
        else:
            cursor.createList(style)
        cursor.endEditBlock()

    def _bullets(self, editor: SectionEditor) -> None:
        self._list(editor, QTextListFormat.Style.ListDisc)

    def _numbers(self, editor: SectionEditor) -> None:
        self._list(editor, QTextListFormat.Style.ListDecimal)

    @staticmethod
    def _heading(editor: SectionEditor) -> None:
        cursor = editor.textCursor()
        level = 0 if cursor.blockFormat().headingLevel() else HEADING_LEVEL
        cursor.beginEditBlock()
        block = QTextBlockFormat()
        block.setHeadingLevel(level)
        cursor.mergeBlockFormat(block)
        # The look of a heading (exported as <h3> by the heading level above).
        cursor.select(cursor.SelectionType.BlockUnderCursor)
        chars = QTextCharFormat()
        chars.setFontWeight(QFont.Weight.Bold if level else QFont.Weight.Normal)
        chars.setProperty(QTextFormat.Property.FontSizeAdjustment, 1 if level else 0)
        cursor.mergeCharFormat(chars)
        cursor.endEditBlock()
        editor.mergeCurrentCharFormat(chars)

    @staticmethod
    def _table(editor: SectionEditor) -> None:
        rows, columns = TABLE_SIZE
        fmt = QTextTableFormat()
        fmt.setHeaderRowCount(1)
        fmt.setBorder(1)
        fmt.setCellPadding(4)
        fmt.setCellSpacing(0)
        fmt.setBorderCollapse(True)
        fmt.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
        editor.textCursor().insertTable(rows, columns, fmt)

    @staticmethod
    def _undo(editor: SectionEditor) -> None:
        editor.undo()

    @staticmethod
    def _redo(editor: SectionEditor) -> None:
        editor.redo()
