"""The specialist's local passphrase: unlocking the app after idle time.

The passphrase is set when the profile is created. Only a verifier is stored (an
scrypt hash with its own salt, in the settings table); checking it compares in constant
time. Wrong attempts are counted in the database, so restarting the app does not reset
the growing delay between tries.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from reviewer_app.errors import LockThrottled, PassphraseTooShort, WrongPassphrase
from reviewer_app.vault.database import Connection, get_setting, set_setting
from reviewer_app.vault.keystore import ScryptParams

T = TypeVar("T")

MIN_PASSPHRASE_LENGTH = 8
DEFAULT_IDLE_MINUTES = 5
MAX_DELAY_SECONDS = 30.0
#: Failures allowed without any delay before the next try.
FREE_ATTEMPTS = 2

_VERIFIER = "lock.verifier"
_FAILURES = "lock.failures"
_LAST_FAILURE = "lock.last_failure_at"
_IDLE = "lock.idle_minutes"
#: In passphrase mode: the nonce of the wrapped key the verifier was written with. If
#: profile.json holds another one, a passphrase change stopped half-way (see Vault).
WRAP_ID = "lock.wrap_id"


class _Database(Protocol):
    def read(self) -> Connection: ...
    def write_sync(self, fn: Callable[[Connection], T]) -> T: ...


def check_passphrase_strength(passphrase: str) -> None:
    """PassphraseTooShort unless the passphrase is long enough."""
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseTooShort()


def delay_after(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive wrong attempts: 0, 0, 1, 2, 4 … 30."""
    if failures <= FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY_SECONDS, float(2 ** (failures - FREE_ATTEMPTS - 1)))


@dataclass(frozen=True)
class Verifier:
    """scrypt(passphrase, salt) with the parameters used."""

    salt: bytes
    digest: bytes
    params: ScryptParams

    @classmethod
    def create(cls, passphrase: str, params: ScryptParams) -> Verifier:
        salt = secrets.token_bytes(16)
        return cls(salt=salt, digest=params.derive(passphrase, salt), params=params)

    def matches(self, passphrase: str) -> bool:
        candidate = self.params.derive(passphrase, self.salt)
        return hmac.compare_digest(candidate, self.digest)

    def to_text(self) -> str:
        return json.dumps(
            {
                "salt": base64.b64encode(self.salt).decode(),
                "hash": base64.b64encode(self.digest).decode(),
                "n": self.params.n,
                "r": self.params.r,
                "p": self.params.p,
            }
        )

    @classmethod
    def from_text(cls, text: str) -> Verifier:
        data: dict[str, Any] = json.loads(text)
        return cls(
            salt=base64.b64decode(data["salt"]),
            digest=base64.b64decode(data["hash"]),
            params=ScryptParams(n=int(data["n"]), r=int(data["r"]), p=int(data["p"])),
        )


def store_verifier(
    conn: Connection, passphrase: str, params: ScryptParams, wrap_id: str | None = None
) -> None:
    """Write a fresh verifier and clear the failure count (inside a write transaction)."""
    set_setting(conn, _VERIFIER, Verifier.create(passphrase, params).to_text())
    set_setting(conn, _FAILURES, "0")
    if wrap_id is not None:
        set_setting(conn, WRAP_ID, wrap_id)


class LocalLock:
    """Checks and changes the local passphrase; keeps the idle-lock setting.

    ``clock`` returns wall-clock seconds (injectable for tests). ``on_change`` is called
    with the new passphrase before the verifier changes; the vault uses it to re-wrap the
    database key in passphrase mode, and returns an id of the new wrapping that is stored
    with the new verifier.
    """

    def __init__(
        self,
        db: _Database,
        *,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[str], str | None] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._on_change = on_change

    def _verifier(self) -> Verifier:
        text = get_setting(self._db.read(), _VERIFIER)
        if text is None:
            raise WrongPassphrase("This profile has no local passphrase set.")
        return Verifier.from_text(text)

    def _failures(self) -> tuple[int, float]:
        conn = self._db.read()
        failures = int(get_setting(conn, _FAILURES) or 0)
        last = float(get_setting(conn, _LAST_FAILURE) or 0.0)
        return failures, last

    def retry_after(self) -> float:
        """Seconds until the next attempt is allowed (0 if allowed now)."""
        failures, last = self._failures()
        delay = delay_after(failures)
        if delay == 0:
            return 0.0
        elapsed = self._clock() - last
        # A clock set back counts as "no time passed", never as "wait forever".
        elapsed = max(0.0, elapsed)
        return max(0.0, delay - elapsed)

    def verify(self, passphrase: str) -> bool:
        """True if ``passphrase`` is right. LockThrottled while a delay is running."""
        wait = self.retry_after()
        if wait > 0:
            raise LockThrottled(wait)
        if self._verifier().matches(passphrase):
            if self._failures()[0]:
                self._db.write_sync(lambda conn: set_setting(conn, _FAILURES, "0"))
            return True
        now = self._clock()

        def record_failure(conn: Connection) -> None:
            failures = int(get_setting(conn, _FAILURES) or 0) + 1
            set_setting(conn, _FAILURES, str(failures))
            set_setting(conn, _LAST_FAILURE, repr(now))

        self._db.write_sync(record_failure)
        return False

    def change(self, old: str, new: str) -> None:
        """Replace the passphrase. WrongPassphrase if ``old`` is wrong (counts as a try)."""
        check_passphrase_strength(new)
        if not self.verify(old):
            raise WrongPassphrase()
        wrap_id = self._on_change(new) if self._on_change is not None else None
        self.reset_to(new, wrap_id)

    def reset_to(self, passphrase: str, wrap_id: str | None = None) -> None:
        """Set the verifier to ``passphrase`` (also used to repair an interrupted change)."""
        # Same cost as chosen when the profile was created.
        params = self._verifier().params
        self._db.write_sync(lambda conn: store_verifier(conn, passphrase, params, wrap_id))

    def wrap_id(self) -> str | None:
        """The wrapping id stored with the verifier (passphrase mode), or None."""
        return get_setting(self._db.read(), WRAP_ID)

    @property
    def idle_minutes(self) -> int:
        """Minutes without input before the app locks itself."""
        value = get_setting(self._db.read(), _IDLE)
        return DEFAULT_IDLE_MINUTES if value is None else int(value)

    @idle_minutes.setter
    def idle_minutes(self, minutes: int) -> None:
        if not 1 <= minutes <= 240:
            raise ValueError("idle_minutes must be between 1 and 240")
        self._db.write_sync(lambda conn: set_setting(conn, _IDLE, str(minutes)))
