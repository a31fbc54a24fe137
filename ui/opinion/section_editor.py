"""One section of the opinion: a rich-text editor that keeps what was typed verbatim.

The section's HTML is whatever the editor's document says (``toHtml``), never cleaned
up by us; a section the specialist has not touched since it was loaded gives back the
exact string it was loaded from, so opening and closing a draft never rewrites it.
Citations are ``cite:`` anchors: hovering one shows the cited evidence's label, a click
on it asks the workspace to reopen that exact view.
"""

from __future__ import annotations

from collections.abc import Callable

from ui.qt import (
    QEvent,
    QFocusEvent,
    QHelpEvent,
    QMouseEvent,
    QPoint,
    QResizeEvent,
    QSize,
    QSizePolicy,
    Qt,
    QTextCharFormat,
    QTextCursor,
    QTextEdit,
    QToolTip,
    QWidget,
    Signal,
)

CITE_SCHEME = "cite:"
#: Height of an empty section, in lines of text; a section grows with its content.
MIN_LINES = 3
OPEN_HINT = "Click to show it"


def plain_format(link: QTextCharFormat) -> QTextCharFormat:
    """``link``'s character format without the link (anchor, its colour and underline)."""
    plain = QTextCharFormat(link)
    plain.setAnchor(False)
    plain.setAnchorHref("")
    plain.setToolTip("")
    plain.clearForeground()
    plain.setFontUnderline(False)
    return plain


class SectionEditor(QTextEdit):
    """A rich-text section (bold, italic, lists, headings, tables; undo and redo)."""

    #: The user clicked a citation anchor: its citation_id.
    citation_clicked = Signal(str)
    #: The user changed the text (not a load).
    edited = Signal()
    #: The editor got the keyboard (the toolbar and "Cite" act on the last one focused).
    focused = Signal()

    def __init__(
        self, key: str, parent: QWidget | None = None, *, min_lines: int = MIN_LINES
    ) -> None:
        super().__init__(parent)
        self.key = key
        self._min_lines = min_lines
        self.setObjectName(f"section_{key}")
        self.setAcceptRichText(True)
        self.setAutoFormatting(QTextEdit.AutoFormattingFlag.AutoNone)
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.viewport().setMouseTracking(True)
        #: citation_id -> label, for the tooltip (set by the opinion editor).
        self.citation_label: Callable[[str], str | None] = lambda _id: None
        self._loaded: str | None = ""
        self._cache: str | None = ""
        self._loading = False
        self._press_anchor = ""
        self.document().contentsChanged.connect(self._on_changed)
        self.cursorPositionChanged.connect(self._leave_reference)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

    # -- content -------------------------------------------------------------------
    def set_body(self, body: str) -> None:
        """Show ``body`` (HTML); until the user edits, :meth:`body` returns it unchanged."""
        self._loading = True
        try:
            self.setHtml(body)
            self.document().clearUndoRedoStacks()
            self.document().setModified(False)
        finally:
            self._loading = False
        self._loaded = body
        self._cache = body

    def body(self) -> str:
        """The section's HTML: as loaded if untouched, else the editor's, verbatim."""
        if self._cache is None:
            self._cache = self.toHtml() if not self.document().isEmpty() else ""
        return self._cache

    def _on_changed(self) -> None:
        if self._loading:
            return
        self._loaded = None
        self._cache = None
        self.edited.emit()

    # -- size ----------------------------------------------------------------------
    def _fit_height(self, *_args: object) -> None:
        margins = self.contentsMargins()
        frame = margins.top() + margins.bottom() + 2 * int(self.document().documentMargin())
        lines = self.fontMetrics().lineSpacing() * self._min_lines
        content = int(self.document().size().height()) + margins.top() + margins.bottom()
        self.setFixedHeight(max(lines + frame, content + 4))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def sizeHint(self) -> QSize:
        return QSize(320, self.height())

    # -- focus ---------------------------------------------------------------------
    def focusInEvent(self, event: QFocusEvent) -> None:
        super().focusInEvent(event)
        self.focused.emit()

    # -- citations -----------------------------------------------------------------
    def citation_at(self, pos: QPoint) -> str | None:
        """The citation_id of the anchor at viewport position ``pos``, or None."""
        href = self.anchorAt(pos)
        if href.startswith(CITE_SCHEME):
            return href[len(CITE_SCHEME) :]
        return None

    def _leave_reference(self) -> None:
        """Right after a reference, typing starts plain text: Qt would otherwise carry the
        link's format on, and the words typed would become part of the reference."""
        cursor = self.textCursor()
        before = cursor.charFormat()
        if cursor.hasSelection() or not before.isAnchor():
            return
        after = QTextCursor(cursor)
        after.movePosition(QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor)
        if (
            after.hasSelection()
            and after.charFormat().isAnchor()
            and after.charFormat().anchorHref() == before.anchorHref()
        ):
            return  # inside the reference: editing it is the user's choice
        self.setCurrentCharFormat(plain_format(before))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._press_anchor = self.anchorAt(event.position().toPoint())
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        citation = self.citation_at(pos)
        # A plain click on the reference opens it; a drag that selects text does not.
        if (
            citation is not None
            and event.button() == Qt.MouseButton.LeftButton
            and self._press_anchor == self.anchorAt(pos)
            and not self.textCursor().hasSelection()
        ):
            self.citation_clicked.emit(citation)
        self._press_anchor = ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        over = self.citation_at(event.position().toPoint()) is not None
        shape = Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.IBeamCursor
        if self.isReadOnly() and not over:
            shape = Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            citation = self.citation_at(event.pos())
            if citation is not None:
                label = self.citation_label(citation) or "Cited evidence"
                QToolTip.showText(event.globalPos(), f"{label}\n{OPEN_HINT}", self.viewport())
                return True
        return super().viewportEvent(event)
