"""Where the platform's access and refresh tokens live: the OS keyring, or memory.

Tokens are credentials for patient data, so they are never written to a file. The
keyring entry is ``service="Reviewer"``, ``username=f"tokens:{profile_id}:{origin}"``
(one entry per profile and platform); ``--demo`` keeps them in memory only.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Protocol

from reviewer_app.errors import KeyringLocked, KeyringUnavailable

KEYRING_SERVICE = "Reviewer"


@dataclass(frozen=True)
class Tokens:
    """What a token endpoint gave us, with the expiry made absolute."""

    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""
    #: The signed-in specialist as a FHIR reference (``Practitioner/<id>``), if sent.
    fhir_user: str | None = None

    def expires_within(self, seconds: float, now: float) -> bool:
        """Whether the access token is expired or expires in the next ``seconds``."""
        return now + seconds >= self.expires_at

    def to_json(self) -> str:
        """Serialise for the keyring."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Tokens | None:
        """Parse a keyring entry; None if it is not one of ours (then sign in again)."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        access = data.get("access_token")
        expires_at = data.get("expires_at")
        refresh = data.get("refresh_token")
        scope = data.get("scope", "")
        fhir_user = data.get("fhir_user")
        if not isinstance(access, str) or not isinstance(expires_at, int | float):
            return None
        if refresh is not None and not isinstance(refresh, str):
            return None
        if fhir_user is not None and not isinstance(fhir_user, str):
            return None
        return cls(
            access_token=access,
            expires_at=float(expires_at),
            refresh_token=refresh,
            scope=scope if isinstance(scope, str) else "",
            fhir_user=fhir_user,
        )


class TokenStore(Protocol):
    """Keeps one platform's tokens for one profile."""

    def load(self) -> Tokens | None:
        """The stored tokens, or None when the user must sign in."""
        ...

    def save(self, tokens: Tokens) -> None:
        """Replace the stored tokens."""
        ...

    def clear(self) -> None:
        """Forget the tokens (sign-out, revoked refresh token)."""
        ...


class MemoryTokenStore:
    """Tokens in RAM only: the ``--demo`` mode and tests."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens
        self._lock = threading.Lock()

    def load(self) -> Tokens | None:
        """The tokens held, if any."""
        with self._lock:
            return self._tokens

    def save(self, tokens: Tokens) -> None:
        """Hold ``tokens``."""
        with self._lock:
            self._tokens = tokens

    def clear(self) -> None:
        """Drop the tokens."""
        with self._lock:
            self._tokens = None


def token_username(profile_id: str, server_origin: str) -> str:
    """The keyring username for a profile's tokens on one platform."""
    return f"tokens:{profile_id}:{server_origin}"


class KeyringTokenStore:
    """Tokens in the OS keyring (Secret Service, Keychain, Credential Manager)."""

    def __init__(self, profile_id: str, server_origin: str) -> None:
        self.username = token_username(profile_id, server_origin)
        # Every API request asks for the token; only this store writes the entry, so a
        # copy in memory saves a D-Bus round trip per request.
        self._lock = threading.Lock()
        self._cached: Tokens | None = None

    def load(self) -> Tokens | None:
        """The stored tokens; None if there are none or the entry is not ours."""
        import keyring

        with self._lock:
            if self._cached is not None:
                return self._cached
            with _keyring_errors():
                text = keyring.get_password(KEYRING_SERVICE, self.username)
            self._cached = None if text is None else Tokens.from_json(text)
            return self._cached

    def save(self, tokens: Tokens) -> None:
        """Store ``tokens``, replacing what was there."""
        import keyring

        with self._lock:
            self._cached = None
            with _keyring_errors():
                keyring.set_password(KEYRING_SERVICE, self.username, tokens.to_json())
            self._cached = tokens

    def clear(self) -> None:
        """Delete the entry; nothing to do if it is already gone."""
        import keyring
        import keyring.errors

        with self._lock:
            self._cached = None
            with _keyring_errors(), contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(KEYRING_SERVICE, self.username)


@contextlib.contextmanager
def _keyring_errors() -> Iterator[None]:
    """Map keyring's exceptions to the vault's keyring errors."""
    import keyring.errors

    try:
        yield
    except keyring.errors.KeyringLocked as exc:
        raise KeyringLocked() from exc
    except keyring.errors.PasswordDeleteError:
        raise
    except keyring.errors.KeyringError as exc:
        # NoKeyringError, InitError and backend failures: no usable keyring.
        raise KeyringUnavailable() from exc
