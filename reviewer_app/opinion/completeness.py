"""Before signing: is the opinion complete?

Required sections must hold text (not just the editor's empty markup), the current
diagnosis needs a verdict, every patient question needs an answer, and no section may
still hold a placeholder (``[[...]]``, ``TODO``, ``XXX``). :func:`check` lists each
problem specifically (which section, which question) so the specialist can go there.
An addendum needs its body, without placeholders; it gives no verdict of its own and
need not answer the questions again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from reviewer_app.opinion.drafts import (
    SECTION_TITLES,
    SECTIONS_BY_KIND,
    DraftKind,
    OpinionDraft,
    Section,
)

#: Sections an opinion cannot be signed without.
REQUIRED: tuple[Section, ...] = (
    Section.CASE_SUMMARY,
    Section.RECORDS_REVIEWED,
    Section.ASSESSMENT,
    Section.DIFFERENTIAL,
    Section.TREATMENT,
    Section.LIMITATIONS,
)

PLACEHOLDER = re.compile(r"\[\[.*?\]\]|\bTODO\b|\bXXX\b", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    """One thing missing before signing. ``section`` or ``question`` (1-based) says where."""

    message: str
    section: Section | None = None
    question: int | None = None


def check(
    draft: OpinionDraft, patient_questions: Sequence[str], kind: DraftKind | None = None
) -> list[Finding]:
    """Everything that keeps ``draft`` from being signed; empty when it is complete.

    ``kind`` defaults to what the draft holds: an addendum has only the Addendum section.
    """
    if kind is None:
        only_addendum = set(draft.sections) == {Section.ADDENDUM}
        kind = DraftKind.ADDENDUM if only_addendum else DraftKind.OPINION
    if kind is DraftKind.ADDENDUM:
        return _check_addendum(draft)
    findings = []
    for section in REQUIRED:
        if not plain_text(draft.text(section)).strip():
            findings.append(Finding(f"{SECTION_TITLES[section]} is empty.", section=section))
    if draft.verdict is None:
        findings.append(
            Finding(
                "Say whether you agree, disagree or partly agree with the current diagnosis.",
                section=Section.ASSESSMENT,
            )
        )
    for section in SECTIONS_BY_KIND[DraftKind.OPINION]:
        if PLACEHOLDER.search(plain_text(draft.text(section))):
            findings.append(
                Finding(f"{SECTION_TITLES[section]} still has a placeholder.", section=section)
            )
    for number in range(1, len(patient_questions) + 1):
        answer = draft.answers[number - 1] if number <= len(draft.answers) else ""
        text = plain_text(answer)
        if not text.strip():
            findings.append(Finding(f"Patient question {number} has no answer.", question=number))
        elif PLACEHOLDER.search(text):
            findings.append(
                Finding(
                    f"The answer to patient question {number} still has a placeholder.",
                    question=number,
                )
            )
    if len(draft.answers) > len(patient_questions):
        extra = [a for a in draft.answers[len(patient_questions) :] if plain_text(a).strip()]
        if extra:
            findings.append(Finding("There are answers to questions the case no longer has."))
    return findings


def _check_addendum(draft: OpinionDraft) -> list[Finding]:
    text = plain_text(draft.text(Section.ADDENDUM))
    if not text.strip():
        return [Finding("The addendum is empty.", section=Section.ADDENDUM)]
    if PLACEHOLDER.search(text):
        return [Finding("The addendum still has a placeholder.", section=Section.ADDENDUM)]
    return []


def plain_text(body: str) -> str:
    """The text a reader sees in the editor's HTML (no tags, no style or head content)."""
    parser = _TextOnly()
    parser.feed(body)
    parser.close()
    return "".join(parser.parts)


class _TextOnly(HTMLParser):
    _HIDDEN = frozenset({"head", "style", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
