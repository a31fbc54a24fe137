"""The completeness check before signing names exactly what is missing."""

from __future__ import annotations

from reviewer_app.opinion.completeness import REQUIRED, Finding, check, plain_text
from reviewer_app.opinion.drafts import DraftKind, OpinionDraft, Section, Verdict

QUESTIONS = ["Is it cancer?", "Do I need surgery?", "Can I keep working?"]
# Qt's QTextEdit.toHtml() of an empty document: markup, a style sheet, no text.
EMPTY_EDITOR = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"><html><head><meta name="qrichtext" />'
    '<style type="text/css">p, li { white-space: pre-wrap; }</style></head>'
    '<body style=" font-family:\'Sans\';"><p style="-qt-paragraph-type:empty;"><br /></p>'
    "</body></html>"
)


def _complete() -> OpinionDraft:
    sections = {s: f"<p>{s.value} written.</p>" for s in Section}
    answers = tuple(f"<p>Answer {n}.</p>" for n in range(1, len(QUESTIONS) + 1))
    return OpinionDraft(sections, Verdict.DISAGREE, answers)


def test_a_complete_opinion_has_no_findings() -> None:
    assert check(_complete(), QUESTIONS) == []


def test_empty_required_sections_and_unanswered_questions_are_named() -> None:
    draft = _complete()
    draft = draft.with_section(Section.DIFFERENTIAL, EMPTY_EDITOR)
    draft = draft.with_section(Section.LIMITATIONS, "  <p> &nbsp;</p>".replace("&nbsp;", " "))
    draft = OpinionDraft(draft.sections, None, ("<p>Yes.</p>", EMPTY_EDITOR))
    assert check(draft, QUESTIONS) == [
        Finding("Differential diagnosis is empty.", section=Section.DIFFERENTIAL),
        Finding("Limitations is empty.", section=Section.LIMITATIONS),
        Finding(
            "Say whether you agree, disagree or partly agree with the current diagnosis.",
            section=Section.ASSESSMENT,
        ),
        Finding("Patient question 2 has no answer.", question=2),
        Finding("Patient question 3 has no answer.", question=3),
    ]


def test_an_empty_draft_lists_every_required_section() -> None:
    findings = check(OpinionDraft(), [])
    assert [f.section for f in findings if f.message.endswith("is empty.")] == list(REQUIRED)


def test_placeholders_block_signing_wherever_they_are() -> None:
    draft = _complete()
    draft = draft.with_section(Section.TREATMENT, "<p>Start [[drug, dose]] twice daily.</p>")
    draft = draft.with_section(Section.REFERENCES, "<p>Smith 2024. TODO</p>")
    draft = draft.with_section(Section.CASE_SUMMARY, "<p>Seen by XXX in May.</p>")
    answers = (*draft.answers[:2], "<p>Probably, see [[ref]]</p>")
    findings = check(OpinionDraft(draft.sections, draft.verdict, answers), QUESTIONS)
    assert findings == [
        Finding("Case summary still has a placeholder.", section=Section.CASE_SUMMARY),
        Finding(
            "Recommended treatment and alternatives still has a placeholder.",
            section=Section.TREATMENT,
        ),
        Finding("References still has a placeholder.", section=Section.REFERENCES),
        Finding("The answer to patient question 3 still has a placeholder.", question=3),
    ]


def test_words_that_merely_contain_placeholder_letters_are_fine() -> None:
    draft = _complete().with_section(Section.CASE_SUMMARY, "<p>TODOS XXXL [single] ]][[</p>")
    assert check(draft, QUESTIONS) == []
    # Markup is not text: a tag or style named like a placeholder does not count.
    styled = '<html><head><style>.TODO { }</style></head><body><p class="XXX">ok</p></body></html>'
    assert plain_text(styled) == "ok"
    assert check(_complete().with_section(Section.CASE_SUMMARY, styled), QUESTIONS) == []


def test_an_addendum_needs_its_body_and_nothing_of_the_opinion() -> None:
    assert check(OpinionDraft({Section.ADDENDUM: EMPTY_EDITOR}), QUESTIONS) == [
        Finding("The addendum is empty.", section=Section.ADDENDUM)
    ]
    assert check(OpinionDraft({Section.ADDENDUM: "<p>Dose: [[x]]</p>"}), QUESTIONS) == [
        Finding("The addendum still has a placeholder.", section=Section.ADDENDUM)
    ]
    assert check(OpinionDraft({Section.ADDENDUM: "<p>Correction.</p>"}), QUESTIONS) == []
    # Said explicitly, an empty draft is an empty addendum, not an empty opinion.
    assert check(OpinionDraft(), QUESTIONS, DraftKind.ADDENDUM) == [
        Finding("The addendum is empty.", section=Section.ADDENDUM)
    ]
    # An opinion is checked as one even if it holds addendum text by mistake.
    stray = OpinionDraft({Section.ADDENDUM: "<p>x</p>", Section.CASE_SUMMARY: "<p>y</p>"})
    assert Finding(
        "Recommended treatment and alternatives is empty.", section=Section.TREATMENT
    ) in check(stray, [])
