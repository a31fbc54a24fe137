"""Test helpers for the demo server: a stand-in for the browser during sign-in, and a
small multipart/related parser for WADO-RS answers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from demo_server.server import RunningServer

CLIENT_ID = "reviewer-desktop"
REDIRECT = "http://127.0.0.1:53682/callback"


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize(
    client: httpx.Client,
    base: str,
    challenge: str,
    *,
    username: str = "dr.demo",
    password: str = "demo",
    state: str = "s-1",
) -> httpx.Response:
    """Do what the browser does: load the login form, post it; return the answer."""
    config = client.get(f"{base}/fhir/.well-known/smart-configuration").json()
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid fhirUser offline_access user/*.rs",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = client.get(config["authorization_endpoint"], params=params)
    assert page.status_code == 200, page.text
    assert "<form" in page.text
    return client.post(
        config["authorization_endpoint"],
        data={**params, "username": username, "password": password},
    )


def code_from(response: httpx.Response, state: str = "s-1") -> str:
    """The authorization code of the redirect to the loopback listener."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def redeem(client: httpx.Client, base: str, code: str, verifier: str) -> httpx.Response:
    """POST the code and verifier to the token endpoint."""
    return client.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )


def sign_in(base: str, username: str = "dr.demo") -> dict[str, Any]:
    """The whole sign-in; returns the token response."""
    with httpx.Client() as client:
        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, base, challenge, username=username))
        response = redeem(client, base, code, verifier)
        assert response.status_code == 200, response.text
        return dict(response.json())


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT (signature not checked, as the contract allows)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart/related body into (headers, content) parts (RFC 2046)."""
    params = dict(p.strip().split("=", 1) for p in content_type.split(";")[1:] if "=" in p)
    boundary = params["boundary"].strip('"').encode()
    delimiter = b"\r\n--" + boundary
    # The first delimiter may come without the preceding CRLF.
    text = b"\r\n" + body
    pieces = text.split(delimiter)
    assert pieces[-1].startswith(b"--"), "missing close delimiter"
    parts = []
    for piece in pieces[1:-1]:
        head, _, content = piece.partition(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                name, _, value = line.partition(b":")
                headers[name.decode().strip().lower()] = value.decode().strip()
        parts.append((headers, content))
    return parts


def api_client(running: RunningServer, username: str = "dr.demo") -> httpx.Client:
    """An httpx client signed in as ``username``, based at the FHIR base."""
    tokens = sign_in(running.base_url, username)
    return httpx.Client(
        base_url=running.fhir_base,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=30,
    )


def admin_client(running: RunningServer) -> httpx.Client:
    """An httpx client for the admin endpoint."""
    return httpx.Client(
        base_url=f"{running.base_url}/admin",
        headers={"Authorization": f"Bearer {running.admin_token}"},
        timeout=30,
    )
