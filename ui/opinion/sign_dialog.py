"""Signing an opinion (or an addendum): check, show the exact PDF, re-authenticate, sign.

:class:`SignDialog` walks one case through it. Off the UI thread it waits for the
editor's last save, checks completeness (and stops with the list of what is missing),
builds the document with ``finalize.prepare`` and renders it with ``finalize.preview``,
then renders those very bytes to page images (PyMuPDF): what the specialist scrolls
through is what gets signed, byte for byte. The signing passphrase unwraps the key
(re-authentication; a wrong one says so and lets them try again), and
``finalize.sign_and_queue`` signs exactly those bytes and puts them in the outbox. The
last page offers "Export PDF…" and says the opinion goes to the platform with the next
sync.

:class:`~ui.opinion.signing_flow.SigningFlow` opens it, and the set-up dialog first when
no certificate is there yet.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reviewer_app.errors import (
    DraftSigned,
    IncompleteOpinion,
    ReviewerError,
    SigningKeyMissing,
    WrongPassphrase,
)
from ui.operations import Operations
from ui.qt import (
    QCloseEvent,
    QDialog,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QImage,
    QLabel,
    QLineEdit,
    QListWidget,
    QPixmap,
    QProgressBar,
    QPushButton,
    QResizeEvent,
    QScrollArea,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)

#: Preview resolution: 1.4 × 72 dpi ≈ 100 dpi, sharp enough to read on a laptop.
PREVIEW_ZOOM = 1.4
#: How long to wait for the editor's last save before giving up (seconds).
SAVE_TIMEOUT = 15.0
WRONG_PASSPHRASE = "That is not your signing passphrase. Nothing was signed; try again."


@dataclass(frozen=True)
class PageImage:
    """One rendered page: RGB samples made off the UI thread (pixels come later)."""

    width: int
    height: int
    stride: int
    samples: bytes


@dataclass(frozen=True)
class Prepared:
    """The document to sign, its exact bytes and their page images."""

    kind: str
    pdf: bytes
    pages: tuple[PageImage, ...]
    patient_questions: tuple[str, ...]
    author: Any


@dataclass(frozen=True)
class Incomplete:
    """What keeps the draft from being signed (completeness findings)."""

    findings: tuple[str, ...]


def render_pages(pdf: bytes, zoom: float = PREVIEW_ZOOM) -> tuple[PageImage, ...]:
    """Every page of ``pdf`` as RGB samples (no Qt: safe on a worker thread)."""
    import pymupdf

    pages = []
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        for page in doc:
            pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            pages.append(PageImage(pix.width, pix.height, pix.stride, bytes(pix.samples)))
    return tuple(pages)


def prepare_signing(
    vault: Any, case_id: str, wait_for: concurrent.futures.Future[Any] | None = None
) -> Prepared | Incomplete:
    """Everything before the passphrase (runs off the UI thread).

    SigningKeyMissing when no certificate is set up; Incomplete when the draft is not
    ready; otherwise the exact PDF to sign and its pages.
    """
    from reviewer_app.casefile import load_case
    from reviewer_app.opinion import completeness, drafts, finalize
    from reviewer_app.opinion.keys import SigningKeyStore, signer_info

    if wait_for is not None:
        wait_for.result(timeout=SAVE_TIMEOUT)
    chain = SigningKeyStore(vault).chain()
    case = load_case(vault, case_id)
    questions = tuple(case.patient_questions)
    kind = drafts.open_draft_kind(vault, case_id)
    if kind is None and not drafts.can_start_opinion(vault, case_id):
        # The opinion stands signed and nothing is open: an addendum must be started.
        # (A refused opinion can be written again: then a new opinion draft starts.)
        raise DraftSigned()
    kind = kind or drafts.DraftKind.OPINION
    draft = drafts.load_draft(vault, case_id) or drafts.OpinionDraft()
    findings = completeness.check(draft, questions, kind)
    if findings:
        return Incomplete(tuple(f.message for f in findings))
    author = signer_info(chain[0])
    document = finalize.prepare(vault, case_id, author)
    pdf = finalize.preview(document)
    return Prepared(str(kind), pdf, render_pages(pdf), questions, author)


def sign_prepared(vault: Any, case_id: str, prepared: Prepared, passphrase: str) -> Any:
    """Unlock the key with ``passphrase`` and sign exactly ``prepared.pdf`` (off the UI
    thread); the queued outbox item. WrongPassphrase leaves everything as it was."""
    from reviewer_app.opinion import finalize
    from reviewer_app.opinion.keys import SigningKeyStore

    identity = SigningKeyStore(vault).unlock(passphrase)
    return finalize.sign_and_queue(
        vault, case_id, prepared.pdf, identity, prepared.patient_questions
    )


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("dialogTitle")
    label.setWordWrap(True)
    return label


def _text(text: str = "", name: str = "dialogSubtitle") -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


class SignDialog(QDialog):
    """Preview the exact PDF, ask the passphrase, sign and queue; then export."""

    #: No certificate is set up: the flow offers the set-up, then starts again.
    key_missing = Signal(str)
    #: Signed and queued: case_id, the OutboxItem.
    signed = Signal(str, object)
    #: The specialist asked to export the signed PDF: the OutboxItem.
    export_requested = Signal(object)
    #: No background work of this dialog is running any more.
    idle = Signal()

    def __init__(
        self,
        ops: Operations,
        vault: Any,
        case_id: str,
        *,
        wait_for: Callable[[], concurrent.futures.Future[Any] | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signDialog")
        self.setWindowTitle("Sign opinion")
        self.setModal(True)
        self._fit_to_screen()
        self._ops = ops
        self._vault = vault
        self.case_id = case_id
        self._wait_for = wait_for
        self._busy = False
        self.prepared: Prepared | None = None
        self._pixmaps: list[QPixmap] = []
        #: The outbox item once signed.
        self.item: Any = None

        self.pages = QStackedWidget()
        self.busy_page = self._build_busy()
        self.incomplete_page = self._build_incomplete()
        self.review_page = self._build_review()
        self.done_page = self._build_done()
        self.error_page = self._build_error()
        for page in (
            self.busy_page,
            self.incomplete_page,
            self.review_page,
            self.done_page,
            self.error_page,
        ):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 18)
        layout.addWidget(self.pages)

    # -- pages -----------------------------------------------------------------------
    def _build_busy(self) -> QWidget:
        page = QWidget()
        self.busy_label = _text("Saving the draft and preparing the document…")
        bar = QProgressBar()
        bar.setRange(0, 0)
        bar.setTextVisible(False)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.busy_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(bar)
        layout.addStretch(2)
        return page

    def _build_incomplete(self) -> QWidget:
        page = QWidget()
        self.incomplete_title = _heading("The opinion is not ready to sign")
        text = _text("Complete these points in the draft, then sign again:")
        self.findings = QListWidget()
        self.findings.setObjectName("signFindings")
        self.findings.setSpacing(5)
        self.findings.setWordWrap(True)
        back = QPushButton("Back to the draft")
        back.setObjectName("primaryButton")
        back.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(back)
        layout = QVBoxLayout(page)
        layout.setSpacing(12)
        layout.addWidget(self.incomplete_title)
        layout.addWidget(text)
        layout.addWidget(self.findings, 1)
        layout.addLayout(buttons)
        return page

    def _build_review(self) -> QWidget:
        page = QWidget()
        self.review_title = _heading("Check the opinion you are about to sign")
        self.page_count = _text("", "mutedLabel")
        self.page_count.setObjectName("signPageCount")
        self.preview_area = QScrollArea()
        self.preview_area.setObjectName("signPreview")
        self.preview_area.setWidgetResizable(True)
        # Pages are scaled to the width: the reader scrolls down only, as in a PDF reader.
        self.preview_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.preview_area.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.page_holder = QWidget()
        self.page_layout = QVBoxLayout(self.page_holder)
        self.page_layout.setSpacing(16)
        self.page_layout.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.preview_area.setWidget(self.page_holder)

        frame = QFrame()
        frame.setObjectName("infoFrame")
        self.signer_label = _text("", "mutedLabel")
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("signPassphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setPlaceholderText("Signing passphrase")
        self.passphrase.returnPressed.connect(self.sign)
        self.message = _text("", "formMessage")
        self.message.hide()
        self.sign_button = QPushButton("Sign")
        self.sign_button.setObjectName("primaryButton")
        self.sign_button.setDefault(True)
        self.sign_button.clicked.connect(self.sign)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.passphrase, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.sign_button)
        inner = QVBoxLayout(frame)
        inner.setContentsMargins(14, 12, 14, 12)
        inner.addWidget(self.signer_label)
        inner.addLayout(row)
        inner.addWidget(self.message)

        layout = QVBoxLayout(page)
        layout.setSpacing(10)
        layout.addWidget(self.review_title)
        layout.addWidget(self.page_count)
        layout.addWidget(self.preview_area, 1)
        layout.addWidget(frame)
        return page

    def _build_done(self) -> QWidget:
        page = QWidget()
        self.done_title = _heading("Opinion signed")
        self.done_text = _text(
            "It is in the outbox and goes to the platform with the next sync: at once if "
            "you are online, otherwise as soon as the connection is back. The worklist "
            "shows its progress. The signed document cannot be changed any more; "
            "corrections go in an addendum."
        )
        self.export_note = _text("", "mutedLabel")
        self.export_note.setObjectName("exportNote")
        self.export_button = QPushButton("Export PDF…")
        self.export_button.setObjectName("exportButton")
        self.export_button.clicked.connect(lambda: self.export_requested.emit(self.item))
        close = QPushButton("Close")
        close.setObjectName("primaryButton")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(page)
        layout.setSpacing(14)
        layout.addStretch(1)
        layout.addWidget(self.done_title)
        layout.addWidget(self.done_text)
        layout.addWidget(self.export_note)
        layout.addStretch(2)
        layout.addLayout(buttons)
        return page

    def _build_error(self) -> QWidget:
        page = QWidget()
        self.error_title = _heading("")
        self.error_text = _text()
        self.error_text.setObjectName("signError")
        close = QPushButton("Close")
        close.setObjectName("primaryButton")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.error_title)
        layout.addWidget(self.error_text)
        layout.addStretch(2)
        layout.addLayout(buttons)
        return page

    # -- steps -----------------------------------------------------------------------
    def start(self) -> None:
        """Save, check and render off the UI thread; the dialog shows the outcome."""
        self.pages.setCurrentWidget(self.busy_page)
        vault, case_id = self._vault, self.case_id
        future = self._wait_for() if self._wait_for is not None else None
        self._busy = True
        self._ops.run(
            lambda _ctx: prepare_signing(vault, case_id, future),
            success=self._prepared,
            failure=self._prepare_failed,
            label="prepare opinion",
        )

    def _prepared(self, result: Prepared | Incomplete) -> None:
        self._set_idle()
        if isinstance(result, Incomplete):
            self.findings.clear()
            self.findings.addItems(list(result.findings))
            self.pages.setCurrentWidget(self.incomplete_page)
            return
        self.prepared = result
        addendum = result.kind == "addendum"
        what = "addendum" if addendum else "opinion"
        self.setWindowTitle(f"Sign {what}")
        self.review_title.setText(f"Check the {what} you are about to sign")
        self.done_title.setText(f"{what.capitalize()} signed")
        # The review page is laid out first, so the pages fit its real width.
        self.pages.setCurrentWidget(self.review_page)
        layout = self.review_page.layout()
        if layout is not None:
            layout.activate()
        self._show_pages(result.pages)
        author = result.author
        who = ", ".join(p for p in (author.name, author.credentials) if p)
        licence = f" · licence {author.licence}" if author.licence else ""
        self.signer_label.setText(
            f"Signing as {who}{licence}. Type your signing passphrase to sign exactly "
            "this document."
        )
        self.pages.setCurrentWidget(self.review_page)
        self.passphrase.setFocus()

    def _show_pages(self, pages: Sequence[PageImage]) -> None:
        while self.page_layout.count():
            item = self.page_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self._pixmaps = []
        for number, page in enumerate(pages, start=1):
            image = QImage(
                page.samples, page.width, page.height, page.stride, QImage.Format.Format_RGB888
            ).copy()
            self._pixmaps.append(QPixmap.fromImage(image))
            label = QLabel()
            label.setObjectName("signPage")
            label.setToolTip(f"Page {number} of {len(pages)}")
            self.page_layout.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        self._fit_pages()
        noun = "page" if len(pages) == 1 else "pages"
        self.page_count.setText(
            f"{len(pages)} {noun} · this is exactly the document that will be signed"
        )

    def _fit_pages(self) -> None:
        """Scale every page to the preview's width (never above the rendered size)."""
        labels = self.page_labels()
        width = self.preview_area.viewport().width() - 24
        for label, pixmap in zip(labels, self._pixmaps, strict=False):
            target = max(200, min(width, pixmap.width()))
            label.setPixmap(
                pixmap.scaledToWidth(target, Qt.TransformationMode.SmoothTransformation)
            )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._pixmaps:
            self._fit_pages()

    def _fit_to_screen(self) -> None:
        # A page needs height to be read; a laptop screen may have only 800 pixels.
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        height = 900 if area is None else min(900, int(area.height() * 0.9))
        self.resize(820, height)

    def page_labels(self) -> list[QLabel]:
        """The rendered pages shown (for tests and screenshots)."""
        return self.page_holder.findChildren(QLabel, "signPage")

    def _prepare_failed(self, error: BaseException) -> None:
        self._set_idle()
        if isinstance(error, SigningKeyMissing):
            self.key_missing.emit(self.case_id)
            self.reject()
            return
        if isinstance(error, concurrent.futures.TimeoutError):
            self._show_error("The draft could not be saved", "Nothing was signed; try again.")
            return
        if isinstance(error, ReviewerError):
            self._show_error(error.title, error.user_text())
            return
        self._show_error("The opinion could not be prepared", "Nothing was signed.")
        self._ops.unhandled.emit(error)

    def sign(self) -> None:
        """Unlock the key with the typed passphrase and sign (off the UI thread)."""
        prepared = self.prepared
        if prepared is None or self._busy or self.item is not None:
            return
        passphrase = self.passphrase.text()
        if not passphrase:
            self._say("Type your signing passphrase.")
            return
        self._busy = True
        self.sign_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.passphrase.setEnabled(False)
        self._say("Signing…", error=False)
        vault, case_id = self._vault, self.case_id
        self._ops.run(
            lambda _ctx: sign_prepared(vault, case_id, prepared, passphrase),
            success=self._signed,
            failure=self._sign_failed,
            label="sign opinion",
        )

    def _signed(self, item: Any) -> None:
        self._set_idle()
        self.passphrase.clear()
        self.item = item
        self.pages.setCurrentWidget(self.done_page)
        # The preview's room is not needed any more: a compact confirmation.
        self.resize(min(self.width(), 640), max(self.minimumSizeHint().height(), 260))
        self.signed.emit(self.case_id, item)

    def _sign_failed(self, error: BaseException) -> None:
        self._set_idle()
        self.sign_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.passphrase.setEnabled(True)
        self.passphrase.clear()
        if isinstance(error, WrongPassphrase):
            self._say(WRONG_PASSPHRASE)
            self.passphrase.setFocus()
            return
        if isinstance(error, IncompleteOpinion):
            # Changed since the preview (another window, a restore): same list as before.
            self.findings.clear()
            self.findings.addItems(list(error.missing))
            self.pages.setCurrentWidget(self.incomplete_page)
            return
        if isinstance(error, ReviewerError):
            self._show_error(error.title, error.user_text())
            return
        self._show_error("Signing failed", "Nothing was signed or queued.")
        self._ops.unhandled.emit(error)

    def _say(self, text: str, *, error: bool = True) -> None:
        self.message.setObjectName("formMessage" if error else "mutedLabel")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()

    def _show_error(self, title: str, text: str) -> None:
        self.error_title.setText(title)
        self.error_text.setText(text)
        self.pages.setCurrentWidget(self.error_page)

    def exported(self, name: str) -> None:
        """Say where the export went (the file name only)."""
        self.export_note.setText(f"Exported as {name}. The app keeps its own copy.")

    # -- closing -----------------------------------------------------------------------
    def is_busy(self) -> bool:
        """Whether work started here (signing, storing a key) is still running."""
        return self._busy

    def _set_idle(self) -> None:
        self._busy = False
        self.idle.emit()

    def done(self, result: int) -> None:
        self.passphrase.clear()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy and self.prepared is not None:
            # Signing is under way: it finishes (or fails) in a moment; do not hide it.
            event.ignore()
            return
        super().closeEvent(event)
