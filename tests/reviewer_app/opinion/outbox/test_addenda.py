"""Addenda: drafted after the opinion is signed, one open draft at a time, queued as
their own signed documents that append to the opinion, uploaded exactly once after it
(over real HTTP to the reference server), never touching the Task."""

from __future__ import annotations

import datetime as dt

import pytest

from demo_server.server import RunningServer
from reviewer_app.errors import AddendumNotAllowed, OpinionAlreadyQueued, ServerError
from reviewer_app.exchange import PlatformSession
from reviewer_app.opinion import completeness, outbox
from reviewer_app.opinion.drafts import (
    DraftKind,
    OpinionDraft,
    Section,
    Verdict,
    history,
    load_draft,
    load_version,
    open_draft_kind,
    restore,
    save_draft,
    signed_drafts,
    start_addendum,
)
from reviewer_app.opinion.outbox import ORIGINAL_REJECTED_MESSAGE, State
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.helpers import opinion_pdf
from tests.reviewer_app.opinion.outbox.test_outbox import (
    _fault,
    _opinions,
    _refresh,
    _transaction_path,
)
from tests.reviewer_app.sync.helpers import admin, fast_retry

SIGNED_AT = dt.datetime(2026, 11, 29, 18, 1, 55, tzinfo=dt.UTC)
T0 = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)
OPINION = OpinionDraft({Section.CASE_SUMMARY: "<p>Summary</p>"}, Verdict.AGREE)


@pytest.fixture(scope="module")
def pdfs() -> tuple[bytes, bytes]:
    """An opinion's and an addendum's (unsigned: the outbox does not look inside)."""
    return opinion_pdf(), opinion_pdf(pages=1)


@pytest.fixture
def case_id(vault: Vault, session: PlatformSession) -> str:
    return _refresh(vault, session)


def _sign_opinion(vault: Vault, case_id: str, pdf: bytes) -> outbox.OutboxItem:
    save_draft(vault, case_id, OPINION, now=T0).result()
    return outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT, close_draft=True)


def _sign_addendum(vault: Vault, case_id: str, pdf: bytes, text: str) -> outbox.OutboxItem:
    start_addendum(vault, case_id)
    save_draft(vault, case_id, OpinionDraft({Section.ADDENDUM: text})).result()
    return outbox.queue_addendum(vault, case_id, pdf, signed_at=SIGNED_AT, close_draft=True)


def test_addendum_lifecycle(vault: Vault, case_id: str, pdfs: tuple[bytes, bytes]) -> None:
    pdf, addendum_pdf = pdfs
    assert open_draft_kind(vault, case_id) is None
    with pytest.raises(AddendumNotAllowed, match="needs a signed opinion"):
        start_addendum(vault, case_id)
    save_draft(vault, case_id, OPINION, now=T0).result()
    assert open_draft_kind(vault, case_id) is DraftKind.OPINION
    with pytest.raises(AddendumNotAllowed, match="Finish the draft"):
        start_addendum(vault, case_id)
    with pytest.raises(AddendumNotAllowed):
        outbox.queue_addendum(vault, case_id, addendum_pdf, signed_at=SIGNED_AT)
    opinion = outbox.queue_opinion(vault, case_id, pdf, signed_at=SIGNED_AT, close_draft=True)
    assert open_draft_kind(vault, case_id) is None
    assert history(vault, case_id) == []

    # The addendum is a new, empty draft with its own history.
    assert start_addendum(vault, case_id, now=T0) == OpinionDraft({Section.ADDENDUM: ""})
    assert open_draft_kind(vault, case_id) is DraftKind.ADDENDUM
    assert load_draft(vault, case_id) == OpinionDraft({Section.ADDENDUM: ""})
    with pytest.raises(AddendumNotAllowed):
        start_addendum(vault, case_id)
    assert [f.message for f in completeness.check(OpinionDraft({Section.ADDENDUM: ""}), ["q"])] == [
        "The addendum is empty."
    ]
    first = OpinionDraft({Section.ADDENDUM: "<p>Correction: [[dose]]</p>"})
    save_draft(vault, case_id, first, now=T0 + dt.timedelta(minutes=1)).result()
    assert [f.message for f in completeness.check(first, ["q"])] == [
        "The addendum still has a placeholder."
    ]
    second = OpinionDraft({Section.ADDENDUM: "<p>Correction: 5 mg daily.</p>"})
    save_draft(vault, case_id, second, force=True, now=T0 + dt.timedelta(minutes=2)).result()
    # An addendum answers no question and gives no verdict: complete as it is.
    assert completeness.check(second, ["q1", "q2"]) == []
    assert completeness.check(second, ["q1"], DraftKind.ADDENDUM) == []
    # Its history holds only its own versions; numbers run on after the opinion's.
    versions = [v.version for v in history(vault, case_id)]
    assert versions == [3, 2]
    assert load_version(vault, case_id, 2) == first
    with pytest.raises(Exception, match="version"):
        load_version(vault, case_id, 1)  # the signed opinion's version is not restorable here
    assert restore(vault, case_id, 2) == first
    save_draft(vault, case_id, second).result()

    added = outbox.queue_addendum(
        vault, case_id, addendum_pdf, signed_at=SIGNED_AT, close_draft=True
    )
    assert (added.kind, added.relates_to, added.state) == (
        "addendum",
        opinion.opinion_id,
        State.QUEUED,
    )
    assert added.opinion_id != opinion.opinion_id
    assert [(d.kind, d.item_id) for d in signed_drafts(vault, case_id)] == [
        (DraftKind.OPINION, opinion.item_id),
        (DraftKind.ADDENDUM, added.item_id),
    ]
    assert signed_drafts(vault, case_id)[1].draft == second
    assert [i.item_id for i in outbox.items(vault, case_id)] == [opinion.item_id, added.item_id]
    actions = vault.read().execute("SELECT action FROM audit ORDER BY seq").fetchall()
    assert actions == [("sign",), ("sign",)]
    # A second addendum may be written, but not queued while the first still waits.
    start_addendum(vault, case_id)
    save_draft(vault, case_id, OpinionDraft({Section.ADDENDUM: "<p>More.</p>"})).result()
    with pytest.raises(OpinionAlreadyQueued):
        outbox.queue_addendum(vault, case_id, addendum_pdf, signed_at=SIGNED_AT, close_draft=True)
    assert open_draft_kind(vault, case_id) is DraftKind.ADDENDUM
    assert len(outbox.items(vault, case_id)) == 2


def test_an_addendum_uploads_once_after_its_opinion_and_leaves_the_task_alone(
    vault: Vault,
    session: PlatformSession,
    server: RunningServer,
    case_id: str,
    pdfs: tuple[bytes, bytes],
) -> None:
    pdf, addendum_pdf = pdfs
    fhir, me, path = session.fhir, session.practitioner_id(), _transaction_path(server)
    opinion = _sign_opinion(vault, case_id, pdf)
    added = _sign_addendum(vault, case_id, addendum_pdf, "<p>Follow-up answer.</p>")
    bundle = outbox.build_bundle(vault, added.item_id, me)
    assert [e["request"]["url"] for e in bundle["entry"]] == ["DocumentReference", "Provenance"]
    relation = {
        "code": "appends",
        "target": {"identifier": {"system": "urn:ietf:rfc:3986", "value": opinion.opinion_id}},
    }
    assert bundle["entry"][0]["resource"]["relatesTo"] == [relation]

    # While the opinion cannot go, the addendum waits behind it.
    _fault(server, error_rate=1.0, error_status=503, path=path, times=3)
    report = outbox.drain(vault, fhir, me, retry=fast_retry(3))
    assert report.still_queued == (opinion.item_id, added.item_id)
    assert outbox.get(vault, added.item_id).attempts == 0
    report = outbox.drain(vault, fhir, me, retry=fast_retry(3))
    assert report.uploaded == (opinion.item_id, added.item_id)
    assert len(_opinions(server, added.opinion_id)) == 1

    # A later addendum, retried ten times under faults, is stored once.
    task_before = server.app.store.get("Task", case_id)
    assert task_before is not None
    second = _sign_addendum(vault, case_id, addendum_pdf, "<p>Second follow-up.</p>")
    # Five 5xx answers, then one reply cut after 40 bytes (stored, the answer lost).
    _fault(server, error_rate=1.0, error_status=503, path=path, times=5)
    _fault(server, drop_after_bytes=40, path=path, times=1)
    outcomes = []
    for _ in range(2):
        outbox.drain(vault, fhir, me, retry=fast_retry(3))
        outcomes.append(outbox.get(vault, second.item_id).state)
    assert len(_opinions(server, second.opinion_id)) == 1
    _fault(server, error_rate=1.0, error_status=503, path=path, times=3)
    for _ in range(2):
        outbox.drain(vault, fhir, me, retry=fast_retry(3))
        outcomes.append(outbox.get(vault, second.item_id).state)
    assert outcomes == [State.QUEUED, State.QUEUED, State.QUEUED, State.UPLOADED]
    done = outbox.get(vault, second.item_id)
    assert done.attempts == 10
    stored = _opinions(server, second.opinion_id)
    assert len(stored) == 1
    assert stored[0]["relatesTo"] == [relation]
    assert done.receipt is not None
    assert done.receipt.document_reference == f"DocumentReference/{stored[0]['id']}"
    # The Task is exactly as the opinion left it: same version, output the opinion only.
    task_after = server.app.store.get("Task", case_id)
    assert task_after == task_before
    assert task_after is not None
    (original,) = _opinions(server, opinion.opinion_id)
    reference = {"reference": f"DocumentReference/{original['id']}"}
    assert [o["valueReference"] for o in task_after["output"]] == [reference]
    assert len(_opinions(server, added.opinion_id)) == 1


def test_an_addendum_to_a_refused_opinion_is_not_sent(
    vault: Vault,
    session: PlatformSession,
    server: RunningServer,
    case_id: str,
    pdfs: tuple[bytes, bytes],
) -> None:
    pdf, addendum_pdf = pdfs
    with admin(server) as client:
        client.post("/withdraw", json={"case": case_id}).raise_for_status()
    _refresh(vault, session, case_id)
    opinion = _sign_opinion(vault, case_id, pdf)
    added = _sign_addendum(vault, case_id, addendum_pdf, "<p>Follow-up.</p>")
    report = outbox.drain(vault, session.fhir, session.practitioner_id(), retry=fast_retry())
    assert report.rejected == (opinion.item_id, added.item_id)
    refused = outbox.get(vault, added.item_id)
    assert (refused.state, refused.message) == (State.REJECTED, ORIGINAL_REJECTED_MESSAGE)
    assert _opinions(server, added.opinion_id) == []
    assert outbox.signed_pdf(vault, added.item_id) == addendum_pdf
    with pytest.raises(AddendumNotAllowed):
        start_addendum(vault, case_id)
    # What the platform refused can be written again as a new opinion.
    again = OpinionDraft({Section.CASE_SUMMARY: "<p>Again</p>"})
    save_draft(vault, case_id, again).result()
    assert (open_draft_kind(vault, case_id), load_draft(vault, case_id)) == (
        DraftKind.OPINION,
        again,
    )
    assert len(history(vault, case_id)) == 1
    kept = signed_drafts(vault, case_id)
    assert [(d.kind, d.item_id) for d in kept] == [
        (DraftKind.OPINION, opinion.item_id),
        (DraftKind.ADDENDUM, added.item_id),
    ]
    assert kept[0].draft == OPINION


def test_the_platform_refuses_an_addendum_to_an_unknown_opinion(
    vault: Vault,
    session: PlatformSession,
    server: RunningServer,
    case_id: str,
    pdfs: tuple[bytes, bytes],
) -> None:
    pdf, addendum_pdf = pdfs
    _sign_opinion(vault, case_id, pdf)
    added = _sign_addendum(vault, case_id, addendum_pdf, "<p>Follow-up.</p>")
    bundle = outbox.build_bundle(vault, added.item_id, session.practitioner_id())
    # The opinion is not on the platform yet: nothing to append to.
    with pytest.raises(ServerError) as refused:
        session.fhir.transaction(bundle)
    assert refused.value.status == 400
    assert _opinions(server, added.opinion_id) == []
