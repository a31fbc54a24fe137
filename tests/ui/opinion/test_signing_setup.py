"""The signing-certificate set-up dialog against the reference server's CA over real HTTP
on 127.0.0.1: enrollment, PKCS#12 import, and the errors a specialist can meet."""

# ruff: noqa: F811 - pytest fixtures imported from sign_helpers are parameters here

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion.enrollment import enroll
from reviewer_app.opinion.keys import SigningKeyStore, new_private_key, signer_info
from tests.reviewer_app.sync.helpers import signed_in
from tests.ui.helpers import FAST_SCRYPT
from tests.ui.opinion.sign_helpers import pki_server, platform  # noqa: F401
from ui.operations import Operations
from ui.opinion.signing_setup import NO_PLATFORM, SigningSetupDialog
from ui.qt import QLabel

NEW_PASSPHRASE = "a new signing passphrase"


def _dialog(qtbot: Any, ops: Operations, vault: Any, session: Any) -> SigningSetupDialog:
    dialog = SigningSetupDialog(ops, vault, lambda: session, scrypt=FAST_SCRYPT)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def _type_passphrases(pair: Any, first: str, second: str) -> None:
    pair.first.setText(first)
    pair.second.setText(second)


def _shown(dialog: SigningSetupDialog, name: str) -> str:
    label = dialog.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def test_enrolling_from_the_dialog_stores_a_key_only_the_passphrase_opens(
    qtbot: Any, vault: Any, ops: Operations, platform: PlatformSession
) -> None:
    dialog = _dialog(qtbot, ops, vault, platform)
    dialog.enroll_choice.click()
    assert dialog.pages.currentWidget() is dialog.platform_page
    _type_passphrases(dialog.enroll_pair, NEW_PASSPHRASE, NEW_PASSPHRASE)
    with qtbot.waitSignal(dialog.stored, timeout=60_000):
        dialog.enroll_button.click()
    assert dialog.pages.currentWidget() is dialog.result_page

    store = SigningKeyStore(vault)
    assert store.has_key()
    info = signer_info(store.chain()[0])
    # What the dialog shows is what the certificate says (the platform's account data).
    assert info.name and info.licence
    assert _shown(dialog, "certName") == info.name
    assert _shown(dialog, "certCredentials") == (info.credentials or "—")
    assert _shown(dialog, "certLicence") == info.licence
    issuer = store.chain()[0].issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert _shown(dialog, "certIssuedby") == issuer
    assert _shown(dialog, "certValid").endswith(info.not_after)
    # The key is the one certified, and only the new passphrase unwraps it.
    identity = store.unlock(NEW_PASSPHRASE)
    assert identity.certificate.public_key() == identity.key.public_key()
    assert store.platform_ca(), "the platform CA is kept as the trust anchor"
    # The passphrase fields do not keep what was typed.
    assert dialog.enroll_pair.first.text() == ""


@pytest.mark.parametrize(
    "typed",
    [("short", "short", "too short"), (NEW_PASSPHRASE, NEW_PASSPHRASE + "!", "same passphrase")],
)
def test_a_weak_or_mistyped_passphrase_is_refused_before_anything_is_sent(
    qtbot: Any, vault: Any, ops: Operations, platform: PlatformSession, typed: tuple[str, ...]
) -> None:
    first, second, expected = typed
    dialog = _dialog(qtbot, ops, vault, platform)
    dialog.enroll_choice.click()
    _type_passphrases(dialog.enroll_pair, first, second)
    dialog.enroll_button.click()
    assert expected in dialog.enroll_message.text().lower()
    assert dialog.enroll_message.isVisible()
    assert not SigningKeyStore(vault).has_key()


def test_enrolling_without_a_platform_sign_in_says_what_to_do(
    qtbot: Any, vault: Any, ops: Operations
) -> None:
    dialog = _dialog(qtbot, ops, vault, None)
    dialog.enroll_choice.click()
    _type_passphrases(dialog.enroll_pair, NEW_PASSPHRASE, NEW_PASSPHRASE)
    dialog.enroll_button.click()
    assert dialog.enroll_message.text() == NO_PLATFORM
    assert not SigningKeyStore(vault).has_key()


@pytest.fixture(scope="module")
def pkcs12_file(
    tmp_path_factory: pytest.TempPathFactory, pki_server: RunningServer
) -> tuple[Path, Any]:
    """A .p12 with a key certified by the server's CA, under the password 'p12-secret'."""
    key = new_private_key()
    with signed_in(pki_server) as session:
        result = enroll(session, key, common_name="Imported specialist")
    data = pkcs12.serialize_key_and_certificates(
        b"specialist",
        key,
        result.chain[0],
        list(result.chain[1:]),
        BestAvailableEncryption(b"p12-secret"),
    )
    path = tmp_path_factory.mktemp("p12") / "specialist.p12"
    path.write_bytes(data)
    return path, result.chain[0]


def test_importing_a_pkcs12_file_needs_its_password_then_stores_its_key(
    qtbot: Any, vault: Any, ops: Operations, pkcs12_file: tuple[Path, Any]
) -> None:
    path, certificate = pkcs12_file
    dialog = _dialog(qtbot, ops, vault, None)
    dialog.import_choice.click()
    assert dialog.pages.currentWidget() is dialog.import_page
    dialog.file_edit.setText(str(path))
    dialog.file_password.setText("wrong password")
    _type_passphrases(dialog.import_pair, NEW_PASSPHRASE, NEW_PASSPHRASE)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled() and ops.pending() == 0)
    assert "password" in dialog.import_message.text()
    assert not SigningKeyStore(vault).has_key()

    dialog.file_password.setText("p12-secret")
    _type_passphrases(dialog.import_pair, NEW_PASSPHRASE, NEW_PASSPHRASE)
    with qtbot.waitSignal(dialog.stored, timeout=10_000):
        dialog.import_button.click()
    store = SigningKeyStore(vault)
    assert store.chain()[0] == certificate
    assert _shown(dialog, "certName") == signer_info(certificate).name
    assert store.unlock(NEW_PASSPHRASE).certificate == certificate


def test_a_missing_file_is_named_not_crashed_on(
    qtbot: Any, vault: Any, ops: Operations, tmp_path: Path
) -> None:
    dialog = _dialog(qtbot, ops, vault, None)
    dialog.import_choice.click()
    dialog.file_edit.setText(str(tmp_path / "nowhere.p12"))
    _type_passphrases(dialog.import_pair, NEW_PASSPHRASE, NEW_PASSPHRASE)
    dialog.import_button.click()
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled() and ops.pending() == 0)
    assert "could not be read" in dialog.import_message.text()
    assert not SigningKeyStore(vault).has_key()


def test_the_demo_enrolls_at_once_under_the_demo_passphrase(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ui import demo_platform
    from ui.demo import DemoSession
    from ui.demo_platform import start_platform

    # The demo's platform, smaller: the enrollment is what is tested here.
    monkeypatch.setattr(demo_platform, "DEMO_CASES", 1)
    monkeypatch.setattr(demo_platform, "DEMO_CT_SLICES", 2)
    demo = DemoSession()
    try:
        vault = demo.create_vault()
        try:
            start_platform(demo, vault)
            store = SigningKeyStore(vault)
            assert store.has_key()
            identity = store.unlock(demo.passphrase)
            assert identity.certificate.public_key() == identity.key.public_key()
            assert signer_info(identity.certificate).licence
            assert store.platform_ca()
        finally:
            vault.close()
    finally:
        demo.cleanup()
