"""Storing a citation made in a pane: off the UI thread, and told only to its own case.

The three panes cite different things (a page, a lab result or trend, a key image) but
store and report them the same way: the vault write runs as an operation, and when it
ends the pane says so only if it still shows the case the citation was made in (the
user may have moved on), while the opinion editor is told in any case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reviewer_app.errors import ReviewerError
from reviewer_app.opinion.evidence import Citation
from ui.operations import OpContext, Operations


def cite_in_background(
    pane: Any,
    ops: Operations,
    case_id: str,
    work: Callable[[OpContext], Citation],
    *,
    what: str,
    say: Callable[[str, bool], None],
    label: str,
) -> None:
    """Run ``work`` (which stores the citation) and report it.

    ``pane`` has ``case_id()`` and a ``cite_requested`` signal; ``say(text, problem)``
    shows a line in the pane; ``what`` names the cited thing in the failure message
    ("The page" could not be cited)."""

    def cited(citation: Citation) -> None:
        if pane.case_id() == case_id:
            say(f"Cited in the opinion: {citation.label}", False)
        pane.cite_requested.emit(citation)

    def failed(error: BaseException) -> None:
        if not isinstance(error, ReviewerError):
            ops.unhandled.emit(error)
        if pane.case_id() == case_id:
            detail = error.message if isinstance(error, ReviewerError) else ""
            say(f"{what} could not be cited. {detail}".strip(), True)

    ops.run(work, success=cited, failure=failed, label=label)
