"""TokenAuth without a platform: the bearer token goes only to allowed origins."""

from __future__ import annotations

import time

import httpx

from reviewer_app.exchange.http import HttpSettings, make_client
from reviewer_app.exchange.session import TokenAuth
from reviewer_app.exchange.tokens import MemoryTokenStore, Tokens
from tests.reviewer_app.exchange.local_server import Answer, serve


def _refuse(_tokens: Tokens) -> Tokens:
    raise AssertionError("no refresh expected")


def test_token_only_for_the_platforms_origins() -> None:
    store = MemoryTokenStore(Tokens("at-secret", time.time() + 3600, "rt"))
    with serve() as platform, serve() as elsewhere:
        platform.route("/x", Answer(body=b"{}"))
        elsewhere.route("/x", Answer(body=b"{}"))
        auth = TokenAuth(store, _refuse, origins={platform.base})
        with make_client(HttpSettings(), auth=auth) as client:
            client.get(platform.base + "/x")
            client.get(elsewhere.base + "/x")
            auth.allow_origin(elsewhere.base + "/dicomweb")
            client.get(elsewhere.base + "/x")
    assert platform.requests[0][2].get("Authorization") == "Bearer at-secret"
    assert "Authorization" not in elsewhere.requests[0][2]
    assert elsewhere.requests[1][2].get("Authorization") == "Bearer at-secret"


def test_refresh_just_before_expiry_and_store_first() -> None:
    now = [1000.0]
    store = MemoryTokenStore(Tokens("at-1", 1100.0, "rt-1"))
    refreshed: list[str] = []

    def refresher(tokens: Tokens) -> Tokens:
        refreshed.append(tokens.refresh_token or "")
        return Tokens("at-2", now[0] + 300, "rt-2")

    auth = TokenAuth(store, refresher, origins=set(), clock=lambda: now[0], margin=30)
    assert auth.current().access_token == "at-1"
    now[0] = 1071.0  # 29 s left: inside the margin
    assert auth.current().access_token == "at-2"
    assert refreshed == ["rt-1"]
    assert store.load() == Tokens("at-2", 1371.0, "rt-2")
    assert isinstance(auth, httpx.Auth)
