"""A real PAdES-signed opinion goes through the outbox and still verifies on the platform."""

from __future__ import annotations

import base64
import datetime as dt

from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import Enrollment, outbox, verify_pdf
from reviewer_app.sync import local
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import fast_retry


def test_the_signed_pdf_arrives_unchanged_and_verifies(
    vault: Vault,
    platform: PlatformSession,
    pki_server: RunningServer,
    enrollment: Enrollment,
    signed: bytes,
) -> None:
    task = platform.fhir.fetch_cases(platform.practitioner_id()).cases[0]
    local.save_task(vault, task)
    item = outbox.queue_opinion(
        vault, task.case_id, signed, signed_at=dt.datetime.now(dt.UTC), referral_id=task.referral_id
    )
    report = outbox.drain(vault, platform.fhir, platform.practitioner_id(), retry=fast_retry())
    assert report.uploaded == (item.item_id,)
    receipt = outbox.get(vault, item.item_id).receipt
    assert receipt is not None
    document = pki_server.app.store.get(
        "DocumentReference", receipt.document_reference.split("/")[1]
    )
    assert document is not None
    arrived = base64.b64decode(document["content"][0]["attachment"]["data"])
    assert arrived == signed
    assert outbox.signed_pdf(vault, item.item_id) == signed
    check = verify_pdf(arrived, list(enrollment.platform_ca))
    assert check.ok, check.reason
    assert document["context"]["related"][1] == {"reference": f"ServiceRequest/{task.referral_id}"}
