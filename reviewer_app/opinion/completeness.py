"""Before signing: is the opinion complete?

Required sections must hold text (not just the editor's empty markup), the current
diagnosis needs a verdict, every patient question needs an answer, and no section may
still hold a placeholder (``[[...]]``, ``TODO``, ``XXX``). :func:`check` lists each
problem specifically (which section, which question) so the specialist can go there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from reviewer_app.opinion.drafts import SECTION_TITLES, OpinionDraft, Section

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


def check(draft: OpinionDraft, patient_questions: Sequence[str]) -> list[Finding]:
    """Everything that keeps ``draft`` from being signed; empty when it is complete."""
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
    for section in Section:
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
