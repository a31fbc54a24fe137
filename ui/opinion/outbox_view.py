"""How the worklist speaks about an opinion on its way, and what to do when it stopped.

:func:`opinion_text`, :func:`opinion_tooltip` and :func:`opinion_rank` turn a
``states.OpinionState`` into the worklist's Opinion column. :class:`OpinionProblemDialog`
says what happened to an opinion in conflict or rejected, that it is kept unchanged, and
what to do: after a conflict, review the case and "Send again" (same opinion identifier,
so the platform still gets it at most once); after a rejection, export it and contact the
platform.
"""

from __future__ import annotations

from typing import Any

from ui.qt import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
    Signal,
)

#: Stage → worklist text.
STAGE_TEXT = {
    "draft": "Draft",
    "signed": "Signed",
    "queued": "Queued (waiting for connection)",
    "uploaded": "Uploaded ✓",
    "conflict": "Conflict",
    "rejected": "Rejected",
}
#: Stage → sort rank: what needs the specialist first.
_RANK = {"conflict": 0, "rejected": 1, "draft": 2, "signed": 3, "queued": 4, "uploaded": 5}
PROBLEM_STAGES = frozenset({"conflict", "rejected"})
CONFLICT_ADVICE = (
    "Open the case and look at what changed on the platform (new records, questions or "
    "answers). If your signed opinion still stands, send it again. If it needs a "
    "correction, send it again and add an addendum."
)
REJECTED_ADVICE = (
    "The platform will not take this opinion as it is. It stays on this computer "
    "unchanged: export it if you need it, and contact the platform's support."
)


def opinion_text(state: Any) -> str:
    """The Opinion column: 'Uploaded ✓', 'Draft', '… · 1 addendum'."""
    if state is None:
        return "—"
    text = STAGE_TEXT.get(state.stage, state.stage.capitalize())
    addenda = getattr(state, "addenda", 0)
    if addenda:
        text += f" · {addenda} addendum" if addenda == 1 else f" · {addenda} addenda"
    return text


def opinion_tooltip(state: Any) -> str | None:
    """The server's receipt, or what went wrong and what to do."""
    if state is None:
        return None
    detail = state.detail or ""
    if state.stage == "uploaded":
        return f"Received by the platform: {detail}" if detail else "Received by the platform"
    if state.stage == "conflict":
        return "\n".join(p for p in (detail, "Right-click ▸ Send again… after reviewing") if p)
    if state.stage == "rejected":
        return "\n".join(p for p in (detail, "Right-click ▸ What happened…") if p)
    if state.stage == "signed":
        return f"{detail or 'Signed'}; it goes to the platform with the next sync"
    if state.stage == "queued":
        return "\n".join(
            p for p in ("Waiting for the connection; sent with the next sync", detail) if p
        )
    return detail or None


def opinion_rank(state: Any) -> int:
    """Sort key: conflicts and rejections first, uploaded last, no opinion after all."""
    return len(_RANK) if state is None else _RANK.get(state.stage, len(_RANK))


class OpinionProblemDialog(QDialog):
    """An opinion in conflict or rejected: what happened, what to do, send again."""

    #: The specialist reviewed the case and sends the opinion again: its item_id.
    resend_requested = Signal(str)
    #: Export the kept signed PDF: the OutboxItem.
    export_requested = Signal(object)

    def __init__(self, item: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("opinionProblemDialog")
        self.item = item
        conflict = str(item.state) == "conflict"
        self.setWindowTitle("Opinion not delivered")
        self.setModal(True)
        self.setMinimumWidth(520)
        title = QLabel(
            "The case changed after you signed" if conflict else "The platform refused the opinion"
        )
        title.setObjectName("dialogTitle")
        what = QLabel(item.message or item.last_error or "")
        what.setObjectName("problemWhat")
        what.setWordWrap(True)
        kept = QLabel("Your signed opinion is kept on this computer, unchanged.")
        kept.setObjectName("mutedLabel")
        # The outbox's conflict message says so already.
        kept.setVisible(not conflict)
        todo = QLabel(CONFLICT_ADVICE if conflict else REJECTED_ADVICE)
        todo.setObjectName("dialogSubtitle")
        todo.setWordWrap(True)

        self.reviewed = QCheckBox("I have reviewed what changed in the case")
        self.reviewed.setObjectName("reviewedCheck")
        self.reviewed.setVisible(conflict)
        self.resend_button = QPushButton("Send again")
        self.resend_button.setObjectName("primaryButton")
        self.resend_button.setVisible(conflict)
        self.resend_button.setEnabled(False)
        self.reviewed.toggled.connect(self.resend_button.setEnabled)
        self.resend_button.clicked.connect(self._resend)
        export = QPushButton("Export PDF…")
        export.clicked.connect(lambda: self.export_requested.emit(self.item))
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(export)
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(self.resend_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 18)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(what)
        layout.addWidget(kept)
        layout.addWidget(todo)
        layout.addWidget(self.reviewed)
        layout.addLayout(buttons)

    def _resend(self) -> None:
        if self.reviewed.isChecked():
            self.resend_requested.emit(self.item.item_id)
            self.accept()


def document_names(items: list[Any]) -> list[str]:
    """'Opinion', 'Addendum 1', … for a case's outbox items (oldest first)."""
    names, addenda = [], 0
    for item in items:
        if getattr(item, "kind", "opinion") == "addendum":
            addenda += 1
            names.append(f"Addendum {addenda}")
        else:
            names.append("Opinion")
    return names


class ExportChoiceDialog(QDialog):
    """A case with an opinion and addenda: which signed document to export."""

    #: The OutboxItem to export.
    chosen = Signal(object)

    def __init__(self, items: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportChoiceDialog")
        self.setWindowTitle("Export signed PDF")
        self.setModal(True)
        self.items = list(items)
        title = QLabel("Which signed document?")
        title.setObjectName("dialogTitle")
        self.list = QListWidget()
        self.list.setObjectName("exportChoices")
        self.list.addItems(document_names(self.items))
        self.list.setCurrentRow(len(self.items) - 1)
        self.list.itemDoubleClicked.connect(lambda _item: self._export())
        export = QPushButton("Export…")
        export.setObjectName("primaryButton")
        export.setDefault(True)
        export.clicked.connect(self._export)
        close = QPushButton("Cancel")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        buttons.addWidget(export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 18)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def _export(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.items):
            self.accept()
            self.chosen.emit(self.items[row])
