"""Fixtures for the signing UI tests: the reference server over real HTTP on 127.0.0.1
(its CA enrolls certificates), a session signed in through the real OAuth flow, and a
vault synced from it (copied per test), so signing, the outbox and the upload run for
real. Module-scoped (one server per test module that imports them): the tests work on
copies of the synced vault.

    from tests.ui.opinion.sign_helpers import platform, pki_server, synced  # noqa: F401
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from demo_server.server import RunningServer, start
from reviewer_app.exchange import PlatformSession, RetryPolicy
from reviewer_app.vault import KeySource, Profile, Vault, create_profile, open_profile
from tests.reviewer_app.sync.helpers import signed_in
from tests.ui.helpers import FAST_SCRYPT

PASSPHRASE = "correct horse battery staple"
SIGNING_PASSPHRASE = "signing passphrase 42"


@dataclass(frozen=True)
class SyncedVault:
    """A test's own vault, synced from the module's server."""

    vault: Vault
    case_ids: list[str]


@pytest.fixture(scope="module")
def pki_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start(cases=3, seed=1, storage=tmp_path_factory.mktemp("sign-srv"), ct_slices=2)
    yield running
    running.stop()


@pytest.fixture
def platform(pki_server: RunningServer) -> Iterator[PlatformSession]:
    """Signed in per test: closing it ends the server's connection threads before the
    UI tests' leak check looks."""
    with signed_in(pki_server) as session:
        yield session


def quick_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=2, base_delay=0.01, sleep=lambda _s: None)


def sync(vault: Vault, platform: PlatformSession) -> Any:
    """One real sync run (fetches cases, sends the outbox)."""
    from reviewer_app.sync.engine import SyncEngine

    with SyncEngine(vault, platform, retry=quick_retry()) as engine:
        return engine.run()


@pytest.fixture(scope="module")
def synced_root(
    tmp_path_factory: pytest.TempPathFactory, pki_server: RunningServer
) -> tuple[Path, bytes, list[str]]:
    """The module's cases synced once into a memory-key profile (closed)."""
    root = tmp_path_factory.mktemp("sign-src") / "profile"
    key = secrets.token_bytes(32)
    vault = create_profile(Profile(root), PASSPHRASE, key_source=KeySource.MEMORY, key=key)
    try:
        with signed_in(pki_server) as session:
            report = sync(vault, session)
        assert report.state == "complete", report.errors
        case_ids = sorted(c.case_id for c in vault.cases())
    finally:
        vault.close()
    return root, key, case_ids


@pytest.fixture
def synced(
    synced_root: tuple[Path, bytes, list[str]], tmp_path: Path
) -> Iterator[Callable[[], SyncedVault]]:
    """Factory: a private copy of the synced profile, open (closed after the test)."""
    opened: list[Vault] = []
    root, key, case_ids = synced_root

    def make() -> SyncedVault:
        copy = tmp_path / f"synced-{len(opened)}"
        shutil.copytree(root, copy)
        vault = open_profile(Profile(copy), key=key)
        opened.append(vault)
        return SyncedVault(vault, list(case_ids))

    yield make
    for vault in opened:
        vault.close()


def enroll_signer(vault: Vault, platform: PlatformSession) -> Any:
    """Enroll a key with the server's CA and keep it under SIGNING_PASSPHRASE."""
    from reviewer_app.opinion.enrollment import enroll
    from reviewer_app.opinion.keys import SigningKeyStore, new_private_key

    key = new_private_key()
    result = enroll(platform, key, common_name="Test specialist")
    store = SigningKeyStore(vault, scrypt=FAST_SCRYPT)
    store.store(key, list(result.chain), SIGNING_PASSPHRASE, platform_ca=list(result.platform_ca))
    return store


def write_complete_draft(vault: Vault, case_id: str) -> None:
    """A draft that passes the completeness check (every section, verdict, answers)."""
    from reviewer_app.casefile import load_case
    from reviewer_app.opinion import drafts

    questions = load_case(vault, case_id).patient_questions
    sections = {
        section: f"<p>Synthetic {section.value.replace('_', ' ')} text.</p>"
        for section in drafts.Section
        if section is not drafts.Section.ADDENDUM
    }
    draft = drafts.OpinionDraft(
        sections,
        drafts.Verdict.PARTLY,
        tuple(f"<p>Synthetic answer {n}.</p>" for n in range(1, len(questions) + 1)),
    )
    drafts.save_draft(vault, case_id, draft, force=True).result()


def write_incomplete_draft(vault: Vault, case_id: str) -> None:
    """A draft with only the case summary written (and a placeholder in it)."""
    from reviewer_app.opinion import drafts

    draft = drafts.OpinionDraft({drafts.Section.CASE_SUMMARY: "<p>Summary [[check]]</p>"})
    drafts.save_draft(vault, case_id, draft, force=True).result()


def sign_directly(vault: Vault, case_id: str, store: Any) -> Any:
    """Write a complete draft and sign it with the core (no dialog): the OutboxItem."""
    from reviewer_app.casefile import load_case
    from reviewer_app.opinion import finalize
    from reviewer_app.opinion.keys import signer_info

    write_complete_draft(vault, case_id)
    document = finalize.prepare(vault, case_id, signer_info(store.chain()[0]))
    pdf = finalize.preview(document)
    questions = load_case(vault, case_id).patient_questions
    identity = store.unlock(SIGNING_PASSPHRASE)
    return finalize.sign_and_queue(vault, case_id, pdf, identity, questions)


def drain(vault: Vault, platform: PlatformSession) -> Any:
    """Send the outbox once (what a sync does at its end), without refreshing the cases."""
    from reviewer_app.opinion import outbox

    return outbox.drain(vault, platform.fhir, platform.practitioner_id(), retry=quick_retry())


def admin_post(server: RunningServer, path: str, body: dict[str, Any]) -> None:
    """The reference server's admin API (faults, touching and withdrawing cases)."""
    from tests.reviewer_app.sync.helpers import admin

    with admin(server) as client:
        client.post(path, json=body).raise_for_status()


def clear_faults(server: RunningServer) -> None:
    from tests.reviewer_app.sync.helpers import admin

    with admin(server) as client:
        client.delete("/faults").raise_for_status()


def transaction_path(server: RunningServer) -> str:
    """A fault path matching only the POST of a transaction to the FHIR base."""
    from urllib.parse import urlsplit

    return f"^{urlsplit(server.fhir_base).path.rstrip('/')}/?$"


def refresh_task(vault: Vault, platform: PlatformSession, case_id: str) -> None:
    """Record the case's current Task version from the server (what a sync starts with)."""
    from reviewer_app.sync import local

    tasks = platform.fhir.fetch_cases(platform.practitioner_id()).cases
    local.save_task(vault, next(t for t in tasks if t.case_id == case_id))
