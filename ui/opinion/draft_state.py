"""What the opinion editor needs of a case, read in one go off the UI thread.

The case's open draft (opinion or addendum) or, when the opinion is signed and no
addendum is open, the signed draft to show read-only; and the case's citations (their
order numbers the references in the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reviewer_app.casefile import CaseFile
from reviewer_app.opinion import drafts, evidence
from reviewer_app.opinion.drafts import DraftKind, OpinionDraft

OPINION = str(DraftKind.OPINION)
ADDENDUM = str(DraftKind.ADDENDUM)


@dataclass(frozen=True)
class DraftState:
    """The editor's content for one case."""

    case_id: str
    draft: OpinionDraft
    #: "opinion" or "addendum": which draft is open (an addendum has one section).
    kind: str
    #: The opinion is signed and no addendum is open: read-only, "Write addendum".
    signed: bool
    #: Nothing was saved yet (Records reviewed was filled in from the case).
    is_new: bool
    citations: tuple[evidence.Citation, ...]


def load_state(vault: Any, case: CaseFile) -> DraftState:
    """Read the case's draft state (on a worker thread)."""
    case_id = case.case_id
    kind = drafts.open_draft_kind(vault, case_id)
    signed = drafts.signed_drafts(vault, case_id) if kind is None else []
    citations = tuple(evidence.citations(vault, case_id))
    if signed and not drafts.can_start_opinion(vault, case_id):
        # Everything is signed: show the newest signed document, read-only.
        last = signed[-1]
        return DraftState(case_id, last.draft, str(last.kind), True, False, citations)
    draft = drafts.load_draft(vault, case_id)
    is_new = draft is None
    if draft is None:
        # After the platform refused the signed opinion, the new one starts from its text.
        refused = [s.draft for s in signed if s.kind == DraftKind.OPINION]
        draft = refused[-1] if refused else drafts.with_records_reviewed(OpinionDraft(), case)
    return DraftState(
        case_id=case_id,
        draft=draft,
        kind=str(kind or DraftKind.OPINION),
        signed=False,
        is_new=is_new,
        citations=citations,
    )


def start_addendum(vault: Any, case: CaseFile) -> DraftState:
    """Open an addendum draft for the case (its opinion is signed) and read it back."""
    drafts.start_addendum(vault, case.case_id)
    return load_state(vault, case)
