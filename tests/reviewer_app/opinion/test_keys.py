"""The signing key in the vault: wrapped under the passphrase (re-authentication), the
chain and platform CA beside it, PKCS#12 import."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from reviewer_app.errors import (
    InvalidSigningCertificate,
    NotAPkcs12File,
    SigningKeyMissing,
    WrongPassphrase,
)
from reviewer_app.opinion import Enrollment, SigningKeyStore, new_private_key, signer_info
from reviewer_app.opinion.keys import KEY_SETTING
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import FAST_SCRYPT, PASSPHRASE


def raw_setting(vault: Vault, name: str) -> str:
    row = vault.read().execute("SELECT value FROM settings WHERE key = ?", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def private_der(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_unlock_with_the_passphrase_gives_the_key_back(
    key_store: SigningKeyStore, signing_key: ec.EllipticCurvePrivateKey, enrollment: Enrollment
) -> None:
    identity = key_store.unlock(PASSPHRASE)
    assert private_der(identity.key) == private_der(signing_key)  # type: ignore[arg-type]
    assert identity.chain == enrollment.chain
    assert key_store.platform_ca() == list(enrollment.platform_ca)
    info = signer_info(identity.certificate)
    assert (info.name, info.licence) == ("Dr Demo Specialist", "SYN-LIC-70001")


def test_wrong_passphrase_cannot_unwrap(key_store: SigningKeyStore) -> None:
    with pytest.raises(WrongPassphrase):
        key_store.unlock("not the passphrase")


def test_the_stored_key_is_not_in_clear(
    key_store: SigningKeyStore, vault: Vault, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    stored = raw_setting(vault, KEY_SETTING)
    secret = signing_key.private_numbers().private_value.to_bytes(32, "big")
    assert secret.hex() not in stored
    wrapped = json.loads(stored)
    assert {"salt", "n", "r", "p", "nonce", "ciphertext"} <= set(wrapped)
    ciphertext = base64.b64decode(wrapped["ciphertext"])
    assert secret not in ciphertext
    assert private_der(signing_key) not in ciphertext


def test_changing_the_passphrase_rewraps(key_store: SigningKeyStore) -> None:
    key_store.change_passphrase(PASSPHRASE, "a new local passphrase")
    with pytest.raises(WrongPassphrase):
        key_store.unlock(PASSPHRASE)
    assert key_store.unlock("a new local passphrase").certificate is not None


def test_empty_store_says_no_signing_key(vault: Vault) -> None:
    store = SigningKeyStore(vault, scrypt=FAST_SCRYPT)
    assert not store.has_key()
    with pytest.raises(SigningKeyMissing):
        store.unlock(PASSPHRASE)


def test_a_certificate_of_another_key_is_refused(vault: Vault, enrollment: Enrollment) -> None:
    store = SigningKeyStore(vault, scrypt=FAST_SCRYPT)
    with pytest.raises(InvalidSigningCertificate):
        store.store(new_private_key(), list(enrollment.chain), PASSPHRASE)
    assert not store.has_key()


def test_pkcs12_import(
    vault: Vault, signing_key: ec.EllipticCurvePrivateKey, enrollment: Enrollment
) -> None:
    leaf, *cas = enrollment.chain
    p12 = pkcs12.serialize_key_and_certificates(
        b"dr-demo",
        signing_key,
        leaf,
        cas,
        serialization.BestAvailableEncryption(b"p12 password"),
    )
    store = SigningKeyStore(vault, scrypt=FAST_SCRYPT)
    with pytest.raises(NotAPkcs12File):
        store.import_pkcs12(p12, "wrong password", PASSPHRASE)
    with pytest.raises(NotAPkcs12File):
        store.import_pkcs12(b"not a pkcs12 file", "p12 password", PASSPHRASE)
    assert not store.has_key()
    info = store.import_pkcs12(p12, "p12 password", PASSPHRASE)
    assert info.licence == "SYN-LIC-70001"
    identity = store.unlock(PASSPHRASE)
    assert private_der(identity.key) == private_der(signing_key)  # type: ignore[arg-type]
    assert identity.chain == enrollment.chain


def test_pkcs12_without_a_key_is_refused(vault: Vault, enrollment: Enrollment) -> None:
    p12 = pkcs12.serialize_key_and_certificates(
        b"ca only", None, None, list(enrollment.chain), serialization.NoEncryption()
    )
    with pytest.raises(NotAPkcs12File):
        SigningKeyStore(vault, scrypt=FAST_SCRYPT).import_pkcs12(p12, None, PASSPHRASE)
