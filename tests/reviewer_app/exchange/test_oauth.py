"""Sign-in pieces that need no platform: PKCE, the loopback listener, token answers."""

from __future__ import annotations

import base64
import json
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from reviewer_app.errors import MalformedServerData, SignInFailed
from reviewer_app.exchange import oauth
from reviewer_app.exchange.http import HttpSettings, make_client
from tests.reviewer_app.exchange.local_server import Answer, serve


def test_s256_matches_rfc7636_appendix_b() -> None:
    assert (
        oauth.s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_fresh_pkce_pairs() -> None:
    a, b = oauth.Pkce.new(), oauth.Pkce.new()
    assert a.verifier != b.verifier
    assert 43 <= len(a.verifier) <= 128
    assert set(a.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert a.challenge == oauth.s256(a.verifier)


def test_loopback_listener_takes_the_callback_only() -> None:
    with oauth.LoopbackListener() as listener:
        uri = listener.redirect_uri
        parts = urlsplit(uri)
        assert parts.hostname == "127.0.0.1" and parts.port and parts.path == "/callback"
        with httpx.Client() as browser:
            assert browser.get(f"http://127.0.0.1:{parts.port}/favicon.ico").status_code == 404
            page = browser.get(uri + "?code=c-1&state=s-1")
            assert page.status_code == 200
            assert "close this window" in page.text
        assert listener.wait(1) == {"code": "c-1", "state": "s-1"}


def test_loopback_listener_times_out() -> None:
    with oauth.LoopbackListener() as listener, pytest.raises(SignInFailed, match="in time"):
        listener.wait(0.2)


def _jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


ISSUER = "http://127.0.0.1:9"


def _token_answer(**extra: Any) -> dict[str, Any]:
    answer = {
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": "rt-1",
        "scope": "openid",
        "id_token": _jwt(
            {
                "iss": ISSUER,
                "aud": "reviewer-desktop",
                "fhirUser": ISSUER + "/fhir/Practitioner/spec-1",
            }
        ),
    }
    answer.update(extra)
    return {k: v for k, v in answer.items() if v is not None}


def test_token_answer() -> None:
    tokens = oauth.parse_token_response(
        _token_answer(), now=1000.0, client_id="reviewer-desktop", issuer=ISSUER
    )
    assert tokens.access_token == "at-1"
    assert tokens.refresh_token == "rt-1"
    assert tokens.expires_at == 1300.0
    assert tokens.fhir_user == "Practitioner/spec-1"
    # A refresh answer has no id_token: the identity carries over.
    again = oauth.parse_token_response(
        _token_answer(id_token=None, access_token="at-2", refresh_token="rt-2"),
        now=2000.0,
        client_id="reviewer-desktop",
        issuer=ISSUER,
        previous=tokens,
    )
    assert (again.access_token, again.refresh_token, again.fhir_user) == (
        "at-2",
        "rt-2",
        "Practitioner/spec-1",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"access_token": None}, "access_token"),
        ({"token_type": "mac"}, "token_type"),
        ({"expires_in": "300"}, "expires_in"),
        ({"expires_in": -1}, "expires_in"),
        ({"refresh_token": 7}, "refresh_token"),
        ({"id_token": "not-a-jwt"}, "format"),
        ({"id_token": "a.!!!.c"}, "payload"),
        ({"id_token": _jwt({"iss": "https://evil", "aud": "reviewer-desktop"})}, "iss"),
        ({"id_token": _jwt({"iss": ISSUER, "aud": "someone-else"})}, "aud"),
        (
            {
                "id_token": _jwt(
                    {"iss": ISSUER, "aud": ["reviewer-desktop"], "fhirUser": "Patient/1"}
                )
            },
            "fhirUser",
        ),
    ],
)
def test_bad_token_answers(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedServerData) as caught:
        oauth.parse_token_response(
            _token_answer(**change), now=0.0, client_id="reviewer-desktop", issuer=ISSUER
        )
    assert caught.value.field == field


DISCOVERY = {
    "issuer": "http://127.0.0.1:1",
    "authorization_endpoint": "http://127.0.0.1:1/oauth/authorize",
    "token_endpoint": "http://127.0.0.1:1/oauth/token",
    "code_challenge_methods_supported": ["S256"],
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"code_challenge_methods_supported": ["plain"]}, "code_challenge_methods_supported"),
        ({"token_endpoint": None}, "token_endpoint"),
        (
            {"authorization_endpoint": "http://login.example.org/authorize"},
            "authorization_endpoint",
        ),
        ({"issuer": 5}, "issuer"),
    ],
)
def test_discovery_checks(change: dict[str, Any], field: str) -> None:
    doc = {k: v for k, v in {**DISCOVERY, **change}.items() if v is not None}
    with serve() as server:
        path = "/fhir/.well-known/smart-configuration"
        server.route(path, Answer(body=json.dumps(doc).encode()))
        with make_client(HttpSettings()) as client, pytest.raises(MalformedServerData) as caught:
            oauth.discover(client, server.base + "/fhir")
    assert caught.value.field == field


def test_discovery() -> None:
    with serve() as server:
        path = "/fhir/.well-known/smart-configuration"
        server.route(path, Answer(body=json.dumps(DISCOVERY).encode()))
        with make_client(HttpSettings()) as client:
            found = oauth.discover(client, server.base + "/fhir/")
    assert found == oauth.AuthServer(
        DISCOVERY["authorization_endpoint"],
        DISCOVERY["token_endpoint"],
        None,
        issuer=DISCOVERY["issuer"],
    )


def _browser_redirecting_with(params: dict[str, str]) -> Any:
    """A stand-in browser that 'logs in' and is redirected with ``params``."""

    def open_browser(url: str) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        answer = {k: (query["state"] if v == "<state>" else v) for k, v in params.items()}

        def go() -> None:
            with httpx.Client() as browser:
                browser.get(query["redirect_uri"], params=answer)

        threading.Thread(target=go).start()

    return open_browser


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"code": "c", "state": "forged"}, "did not belong"),
        ({"code": "c"}, "did not belong"),
        ({"error": "access_denied", "state": "<state>"}, "cancelled"),
        ({"error": "server_error", "state": "<state>"}, "refused"),
        ({"state": "<state>"}, "no authorization code"),
    ],
)
def test_sign_in_refuses_bad_redirects(params: dict[str, str], message: str) -> None:
    server = oauth.AuthServer(
        "http://127.0.0.1:1/authorize", "http://127.0.0.1:1/token", None, issuer=None
    )
    with make_client(HttpSettings()) as client, pytest.raises(SignInFailed, match=message):
        oauth.sign_in(
            client,
            server,
            client_id="reviewer-desktop",
            scope="openid",
            audience="http://127.0.0.1:1/fhir",
            open_browser=_browser_redirecting_with(params),
            timeout=5,
        )


_SERVER = oauth.AuthServer("http://127.0.0.1:1/authorize", "http://127.0.0.1:1/token", None)


def test_no_browser_fails_at_once() -> None:
    with make_client(HttpSettings()) as client, pytest.raises(SignInFailed, match="browser"):
        oauth.sign_in(
            client,
            _SERVER,
            client_id="reviewer-desktop",
            scope="openid",
            audience="http://127.0.0.1:1/fhir",
            open_browser=lambda _url: False,
            timeout=30,
        )


def test_sign_in_can_be_cancelled() -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with make_client(HttpSettings()) as client, pytest.raises(SignInFailed, match="cancelled"):
        oauth.sign_in(
            client,
            _SERVER,
            client_id="reviewer-desktop",
            scope="openid",
            audience="http://127.0.0.1:1/fhir",
            open_browser=lambda _url: True,
            timeout=30,
            cancel=cancel,
        )
