"""Where each case's opinion stands, for the worklist's Opinion column.

A module of its own: the worklist reads it at every reload, and it needs only the vault
(``finalize`` imports pyHanko and PyMuPDF, about a second on a cold start).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from reviewer_app.opinion.drafts import DraftKind
from reviewer_app.opinion.outbox import Receipt, State
from reviewer_app.vault import Vault


@dataclass(frozen=True)
class OpinionState:
    """Where a case's opinion stands, for the worklist's Opinion column.

    ``stage``: ``draft`` | ``signed`` (in the outbox, not tried yet) | ``queued``
    (waiting for the connection) | ``uploaded`` | ``conflict`` | ``rejected``.
    """

    case_id: str
    stage: str
    detail: str
    addenda: int


def opinion_states(vault: Vault) -> dict[str, OpinionState]:
    """Each case's opinion stage (cases with neither draft nor opinion are left out),
    read in one query."""
    rows = (
        vault.read()
        .execute(
            "SELECT case_id, 'outbox', kind, state, attempts, message, last_error, receipt, "
            "created_at FROM outbox WHERE kind IN ('opinion', 'addendum') "
            "AND opinion_id IS NOT NULL "
            "UNION ALL SELECT case_id, 'draft', kind, state, NULL, NULL, NULL, NULL, "
            "COALESCE(updated_at, created_at) FROM drafts WHERE sections IS NOT NULL "
            "ORDER BY 1, 9"
        )
        .fetchall()
    )
    by_case: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_case.setdefault(row[0], []).append(row)
    states = {}
    for case_id, case_rows in by_case.items():
        state = _state(case_id, case_rows)
        if state is not None:
            states[case_id] = state
    return states


def _state(case_id: str, rows: list[tuple[Any, ...]]) -> OpinionState | None:
    sent = [r for r in rows if r[1] == "outbox"]
    opinions = [r for r in sent if r[2] == DraftKind.OPINION]
    addenda = [r for r in sent if r[2] == DraftKind.ADDENDUM]
    open_drafts = [r for r in rows if r[1] == "draft" and r[3] == "open"]
    if not opinions:
        if not open_drafts:
            return None
        return OpinionState(case_id, "draft", f"Saved {_local(open_drafts[-1][8])}", 0)
    stage, detail = _item_stage(opinions[-1])
    pending = [r for r in addenda if r[3] != State.UPLOADED]
    if stage == "uploaded" and pending:
        # The opinion arrived; what still needs the specialist is the addendum.
        stage, addendum_detail = _item_stage(pending[-1])
        detail = f"Addendum: {addendum_detail}"
    elif open_drafts and open_drafts[-1][2] == DraftKind.ADDENDUM:
        detail += " · addendum being written"
    return OpinionState(case_id, stage, detail, len(addenda))


def _item_stage(row: tuple[Any, ...]) -> tuple[str, str]:
    state, attempts, message, error, receipt = State(row[3]), row[4] or 0, row[5], row[6], row[7]
    if state is State.UPLOADED:
        if receipt:
            got = Receipt(**json.loads(receipt))
            return "uploaded", f"{got.document_reference} · {_local(got.uploaded_at)}"
        return "uploaded", "Sent"
    if state is State.QUEUED:
        if attempts == 0:
            return "signed", f"Signed {_local(row[8])}, not sent yet"
        reason = (error or "").partition(": ")[2] or "the platform could not be reached"
        return "queued", f"Waiting to be sent ({attempts} attempts): {reason}"
    return str(state), message or ""


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _local(stamp: str) -> str:
    """A stored UTC time as the specialist's local date and minute."""
    return _parse(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
