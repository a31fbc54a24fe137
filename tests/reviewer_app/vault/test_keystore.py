"""Key wrapping, key fingerprints, keyring backend detection, passphrase fallback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail, null

from reviewer_app.errors import KeyringUnavailable, WrongKey, WrongPassphrase
from reviewer_app.vault import KeySource, Profile, create_profile, keystore, open_profile
from reviewer_app.vault.keystore import SCRYPT_DEFAULT, ScryptParams, unwrap_key, wrap_key

from .conftest import CHEAP_SCRYPT, PASSPHRASE, snapshot


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    """keyring's 'no backend' backend, restored afterwards."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_wrap_unwrap_round_trip() -> None:
    key = keystore.new_db_key()
    wrapped = wrap_key(key, PASSPHRASE, CHEAP_SCRYPT)
    assert unwrap_key(wrapped, PASSPHRASE) == key
    assert key.hex() not in json.dumps(wrapped.to_json())
    with pytest.raises(WrongPassphrase):
        unwrap_key(wrapped, PASSPHRASE.upper())
    # Two wraps of the same key differ (fresh salt and nonce).
    assert wrap_key(key, PASSPHRASE, CHEAP_SCRYPT) != wrapped


def test_tampered_wrapped_key_is_refused() -> None:
    key = keystore.new_db_key()
    wrapped = wrap_key(key, PASSPHRASE, CHEAP_SCRYPT)
    tampered = replace(wrapped, n=wrapped.n * 2)  # a cheaper/harder KDF changes the KEK
    with pytest.raises(WrongPassphrase):
        unwrap_key(tampered, PASSPHRASE)


def test_real_scrypt_parameters(profile: Profile) -> None:
    """The production cost: n=2**17, r=8, p=1, and it is what profile.json records."""
    assert (SCRYPT_DEFAULT.n, SCRYPT_DEFAULT.r, SCRYPT_DEFAULT.p) == (2**17, 8, 1)
    start = time.perf_counter()
    create_profile(profile, PASSPHRASE, key_source=KeySource.PASSPHRASE).close()
    elapsed = time.perf_counter() - start
    meta = json.loads(profile.meta_path.read_text())
    assert (meta["wrapped_key"]["n"], meta["wrapped_key"]["r"], meta["wrapped_key"]["p"]) == (
        2**17,
        8,
        1,
    )
    assert elapsed > 0.05  # two real derivations are not free
    with pytest.raises(WrongPassphrase):
        open_profile(profile, passphrase="guess guess guess")
    with open_profile(profile, passphrase=PASSPHRASE) as vault:
        assert vault.lock.verify(PASSPHRASE)


def test_key_check_tells_keys_apart() -> None:
    key = keystore.new_db_key()
    check = keystore.key_check(key)
    assert keystore.key_matches(key, check)
    assert not keystore.key_matches(keystore.new_db_key(), check)
    assert key.hex()[:16] not in check


class _PlaintextLike(keyring.backend.KeyringBackend):
    """Stands in for a keyrings.alt file backend (not installed here)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must not be used")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("must not be used")


_PlaintextLike.__module__ = "keyrings.alt.file"


class _Chain(chainer.ChainerBackend):
    """A chainer over given backends (the real one discovers them itself)."""

    def __init__(self, backends: list[keyring.backend.KeyringBackend]) -> None:
        self._chained = backends

    @property
    def backends(self) -> list[keyring.backend.KeyringBackend]:
        return self._chained


class _SecretServiceLike(_PlaintextLike):
    pass


_SecretServiceLike.__module__ = "keyring.backends.SecretService"


def test_unusable_backends_are_detected() -> None:
    assert not keystore._backend_usable(fail.Keyring())
    assert not keystore._backend_usable(null.Keyring())
    assert not keystore._backend_usable(_PlaintextLike())
    assert not keystore._backend_usable(_Chain([]))
    assert not keystore._backend_usable(_Chain([fail.Keyring(), null.Keyring(), _PlaintextLike()]))
    assert keystore._backend_usable(_SecretServiceLike())
    assert keystore._backend_usable(_Chain([null.Keyring(), _SecretServiceLike()]))


def test_no_keyring_falls_back_to_passphrase(profile: Profile, fail_keyring: None) -> None:
    assert not keystore.keyring_usable()
    with create_profile(profile, PASSPHRASE, scrypt=CHEAP_SCRYPT) as vault:
        assert vault.key_source is KeySource.PASSPHRASE
    assert json.loads(profile.meta_path.read_text())["key_source"] == "passphrase"
    with pytest.raises(WrongPassphrase):
        open_profile(profile, passphrase="a wrong passphrase")
    with open_profile(profile, passphrase=PASSPHRASE) as vault:
        assert vault.key_source is KeySource.PASSPHRASE


def test_explicit_keyring_without_keyring_fails_cleanly(
    profile: Profile, fail_keyring: None
) -> None:
    with pytest.raises(KeyringUnavailable):
        create_profile(profile, PASSPHRASE, key_source=KeySource.KEYRING, scrypt=CHEAP_SCRYPT)
    assert not profile.root.exists()


def test_keyring_profile_without_keyring_is_unavailable(
    profile: Profile, fail_keyring: None, memory_key: bytes
) -> None:
    """A keyring profile opened where no keyring works: KeyringUnavailable, nothing changed."""
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ).close()
    meta = json.loads(profile.meta_path.read_text())
    meta["key_source"] = "keyring"
    profile.meta_path.write_text(json.dumps(meta))
    before = snapshot(profile.root)
    with pytest.raises(KeyringUnavailable):
        open_profile(profile)
    assert snapshot(profile.root) == before
    with pytest.raises(WrongKey):
        open_profile(profile, key=keystore.new_db_key())
    assert snapshot(profile.root) == before


def test_scrypt_params_are_recorded_not_assumed() -> None:
    odd = ScryptParams(n=2**11, r=4, p=2)
    key = keystore.new_db_key()
    wrapped = wrap_key(key, PASSPHRASE, odd)
    assert (wrapped.n, wrapped.r, wrapped.p) == (2**11, 4, 2)
    assert unwrap_key(wrapped, PASSPHRASE) == key
