"""What a page citation says and stores: the Record, its date, the page, the view.

The Records pane's "Cite in opinion" cites the page on screen as
``record:<record_id>#<page, 1-based>``. The label stands alone in the signed PDF: the
Record's title, its type and date, and the page ("of N", so a reader knows the page
numbering is the file's, not the printed one). The view keeps where in the page the
reader was, the zoom and the rotation, and the file the page was read in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reviewer_app.casefile import RecordEntry
from ui.records.page_view import ViewState

PREFIX = "record:"


def page_ref(record_id: str, page: int) -> str:
    """``record:<record_id>#<page>`` for the 0-based ``page``."""
    return f"{PREFIX}{record_id}#{page + 1}"


def parse_page_ref(ref: str) -> tuple[str, int] | None:
    """(record id, 1-based page) of a page ref; None if it is not one."""
    if not ref.startswith(PREFIX):
        return None
    record_id, _, page = ref.removeprefix(PREFIX).partition("#")
    if not record_id or not page.isdigit() or int(page) < 1:
        return None
    return record_id, int(page)


def page_label(entry: RecordEntry, page: int, pages: int) -> str:
    """E.g. "Discharge summary (Discharge letter, 2026-03-02), page 3 of 5"; a title
    ending in brackets gets commas instead: "Report (oncology), Pathology study, …"."""
    title = entry.title.strip() or entry.type_display.strip() or "Untitled record"
    source = []
    kind = entry.type_display.strip()
    if kind and kind.casefold() != title.casefold():
        source.append(kind)
    source.append(entry.date.date().isoformat() if entry.date else "undated")
    where = f"page {page + 1} of {pages}"
    if title.endswith(")"):
        # "Pathology report (oncology)": no second pair of brackets after the first.
        return f"{title}, {', '.join(source)}, {where}"
    return f"{title} ({', '.join(source)}), {where}"


def page_view(entry: RecordEntry, page: int, state: ViewState, percent: float) -> dict[str, Any]:
    """What reopens the page: the file, the page, where in it, zoom and rotation."""
    return {
        "record_id": entry.record_id,
        "object_id": entry.object_id,
        "page": page + 1,
        # The top of the view: the page there and how far down it (ViewState).
        "top_page": state.page + 1,
        "fraction": round(state.fraction, 6),
        "zoom": state.mode,  # "fit-width", "fit-page" or a percentage
        "zoom_percent": round(percent, 3),
        "rotation": state.rotation,
    }


def state_of(view: Mapping[str, Any], page: int) -> ViewState:
    """The reader's place stored by :func:`page_view` (the cited page's top when the view
    holds no place)."""
    top = view.get("top_page")
    zoom = view.get("zoom", "fit-width")
    mode: str | float = zoom if isinstance(zoom, str) else float(zoom)
    rotation = int(view.get("rotation", 0))
    if isinstance(top, int) and top >= 1:
        return ViewState(top - 1, float(view.get("fraction", 0.0)), mode, rotation)
    return ViewState(page - 1, 0.0, mode, rotation)
