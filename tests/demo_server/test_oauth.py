"""Sign-in against the demo server: discovery, code + PKCE, refresh, revocation."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from demo_server.server import RunningServer, start
from tests.demo_server.helpers import (
    CLIENT_ID,
    authorize,
    code_from,
    jwt_claims,
    pkce_pair,
    redeem,
    sign_in,
)
from tests.fixtures.demo_server import act_as_browser


def test_discovery_names_the_endpoints(server: RunningServer) -> None:
    for path in ("/fhir/.well-known/smart-configuration", "/.well-known/smart-configuration"):
        config = httpx.get(server.base_url + path).json()
        assert config["issuer"] == server.base_url
        assert config["authorization_endpoint"] == f"{server.base_url}/oauth/authorize"
        assert config["token_endpoint"] == f"{server.base_url}/oauth/token"
        assert config["revocation_endpoint"] == f"{server.base_url}/oauth/revoke"
        assert config["code_challenge_methods_supported"] == ["S256"]


def test_api_needs_a_bearer_token(server: RunningServer) -> None:
    for url in (f"{server.fhir_base}/Task", f"{server.base_url}/dicomweb/studies"):
        response = httpx.get(url)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer ")
        bad = httpx.get(url, headers={"Authorization": "Bearer at-forged"})
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    assert httpx.get(f"{server.fhir_base}/metadata").status_code == 200


def test_code_with_pkce_gives_tokens_and_the_practitioner(server: RunningServer) -> None:
    tokens = sign_in(server.base_url)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 300
    claims = jwt_claims(tokens["id_token"])
    assert claims["iss"] == server.base_url
    assert claims["aud"] == CLIENT_ID
    assert claims["fhirUser"] == f"{server.fhir_base}/Practitioner/spec-1"
    me = httpx.get(
        f"{server.fhir_base}/Practitioner/spec-1",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert me.status_code == 200
    assert me.json()["name"][0]["family"] == "Specialist"


def test_wrong_verifier_is_refused_and_the_code_is_single_use(server: RunningServer) -> None:
    with httpx.Client() as client:
        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, server.base_url, challenge))
        wrong = redeem(client, server.base_url, code, pkce_pair()[0])
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        # The failed attempt used the code up: the right verifier no longer helps.
        assert redeem(client, server.base_url, code, verifier).status_code == 400

        verifier, challenge = pkce_pair()
        code = code_from(authorize(client, server.base_url, challenge))
        assert redeem(client, server.base_url, code, verifier).status_code == 200
        again = redeem(client, server.base_url, code, verifier)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_grant"


def test_wrong_password_shows_the_form_again(server: RunningServer) -> None:
    with httpx.Client() as client:
        response = authorize(client, server.base_url, pkce_pair()[1], password="nope")
        assert response.status_code == 200
        assert "wrong password" in response.text
        assert "location" not in response.headers


def test_only_a_loopback_redirect_is_accepted(server: RunningServer) -> None:
    _, challenge = pkce_pair()
    for redirect in (
        "http://example.org/callback",
        "http://localhost:5000/callback",
        "http://127.0.0.1/callback",
        "https://127.0.0.1:5000/callback",
    ):
        response = httpx.get(
            f"{server.base_url}/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": redirect,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert response.status_code == 400, redirect
        assert "location" not in response.headers


def _refresh(base: str, refresh_token: str) -> httpx.Response:
    return httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": CLIENT_ID,
        },
    )


def test_access_token_expires_and_refresh_rotates(tmp_path: Path) -> None:
    running = start(cases=1, storage=tmp_path, ct_slices=1, access_token_lifetime=1)
    try:
        tokens = sign_in(running.base_url)
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert httpx.get(f"{running.fhir_base}/Task", headers=auth).status_code == 200
        time.sleep(1.2)
        expired = httpx.get(f"{running.fhir_base}/Task", headers=auth)
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["www-authenticate"]

        renewed = _refresh(running.base_url, tokens["refresh_token"])
        assert renewed.status_code == 200
        fresh = renewed.json()
        assert fresh["refresh_token"] != tokens["refresh_token"]
        auth = {"Authorization": f"Bearer {fresh['access_token']}"}
        assert httpx.get(f"{running.fhir_base}/Task", headers=auth).status_code == 200
        # The old refresh token is used up; presenting it again ends the whole sign-in.
        assert _refresh(running.base_url, tokens["refresh_token"]).status_code == 400
        assert _refresh(running.base_url, fresh["refresh_token"]).status_code == 400
    finally:
        running.stop()


def test_revocation_ends_refresh_and_access(server: RunningServer) -> None:
    tokens = sign_in(server.base_url)
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(f"{server.fhir_base}/Task", headers=auth).status_code == 200
    revoked = httpx.post(
        f"{server.base_url}/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": CLIENT_ID,
        },
    )
    assert revoked.status_code == 200
    refused = _refresh(server.base_url, tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert httpx.get(f"{server.fhir_base}/Task", headers=auth).status_code == 401
    # Revoking an unknown token is not an error (RFC 7009).
    unknown = httpx.post(
        f"{server.base_url}/oauth/revoke", data={"token": "rt-unknown", "client_id": CLIENT_ID}
    )
    assert unknown.status_code == 200


def test_browser_stand_in_reaches_a_loopback_listener(server: RunningServer) -> None:
    received: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    listener = HTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=listener.handle_request)
    thread.start()
    try:
        redirect = f"http://127.0.0.1:{listener.server_address[1]}/callback"
        verifier, challenge = pkce_pair()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": redirect,
                "state": "xyz",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        act_as_browser(f"{server.base_url}/oauth/authorize?{query}")
        thread.join(timeout=10)
    finally:
        listener.server_close()
    [path] = received
    params = dict(parse_qsl(urlsplit(path).query))
    assert params["state"] == "xyz"
    tokens = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": redirect,
            "client_id": CLIENT_ID,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200
