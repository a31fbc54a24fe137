"""Where the vault's database key lives: the OS keyring, a passphrase, or only memory.

The database key is 32 random bytes used as SQLCipher's raw key (no KDF on open). It is
kept in exactly one of three places, chosen when the profile is created:

* ``keyring`` — the OS keyring (Secret Service, Keychain, Credential Manager) through
  the ``keyring`` package. Nothing secret is on disk.
* ``passphrase`` — when no usable keyring exists: an scrypt-derived key-encryption key
  wraps the database key with AES-256-GCM, and only the wrapped form is stored in
  ``profile.json``.
* ``memory`` — demo profiles: the key never leaves the process.

Every keyring failure is translated here into one of the user-facing errors
(KeyringLocked, KeyringEntryMissing, KeyringUnavailable), so callers never see
backend-specific exceptions.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from reviewer_app.errors import (
    KeyringEntryMissing,
    KeyringLocked,
    KeyringUnavailable,
    ProfileDamaged,
    WrongPassphrase,
)

log = logging.getLogger(__name__)

KEY_BYTES = 32
KEYRING_SERVICE = "Reviewer"
_KEY_CHECK_LABEL = b"reviewer-vault-key-check"
_WRAP_AAD = b"reviewer-vault-key-wrap-v1"


class KeySource(enum.StrEnum):
    """Where a profile's database key is kept (stored in profile.json)."""

    KEYRING = "keyring"
    PASSPHRASE = "passphrase"
    MEMORY = "memory"


@dataclass(frozen=True)
class ScryptParams:
    """Cost parameters of scrypt. Stored next to every hash, so they can change later."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    def derive(self, secret: str, salt: bytes, length: int = 32) -> bytes:
        """Derive ``length`` bytes from ``secret`` (UTF-8) and ``salt``."""
        return Scrypt(salt=salt, length=length, n=self.n, r=self.r, p=self.p).derive(
            secret.encode("utf-8")
        )


#: The production cost (~128 MiB, ~0.5 s). Tests that do not measure cost may pass
#: cheaper parameters explicitly; nothing reads them from the environment.
SCRYPT_DEFAULT = ScryptParams()


def new_db_key() -> bytes:
    """A fresh random database key."""
    return secrets.token_bytes(KEY_BYTES)


def key_check(key: bytes) -> str:
    """A short, non-secret fingerprint of the key, stored in profile.json.

    It lets opening tell a wrong key (fingerprint differs: the database is not touched
    at all) from a damaged database (fingerprint matches, the database does not read).
    """
    return hmac.new(key, _KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


def key_matches(key: bytes, expected_check: str) -> bool:
    """True if ``key`` has the stored fingerprint (constant-time compare)."""
    return hmac.compare_digest(key_check(key), expected_check)


# --- passphrase mode ------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class WrappedKey:
    """The database key encrypted under a passphrase-derived key (profile.json form)."""

    salt: str
    n: int
    r: int
    p: int
    nonce: str
    ciphertext: str

    def to_json(self) -> dict[str, Any]:
        """The dict stored under ``wrapped_key`` in profile.json."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> WrappedKey:
        """Parse profile.json's ``wrapped_key``; ProfileDamaged if malformed."""
        try:
            wrapped = cls(
                salt=str(data["salt"]),
                n=int(data["n"]),
                r=int(data["r"]),
                p=int(data["p"]),
                nonce=str(data["nonce"]),
                ciphertext=str(data["ciphertext"]),
            )
            base64.b64decode(wrapped.salt, validate=True)
            base64.b64decode(wrapped.nonce, validate=True)
            base64.b64decode(wrapped.ciphertext, validate=True)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProfileDamaged("The wrapped key in profile.json is damaged.") from exc
        return wrapped


def wrap_key(key: bytes, passphrase: str, params: ScryptParams = SCRYPT_DEFAULT) -> WrappedKey:
    """Encrypt ``key`` under a KEK derived from ``passphrase`` with a fresh salt."""
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    kek = params.derive(passphrase, salt)
    ciphertext = AESGCM(kek).encrypt(nonce, key, _WRAP_AAD)
    return WrappedKey(
        salt=_b64(salt),
        n=params.n,
        r=params.r,
        p=params.p,
        nonce=_b64(nonce),
        ciphertext=_b64(ciphertext),
    )


def unwrap_key(wrapped: WrappedKey, passphrase: str) -> bytes:
    """Recover the database key; WrongPassphrase if the passphrase is not the right one."""
    params = ScryptParams(n=wrapped.n, r=wrapped.r, p=wrapped.p)
    kek = params.derive(passphrase, base64.b64decode(wrapped.salt))
    try:
        key = AESGCM(kek).decrypt(
            base64.b64decode(wrapped.nonce), base64.b64decode(wrapped.ciphertext), _WRAP_AAD
        )
    except InvalidTag:
        raise WrongPassphrase() from None
    if len(key) != KEY_BYTES:
        raise ProfileDamaged("The wrapped key in profile.json has the wrong size.")
    return key


# --- OS keyring -----------------------------------------------------------------------


def keyring_username(profile_id: str) -> str:
    """The keyring entry's username for a profile."""
    return f"vault-key:{profile_id}"


def _backend_usable(backend: Any) -> bool:
    """False for backends that store nothing, fail, or store secrets in plain files."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, chainer.ChainerBackend):
        return any(_backend_usable(b) for b in backend.backends)
    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    # keyrings.alt holds plaintext / file-based backends: never for the vault key.
    return not type(backend).__module__.startswith("keyrings.alt")


def keyring_usable() -> bool:
    """True if the active keyring backend can keep a secret off the disk."""
    import keyring

    try:
        return _backend_usable(keyring.get_keyring())
    except Exception:  # a backend's probe can raise anything; it means "not usable"
        log.warning("keyring backend probe failed", exc_info=True)
        return False


@contextmanager
def _keyring_errors() -> Iterator[None]:
    """Translate whatever the keyring stack raises into the vault's errors."""
    import keyring.errors

    try:
        yield
    except keyring.errors.KeyringLocked as exc:
        raise KeyringLocked() from exc
    except (keyring.errors.KeyringError, OSError) as exc:
        # NoKeyringError, InitError, D-Bus connection failures (OSError/ConnectionError).
        log.warning("keyring unavailable: %s", type(exc).__name__)
        raise KeyringUnavailable() from exc
    except Exception as exc:
        # secretstorage / jeepney raise their own D-Bus exception types; all mean the
        # Secret Service could not be used. Only the type is logged: no secrets.
        if type(exc).__module__.split(".")[0] in ("secretstorage", "jeepney", "dbus", "gi"):
            log.warning("keyring unavailable: %s", type(exc).__name__)
            raise KeyringUnavailable() from exc
        raise


def keyring_store(profile_id: str, key: bytes) -> None:
    """Put the key in the OS keyring and read it back to be sure it is there."""
    import keyring

    if not keyring_usable():
        raise KeyringUnavailable()
    with _keyring_errors():
        keyring.set_password(KEYRING_SERVICE, keyring_username(profile_id), key.hex())
    if keyring_load(profile_id) != key:
        raise KeyringUnavailable("The keyring did not keep the key it was given.")


def keyring_load(profile_id: str) -> bytes:
    """The profile's key from the OS keyring (KeyringEntryMissing if there is none)."""
    import keyring

    if not keyring_usable():
        raise KeyringUnavailable()
    with _keyring_errors():
        value = keyring.get_password(KEYRING_SERVICE, keyring_username(profile_id))
    if value is None:
        raise KeyringEntryMissing()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        # Someone replaced the entry: treat like a wrong key, never "fix" it.
        raise KeyringEntryMissing("The keyring entry for this profile is not a vault key.")
    return key


def keyring_delete(profile_id: str) -> bool:
    """Remove the profile's keyring entry; False if there was none."""
    import keyring
    import keyring.errors

    if not keyring_usable():
        raise KeyringUnavailable()
    with _keyring_errors():
        try:
            keyring.delete_password(KEYRING_SERVICE, keyring_username(profile_id))
        except keyring.errors.PasswordDeleteError:
            return False
    return True
