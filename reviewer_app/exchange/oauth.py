"""Sign-in to the platform: OAuth 2.0 authorization code with PKCE (RFC 7636) and a
loopback redirect (RFC 8252), discovered through SMART's ``.well-known`` document.

The app never sees the specialist's password: the system browser shows the platform's
login page and the platform redirects to ``http://127.0.0.1:<ephemeral port>/callback``,
where :class:`LoopbackListener` waits for exactly that one request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import http.server
import json
import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from reviewer_app.errors import (
    InsecureServerAddress,
    MalformedServerData,
    ServerError,
    SignInFailed,
    SignInRequired,
)
from reviewer_app.exchange.http import check_server_url, read_json, translate_errors
from reviewer_app.exchange.resources import FHIR_ID
from reviewer_app.exchange.tokens import Tokens

WELL_KNOWN = ".well-known/smart-configuration"
CALLBACK_PATH = "/callback"
_MAX_JSON = 1024 * 1024

_DONE_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Reviewer</title></head>"
    b"<body><p>Sign-in finished. You can close this window and return to Reviewer.</p>"
    b"</body></html>"
)


@dataclass(frozen=True)
class AuthServer:
    """The endpoints a platform publishes in its SMART configuration."""

    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None
    issuer: str | None = None
    scopes_supported: tuple[str, ...] = ()


def discover(client: httpx.Client, fhir_base: str) -> AuthServer:
    """Read ``{fhir_base}/.well-known/smart-configuration``; PKCE S256 must be offered."""
    url = fhir_base.rstrip("/") + "/" + WELL_KNOWN
    with translate_errors(), client.stream("GET", url) as response:
        if response.status_code != 200:
            raise ServerError(response.status_code)
        data = read_json(response, "SMART configuration", _MAX_JSON)

    def endpoint(name: str, required: bool) -> str | None:
        value = data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise MalformedServerData("SMART configuration", name, "missing or not a URL")
        try:
            return check_server_url(value)
        except InsecureServerAddress as exc:
            raise MalformedServerData("SMART configuration", name, "not an https URL") from exc

    methods = data.get("code_challenge_methods_supported", [])
    if not isinstance(methods, list) or "S256" not in methods:
        raise MalformedServerData(
            "SMART configuration", "code_challenge_methods_supported", "S256 not offered"
        )
    scopes = data.get("scopes_supported", [])
    issuer = data.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise MalformedServerData("SMART configuration", "issuer", "not a string")
    authorize = endpoint("authorization_endpoint", True)
    token = endpoint("token_endpoint", True)
    assert authorize is not None and token is not None  # required=True never gives None
    return AuthServer(
        authorization_endpoint=authorize,
        token_endpoint=token,
        revocation_endpoint=endpoint("revocation_endpoint", False),
        issuer=issuer,
        scopes_supported=tuple(s for s in scopes if isinstance(s, str))
        if isinstance(scopes, list)
        else (),
    )


@dataclass(frozen=True)
class Pkce:
    """A PKCE verifier and its S256 challenge (RFC 7636 §4.1-4.2)."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        """A fresh pair: 64 random bytes give an 86-character verifier (43..128 allowed)."""
        verifier = secrets.token_urlsafe(64)
        return cls(verifier, s256(verifier))


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _CallbackHandler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer
    # A connection that sends nothing must not block the listener for ever.
    timeout = 10

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            # Browsers also ask for /favicon.ico and such: not the redirect, keep waiting.
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DONE_PAGE)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(_DONE_PAGE)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.server.deliver({k: v[0] for k, v in query.items() if v})

    def log_message(self, format: str, *args: Any) -> None:
        # The query carries the authorization code: never log it.
        return


class _CallbackServer(http.server.HTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.params: dict[str, str] | None = None
        self.arrived = threading.Event()

    def deliver(self, params: dict[str, str]) -> None:
        if not self.arrived.is_set():
            self.params = params
            self.arrived.set()


class LoopbackListener:
    """Waits on 127.0.0.1 (ephemeral port) for the one redirect of a sign-in."""

    def __init__(self) -> None:
        self._server = _CallbackServer()
        self._server.timeout = 0.2
        self._thread = threading.Thread(
            target=self._serve, name="reviewer-oauth-callback", daemon=True
        )
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        """The redirect URI to register with this authorization request."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{CALLBACK_PATH}"

    def _serve(self) -> None:
        while not self._server.arrived.is_set():
            self._server.handle_request()

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> dict[str, str]:
        """The redirect's query parameters; SignInFailed if none came in ``timeout`` s
        or ``cancel`` was set (the user closed the sign-in dialog)."""
        deadline = time.monotonic() + timeout
        while not self._server.arrived.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if cancel is not None and cancel.is_set():
                raise SignInFailed("Sign-in was cancelled.")
            if time.monotonic() >= deadline:
                raise SignInFailed("Sign-in was not completed in the browser in time.")
        if self._server.params is None:
            raise SignInFailed("Sign-in was cancelled.")
        return self._server.params

    def close(self) -> None:
        """Stop listening."""
        self._server.arrived.set()
        self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class SignInRequest:
    """One authorization request: where to send the browser and what to check after."""

    url: str
    state: str
    pkce: Pkce
    redirect_uri: str


def authorization_request(
    server: AuthServer, *, client_id: str, redirect_uri: str, scope: str, audience: str
) -> SignInRequest:
    """Build the authorize URL with a fresh state and PKCE challenge."""
    pkce = Pkce.new()
    state = secrets.token_urlsafe(32)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            # SMART: the FHIR server the token is meant for.
            "aud": audience,
        }
    )
    sep = "&" if urlsplit(server.authorization_endpoint).query else "?"
    return SignInRequest(server.authorization_endpoint + sep + query, state, pkce, redirect_uri)


def sign_in(
    client: httpx.Client,
    server: AuthServer,
    *,
    client_id: str,
    scope: str,
    audience: str,
    open_browser: Callable[[str], object] = webbrowser.open,
    timeout: float = 600.0,
    clock: Callable[[], float] = time.time,
    cancel: threading.Event | None = None,
) -> Tokens:
    """Run the whole sign-in: browser, loopback redirect, state check, code exchange.

    Blocks until the browser comes back (run it off the UI thread); set ``cancel`` to
    give up early.
    """
    with LoopbackListener() as listener:
        request = authorization_request(
            server,
            client_id=client_id,
            redirect_uri=listener.redirect_uri,
            scope=scope,
            audience=audience,
        )
        if open_browser(request.url) is False:
            # webbrowser.open says no browser could be started.
            raise SignInFailed(
                "No web browser could be opened for sign-in.",
                hint="Set a default web browser for your desktop, then try again.",
            )
        params = listener.wait(timeout, cancel)
    if not secrets.compare_digest(params.get("state", ""), request.state):
        raise SignInFailed("The sign-in answer did not belong to this sign-in; nothing was used.")
    if "error" in params:
        if params["error"] == "access_denied":
            raise SignInFailed("Sign-in was cancelled or refused on the platform.")
        raise SignInFailed("The platform refused the sign-in.")
    code = params.get("code")
    if not code:
        raise SignInFailed("The platform's sign-in answer had no authorization code.")
    return _token_request(
        client,
        server,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "client_id": client_id,
            "code_verifier": request.pkce.verifier,
        },
        clock=clock,
        previous_refresh=None,
    )


def refresh(
    client: httpx.Client,
    server: AuthServer,
    tokens: Tokens,
    *,
    client_id: str,
    clock: Callable[[], float] = time.time,
) -> Tokens:
    """New tokens from the refresh token; SignInRequired if it is gone or revoked."""
    if not tokens.refresh_token:
        raise SignInRequired()
    return _token_request(
        client,
        server,
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens.refresh_token,
            "client_id": client_id,
        },
        clock=clock,
        previous_refresh=tokens.refresh_token,
        previous=tokens,
    )


def revoke(client: httpx.Client, server: AuthServer, token: str, *, client_id: str) -> None:
    """Revoke a token (RFC 7009) if the platform offers revocation; used on sign-out."""
    if server.revocation_endpoint is None:
        return
    with translate_errors():
        response = client.post(
            server.revocation_endpoint,
            data={"token": token, "token_type_hint": "refresh_token", "client_id": client_id},
            headers={"Accept": "application/json"},
        )
    # RFC 7009 §2.2: 200 even for unknown tokens; anything else is the server's fault.
    if response.status_code != 200:
        raise ServerError(response.status_code)


def _token_request(
    client: httpx.Client,
    server: AuthServer,
    form: dict[str, str],
    *,
    clock: Callable[[], float],
    previous_refresh: str | None,
    previous: Tokens | None = None,
) -> Tokens:
    with (
        translate_errors(),
        client.stream(
            "POST", server.token_endpoint, data=form, headers={"Accept": "application/json"}
        ) as response,
    ):
        status = response.status_code
        if status in (400, 401):
            # invalid_grant (RFC 6749 §5.2): the code or refresh token is expired, used or
            # revoked. For a refresh, any refusal means the session is over: sign in again.
            if form["grant_type"] == "refresh_token":
                raise SignInRequired()
            raise SignInFailed("The platform did not accept the sign-in.")
        if status != 200:
            raise ServerError(status)
        data = read_json(response, "token response", _MAX_JSON)
    return parse_token_response(
        data,
        now=clock(),
        client_id=form["client_id"],
        issuer=server.issuer,
        previous_refresh=previous_refresh,
        previous=previous,
    )


def parse_token_response(
    data: dict[str, Any],
    *,
    now: float,
    client_id: str,
    issuer: str | None,
    previous_refresh: str | None = None,
    previous: Tokens | None = None,
) -> Tokens:
    """Validate a token endpoint answer (RFC 6749 §5.1) into :class:`Tokens`.

    The specialist's identity comes from the id_token's ``fhirUser`` claim; a refresh
    answer has no id_token and keeps the identity of ``previous``.
    """
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise MalformedServerData("token response", "access_token", "missing")
    token_type = data.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise MalformedServerData("token response", "token_type", "not Bearer")
    expires_in = data.get("expires_in", 3600)
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise MalformedServerData("token response", "expires_in", "not a positive number")
    refresh_token = data.get("refresh_token", previous_refresh)
    if refresh_token is not None and not isinstance(refresh_token, str):
        raise MalformedServerData("token response", "refresh_token", "not a string")
    scope = data.get("scope", previous.scope if previous else "")
    if not isinstance(scope, str):
        raise MalformedServerData("token response", "scope", "not a string")
    id_token = data.get("id_token")
    if id_token is not None:
        if not isinstance(id_token, str):
            raise MalformedServerData("token response", "id_token", "not a string")
        fhir_user: str | None = fhir_user_from_id_token(id_token, client_id, issuer)
    else:
        fhir_user = previous.fhir_user if previous else None
    return Tokens(
        access_token=access,
        expires_at=now + float(expires_in),
        refresh_token=refresh_token,
        scope=scope,
        fhir_user=fhir_user,
    )


def fhir_user_from_id_token(id_token: str, client_id: str, issuer: str | None) -> str | None:
    """``Practitioner/{id}`` from an id_token's ``fhirUser`` claim, after checking iss/aud.

    The id_token came straight from the token endpoint over TLS, so its signature need
    not be checked (OpenID Connect Core §3.1.3.7); ``iss`` and ``aud`` still must match.
    """
    what = "id_token"
    pieces = id_token.split(".")
    if len(pieces) != 3:
        raise MalformedServerData(what, "format", "not a JWT")
    try:
        payload = json.loads(base64.urlsafe_b64decode(pieces[1] + "=" * (-len(pieces[1]) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise MalformedServerData(what, "payload", "not base64url JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedServerData(what, "payload", "not a JSON object")
    if issuer is not None and payload.get("iss") != issuer:
        raise MalformedServerData(what, "iss", "not the platform's issuer")
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise MalformedServerData(what, "aud", "not issued to Reviewer")
    claim = payload.get("fhirUser")
    if claim is None:
        return None
    if not isinstance(claim, str):
        raise MalformedServerData(what, "fhirUser", "not a string")
    parts = claim.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != "Practitioner" or not FHIR_ID.fullmatch(parts[-1]):
        raise MalformedServerData(what, "fhirUser", "not a Practitioner reference")
    return f"Practitioner/{parts[-1]}"
