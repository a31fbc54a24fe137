"""LocalLock: the local passphrase, its throttle, changing it, the idle setting."""

from __future__ import annotations

import json

import pytest

from reviewer_app.errors import LockThrottled, PassphraseTooShort, WrongPassphrase
from reviewer_app.vault import KeySource, Profile, create_profile, open_profile
from reviewer_app.vault.database import get_setting
from reviewer_app.vault.lock import delay_after

from .conftest import CHEAP_SCRYPT, PASSPHRASE


class FakeClock:
    """Wall-clock seconds that only move when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_delay_schedule() -> None:
    assert [delay_after(n) for n in range(10)] == [0, 0, 0, 1, 2, 4, 8, 16, 30, 30]


def test_verify_right_and_wrong(profile: Profile, memory_key: bytes) -> None:
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ) as vault:
        assert vault.lock.verify(PASSPHRASE) is True
        assert vault.lock.verify(PASSPHRASE + " ") is False
        assert vault.lock.verify("") is False
        stored = get_setting(vault.read(), "lock.verifier")
        assert stored is not None
        assert PASSPHRASE not in stored
        assert json.loads(stored)["n"] == CHEAP_SCRYPT.n


def test_throttle_grows_and_survives_restart(profile: Profile, memory_key: bytes) -> None:
    clock = FakeClock()
    vault = create_profile(
        profile,
        PASSPHRASE,
        key_source=KeySource.MEMORY,
        key=memory_key,
        scrypt=CHEAP_SCRYPT,
        clock=clock,
    )
    with vault:
        assert vault.lock.verify("wrong one") is False
        assert vault.lock.verify("wrong two") is False  # two free attempts
        assert vault.lock.verify("wrong three") is False
        with pytest.raises(LockThrottled) as throttled:
            vault.lock.verify(PASSPHRASE)  # even the right one waits
        assert throttled.value.retry_after == pytest.approx(1.0)
        clock.now += 1.0
        assert vault.lock.verify("wrong four") is False
        with pytest.raises(LockThrottled) as throttled:
            vault.lock.verify(PASSPHRASE)
        assert throttled.value.retry_after == pytest.approx(2.0)

    # Restarting the app does not reset the delay: it is in the database.
    with open_profile(profile, key=memory_key, clock=clock) as vault:
        with pytest.raises(LockThrottled) as throttled:
            vault.lock.verify(PASSPHRASE)
        assert throttled.value.retry_after == pytest.approx(2.0)
        clock.now += 1.5
        with pytest.raises(LockThrottled) as throttled:
            vault.lock.verify(PASSPHRASE)
        assert throttled.value.retry_after == pytest.approx(0.5)
        clock.now += 0.5
        assert vault.lock.verify(PASSPHRASE) is True
        # Success clears the count: the next wrong attempts are free again.
        assert vault.lock.verify("wrong") is False
        assert vault.lock.retry_after() == 0


def test_throttle_caps_at_30_seconds_and_clock_set_back(
    profile: Profile, memory_key: bytes
) -> None:
    clock = FakeClock()
    with create_profile(
        profile,
        PASSPHRASE,
        key_source=KeySource.MEMORY,
        key=memory_key,
        scrypt=CHEAP_SCRYPT,
        clock=clock,
    ) as vault:
        for _ in range(12):
            clock.now += 60
            assert vault.lock.verify("wrong") is False
        assert vault.lock.retry_after() == pytest.approx(30.0)
        clock.now -= 3600  # the user sets the clock back: still 30 s, never more
        assert vault.lock.retry_after() == pytest.approx(30.0)


def test_change_passphrase(profile: Profile, memory_key: bytes) -> None:
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ) as vault:
        with pytest.raises(WrongPassphrase):
            vault.lock.change("not the old one", "a brand new passphrase")
        with pytest.raises(PassphraseTooShort):
            vault.lock.change(PASSPHRASE, "short")
        vault.lock.change(PASSPHRASE, "a brand new passphrase")
        assert vault.lock.verify("a brand new passphrase")
        assert not vault.lock.verify(PASSPHRASE)


def test_change_in_passphrase_mode_rewraps_the_key(profile: Profile) -> None:
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT
    ).close()
    with open_profile(profile, passphrase=PASSPHRASE) as vault:
        vault.lock.change(PASSPHRASE, "a brand new passphrase")
    with pytest.raises(WrongPassphrase):
        open_profile(profile, passphrase=PASSPHRASE)
    with open_profile(profile, passphrase="a brand new passphrase") as vault:
        assert vault.lock.verify("a brand new passphrase")
    assert "a brand new passphrase" not in profile.meta_path.read_text()


def test_interrupted_change_is_repaired_on_open(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """profile.json re-wrapped, then a crash before the new verifier was stored."""
    create_profile(
        profile, PASSPHRASE, key_source=KeySource.PASSPHRASE, scrypt=CHEAP_SCRYPT
    ).close()
    with open_profile(profile, passphrase=PASSPHRASE) as vault:

        class Crash(Exception):
            pass

        def crash(*_args: object) -> None:
            raise Crash

        monkeypatch.setattr(vault.lock, "reset_to", crash)
        with pytest.raises(Crash):
            vault.lock.change(PASSPHRASE, "the new passphrase")
        monkeypatch.undo()
        assert vault.lock.verify(PASSPHRASE)  # the verifier was not updated
    with open_profile(profile, passphrase="the new passphrase") as vault:
        assert vault.lock.verify("the new passphrase")
        assert not vault.lock.verify(PASSPHRASE)


def test_idle_minutes(profile: Profile, memory_key: bytes) -> None:
    with create_profile(
        profile, PASSPHRASE, key_source=KeySource.MEMORY, key=memory_key, scrypt=CHEAP_SCRYPT
    ) as vault:
        assert vault.lock.idle_minutes == 5
        vault.lock.idle_minutes = 12
        with pytest.raises(ValueError, match="between"):
            vault.lock.idle_minutes = 0
    with open_profile(profile, key=memory_key) as vault:
        assert vault.lock.idle_minutes == 12
