"""Helpers for the sync tests: a browser stand-in for the real OAuth flow, a signed-in
session, a memory vault, and the server's exact content to compare the vault with."""

from __future__ import annotations

import hashlib
import random
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from demo_server.server import RunningServer
from reviewer_app.exchange import MemoryTokenStore, PlatformSession, RetryPolicy
from reviewer_app.vault import KeySource, Profile, Vault, create_profile, open_profile

PASSPHRASE = "correct horse battery staple"


def demo_browser(username: str = "dr.demo", password: str = "demo") -> Callable[[str], None]:
    """Stands in for the system browser: loads the login form, posts it, and follows the
    redirect to the app's loopback listener, as a user signing in would."""

    def open_browser(url: str) -> None:
        def go() -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
            endpoint = url.split("?", 1)[0]
            with httpx.Client(timeout=10) as browser:
                page = browser.get(url)
                page.raise_for_status()
                answer = browser.post(
                    endpoint, data={**query, "username": username, "password": password}
                )
                browser.get(answer.headers["location"])

        threading.Thread(target=go, daemon=True).start()

    return open_browser


def signed_in(server: RunningServer, username: str = "dr.demo") -> PlatformSession:
    """A PlatformSession signed in through the real OAuth flow (memory token store)."""
    session = PlatformSession(server.fhir_base, MemoryTokenStore())
    session.sign_in(open_browser=demo_browser(username), timeout=20)
    return session


def fast_retry(attempts: int = 4) -> RetryPolicy:
    """Backoff with jitter but no real waiting (the delays are still computed)."""
    delays: list[float] = []
    return RetryPolicy(
        max_attempts=attempts, rng=random.Random(7), sleep=delays.append, base_delay=0.01
    )


def memory_vault(root: Path, key: bytes | None = None) -> tuple[Vault, bytes]:
    """A memory-key vault (no keyring, no KDF); reopen with the returned key."""
    profile = Profile(root)
    if key is not None and profile.exists():
        return open_profile(profile, key=key), key
    key = key or secrets.token_bytes(32)
    return create_profile(profile, PASSPHRASE, key_source=KeySource.MEMORY, key=key), key


def admin(server: RunningServer) -> httpx.Client:
    """The server's admin endpoint."""
    return httpx.Client(
        base_url=f"{server.base_url}/admin",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )


def server_content(server: RunningServer, case_ids: set[str] | None = None) -> dict[str, Any]:
    """What the platform holds for the owned cases: record and instance SHA-256 by case."""
    store = server.app.store
    content: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for task in store.all("Task"):
        if task.get("owner", {}).get("reference") != "Practitioner/spec-1":
            continue
        if task.get("status") in ("cancelled", "rejected", "entered-in-error"):
            continue
        if case_ids is not None and task["id"] not in case_ids:
            continue
        patient = task["for"]["reference"].split("/")[-1]
        records = set()
        for doc in store.all("DocumentReference"):
            if doc.get("subject", {}).get("reference") == f"Patient/{patient}" and doc.get(
                "content"
            ):
                binary_id = doc["content"][0]["attachment"]["url"].split("/")[-1]
                found = store.get_binary(binary_id)
                assert found is not None
                records.add((doc["id"], hashlib.sha256(found[1]).hexdigest()))
        instances = set()
        for study in store.all("ImagingStudy"):
            if study.get("subject", {}).get("reference") != f"Patient/{patient}":
                continue
            for series in study.get("series", []):
                for instance in series.get("instance", []):
                    data = server.app.dicomweb.instance_bytes(instance["uid"])
                    instances.add((instance["uid"], hashlib.sha256(data).hexdigest()))
        content[task["id"]] = {"records": records, "instances": instances}
    return content


def vault_content(vault: Vault) -> dict[str, Any]:
    """The same view of the vault, from the stored (decrypted) objects."""
    conn = vault.read()
    content: dict[str, dict[str, set[tuple[str, str]]]] = {}
    for (case_id,) in conn.execute("SELECT case_id FROM case_sync").fetchall():
        records = {
            (record_id, hashlib.sha256(vault.objects.read_bytes(object_id)).hexdigest())
            for record_id, object_id in conn.execute(
                "SELECT record_id, object_id FROM records WHERE case_id = ?", (case_id,)
            ).fetchall()
            if object_id
        }
        instances = {
            (uid, hashlib.sha256(vault.objects.read_bytes(object_id)).hexdigest())
            for uid, object_id in conn.execute(
                "SELECT sop_instance_uid, object_id FROM instances WHERE case_id = ?", (case_id,)
            ).fetchall()
            if object_id
        }
        content[case_id] = {"records": records, "instances": instances}
    return content
