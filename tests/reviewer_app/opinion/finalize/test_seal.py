"""Sealing before upload: once online, a signed opinion gains the platform's CRL and a
document timestamp as incremental updates; the signed bytes stay its first bytes, the
signature stays valid, and the platform receives that one sealed document."""

from __future__ import annotations

import pytest

from demo_server.server import RunningServer
from reviewer_app.casefile import load_case
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import (
    Enrollment,
    SigningIdentity,
    SigningKeyStore,
    enroll,
    new_private_key,
    outbox,
    seal,
    signer_info,
    verify_pdf,
)
from reviewer_app.opinion.finalize import prepare, preview, sign_and_queue
from reviewer_app.opinion.keys import TRUST_SETTING
from reviewer_app.sync.engine import SyncEngine
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.finalize.helpers import complete_draft
from tests.reviewer_app.opinion.helpers import FAST_SCRYPT, PASSPHRASE
from tests.reviewer_app.sync.helpers import admin, fast_retry


@pytest.fixture
def enrolled(vault: Vault, session: PlatformSession) -> tuple[SigningIdentity, Enrollment]:
    """A key enrolled with the server the case comes from (its CA, TSA and CRL)."""
    key = new_private_key()
    result = enroll(session, key, common_name="Dr Seal Test")
    SigningKeyStore(vault, scrypt=FAST_SCRYPT).store(
        key, list(result.chain), PASSPHRASE, platform_ca=list(result.platform_ca)
    )
    return SigningIdentity(key, result.chain), result


def _sign(vault: Vault, case_id: str, identity: SigningIdentity) -> outbox.OutboxItem:
    complete_draft(vault, case_id)
    pdf = preview(prepare(vault, case_id, signer_info(identity.certificate)))
    questions = load_case(vault, case_id).patient_questions
    return sign_and_queue(vault, case_id, pdf, identity, questions)


def test_a_queued_opinion_is_sealed_once_and_the_platform_gets_that_document(
    vault: Vault,
    case_id: str,
    session: PlatformSession,
    server: RunningServer,
    enrolled: tuple[SigningIdentity, Enrollment],
) -> None:
    identity, enrollment = enrolled
    item = _sign(vault, case_id, identity)
    signed = outbox.signed_pdf(vault, item.item_id)

    assert seal.seal_queued(vault, session) == [item.item_id]
    sealed = outbox.signed_pdf(vault, item.item_id)
    # Appended, never rewritten: the signed bytes are the sealed file's first bytes.
    assert sealed[: len(signed)] == signed and len(sealed) > len(signed)
    report = verify_pdf(sealed, list(enrollment.platform_ca))
    assert report.ok, report.reason
    assert [c.kind for c in report.checks] == ["signature", "timestamp"]
    # Once only.
    assert seal.seal_queued(vault, session) == []
    assert outbox.signed_pdf(vault, item.item_id) == sealed

    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    (sent,) = outbox.items(vault, case_id)
    assert sent.state is outbox.State.UPLOADED
    with admin(server) as client:
        stored = [
            d
            for d in client.get("/opinions").json()
            if {"system": "urn:ietf:rfc:3986", "value": item.opinion_id} in d["identifier"]
        ]
    assert len(stored) == 1
    assert stored[0]["content"][0]["attachment"]["size"] == len(sealed)


def test_an_opinion_that_may_have_reached_the_platform_is_not_changed(
    vault: Vault,
    case_id: str,
    session: PlatformSession,
    enrolled: tuple[SigningIdentity, Enrollment],
) -> None:
    identity, _ = enrolled
    item = _sign(vault, case_id, identity)
    signed = outbox.signed_pdf(vault, item.item_id)
    # An attempt went out (its answer lost): the platform may hold the signed bytes.
    vault.write_sync(
        lambda conn: conn.execute(
            "UPDATE outbox SET attempts = 1 WHERE item_id = ?", (item.item_id,)
        )
    )
    assert seal.seal_queued(vault, session) == []
    assert outbox.signed_pdf(vault, item.item_id) == signed


def test_without_the_platform_ca_the_opinion_goes_as_signed(
    vault: Vault,
    case_id: str,
    session: PlatformSession,
    enrolled: tuple[SigningIdentity, Enrollment],
) -> None:
    identity, _ = enrolled
    item = _sign(vault, case_id, identity)
    signed = outbox.signed_pdf(vault, item.item_id)
    # As after a PKCS#12 import: no platform CA to check the chain and CRL against.
    vault.write_sync(
        lambda conn: conn.execute("DELETE FROM settings WHERE key = ?", (TRUST_SETTING,))
    )
    assert SigningKeyStore(vault).platform_ca() == []
    assert seal.seal_queued(vault, session) == []
    assert outbox.signed_pdf(vault, item.item_id) == signed


def test_the_sync_seals_before_it_sends(
    vault: Vault,
    case_id: str,
    session: PlatformSession,
    enrolled: tuple[SigningIdentity, Enrollment],
) -> None:
    identity, enrollment = enrolled
    item = _sign(vault, case_id, identity)
    signed = outbox.signed_pdf(vault, item.item_id)
    with SyncEngine(vault, session, retry=fast_retry()) as engine:
        assert engine.run().state == "complete"
    (sent,) = outbox.items(vault, case_id)
    assert sent.state is outbox.State.UPLOADED
    uploaded = outbox.signed_pdf(vault, item.item_id)
    assert uploaded.startswith(signed) and uploaded != signed
    assert [c.kind for c in verify_pdf(uploaded, list(enrollment.platform_ca)).checks] == [
        "signature",
        "timestamp",
    ]
