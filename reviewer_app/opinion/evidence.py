"""Evidence the opinion cites: a record's page, a lab result, a trend, a key image.

A :class:`Citation` is created from a pane ("Cite") and stored in the vault's
``opinion_citations`` table with everything needed to reopen exactly that view; a key
image or a trend plot also keeps its PNG figure as an encrypted vault object (kind
``citation-image``), so the signed PDF shows what the specialist saw. The draft refers to
a citation by an anchor ``<a href="cite:<citation_id>">[n]</a>``; citations leave the
computer with their case (:mod:`reviewer_app.sync.purge`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reviewer_app.errors import CaseNotFound, CitationMissing, InvalidCitation
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

#: Object kind of a citation's figure in the vault.
IMAGE_KIND = "citation-image"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ANCHOR = re.compile(r"""href\s*=\s*["']cite:([0-9a-f]{32})["']""")


class CitationKind(StrEnum):
    """What a citation points at."""

    PAGE = "page"
    LAB = "lab"
    TREND = "trend"
    KEY_IMAGE = "key_image"


#: The reference syntax each kind uses (the panes' ref syntax).
_REF_SYNTAX: dict[CitationKind, re.Pattern[str]] = {
    CitationKind.PAGE: re.compile(r"record:[^#\s]+#[1-9][0-9]*"),
    CitationKind.LAB: re.compile(r"lab:\S+"),
    CitationKind.TREND: re.compile(r"trend:\S+"),
    CitationKind.KEY_IMAGE: re.compile(r"image:[0-9.]+/[0-9.]+#(0|[1-9][0-9]*)"),
}


@dataclass(frozen=True)
class Citation:
    """One piece of cited evidence (see OPINION_API.md for the ``ref`` syntax)."""

    citation_id: str
    case_id: str
    kind: CitationKind
    ref: str
    label: str
    view: Mapping[str, Any]
    image_object_id: str | None
    created_at: dt.datetime


def add_citation(  # noqa: PLR0917 (the contract's signature: the panes call it positionally)
    vault: Vault,
    case_id: str,
    kind: CitationKind,
    ref: str,
    label: str,
    view: Mapping[str, Any],
    image_png: bytes | None = None,
) -> Citation:
    """Store a citation of the case (and its PNG figure, if any); returns it.

    InvalidCitation if ``ref`` does not follow the kind's syntax, the label is empty,
    ``view`` is not JSON-able or the image is not a PNG; CaseNotFound if the case is not
    in the vault. Nothing is stored when it fails.
    """
    kind = _kind(kind)
    if _REF_SYNTAX[kind].fullmatch(ref) is None:
        raise InvalidCitation(f"The reference of this {kind.value} citation is not valid.")
    if not label.strip():
        raise InvalidCitation("A citation needs a label.")
    try:
        view_json = json.dumps(dict(view), sort_keys=True, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidCitation("The cited view cannot be stored.") from None
    if image_png is not None and not image_png.startswith(_PNG_SIGNATURE):
        raise InvalidCitation("The cited figure is not a PNG image.")
    if vault.read().execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)).fetchone() is None:
        raise CaseNotFound()

    object_id = None
    if image_png is not None:
        object_id = vault.objects.put(image_png, kind=IMAGE_KIND).object_id
    citation = Citation(
        citation_id=uuid.uuid4().hex,
        case_id=case_id,
        kind=kind,
        ref=ref,
        label=label,
        view=json.loads(view_json),
        image_object_id=object_id,
        created_at=dt.datetime.now(dt.UTC),
    )

    def write(conn: Connection) -> None:
        # Checked again in the writer: a purge may have removed the case meanwhile.
        if conn.execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)).fetchone() is None:
            raise CaseNotFound()
        conn.execute(
            "INSERT INTO opinion_citations (citation_id, case_id, kind, ref, label, view, "
            "image_object_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                citation.citation_id,
                case_id,
                str(kind),
                ref,
                label,
                view_json,
                object_id,
                _stamp(citation.created_at),
            ),
        )

    try:
        vault.write_sync(write)
    except BaseException:
        if object_id is not None:
            vault.objects.shred([object_id])
        raise
    return citation


_COLUMNS = "citation_id, case_id, kind, ref, label, view, image_object_id, created_at"


def citations(vault: Vault, case_id: str) -> list[Citation]:
    """The case's citations, oldest first (the order that numbers them)."""
    rows = (
        vault.read()
        .execute(
            f"SELECT {_COLUMNS} FROM opinion_citations WHERE case_id = ? "
            "ORDER BY created_at, rowid",
            (case_id,),
        )
        .fetchall()
    )
    return [_citation(row) for row in rows]


def get_citation(vault: Vault, citation_id: str) -> Citation:
    """One citation by id; CitationMissing if the vault has none with that id."""
    row = (
        vault.read()
        .execute(f"SELECT {_COLUMNS} FROM opinion_citations WHERE citation_id = ?", (citation_id,))
        .fetchone()
    )
    if row is None:
        raise CitationMissing()
    return _citation(row)


def citation_image(vault: Vault, citation: Citation) -> bytes | None:
    """The citation's PNG figure, or None when it has none."""
    if citation.image_object_id is None:
        return None
    return vault.objects.read_bytes(citation.image_object_id)


def anchor_html(citation: Citation, number: int) -> str:
    """The anchor the editor inserts for ``citation``, numbered ``number``; the label is
    its tooltip (Qt's rich text turns ``title`` into the character format's tooltip)."""
    label = html.escape(citation.label, quote=True)
    return f'<a href="cite:{citation.citation_id}" title="{label}">[{number}]</a>'


def cited_ids(body: str) -> list[str]:
    """The citation ids a draft body refers to, in order of first appearance."""
    return list(dict.fromkeys(_ANCHOR.findall(body)))


def _kind(kind: CitationKind | str) -> CitationKind:
    try:
        return CitationKind(kind)
    except ValueError:
        raise InvalidCitation("Unknown kind of citation.") from None


def _citation(row: tuple[Any, ...]) -> Citation:
    return Citation(
        citation_id=row[0],
        case_id=row[1],
        kind=CitationKind(row[2]),
        ref=row[3],
        label=row[4],
        view=json.loads(row[5]),
        image_object_id=row[6],
        created_at=dt.datetime.fromisoformat(row[7].replace("Z", "+00:00")),
    )


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
