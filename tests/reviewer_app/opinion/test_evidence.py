"""Citations in a real (memory-key SQLCipher) vault: stored with their view and figure,
read back exactly, numbered in order, refused when malformed, shredded with their case."""

from __future__ import annotations

import pymupdf
import pytest

from reviewer_app.errors import CaseNotFound, CitationMissing, InvalidCitation
from reviewer_app.opinion.drafts import OpinionDraft, Section, load_draft, save_draft
from reviewer_app.opinion.evidence import (
    IMAGE_KIND,
    CitationKind,
    add_citation,
    anchor_html,
    citation_image,
    citations,
    cited_ids,
    get_citation,
)
from reviewer_app.sync.purge import case_objects, purge_case
from reviewer_app.vault import Vault

VIEW = {
    "window": {"center": 40, "width": 400},
    "zoom": 2.5,
    "pan": [12.0, -3.5],
    "frame": 0,
    "measurements": [{"kind": "length", "value": 23.4, "unit": "mm", "points": [[1, 2], [3, 4]]}],
}


def png(width: int = 8) -> bytes:
    """A real PNG (PyMuPDF renders a tiny page)."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=width)
    data = page.get_pixmap().tobytes("png")
    doc.close()
    return bytes(data)


def add_case(vault: Vault, case_id: str) -> None:
    vault.write_sync(
        lambda conn: conn.execute("INSERT INTO cases (case_id) VALUES (?)", (case_id,))
    )


def test_citations_round_trip_in_order_with_their_figure(vault: Vault) -> None:
    add_case(vault, "c1")
    add_case(vault, "c2")
    figure = png()
    image = add_citation(
        vault,
        "c1",
        CitationKind.KEY_IMAGE,
        "image:1.2.3/1.2.3.4#0",
        "CT Chest (2026-02-11), series 3, image 45, W 400 / L 40",
        VIEW,
        figure,
    )
    page = add_citation(
        vault, "c1", CitationKind.PAGE, "record:r-1#3", "Discharge summary, page 3", {"zoom": 1}
    )
    add_citation(vault, "c2", CitationKind.LAB, "lab:l-9", "Haemoglobin 9.8 g/dL", {})
    assert [c.citation_id for c in citations(vault, "c1")] == [image.citation_id, page.citation_id]
    again = get_citation(vault, image.citation_id)
    assert again == image
    assert again.view == VIEW and again.kind is CitationKind.KEY_IMAGE
    assert citation_image(vault, again) == figure
    assert citation_image(vault, page) is None
    (kind,) = (
        vault.read()
        .execute("SELECT kind FROM objects WHERE object_id = ?", (image.image_object_id,))
        .fetchone()
    )
    assert kind == IMAGE_KIND
    # The figure is encrypted at rest: its bytes are nowhere in the object file.
    assert image.image_object_id is not None
    assert figure not in vault.objects.path_for(image.image_object_id).read_bytes()
    with pytest.raises(CitationMissing):
        get_citation(vault, "0" * 32)


def test_anchors_number_citations_and_are_found_again(vault: Vault) -> None:
    add_case(vault, "c1")
    first = add_citation(vault, "c1", CitationKind.TREND, "trend:718-7", 'Hb <trend> "1y"', {})
    second = add_citation(vault, "c1", CitationKind.LAB, "lab:l-1", "Creatinine", {})
    anchor = anchor_html(first, 1)
    assert anchor == (
        f'<a href="cite:{first.citation_id}" title="Hb &lt;trend&gt; &quot;1y&quot;">[1]</a>'
    )
    # The editor may rewrite the HTML around the anchors (Qt adds style, single quotes).
    body = (
        f"<p>See {anchor_html(second, 2)} and <a style='x' href='cite:{first.citation_id}'>"
        f"<span>[1]</span></a>, again {anchor_html(second, 2)}; "
        '<a href="https://example.org">not a citation</a></p>'
    )
    assert cited_ids(body) == [second.citation_id, first.citation_id]
    assert cited_ids("<p>none</p>") == []


@pytest.mark.parametrize(
    "bad",
    [
        (CitationKind.PAGE, "record:r-1", "p", {}, None),  # no page
        (CitationKind.PAGE, "record:r-1#0", "p", {}, None),  # pages are 1-based
        (CitationKind.KEY_IMAGE, "image:1.2/1.3", "k", {}, None),  # no frame
        (CitationKind.LAB, "trend:718-7", "l", {}, None),  # another kind's syntax
        (CitationKind.LAB, "lab:l-1", "  ", {}, None),  # no label
        (CitationKind.LAB, "lab:l-1", "l", {"zoom": float("nan")}, None),
        (CitationKind.LAB, "lab:l-1", "l", {"when": object()}, None),
        (CitationKind.KEY_IMAGE, "image:1.2/1.3#0", "k", {}, b"GIF89a"),
        ("photo", "lab:l-1", "l", {}, None),
    ],
)
def test_malformed_citations_are_refused_and_store_nothing(
    vault: Vault, bad: tuple[CitationKind, str, str, dict[str, object], bytes | None]
) -> None:
    add_case(vault, "c1")
    objects = vault.objects.count()
    with pytest.raises(InvalidCitation):
        add_citation(vault, "c1", *bad)
    assert citations(vault, "c1") == []
    assert vault.objects.count() == objects


def test_a_citation_of_an_unknown_case_is_refused_and_its_figure_not_kept(vault: Vault) -> None:
    objects = vault.objects.count()
    with pytest.raises(CaseNotFound):
        add_citation(vault, "gone", CitationKind.KEY_IMAGE, "image:1.2/1.3#4", "k", {}, png())
    assert vault.objects.count() == objects
    assert vault.read().execute("SELECT count(*) FROM opinion_citations").fetchone() == (0,)


def test_citations_and_their_figures_go_with_a_purged_case_but_the_draft_stays(
    vault: Vault,
) -> None:
    add_case(vault, "c1")
    add_case(vault, "c2")
    first = add_citation(vault, "c1", CitationKind.KEY_IMAGE, "image:1.2/1.3#0", "k", VIEW, png())
    add_citation(vault, "c1", CitationKind.TREND, "trend:718-7", "Hb trend", {}, png(16))
    add_citation(vault, "c1", CitationKind.LAB, "lab:l-1", "Hb 9.8 g/dL", {})
    kept = add_citation(vault, "c2", CitationKind.KEY_IMAGE, "image:1.2/1.4#2", "k2", {}, png())
    figures = [c.image_object_id for c in citations(vault, "c1") if c.image_object_id]
    assert len(figures) == 2 and set(figures) <= set(case_objects(vault, "c1"))
    files = [vault.objects.path_for(f) for f in figures]
    assert all(f.exists() for f in files)
    draft = OpinionDraft({Section.ASSESSMENT: anchor_html(first, 1)})
    save_draft(vault, "c1", draft).result()

    result = purge_case(vault, "c1", "withdrawn")

    assert result.objects_shredded == 2 and result.drafts_kept == 1
    assert citations(vault, "c1") == []
    with pytest.raises(CitationMissing):
        get_citation(vault, first.citation_id)
    assert not [f for f in files if f.exists()]
    known = {row[0] for row in vault.read().execute("SELECT object_id FROM objects")}
    assert not known & set(figures)
    # The unsent draft is kept (orphaned) as it was; the other case is untouched.
    assert load_draft(vault, "c1") == draft
    orphaned = vault.read().execute("SELECT orphaned FROM drafts WHERE case_id = 'c1'").fetchone()
    assert orphaned == ("withdrawn",)
    assert citations(vault, "c2") == [kept]
    assert citation_image(vault, kept) is not None
