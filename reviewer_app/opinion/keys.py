"""The specialist's signing key and certificate chain, kept in the vault.

The key pair is made on this computer (EC P-256) and its private half never leaves it:
enrollment sends only a certificate signing request (:mod:`.enrollment`). In the vault the
private key (PKCS#8 DER) is encrypted once more, with AES-256-GCM under a key derived
from the specialist's passphrase by scrypt, on top of the vault's own encryption. So
signing needs the passphrase again (re-authentication): without it the key cannot be
unwrapped, even with the vault open.

Settings rows (vault ``settings`` table):

* ``opinion.signing_key``       — JSON: scrypt salt and cost, nonce, ciphertext
* ``opinion.certificate_chain`` — PEM, the signer's certificate first
* ``opinion.platform_ca``       — PEM, the platform's CA certificate(s): trust for verify
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from reviewer_app.errors import (
    InvalidSigningCertificate,
    NotAPkcs12File,
    SigningKeyMissing,
    WrongPassphrase,
)
from reviewer_app.vault.keystore import SCRYPT_DEFAULT, ScryptParams

KEY_SETTING = "opinion.signing_key"
CHAIN_SETTING = "opinion.certificate_chain"
TRUST_SETTING = "opinion.platform_ca"
_WRAP_AAD = b"reviewer-signing-key-wrap-v1"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class _Vault(Protocol):
    """What the key store needs of a Vault (keeps this module testable alone)."""

    def write_sync(self, fn: Any) -> Any: ...

    def read(self) -> sqlite3.Connection: ...


def new_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 key: small signatures, fast, accepted by Adobe and NSS."""
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: PrivateKey, common_name: str) -> bytes:
    """A PKCS#10 request (DER) proving possession of ``key``.

    The platform sets the certificate's subject from the account, so the name here is
    informative only.
    """
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class SigningIdentity:
    """An unwrapped private key and its chain: lives only in memory, only while signing."""

    key: PrivateKey
    chain: tuple[x509.Certificate, ...]

    @property
    def certificate(self) -> x509.Certificate:
        """The signer's own certificate."""
        return self.chain[0]


@dataclass(frozen=True)
class SignerInfo:
    """Who the stored certificate names (for the signature block and the UI)."""

    name: str
    credentials: str
    licence: str
    not_after: str


def signer_info(cert: x509.Certificate) -> SignerInfo:
    """Name, credentials (X.520 title) and licence number (X.520 serialNumber)."""

    def first(oid: x509.ObjectIdentifier) -> str:
        values = cert.subject.get_attributes_for_oid(oid)
        return str(values[0].value) if values else ""

    return SignerInfo(
        name=first(NameOID.COMMON_NAME),
        credentials=first(NameOID.TITLE),
        licence=first(NameOID.SERIAL_NUMBER),
        not_after=cert.not_valid_after_utc.date().isoformat(),
    )


def check_chain(key: PrivateKey, chain: list[x509.Certificate]) -> None:
    """The chain starts with the key's certificate, fit for signing documents."""
    if not chain:
        raise InvalidSigningCertificate("No certificate came with the key.")
    leaf_key = chain[0].public_key()
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = leaf_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if mine != theirs:
        raise InvalidSigningCertificate("The certificate does not belong to this key.")
    try:
        usage = chain[0].extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise InvalidSigningCertificate("The certificate is not for signing documents.")


def chain_pem(chain: list[x509.Certificate] | tuple[x509.Certificate, ...]) -> str:
    """Certificates as one PEM text."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in chain)


# --- wrapping -------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wrap_private_key(
    key: PrivateKey, passphrase: str, params: ScryptParams = SCRYPT_DEFAULT
) -> dict[str, Any]:
    """PKCS#8 DER of ``key`` under a fresh scrypt-derived key (the stored JSON form)."""
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    kek = params.derive(passphrase, salt)
    return {
        "v": 1,
        "salt": _b64(salt),
        "n": params.n,
        "r": params.r,
        "p": params.p,
        "nonce": _b64(nonce),
        "ciphertext": _b64(AESGCM(kek).encrypt(nonce, der, _WRAP_AAD)),
    }


def unwrap_private_key(wrapped: dict[str, Any], passphrase: str) -> PrivateKey:
    """The private key back; WrongPassphrase if ``passphrase`` is not the right one."""
    try:
        params = ScryptParams(n=int(wrapped["n"]), r=int(wrapped["r"]), p=int(wrapped["p"]))
        salt = base64.b64decode(wrapped["salt"], validate=True)
        nonce = base64.b64decode(wrapped["nonce"], validate=True)
        ciphertext = base64.b64decode(wrapped["ciphertext"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise SigningKeyMissing("The stored signing key is damaged.") from exc
    kek = params.derive(passphrase, salt)
    try:
        der = AESGCM(kek).decrypt(nonce, ciphertext, _WRAP_AAD)
    except InvalidTag:
        raise WrongPassphrase() from None
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningKeyMissing("The stored signing key is of an unsupported type.")
    return key


# --- the store --------------------------------------------------------------------------


class SigningKeyStore:
    """The signing key, chain and platform CA in one profile's vault."""

    def __init__(self, vault: _Vault, *, scrypt: ScryptParams = SCRYPT_DEFAULT) -> None:
        self._vault = vault
        self._scrypt = scrypt

    def _get(self, name: str) -> str | None:
        row = self._vault.read().execute("SELECT value FROM settings WHERE key = ?", (name,))
        found = row.fetchone()
        return None if found is None else str(found[0])

    def _put(self, values: dict[str, str]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", values.items()
            )

        self._vault.write_sync(write)

    def has_key(self) -> bool:
        """Whether a signing key and its certificate are stored."""
        return self._get(KEY_SETTING) is not None and self._get(CHAIN_SETTING) is not None

    def store(
        self,
        key: PrivateKey,
        chain: list[x509.Certificate],
        passphrase: str,
        *,
        platform_ca: list[x509.Certificate] | None = None,
    ) -> None:
        """Keep ``key`` (wrapped under ``passphrase``) and its chain, replacing any before."""
        check_chain(key, chain)
        values = {
            KEY_SETTING: json.dumps(wrap_private_key(key, passphrase, self._scrypt)),
            CHAIN_SETTING: chain_pem(chain),
        }
        if platform_ca:
            values[TRUST_SETTING] = chain_pem(platform_ca)
        self._put(values)

    def chain(self) -> tuple[x509.Certificate, ...]:
        """The stored chain, signer first; SigningKeyMissing if none."""
        text = self._get(CHAIN_SETTING)
        if text is None:
            raise SigningKeyMissing()
        return tuple(x509.load_pem_x509_certificates(text.encode("ascii")))

    def platform_ca(self) -> list[x509.Certificate]:
        """The platform CA certificates stored at enrollment (empty if none)."""
        text = self._get(TRUST_SETTING)
        return [] if text is None else x509.load_pem_x509_certificates(text.encode("ascii"))

    def unlock(self, passphrase: str) -> SigningIdentity:
        """Re-authentication: the key unwrapped with ``passphrase``, and its chain."""
        text = self._get(KEY_SETTING)
        if text is None:
            raise SigningKeyMissing()
        chain = self.chain()
        try:
            wrapped = json.loads(text)
        except ValueError as exc:
            raise SigningKeyMissing("The stored signing key is damaged.") from exc
        return SigningIdentity(unwrap_private_key(wrapped, passphrase), chain)

    def change_passphrase(self, old: str, new: str) -> None:
        """Wrap the key under ``new`` (call when the local passphrase changes)."""
        identity = self.unlock(old)
        self._put({KEY_SETTING: json.dumps(wrap_private_key(identity.key, new, self._scrypt))})

    def import_pkcs12(self, data: bytes, password: str | None, passphrase: str) -> SignerInfo:
        """Store the key and chain of a PKCS#12 file (opened with ``password``)."""
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(
                data, password.encode("utf-8") if password else None
            )
        except ValueError as exc:
            # cryptography says "Invalid password or PKCS12 data" for both.
            raise NotAPkcs12File() from exc
        if key is None or cert is None:
            raise NotAPkcs12File("The PKCS#12 file holds no private key with its certificate.")
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise InvalidSigningCertificate("Only EC and RSA signing keys are supported.")
        chain = [cert, *extra]
        self.store(key, chain, passphrase)
        return signer_info(cert)
