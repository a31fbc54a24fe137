"""The draft's history: its saved versions, one shown read-only, and "Restore".

Versions and their text are read off the UI thread; a version read for another
selection than the current one is dropped. Restoring is the editor's job (it saves
what is in the editor first, so the restore can itself be undone from here).
"""

from __future__ import annotations

import concurrent.futures
import html
import re
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from reviewer_app.opinion import drafts
from reviewer_app.opinion.completeness import plain_text
from reviewer_app.opinion.drafts import SECTION_TITLES, DraftVersion, OpinionDraft, Section
from ui.operations import Operation, Operations
from ui.qt import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QPushButton,
    QSplitter,
    QStandardItem,
    QStandardItemModel,
    Qt,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    Signal,
)

_VERSION_ROLE = Qt.ItemDataRole.UserRole + 1
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def body_fragment(section_html: str) -> str:
    """The inside of a section's <body> (the editor stores whole documents)."""
    match = _BODY.search(section_html)
    return match.group(1) if match else section_html


def draft_html(draft: OpinionDraft, questions: Sequence[str]) -> str:
    """The whole draft as one read-only page: each section under its title."""
    parts = []
    if draft.verdict is not None:
        parts.append(f"<p><b>Current diagnosis:</b> {html.escape(str(draft.verdict))}</p>")
    # The document's order (the stored form is sorted by name); empty sections left out.
    for section in Section:
        body = draft.text(section)
        if plain_text(body).strip():
            title = SECTION_TITLES[section]
            parts.append(f"<h3>{html.escape(title)}</h3>{body_fragment(body)}")
    for number, answer in enumerate(draft.answers, start=1):
        if not plain_text(answer).strip():
            continue
        question = questions[number - 1] if number <= len(questions) else ""
        parts.append(
            f"<h3>Patient question {number}</h3><p><i>{html.escape(question)}</i></p>"
            f"{body_fragment(answer)}"
        )
    return "".join(parts)


def version_text(version: DraftVersion) -> str:
    """How a version is listed: its local save time."""
    return version.saved_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class HistoryDialog(QDialog):
    """Browse the saved versions of a case's draft; "Restore" one.

    ``after``: a save still on its way to the vault that the list must include."""

    #: The user chose to restore this version number.
    restore_requested = Signal(int)

    def __init__(
        self,
        ops: Operations,
        vault: object,
        case_id: str,
        questions: Sequence[str],
        *,
        read_only: bool = False,
        after: Future[Any] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("opinionHistory")
        self.setWindowTitle("Draft history")
        self._ops = ops
        self._vault = vault
        self._case_id = case_id
        self._questions = list(questions)
        self._reading: Operation | None = None
        self._after = after
        self.model = QStandardItemModel(self)
        self.versions = QListView()
        self.versions.setObjectName("historyVersions")
        self.versions.setModel(self.model)
        self.versions.setEditTriggers(QListView.EditTrigger.NoEditTriggers)
        self.versions.selectionModel().currentChanged.connect(
            lambda index, _prev: self._show(index)
        )
        self.preview = QTextBrowser()
        self.preview.setObjectName("historyPreview")
        self.preview.setOpenLinks(False)
        self.status = QLabel("Reading the history…")
        split = QSplitter()
        split.addWidget(self.versions)
        split.addWidget(self.preview)
        split.setStretchFactor(1, 3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setObjectName("restoreVersion")
        self.restore_button.setToolTip(
            "Make this version the draft again (the current text stays in the history)"
        )
        self.restore_button.setEnabled(False)
        self.restore_button.setVisible(not read_only)
        self.restore_button.clicked.connect(self._restore)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.resize(860, 560)
        self._load()

    def _load(self) -> None:
        vault, case_id, after = self._vault, self._case_id, self._after

        def read(_ctx: object) -> list[DraftVersion]:
            if after is not None:
                # The save made just before opening is listed: wait for the writer.
                concurrent.futures.wait([after])
            return drafts.history(vault, case_id)  # type: ignore[arg-type]

        self._ops.run(
            read,
            success=self._listed,
            failure=lambda _error: self.status.setText("The history could not be read."),
            label="draft history",
        )

    def _listed(self, versions: list[DraftVersion]) -> None:
        self.model.clear()
        for version in versions:
            item = QStandardItem(version_text(version))
            item.setData(version.version, _VERSION_ROLE)
            self.model.appendRow(item)
        self.status.setText(
            f"{len(versions)} saved versions, newest first." if versions else "Nothing saved yet."
        )
        if versions:
            self.versions.setCurrentIndex(self.model.index(0, 0))

    def selected_version(self) -> int | None:
        index = self.versions.currentIndex()
        return None if not index.isValid() else int(self.model.data(index, _VERSION_ROLE))

    def _show(self, index: object) -> None:
        version = self.selected_version()
        self.restore_button.setEnabled(False)
        if version is None:
            self.preview.clear()
            return
        if self._reading is not None:
            self._reading.cancel()
        vault, case_id = self._vault, self._case_id
        self._reading = self._ops.run(
            lambda _ctx: drafts.load_version(vault, case_id, version),  # type: ignore[arg-type]
            success=lambda draft: self._shown(version, draft),
            failure=lambda _error: self.preview.setPlainText("This version cannot be read."),
            label="draft version",
        )

    def _shown(self, version: int, draft: OpinionDraft) -> None:
        if version != self.selected_version():
            return  # the user moved on meanwhile
        self._reading = None
        self.preview.setHtml(draft_html(draft, self._questions))
        self.restore_button.setEnabled(True)

    def _restore(self) -> None:
        version = self.selected_version()
        if version is not None:
            self.restore_requested.emit(version)
            self.accept()
