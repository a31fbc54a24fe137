"""What the workspace asks of a pane, and the three production panes.

Every pane (records, labs, imaging) is a QWidget that shows one Case at a time. The
workspace hands all of them the same :class:`~reviewer_app.casefile.CaseFile` together,
clears them together on lock, and asks each which case it shows (the wrong-patient
checks). Panes are built by :func:`default_panes`; tests build the workspace with their
own panes through the same protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from reviewer_app.casefile import CaseFile

if TYPE_CHECKING:
    from ui.operations import Operations


@runtime_checkable
class CasePane(Protocol):
    """A pane of the workspace (see notes: WORKSPACE_API.md)."""

    pane_title: str

    def show_case(self, case: CaseFile, vault: Any) -> None:
        """Replace everything shown with ``case`` (bytes come from ``vault``)."""

    def clear(self) -> None:
        """Show nothing of any patient (no case, or locked)."""

    def case_id(self) -> str | None:
        """The case currently shown, None when cleared."""

    def open_ref(self, ref: str) -> None:
        """Bring an item forward: ``record:<id>[#page]``, ``lab:<code>``, ``series:<uid>``."""


#: The prefix of the refs each pane opens, by pane title.
REF_PREFIXES = {"record": "Records", "lab": "Labs", "series": "Imaging"}
#: The pane that reopens each kind of citation (reviewer_app.opinion.evidence.CitationKind).
CITATION_PANES = {"page": "Records", "lab": "Labs", "trend": "Labs", "key_image": "Imaging"}
#: The title of the opinion editor's dock (it follows the case like a pane).
OPINION_TITLE = "Opinion"


def pane_for_ref(panes: list[Any], ref: str) -> Any | None:
    """The pane that opens ``ref`` (by its prefix), or None."""
    title = REF_PREFIXES.get(ref.split(":", 1)[0])
    return next((pane for pane in panes if pane.pane_title == title), None)


def pane_for_citation(panes: list[Any], citation: Any) -> Any | None:
    """The pane that reopens ``citation`` (by its kind), or None."""
    title = CITATION_PANES.get(str(citation.kind))
    return next((pane for pane in panes if pane.pane_title == title), None)


def default_panes(ops: Operations) -> list[Any]:
    """The production panes, left to right: records, labs, imaging; then the opinion
    editor (the workspace docks it beside them, see ``OPINION_TITLE``)."""
    from ui.imaging.pane import ImagingPane
    from ui.labs.pane import LabsPane
    from ui.opinion import OpinionEditor
    from ui.records.pane import RecordsPane

    return [RecordsPane(ops), LabsPane(ops), ImagingPane(ops), OpinionEditor(ops)]
