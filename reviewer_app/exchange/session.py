"""A signed-in connection to one platform: tokens attached, refreshed silently.

:class:`TokenAuth` puts the bearer token on every request to the platform's origins,
refreshes it shortly before it expires or once after a 401, and stores rotated tokens
before using them (the old refresh token stops working at once). A refused refresh
(revoked or expired) clears the stored tokens and raises SignInRequired: the app sends
the user back to sign-in, and nothing local is touched.

:class:`PlatformSession` ties discovery, sign-in, sign-out and the FHIR / DICOMweb
clients together for the rest of the app.
"""

from __future__ import annotations

import threading
import time
import webbrowser
from collections.abc import Callable, Generator

import httpx

from reviewer_app.errors import SignInRequired
from reviewer_app.exchange import oauth
from reviewer_app.exchange.dicomweb import DicomWebClient
from reviewer_app.exchange.fhir import FhirClient
from reviewer_app.exchange.http import HttpSettings, check_server_url, make_client, origin
from reviewer_app.exchange.tokens import Tokens, TokenStore

CLIENT_ID = "reviewer-desktop"
SCOPE = (
    "openid fhirUser offline_access user/*.rs user/Task.u user/DocumentReference.c "
    "user/Provenance.c user/AuditEvent.cu"
)
#: Refresh this many seconds before the access token expires.
REFRESH_MARGIN = 30.0


class TokenAuth(httpx.Auth):
    """Bearer authentication with silent refresh, for the platform's origins only."""

    def __init__(
        self,
        store: TokenStore,
        refresher: Callable[[Tokens], Tokens],
        *,
        origins: set[str],
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN,
    ) -> None:
        self.store = store
        self._refresher = refresher
        self._origins = set(origins)
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()

    def allow_origin(self, url: str) -> None:
        """Also send the token to ``url``'s origin (a study's DICOMweb server)."""
        with self._lock:
            self._origins.add(origin(url))

    def current(self) -> Tokens:
        """Valid tokens, refreshed first if they expire within the margin."""
        with self._lock:
            tokens = self.store.load()
            if tokens is None:
                raise SignInRequired()
            if tokens.expires_within(self._margin, self._clock()):
                tokens = self._refresh_locked(tokens)
            return tokens

    def refresh_after_401(self, rejected: Tokens) -> Tokens:
        """New tokens after the server refused ``rejected`` (unless another thread did)."""
        with self._lock:
            tokens = self.store.load()
            if tokens is None:
                raise SignInRequired()
            if tokens.access_token != rejected.access_token:
                return tokens
            return self._refresh_locked(tokens)

    def _refresh_locked(self, tokens: Tokens) -> Tokens:
        try:
            fresh = self._refresher(tokens)
        except SignInRequired:
            self.store.clear()
            raise
        # Refresh tokens rotate: keep the new pair before anything uses it.
        self.store.save(fresh)
        return fresh

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token; on 401 refresh once and retry; a second 401 means sign-in."""
        with self._lock:
            allowed = origin(str(request.url)) in self._origins
        if not allowed:
            yield request
            return
        tokens = self.current()
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if response.status_code != 401:
            return
        tokens = self.refresh_after_401(tokens)
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if response.status_code == 401:
            self.store.clear()
            raise SignInRequired()


class PlatformSession:
    """Everything the app needs to talk to one platform, from one FHIR base URL."""

    def __init__(
        self,
        fhir_base: str,
        store: TokenStore,
        *,
        settings: HttpSettings | None = None,
        client_id: str = CLIENT_ID,
        scope: str = SCOPE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.fhir_base = check_server_url(fhir_base.rstrip("/"))
        self.settings = settings or HttpSettings()
        self.store = store
        self.client_id = client_id
        self.scope = scope
        self._clock = clock
        # Discovery, token and revocation go without a bearer token.
        self._plain = make_client(self.settings)
        self._auth_server: oauth.AuthServer | None = None
        self.auth = TokenAuth(store, self._refresh, origins={origin(self.fhir_base)}, clock=clock)
        self._api = make_client(self.settings, auth=self.auth)
        self.fhir = FhirClient(self.fhir_base, self._api, settings=self.settings)

    @property
    def auth_server(self) -> oauth.AuthServer:
        """The platform's OAuth endpoints (discovered once)."""
        if self._auth_server is None:
            self._auth_server = oauth.discover(self._plain, self.fhir_base)
        return self._auth_server

    def _refresh(self, tokens: Tokens) -> Tokens:
        return oauth.refresh(
            self._plain, self.auth_server, tokens, client_id=self.client_id, clock=self._clock
        )

    def sign_in(
        self,
        *,
        open_browser: Callable[[str], object] = webbrowser.open,
        timeout: float = 600.0,
        cancel: threading.Event | None = None,
    ) -> Tokens:
        """Sign in through the system browser; store and return the tokens.

        Blocks until the browser comes back: run it off the UI thread.
        """
        tokens = oauth.sign_in(
            self._plain,
            self.auth_server,
            client_id=self.client_id,
            scope=self.scope,
            audience=self.fhir_base,
            open_browser=open_browser,
            timeout=timeout,
            clock=self._clock,
            cancel=cancel,
        )
        self.store.save(tokens)
        return tokens

    def signed_in(self) -> bool:
        """Whether tokens are stored (they may still turn out to be revoked)."""
        return self.store.load() is not None

    def practitioner_id(self) -> str:
        """The signed-in specialist's Practitioner id."""
        tokens = self.store.load()
        if tokens is None or tokens.fhir_user is None:
            raise SignInRequired()
        return tokens.fhir_user.rsplit("/", 1)[-1]

    def sign_out(self) -> None:
        """Revoke the refresh token (best effort) and forget the tokens."""
        tokens = self.store.load()
        self.store.clear()
        if tokens is not None and tokens.refresh_token:
            oauth.revoke(
                self._plain, self.auth_server, tokens.refresh_token, client_id=self.client_id
            )

    def dicomweb(self, base_url: str) -> DicomWebClient:
        """A DICOMweb client for a study's Endpoint address; the token goes there too."""
        self.auth.allow_origin(check_server_url(base_url))
        return DicomWebClient(base_url, self._api, settings=self.settings)

    def close(self) -> None:
        """Close the connections."""
        self._api.close()
        self._plain.close()

    def __enter__(self) -> PlatformSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
