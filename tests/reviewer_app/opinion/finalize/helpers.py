"""A complete opinion draft for a synced case, with one cited key image."""

from __future__ import annotations

from reviewer_app.casefile import load_case
from reviewer_app.opinion.drafts import OpinionDraft, Section, Verdict, save_draft
from reviewer_app.opinion.evidence import Citation, CitationKind, add_citation, anchor_html
from reviewer_app.vault import Vault
from tests.reviewer_app.opinion.test_evidence import png


def cite_key_image(vault: Vault, case_id: str) -> Citation:
    case = load_case(vault, case_id)
    series = case.studies[0].series[0]
    ref = f"image:{series.series_uid}/{series.instances[0].sop_uid}#0"
    label = "CT (synthetic), series 1, image 1, W 400 / L 40"
    view = {"window": {"center": 40, "width": 400}, "zoom": 1.0, "frame": 0}
    return add_citation(vault, case_id, CitationKind.KEY_IMAGE, ref, label, view, png())


def complete_draft(vault: Vault, case_id: str, citation: Citation | None = None) -> OpinionDraft:
    """Every required section written, a verdict, each patient question answered."""
    questions = load_case(vault, case_id).patient_questions
    anchor = "" if citation is None else anchor_html(citation, 1)
    draft = OpinionDraft(
        {
            Section.CASE_SUMMARY: "<p>Synthetic summary.</p>",
            Section.RECORDS_REVIEWED: "<ul><li>All records</li></ul>",
            Section.ASSESSMENT: f"<p>Consistent with the imaging {anchor}.</p>",
            Section.DIFFERENTIAL: "<ol><li>First</li><li>Second</li></ol>",
            Section.TREATMENT: "<p>Continue.</p>",
            Section.LIMITATIONS: "<p>Records-only review, no examination.</p>",
        },
        Verdict.AGREE,
        tuple(f"<p>Answer {n}.</p>" for n in range(1, len(questions) + 1)),
    )
    save_draft(vault, case_id, draft).result()
    return draft
