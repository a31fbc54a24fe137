"""The worklist's Opinion column: each stage from draft to uploaded (with the receipt),
conflict and rejection with what to do, and the addenda count, against the reference
server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

from demo_server.server import RunningServer
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import outbox
from reviewer_app.opinion.drafts import OpinionDraft, Section, save_draft, start_addendum
from reviewer_app.opinion.outbox import CONFLICT_MESSAGE
from reviewer_app.opinion.states import OpinionState, opinion_states
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import opinion_pdf
from tests.reviewer_app.opinion.outbox.test_outbox import _fault, _refresh, _transaction_path
from tests.reviewer_app.sync.helpers import admin, fast_retry

SAVED = dt.datetime(2026, 11, 29, 17, 30, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2026, 11, 29, 18, 1, 55, tzinfo=dt.UTC)


def _local(when: dt.datetime) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def test_each_stage_of_an_opinion_and_its_addendum(
    vault: Vault, session: PlatformSession, server: RunningServer
) -> None:
    case = _refresh(vault, session, "syn-0001-task")
    clash = _refresh(vault, session, "syn-0002-task")
    _refresh(vault, session, "syn-0003-task")
    fhir, me, pdf = session.fhir, session.practitioner_id(), opinion_pdf()
    assert opinion_states(vault) == {}

    save_draft(vault, case, OpinionDraft({Section.CASE_SUMMARY: "<p>S</p>"}), now=SAVED).result()
    assert opinion_states(vault) == {case: OpinionState(case, "draft", f"Saved {_local(SAVED)}", 0)}

    item = outbox.queue_opinion(vault, case, pdf, signed_at=SIGNED_AT, close_draft=True)
    (state,) = opinion_states(vault).values()
    assert (state.stage, state.addenda) == ("signed", 0)
    assert state.detail.startswith("Signed ") and state.detail.endswith(", not sent yet")

    _fault(server, error_rate=1.0, error_status=503, path=_transaction_path(server), times=2)
    outbox.drain(vault, fhir, me, retry=fast_retry(2))
    assert opinion_states(vault)[case] == OpinionState(
        case,
        "queued",
        "Waiting to be sent (2 attempts): The platform answered with HTTP status 503.",
        0,
    )

    outbox.drain(vault, fhir, me, retry=fast_retry(2))
    receipt = outbox.get(vault, item.item_id).receipt
    assert receipt is not None
    uploaded = f"{receipt.document_reference} · {_local(_parse(receipt.uploaded_at))}"
    assert opinion_states(vault)[case] == OpinionState(case, "uploaded", uploaded, 0)

    # An addendum being written, then signed and waiting, then sent.
    start_addendum(vault, case)
    save_draft(vault, case, OpinionDraft({Section.ADDENDUM: "<p>More.</p>"})).result()
    assert opinion_states(vault)[case] == OpinionState(
        case, "uploaded", f"{uploaded} · addendum being written", 0
    )
    added = outbox.queue_addendum(vault, case, pdf, signed_at=SIGNED_AT, close_draft=True)
    waiting = opinion_states(vault)[case]
    assert (waiting.stage, waiting.addenda) == ("signed", 1)
    assert waiting.detail.startswith("Addendum: Signed ")
    outbox.drain(vault, fhir, me, retry=fast_retry(2))
    done = opinion_states(vault)[case]
    assert (done.stage, done.detail, done.addenda) == ("uploaded", uploaded, 1)
    assert outbox.get(vault, added.item_id).state is outbox.State.UPLOADED

    # Another case's opinion meets a changed case: a conflict, with what to do.
    outbox.queue_opinion(vault, clash, pdf, signed_at=SIGNED_AT)
    with admin(server) as client:
        client.post("/touch", json={"case": clash}).raise_for_status()
    outbox.drain(vault, fhir, me, retry=fast_retry(2))
    assert opinion_states(vault)[clash] == OpinionState(clash, "conflict", CONFLICT_MESSAGE, 0)
    # The third case has neither draft nor opinion: no entry.
    assert set(opinion_states(vault)) == {case, clash}


def test_a_refused_opinion_shows_the_reason(
    vault: Vault, session: PlatformSession, server: RunningServer
) -> None:
    with admin(server) as client:
        client.post("/withdraw", json={"case": "SYN-0001"}).raise_for_status()
    case = _refresh(vault, session, "syn-0001-task")
    outbox.queue_opinion(vault, case, opinion_pdf(), signed_at=SIGNED_AT)
    outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry(2))
    assert opinion_states(vault)[case] == OpinionState(
        case, "rejected", "The case is closed (withdrawn, rejected or already completed).", 0
    )


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
