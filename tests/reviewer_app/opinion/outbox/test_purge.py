"""Purging a case whose opinion went out: the signed, uploaded draft goes (its PDF stays in
the outbox); unsent work (an addendum being written, an addendum not yet sent) is kept."""

from __future__ import annotations

import datetime as dt

from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import outbox
from reviewer_app.opinion.drafts import (
    OpinionDraft,
    Section,
    load_draft,
    save_draft,
    signed_drafts,
    start_addendum,
)
from reviewer_app.opinion.outbox import State
from reviewer_app.sync.purge import purge_case
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import opinion_pdf
from tests.reviewer_app.opinion.outbox.test_outbox import _refresh
from tests.reviewer_app.sync.helpers import fast_retry

SIGNED_AT = dt.datetime(2026, 11, 29, 18, 1, 55, tzinfo=dt.UTC)


def test_a_purge_keeps_unsent_work_and_drops_delivered_drafts(
    vault: Vault, session: PlatformSession
) -> None:
    case = _refresh(vault, session)
    pdf = opinion_pdf()
    save_draft(vault, case, OpinionDraft({Section.CASE_SUMMARY: "<p>S</p>"})).result()
    sent = outbox.queue_opinion(vault, case, pdf, signed_at=SIGNED_AT, close_draft=True)
    outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry())
    assert outbox.get(vault, sent.item_id).state is State.UPLOADED
    start_addendum(vault, case)
    save_draft(vault, case, OpinionDraft({Section.ADDENDUM: "<p>A</p>"})).result()
    waiting = outbox.queue_addendum(vault, case, pdf, signed_at=SIGNED_AT, close_draft=True)
    start_addendum(vault, case)
    writing = OpinionDraft({Section.ADDENDUM: "<p>Being written</p>"})
    save_draft(vault, case, writing).result()

    result = purge_case(vault, case, "retention")

    # Kept: the unsent addendum (draft and outbox item) and the one being written.
    assert result.drafts_kept == 3
    assert [d.item_id for d in signed_drafts(vault, case)] == [waiting.item_id]
    assert load_draft(vault, case) == writing
    conn = vault.read()
    assert conn.execute(
        "SELECT item_id, orphaned FROM outbox WHERE case_id = ? ORDER BY created_at, rowid",
        (case,),
    ).fetchall() == [(sent.item_id, None), (waiting.item_id, "retention")]
    # The delivered opinion's draft and its history are gone; its signed PDF is not.
    assert conn.execute(
        "SELECT count(*) FROM draft_versions WHERE draft_id = ?", (case,)
    ).fetchone() == (0,)
    assert outbox.signed_pdf(vault, sent.item_id) == pdf
