"""OAuth 2.0 for the demo server: authorization code with PKCE (S256) for a public
client on a loopback redirect, rotating refresh tokens, revocation, and bearer-token
checks for every API request. See docs/exchange.md §3.

Codes and tokens are random strings; the store keeps only their SHA-256. Tokens issued
from one sign-in share a *family*, so revoking a refresh token revokes its access
tokens, and replaying a used refresh token is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from demo_server.accounts import by_username
from demo_server.reply import Reply, json_reply
from demo_server.store import Store

CLIENT_ID = "reviewer-desktop"
CODE_LIFETIME = 60.0
REFRESH_LIFETIME = 30 * 24 * 3600.0
SCOPES = (
    "openid fhirUser offline_access user/*.rs user/Task.u user/DocumentReference.c "
    "user/Provenance.c user/AuditEvent.cu"
)
REALM = "reviewer"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return json_reply(
        status,
        {"error": error, "error_description": description},
        {"Cache-Control": "no-store"},
    )


def valid_redirect(uri: str) -> bool:
    """RFC 8252 §7.3: http on 127.0.0.1, any port, path /callback."""
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname == "127.0.0.1"
        and port is not None
        and parts.path == "/callback"
        and not parts.fragment
    )


class OAuth:
    """The authorization server of the demo platform."""

    def __init__(self, store: Store, issuer: str, access_lifetime: float) -> None:
        self.store = store
        self.issuer = issuer
        self.fhir_base = f"{issuer}/fhir"
        self.access_lifetime = access_lifetime
        secret = store.get_meta("jwt-secret")
        if secret is None:
            secret = secrets.token_hex(32)
            store.set_meta("jwt-secret", secret)
        self._secret = bytes.fromhex(secret)

    # --- discovery ----------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        """The SMART configuration document."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/oauth/authorize",
            "token_endpoint": f"{self.issuer}/oauth/token",
            "revocation_endpoint": f"{self.issuer}/oauth/revoke",
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": SCOPES.split(),
            "capabilities": ["client-public", "sso-openid-connect", "permission-offline"],
            "dicomweb_base": f"{self.issuer}/dicomweb",
        }

    # --- authorize ----------------------------------------------------------------------

    def _check_request(self, params: dict[str, str]) -> str | None:
        """Why an authorize request is unacceptable, or None."""
        if params.get("client_id") != CLIENT_ID:
            return "unknown client_id"
        if not valid_redirect(params.get("redirect_uri", "")):
            return "redirect_uri must be http://127.0.0.1:{port}/callback"
        if params.get("response_type") != "code":
            return "response_type must be code"
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "PKCE with code_challenge_method=S256 is required"
        return None

    def authorize_page(self, params: dict[str, str], error: str = "") -> Reply:
        """The login form (GET /oauth/authorize)."""
        problem = self._check_request(params)
        if problem:
            # Never redirect to an unchecked redirect_uri (open redirector).
            return Reply(400, {"Content-Type": "text/plain; charset=utf-8"}, problem.encode())
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("username", "password")
        )
        hint = html.escape(params.get("login_hint", ""))
        message = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo platform sign-in</title></head>
<body><h1>Demo platform</h1><p>Synthetic specialists only (dr.demo / demo).</p>{message}
<form method="post" action="/oauth/authorize">{hidden}
<label>Username <input name="username" value="{hint}" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password">
</label><button type="submit">Sign in</button>
<button type="submit" name="deny" value="1">Cancel</button></form></body></html>"""
        return Reply(
            200,
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
            page.encode(),
        )

    def authorize_submit(self, form: dict[str, str]) -> Reply:
        """The login form posted: redirect to the client with a code, or show the form
        again with an error."""
        problem = self._check_request(form)
        if problem:
            return Reply(400, {"Content-Type": "text/plain; charset=utf-8"}, problem.encode())
        redirect = form["redirect_uri"]
        state = form.get("state", "")
        if form.get("deny"):
            query = urlencode({"error": "access_denied", "state": state})
            return Reply(302, {"Location": f"{redirect}?{query}"})
        account = by_username(form.get("username", ""))
        if account is None or not hmac.compare_digest(
            account.password.encode(), form.get("password", "").encode()
        ):
            return self.authorize_page(form, "Unknown username or wrong password.")
        code = secrets.token_urlsafe(32)
        self.store.put_token(
            _hash(code),
            "code",
            account.practitioner_id,
            secrets.token_hex(16),
            expires=time.time() + CODE_LIFETIME,
            data={
                "challenge": form["code_challenge"],
                "redirect_uri": redirect,
                "scope": form.get("scope", SCOPES),
            },
        )
        query = urlencode({"code": code, "state": state})
        return Reply(302, {"Location": f"{redirect}?{query}", "Cache-Control": "no-store"})

    # --- token --------------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> Reply:
        """POST /oauth/token."""
        if form.get("client_id") != CLIENT_ID:
            return _oauth_error("invalid_client", "unknown client_id", 401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._redeem_code(form)
        if grant == "refresh_token":
            return self._refresh(form)
        return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _redeem_code(self, form: dict[str, str]) -> Reply:
        code_hash = _hash(form.get("code", ""))
        with self.store.transaction():
            record = self.store.get_token(code_hash)
            if record is None or record["kind"] != "code":
                return _oauth_error("invalid_grant", "unknown code")
            if record["revoked"]:
                # RFC 6749 §4.1.2: a reused code should revoke what it issued.
                self.store.revoke_family(record["family"])
                return _oauth_error("invalid_grant", "code already used")
            self.store.revoke_token(code_hash)
            if record["expires"] < time.time():
                return _oauth_error("invalid_grant", "code expired")
            data = record["data"]
            if form.get("redirect_uri") != data["redirect_uri"]:
                return _oauth_error("invalid_grant", "redirect_uri differs from authorize")
            verifier = form.get("code_verifier", "")
            if not 43 <= len(verifier) <= 128:
                return _oauth_error("invalid_grant", "code_verifier must be 43-128 characters")
            challenge = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not hmac.compare_digest(challenge, data["challenge"]):
                return _oauth_error("invalid_grant", "code_verifier does not match")
            return self._issue(record["practitioner"], record["family"], data["scope"], True)

    def _refresh(self, form: dict[str, str]) -> Reply:
        token_hash = _hash(form.get("refresh_token", ""))
        with self.store.transaction():
            record = self.store.get_token(token_hash)
            if record is None or record["kind"] != "refresh":
                return _oauth_error("invalid_grant", "unknown refresh token")
            if record["revoked"]:
                # A used refresh token presented again means it leaked: end the family.
                self.store.revoke_family(record["family"])
                return _oauth_error("invalid_grant", "refresh token revoked or already used")
            if record["expires"] < time.time():
                return _oauth_error("invalid_grant", "refresh token expired")
            self.store.revoke_token(token_hash)
            return self._issue(
                record["practitioner"], record["family"], record["data"]["scope"], False
            )

    def _issue(self, practitioner: str, family: str, scope: str, with_id_token: bool) -> Reply:
        access = "at-" + secrets.token_urlsafe(32)
        refresh = "rt-" + secrets.token_urlsafe(32)
        now = time.time()
        self.store.put_token(
            _hash(access), "access", practitioner, family, expires=now + self.access_lifetime
        )
        self.store.put_token(
            _hash(refresh),
            "refresh",
            practitioner,
            family,
            expires=now + REFRESH_LIFETIME,
            data={"scope": scope},
        )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime),
            "refresh_token": refresh,
            "scope": scope,
        }
        if with_id_token:
            body["id_token"] = self._id_token(practitioner, now)
        return json_reply(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _id_token(self, practitioner: str, now: float) -> str:
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "iss": self.issuer,
            "sub": practitioner,
            "aud": CLIENT_ID,
            "iat": int(now),
            "exp": int(now + 3600),
            "fhirUser": f"{self.fhir_base}/Practitioner/{practitioner}",
        }
        resource = self.store.get("Practitioner", practitioner)
        if resource:
            name = resource["name"][0]
            claims["name"] = f"Dr {' '.join(name.get('given', []))} {name.get('family', '')}"
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        signature = hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest()
        return signing_input + "." + _b64url(signature)

    # --- revoke -------------------------------------------------------------------------

    def revoke(self, form: dict[str, str]) -> Reply:
        """POST /oauth/revoke (RFC 7009): 200 whatever the token was."""
        record = self.store.get_token(_hash(form.get("token", "")))
        if record is not None:
            if record["kind"] == "refresh":
                self.store.revoke_family(record["family"])
            else:
                self.store.revoke_token(_hash(form["token"]))
        return Reply(200, {"Cache-Control": "no-store"})

    # --- bearer check -------------------------------------------------------------------

    def practitioner_for(self, authorization: str | None) -> str | None:
        """The practitioner id of a valid ``Authorization: Bearer`` header, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        record = self.store.get_token(_hash(authorization[7:].strip()))
        if (
            record is None
            or record["kind"] != "access"
            or record["revoked"]
            or record["expires"] < time.time()
        ):
            return None
        return str(record["practitioner"])

    @staticmethod
    def challenge(has_token: bool) -> dict[str, str]:
        """The WWW-Authenticate header of a 401."""
        value = f'Bearer realm="{REALM}"'
        if has_token:
            value += ', error="invalid_token", error_description="expired, revoked or unknown"'
        return {"WWW-Authenticate": value}
