"""Setting up the specialist's signing identity: enroll with the platform, or import a
PKCS#12 file.

Enrollment makes the key pair here (:func:`reviewer_app.opinion.keys.new_private_key`),
sends only a certificate signing request to the signed-in platform
(:func:`reviewer_app.opinion.enrollment.enroll`) and keeps the returned chain; the private
key is wrapped under a passphrase typed twice and stored in the vault. Import reads a
``.p12``/``.pfx`` with its own password and wraps its key the same way. Both run off the
UI thread (key generation, HTTP, scrypt). The last page shows what the certificate says:
the name, credentials and licence number that go into every signature block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from reviewer_app.errors import (
    PassphraseMismatch,
    PassphraseTooShort,
    ReviewerError,
    SignInRequired,
)
from reviewer_app.vault.lock import check_passphrase_strength
from ui.operations import Operations
from ui.qt import (
    QCloseEvent,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)

#: The platform names the certificate from the account; this name is informative only.
CSR_NAME = "Reviewer specialist"
NO_PLATFORM = (
    "Reviewer is not signed in to the platform. Sign in first (Sync ▸ Sign in…), or "
    "import a PKCS#12 file."
)


def certificate_rows(chain: Sequence[Any]) -> list[tuple[str, str]]:
    """What a specialist checks on their certificate, as (label, value) rows."""
    from cryptography.x509.oid import NameOID

    from reviewer_app.opinion.keys import signer_info

    cert = chain[0]
    info = signer_info(cert)
    issuers = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = str(issuers[0].value) if issuers else cert.issuer.rfc4514_string()
    start = cert.not_valid_before_utc.date().isoformat()
    end = cert.not_valid_after_utc.date().isoformat()
    return [
        ("Name", info.name or "—"),
        ("Credentials", info.credentials or "—"),
        ("Licence", info.licence or "—"),
        ("Issued by", issuer or "—"),
        ("Valid", f"{start} to {end}"),
    ]


def _key_store(vault: Any, scrypt: Any) -> Any:
    from reviewer_app.opinion.keys import SigningKeyStore

    return SigningKeyStore(vault) if scrypt is None else SigningKeyStore(vault, scrypt=scrypt)


def check_new_passphrase(first: str, second: str) -> None:
    """PassphraseTooShort or PassphraseMismatch, as for the vault's passphrase."""
    check_passphrase_strength(first)
    if first != second:
        raise PassphraseMismatch()


class _PassphrasePair(QWidget):
    """The passphrase that will protect the signing key, typed twice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = QLineEdit()
        self.first.setObjectName("signingPassphrase")
        self.first.setEchoMode(QLineEdit.EchoMode.Password)
        self.first.setPlaceholderText("At least 8 characters")
        self.second = QLineEdit()
        self.second.setObjectName("signingPassphraseAgain")
        self.second.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Signing passphrase", self.first)
        form.addRow("Type it again", self.second)

    def value(self) -> str:
        """The passphrase, checked (PassphraseTooShort, PassphraseMismatch)."""
        check_new_passphrase(self.first.text(), self.second.text())
        return self.first.text()

    def clear(self) -> None:
        self.first.clear()
        self.second.clear()


def _message_label() -> QLabel:
    label = QLabel()
    label.setObjectName("formMessage")
    label.setWordWrap(True)
    label.hide()
    return label


def _explanation(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("dialogSubtitle")
    label.setWordWrap(True)
    return label


class SigningSetupDialog(QDialog):
    """Get a signing certificate from the platform, or import one (a PKCS#12 file)."""

    #: A certificate is stored: its chain (signer first).
    stored = Signal(object)
    #: No background work of this dialog is running any more.
    idle = Signal()

    def __init__(
        self,
        ops: Operations,
        vault: Any,
        platform_session: Callable[[], Any] = lambda: None,
        *,
        reason: str = "",
        scrypt: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signingSetupDialog")
        self.setWindowTitle("Signing certificate")
        self.setModal(True)
        self.setMinimumWidth(560)
        self._ops = ops
        self._vault = vault
        self._platform_session = platform_session
        self._scrypt = scrypt
        self._busy = False
        #: The stored chain once set up (None before).
        self.chain: tuple[Any, ...] | None = None

        self.pages = QStackedWidget()
        self.choose_page = self._build_choose(reason)
        self.platform_page = self._build_platform()
        self.import_page = self._build_import()
        self.result_page = self._build_result()
        for page in (self.choose_page, self.platform_page, self.import_page, self.result_page):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.addWidget(self.pages)
        self._load_current()

    # -- pages -----------------------------------------------------------------------
    def _build_choose(self, reason: str) -> QWidget:
        page = QWidget()
        self.choose_title = QLabel("Set up your signing certificate")
        self.choose_title.setObjectName("dialogTitle")
        text = (
            "Your opinions are signed with a certificate that names you, your credentials "
            "and your licence number. Its private key is kept on this computer, encrypted "
            "under a passphrase you choose; Reviewer asks for it each time you sign."
        )
        self.reason_label = QLabel(reason)
        self.reason_label.setObjectName("infoNote")
        self.reason_label.setWordWrap(True)
        self.reason_label.setVisible(bool(reason))
        self.current_label = QLabel()
        self.current_label.setObjectName("mutedLabel")
        self.current_label.setWordWrap(True)
        self.current_label.hide()
        self.enroll_choice = QPushButton("Get a certificate from the platform")
        self.enroll_choice.setObjectName("primaryButton")
        self.enroll_choice.clicked.connect(lambda: self._go(self.platform_page))
        self.import_choice = QPushButton("Import a PKCS#12 file…")
        self.import_choice.setObjectName("importChoice")
        self.import_choice.clicked.connect(lambda: self._go(self.import_page))
        close = QPushButton("Cancel")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(self.choose_title)
        layout.addWidget(self.reason_label)
        layout.addWidget(_explanation(text))
        layout.addWidget(self.current_label)
        layout.addSpacing(6)
        layout.addWidget(self.enroll_choice)
        layout.addWidget(self.import_choice)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _build_platform(self) -> QWidget:
        title = "Get a certificate from the platform"
        text = (
            "Reviewer makes your key pair on this computer and sends the platform only a "
            "certificate request; the private key never leaves this computer. The platform "
            "fills in your name, credentials and licence number from your account."
        )
        self.enroll_pair = _PassphrasePair()
        self.enroll_message = _message_label()
        self.enroll_button = QPushButton("Get certificate")
        self.enroll_button.clicked.connect(self.enroll)
        page, self.enroll_back = self._step_page(
            title, text, [self.enroll_pair, self.enroll_message], self.enroll_button
        )
        return page

    def _build_import(self) -> QWidget:
        title = "Import a PKCS#12 file"
        text = (
            "A .p12 or .pfx file with your private key and certificate, for example from "
            "your hospital or a qualified trust service. Its key is then kept in this "
            "profile under the passphrase you choose here."
        )
        self.file_edit = QLineEdit()
        self.file_edit.setObjectName("pkcs12File")
        self.file_edit.setPlaceholderText("Choose a .p12 or .pfx file")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)
        self.file_password = QLineEdit()
        self.file_password.setObjectName("pkcs12Password")
        self.file_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.file_password.setPlaceholderText("The file's own password")
        form = QFormLayout()
        form.addRow("File", file_row)
        form.addRow("File password", self.file_password)
        self.import_pair = _PassphrasePair()
        self.import_message = _message_label()
        self.import_button = QPushButton("Import")
        self.import_button.clicked.connect(self.import_file)
        page, self.import_back = self._step_page(
            title, text, [form, self.import_pair, self.import_message], self.import_button
        )
        return page

    def _step_page(
        self, title: str, text: str, body: list[QWidget | QLayout], primary: QPushButton
    ) -> tuple[QWidget, QPushButton]:
        """A set-up step: title, explanation, ``body``, then Back and ``primary``.
        Returns the page and its Back button (disabled while work runs)."""
        primary.setObjectName("primaryButton")
        primary.setDefault(True)
        back = QPushButton("Back")
        back.clicked.connect(lambda: self._go(self.choose_page))
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch(1)
        buttons.addWidget(primary)
        heading = QLabel(title)
        heading.setObjectName("dialogTitle")
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(heading)
        layout.addWidget(_explanation(text))
        for part in body:
            if isinstance(part, QLayout):
                layout.addLayout(part)
            else:
                layout.addWidget(part)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page, back

    def _build_result(self) -> QWidget:
        page = QWidget()
        title = QLabel("Your signing certificate is ready")
        title.setObjectName("dialogTitle")
        text = (
            "Every opinion you sign shows these details in its signature block. If "
            "something is wrong, correct it in your platform account and get a new "
            "certificate."
        )
        frame = QFrame()
        frame.setObjectName("infoFrame")
        self.details = QFormLayout(frame)
        self.details.setContentsMargins(16, 14, 16, 14)
        done = QPushButton("Done")
        done.setObjectName("primaryButton")
        done.setDefault(True)
        done.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(done)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(14)
        layout.addWidget(title)
        layout.addWidget(_explanation(text))
        layout.addWidget(frame)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    def _go(self, page: QWidget) -> None:
        for message in (self.enroll_message, self.import_message):
            message.hide()
        self.pages.setCurrentWidget(page)

    # -- current certificate ---------------------------------------------------------------
    def _load_current(self) -> None:
        vault = self._vault

        def read(_ctx: object) -> tuple[Any, ...] | None:
            from reviewer_app.opinion.keys import SigningKeyStore

            store = SigningKeyStore(vault)
            return store.chain() if store.has_key() else None

        self._ops.run(read, success=self._show_current, failure=lambda _e: None, label="cert")

    def _show_current(self, chain: tuple[Any, ...] | None) -> None:
        if not chain:
            return
        rows = dict(certificate_rows(chain))
        self.choose_title.setText("Your signing certificate")
        self.current_label.setText(
            f"Current certificate: {rows['Name']}, valid {rows['Valid']}. A new one "
            "replaces it for opinions you sign from now on."
        )
        self.current_label.show()

    # -- enroll ----------------------------------------------------------------------
    def enroll(self) -> None:
        """Make a key here, have the platform certify it, store both (off the UI thread)."""
        if self._busy:
            return
        try:
            passphrase = self.enroll_pair.value()
        except (PassphraseTooShort, PassphraseMismatch) as error:
            self._fail(self.enroll_message, error)
            return
        session = self._platform_session()
        if session is None:
            self._show_message(self.enroll_message, NO_PLATFORM)
            return
        vault, scrypt = self._vault, self._scrypt

        def run(_ctx: object) -> tuple[Any, ...]:
            from reviewer_app.opinion.enrollment import enroll
            from reviewer_app.opinion.keys import new_private_key

            key = new_private_key()
            result = enroll(session, key, common_name=CSR_NAME)
            store = _key_store(vault, scrypt)
            store.store(key, list(result.chain), passphrase, platform_ca=list(result.platform_ca))
            return result.chain

        self._start(self.enroll_message, "Asking the platform for your certificate…")
        self._ops.run(
            run,
            success=self._stored,
            failure=lambda e: self._failed(self.enroll_message, e),
            label="enroll",
        )

    # -- import ----------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a certificate file", "", "PKCS#12 files (*.p12 *.pfx);;All files (*)"
        )
        if path:
            self.file_edit.setText(path)

    def import_file(self) -> None:
        """Read the PKCS#12 file and keep its key under the new passphrase."""
        if self._busy:
            return
        path = Path(self.file_edit.text().strip())
        if not self.file_edit.text().strip():
            self._show_message(self.import_message, "Choose the certificate file first.")
            return
        try:
            passphrase = self.import_pair.value()
        except (PassphraseTooShort, PassphraseMismatch) as error:
            self._fail(self.import_message, error)
            return
        password = self.file_password.text() or None
        vault, scrypt = self._vault, self._scrypt

        def run(_ctx: object) -> tuple[Any, ...]:
            from reviewer_app.errors import NotAPkcs12File

            try:
                data = path.read_bytes()
            except OSError as error:
                raise NotAPkcs12File("The certificate file could not be read.") from error
            store = _key_store(vault, scrypt)
            store.import_pkcs12(data, password, passphrase)
            return store.chain()

        self._start(self.import_message, "Importing the certificate…")
        self._ops.run(
            run,
            success=self._stored,
            failure=lambda e: self._failed(self.import_message, e),
            label="import certificate",
        )

    # -- outcome -----------------------------------------------------------------------
    def _start(self, message: QLabel, text: str) -> None:
        self._busy = True
        for widget in (
            self.enroll_button,
            self.import_button,
            self.enroll_back,
            self.import_back,
        ):
            widget.setEnabled(False)
        self._show_message(message, text)

    def _end(self) -> None:
        self._set_idle()
        for widget in (
            self.enroll_button,
            self.import_button,
            self.enroll_back,
            self.import_back,
        ):
            widget.setEnabled(True)

    def _stored(self, chain: tuple[Any, ...]) -> None:
        self._end()
        self.enroll_pair.clear()
        self.import_pair.clear()
        self.file_password.clear()
        self.chain = tuple(chain)
        while self.details.rowCount():
            self.details.removeRow(0)
        for label, value in certificate_rows(chain):
            shown = QLabel(value)
            shown.setObjectName(f"cert{label.replace(' ', '')}")
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details.addRow(label, shown)
        self._go(self.result_page)
        self.stored.emit(self.chain)

    def _failed(self, message: QLabel, error: BaseException) -> None:
        self._end()
        if isinstance(error, SignInRequired):
            self._show_message(message, NO_PLATFORM)
        elif isinstance(error, ReviewerError):
            self._fail(message, error)
        else:
            self._ops.unhandled.emit(error)

    def _fail(self, message: QLabel, error: ReviewerError) -> None:
        self._show_message(message, error.user_text())

    @staticmethod
    def _show_message(message: QLabel, text: str) -> None:
        message.setText(text)
        message.show()

    # -- closing -----------------------------------------------------------------------
    def is_busy(self) -> bool:
        """Whether work started here (signing, storing a key) is still running."""
        return self._busy

    def _set_idle(self) -> None:
        self._busy = False
        self.idle.emit()

    def done(self, result: int) -> None:
        # Passphrases do not outlive the dialog (it may be hidden by a lock).
        self.enroll_pair.clear()
        self.import_pair.clear()
        self.file_password.clear()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._busy:
            # The key is being stored: let that finish rather than leave half a set-up.
            event.ignore()
            return
        super().closeEvent(event)
