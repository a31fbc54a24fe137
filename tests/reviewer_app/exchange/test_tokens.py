"""Token stores: memory for --demo, the OS keyring otherwise (never a file)."""

from __future__ import annotations

import os
import uuid

import pytest

from reviewer_app.exchange.tokens import (
    KEYRING_SERVICE,
    KeyringTokenStore,
    MemoryTokenStore,
    Tokens,
    token_username,
)

TOKENS = Tokens(
    access_token="at-synthetic",
    expires_at=1_800_000_300.5,
    refresh_token="rt-synthetic",
    scope="openid fhirUser",
    fhir_user="Practitioner/spec-1",
)


def test_memory_store_round_trip() -> None:
    store = MemoryTokenStore()
    assert store.load() is None
    store.save(TOKENS)
    assert store.load() == TOKENS
    store.clear()
    assert store.load() is None


def test_json_round_trip_and_rejects_foreign_entries() -> None:
    assert Tokens.from_json(TOKENS.to_json()) == TOKENS
    for foreign in [
        "",
        "not json",
        "[]",
        '{"access_token": 1, "expires_at": 2}',
        '{"access_token": "a"}',
        '{"access_token": "a", "expires_at": 1, "refresh_token": 5}',
    ]:
        assert Tokens.from_json(foreign) is None


def test_expiry() -> None:
    assert not TOKENS.expires_within(30, now=TOKENS.expires_at - 31)
    assert TOKENS.expires_within(30, now=TOKENS.expires_at - 29)
    assert TOKENS.expires_within(0, now=TOKENS.expires_at)


@pytest.mark.keyring
@pytest.mark.skipif(
    "REVIEWER_SECRET_SERVICE" not in os.environ,
    reason="needs a real Secret Service: run through tests.run_suite (REVIEWER_SECRET_SERVICE)",
)
def test_keyring_round_trip() -> None:
    import keyring

    profile_id = uuid.uuid4().hex
    origin = "http://127.0.0.1:8080"
    store = KeyringTokenStore(profile_id, origin)
    other = KeyringTokenStore(profile_id, "https://other.example.org")
    assert store.username == f"tokens:{profile_id}:{origin}" == token_username(profile_id, origin)
    try:
        assert store.load() is None
        store.save(TOKENS)
        assert store.load() == TOKENS
        # It really is in the Secret Service, under the documented service and username.
        assert keyring.get_password(KEYRING_SERVICE, store.username) == TOKENS.to_json()
        # A new store (the next app start) reads it back from the Secret Service.
        assert KeyringTokenStore(profile_id, origin).load() == TOKENS
        assert other.load() is None
        rotated = Tokens("at-2", TOKENS.expires_at + 300, "rt-2", fhir_user="Practitioner/x")
        store.save(rotated)
        assert store.load() == rotated
        assert KeyringTokenStore(profile_id, origin).load() == rotated
    finally:
        store.clear()
    assert store.load() is None
    assert keyring.get_password(KEYRING_SERVICE, store.username) is None
    store.clear()  # clearing twice is fine
