"""The signing and sending flow of one window: certificate set-up, sign, export, resend.

:class:`SigningFlow` is what the rest of the UI talks to. The editor's
``sign_requested(case_id)`` goes to :meth:`SigningFlow.start`, which opens the
:class:`~ui.opinion.sign_dialog.SignDialog`, and first the
:class:`~ui.opinion.signing_setup.SigningSetupDialog` when no certificate is set up yet.
The worklist's "Export PDF…" and "Send again…" come to :meth:`export` and
:meth:`review_problem`. Everything touching the vault runs as an operation; after a
signature, a resend or an export the notifier says the cases changed, so the worklist's
Opinion column refreshes.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reviewer_app.errors import ReviewerError
from ui.notifier import Change, Notifier
from ui.operations import Operations
from ui.qt import QFileDialog, QMessageBox, QObject, QStandardPaths, Qt, QWidget, Signal

NEEDS_CERTIFICATE = (
    "You need a signing certificate before you can sign. Set it up once; after that "
    "Reviewer only asks for its passphrase."
)


def default_export_name(item: Any) -> str:
    """A file name that says what it is, without any patient data."""
    kind = getattr(item, "kind", "opinion") or "opinion"
    return f"second-{kind}-{str(item.item_id)[:8]}.pdf"


def choose_export_path(parent: QWidget | None, suggested: str) -> Path | None:
    """Ask where to export (the user's Documents folder by default)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    start = str(Path(folder) / suggested) if folder else suggested
    path, _ = QFileDialog.getSaveFileName(parent, "Export signed PDF", start, "PDF (*.pdf)")
    if not path:
        return None
    chosen = Path(path)
    return chosen if chosen.suffix.lower() == ".pdf" else chosen.with_suffix(".pdf")


class SigningFlow(QObject):
    """Set-up, signing, export and resend for the window's vault."""

    #: An opinion or addendum was signed and queued: case_id, OutboxItem.
    signed = Signal(str, object)
    #: A signed PDF was exported: the destination path.
    exported = Signal(object)

    def __init__(
        self, ops: Operations, notifier: Notifier, parent_widget: QWidget | None = None
    ) -> None:
        super().__init__(parent_widget)
        self.ops = ops
        self.notifier = notifier
        self.parent_widget = parent_widget
        self.vault: Any = None
        #: The signed-in PlatformSession, or None (set by whoever owns the sync).
        self.platform_session: Callable[[], Any] = lambda: None
        #: Forces the editor's save of ``case_id``; returns the save's future, or None.
        self.save_draft: Callable[[str], concurrent.futures.Future[Any] | None] = lambda _case_id: (
            None
        )
        #: Starts a sync (sends the outbox at once when online); set by the shell.
        self.request_sync: Callable[[], object] = lambda: None
        #: Asks where to export; tests replace it.
        self.choose_path: Callable[[QWidget | None, str], Path | None] = choose_export_path
        #: Key-wrapping cost for new certificates (None: the production default).
        self.scrypt: Any = None
        self.dialog: Any = None

    def set_vault(self, vault: Any) -> None:
        """Work on ``vault`` (None while locked or closed)."""
        self.vault = vault

    # -- certificate -----------------------------------------------------------------
    def setup_certificate(self, *, reason: str = "") -> Any:
        """Open the signing-certificate set-up (File ▸ Signing certificate…)."""
        from ui.opinion.signing_setup import SigningSetupDialog

        if self.vault is None:
            return None
        dialog = SigningSetupDialog(
            self.ops,
            self.vault,
            self.platform_session,
            reason=reason,
            scrypt=self.scrypt,
            parent=self.parent_widget,
        )
        self._show(dialog)
        return dialog

    # -- signing ---------------------------------------------------------------------
    def start(self, case_id: str) -> Any:
        """Sign the open draft (opinion or addendum) of ``case_id``."""
        from ui.opinion.sign_dialog import SignDialog

        if self.vault is None:
            return None
        if isinstance(self.dialog, SignDialog) and self.dialog.isVisible():
            # Sign pressed twice: one dialog, one signature.
            self.dialog.raise_()
            return self.dialog
        dialog = SignDialog(
            self.ops,
            self.vault,
            case_id,
            wait_for=lambda: self.save_draft(case_id),
            parent=self.parent_widget,
        )
        dialog.key_missing.connect(self._offer_setup)
        dialog.signed.connect(self._on_signed)
        dialog.export_requested.connect(lambda item: self.export_item(item, dialog))
        self._show(dialog)
        dialog.start()
        return dialog

    def _offer_setup(self, case_id: str) -> None:
        setup = self.setup_certificate(reason=NEEDS_CERTIFICATE)
        if setup is not None:
            setup.accepted.connect(lambda: self.start(case_id) if setup.chain else None)

    def _on_signed(self, case_id: str, item: Any) -> None:
        self.notifier.notify(Change.CASES)
        self.signed.emit(case_id, item)
        self._sync_soon()

    def _sync_soon(self) -> None:
        # The outbox goes with a sync: start one now rather than at the next interval.
        self.request_sync()

    # -- export ----------------------------------------------------------------------
    def export(self, case_id: str) -> None:
        """Export a signed document of the case (worklist or File menu): the opinion, or
        with addenda, the one the specialist picks."""
        vault = self.vault
        if vault is None:
            return

        def signed(_ctx: object) -> list[Any]:
            from reviewer_app.opinion import outbox

            return outbox.items(vault, case_id)

        def choose(found: list[Any]) -> None:
            from ui.opinion.outbox_view import ExportChoiceDialog

            if self.vault is not vault:
                return
            if not found:
                self._tell("Nothing to export", "This case has no signed opinion yet.")
            elif len(found) == 1:
                self.export_item(found[0])
            else:
                # The opinion and its addenda are separate signed documents.
                dialog = ExportChoiceDialog(found, self.parent_widget)
                dialog.chosen.connect(self.export_item)
                self._show(dialog)

        self.ops.run(signed, success=choose, label="find signed opinion")

    def export_item(self, item: Any, dialog: Any = None) -> None:
        """Ask where, then write the signed bytes there unchanged."""
        vault = self.vault
        if vault is None or item is None:
            return
        destination = self.choose_path(dialog or self.parent_widget, default_export_name(item))
        if destination is None:
            return

        def write(_ctx: object) -> Path:
            from reviewer_app.opinion import finalize

            finalize.export_signed(vault, item.item_id, destination)
            return destination

        def done(path: Path) -> None:
            if dialog is not None:
                dialog.exported(path.name)
            self.exported.emit(path)

        def failed(error: BaseException) -> None:
            if isinstance(error, ReviewerError):
                self._tell(error.title, error.user_text())
            elif isinstance(error, OSError):
                self._tell(
                    "Export failed",
                    f"The PDF could not be written to {destination.name}: "
                    f"{error.strerror or 'the folder cannot be written'}. Choose another "
                    "folder.",
                )
            else:
                self.ops.unhandled.emit(error)

        self.ops.run(write, success=done, failure=failed, label="export opinion")

    # -- conflict / rejection --------------------------------------------------------
    def review_problem(self, case_id: str) -> Any:
        """Show what happened to the case's opinion, what to do, and "Send again"."""
        from ui.opinion.outbox_view import OpinionProblemDialog

        vault = self.vault
        if vault is None:
            return None

        def newest(_ctx: object) -> Any:
            from reviewer_app.opinion import outbox

            found = [i for i in outbox.items(vault, case_id) if i.state in ("conflict", "rejected")]
            return found[-1] if found else None

        def show(item: Any) -> None:
            if item is None or self.vault is not vault:
                return
            dialog = OpinionProblemDialog(item, self.parent_widget)
            dialog.resend_requested.connect(self.resend)
            dialog.export_requested.connect(self.export_item)
            self._show(dialog)

        self.ops.run(newest, success=show, label="opinion problem")
        return None

    def resend(self, item_id: str) -> None:
        """Queue a conflicted opinion again (the specialist reviewed the case)."""
        vault = self.vault
        if vault is None:
            return

        def write(_ctx: object) -> Any:
            from reviewer_app.opinion import outbox

            return outbox.resend(vault, item_id)

        def failed(error: BaseException) -> None:
            if isinstance(error, ReviewerError):
                self._tell("Not sent again", error.user_text())
            else:
                self.ops.unhandled.emit(error)

        self.ops.run(
            write,
            success=lambda _item: self._sync_soon(),
            failure=failed,
            changes=Change.CASES,
            label="send opinion again",
        )

    # -- helpers ---------------------------------------------------------------------
    def _show(self, dialog: Any) -> None:
        self.dialog = dialog
        dialog.finished.connect(lambda _r: self._forget(dialog))
        dialog.open()

    def _forget(self, dialog: Any) -> None:
        if self.dialog is dialog:
            self.dialog = None
        if getattr(dialog, "is_busy", lambda: False)():
            # Hidden by a lock while signing or storing a key: that work finishes (its
            # outcome is kept), and the dialog goes once it has reported.
            dialog.idle.connect(dialog.deleteLater)
        else:
            dialog.deleteLater()

    def _tell(self, title: str, text: str) -> None:
        box = QMessageBox(self.parent_widget)
        box.setObjectName("signingMessage")
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(title)
        box.setText(text)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
