"""Opinion drafts: the structured sections of a case's opinion, saved as the specialist
types, with a history to browse and restore.

The UI debounces autosave; each call here is one small vault transaction (WAL with
``synchronous=FULL``), so a killed process loses at most what was typed since the last
save. Section bodies are the editor's HTML, stored verbatim: never reformatted, so what
is loaded is byte for byte what was saved.

History keeps snapshots, not every keystroke: a save adds a version only when the
content differs from the newest version and that one is at least ``HISTORY_INTERVAL``
seconds old, or when the caller forces it (before a risky action, on restore).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import StrEnum

from reviewer_app.casefile import CaseFile
from reviewer_app.errors import DraftVersionMissing
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

#: Seconds between two history versions made by ordinary (unforced) saves.
HISTORY_INTERVAL = 60.0


_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


class Section(StrEnum):
    """The opinion's sections, in the order the document shows them."""

    CASE_SUMMARY = "case_summary"
    RECORDS_REVIEWED = "records_reviewed"
    ASSESSMENT = "assessment"
    DIFFERENTIAL = "differential"
    TREATMENT = "treatment"
    FURTHER_TESTS = "further_tests"
    LIMITATIONS = "limitations"
    REFERENCES = "references"


#: Headings as the document and the completeness check name them.
SECTION_TITLES: dict[Section, str] = {
    Section.CASE_SUMMARY: "Case summary",
    Section.RECORDS_REVIEWED: "Records reviewed",
    Section.ASSESSMENT: "Assessment of the current diagnosis",
    Section.DIFFERENTIAL: "Differential diagnosis",
    Section.TREATMENT: "Recommended treatment and alternatives",
    Section.FURTHER_TESTS: "Further tests or trials",
    Section.LIMITATIONS: "Limitations",
    Section.REFERENCES: "References",
}


class Verdict(StrEnum):
    """The specialist's view of the current diagnosis."""

    AGREE = "agree"
    DISAGREE = "disagree"
    PARTLY = "partly"


@dataclass(frozen=True)
class OpinionDraft:
    """One state of a case's opinion: section HTML by section, the verdict on the current
    diagnosis, and one answer (HTML) per patient question, in the questions' order."""

    sections: Mapping[Section, str] = field(default_factory=dict)
    verdict: Verdict | None = None
    answers: tuple[str, ...] = ()

    def text(self, section: Section) -> str:
        """The HTML of ``section`` ('' when never written)."""
        return self.sections.get(section, "")

    def with_section(self, section: Section, body: str) -> OpinionDraft:
        """A copy with ``section`` replaced."""
        return replace(self, sections={**self.sections, section: body})

    def to_json(self) -> str:
        """The stored form. ``ensure_ascii`` escapes keep any string (even a lone
        surrogate an editor let through) storable and exactly recoverable."""
        data = {
            "sections": {str(k): v for k, v in self.sections.items()},
            "verdict": None if self.verdict is None else str(self.verdict),
            "answers": list(self.answers),
        }
        return json.dumps(data, ensure_ascii=True, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> OpinionDraft:
        """Read the stored form back."""
        data = json.loads(text)
        sections = {Section(k): v for k, v in data.get("sections", {}).items()}
        verdict = data.get("verdict")
        return cls(sections, Verdict(verdict) if verdict else None, tuple(data.get("answers", [])))


@dataclass(frozen=True)
class SaveResult:
    """What a save did: the history version now newest, and whether it made that one."""

    version: int
    new_version: bool


@dataclass(frozen=True)
class DraftVersion:
    """One entry of the history (without its body; :func:`load_version` reads that)."""

    version: int
    saved_at: dt.datetime


def save_draft(
    vault: Vault,
    case_id: str,
    draft: OpinionDraft,
    *,
    force: bool = False,
    now: dt.datetime | None = None,
    interval: float = HISTORY_INTERVAL,
) -> Future[SaveResult]:
    """Save the case's draft in one transaction; maybe add a history version (see module).

    Returns the writer's future, so the UI thread need not wait for the disk.
    """
    body = draft.to_json()
    when = now or dt.datetime.now(dt.UTC)
    return vault.write(
        lambda conn: _save(conn, case_id, body, when, force=force, interval=interval)
    )


def _save(
    conn: Connection, case_id: str, body: str, when: dt.datetime, *, force: bool, interval: float
) -> SaveResult:
    stamp = _stamp(when)
    latest = conn.execute(
        "SELECT version, saved_at, body FROM draft_versions WHERE case_id = ? "
        "ORDER BY version DESC LIMIT 1",
        (case_id,),
    ).fetchone()
    version = latest[0] if latest else 0
    changed = latest is None or latest[2] != body
    old_enough = latest is None or (when - _parse(latest[1])).total_seconds() >= interval
    new_version = changed and (force or old_enough)
    if new_version:
        version += 1
        conn.execute(
            "INSERT INTO draft_versions (case_id, version, saved_at, body) VALUES (?, ?, ?, ?)",
            (case_id, version, stamp, body),
        )
    # One draft per case: its id is the case id.
    conn.execute(
        "INSERT INTO drafts (draft_id, case_id, sections, version, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (draft_id) DO UPDATE SET "
        "sections = excluded.sections, version = excluded.version, "
        "updated_at = excluded.updated_at",
        (case_id, case_id, body, version, stamp),
    )
    return SaveResult(version, new_version)


def load_draft(vault: Vault, case_id: str) -> OpinionDraft | None:
    """The case's current draft, or None if nothing was ever saved."""
    row = (
        vault.read()
        .execute(
            "SELECT sections FROM drafts WHERE draft_id = ? AND sections IS NOT NULL", (case_id,)
        )
        .fetchone()
    )
    return None if row is None else OpinionDraft.from_json(row[0])


def history(vault: Vault, case_id: str) -> list[DraftVersion]:
    """The saved versions of the case's draft, newest first."""
    rows = (
        vault.read()
        .execute(
            "SELECT version, saved_at FROM draft_versions WHERE case_id = ? ORDER BY version DESC",
            (case_id,),
        )
        .fetchall()
    )
    return [DraftVersion(v, _parse(at)) for v, at in rows]


def load_version(vault: Vault, case_id: str, version: int) -> OpinionDraft:
    """The draft as it was at ``version``; DraftVersionMissing if there is none."""
    row = (
        vault.read()
        .execute(
            "SELECT body FROM draft_versions WHERE case_id = ? AND version = ?",
            (case_id, version),
        )
        .fetchone()
    )
    if row is None:
        raise DraftVersionMissing()
    return OpinionDraft.from_json(row[0])


def restore(
    vault: Vault, case_id: str, version: int, *, now: dt.datetime | None = None
) -> OpinionDraft:
    """Make ``version`` the current draft again. The restore is itself a new version,
    so what was current before it stays in the history and can be restored back."""
    draft = load_version(vault, case_id, version)
    save_draft(vault, case_id, draft, force=True, now=now).result()
    return draft


def records_reviewed_html(case: CaseFile) -> str:
    """The 'Records reviewed' list from the case: each document, lab set (panel and draw
    time) and imaging study, with its date, oldest first, as HTML for the editor."""
    entries = [(r.date, r.title or r.type_display or "Document") for r in case.records]
    draws: dict[tuple[dt.datetime | None, str], str] = {}
    for lab in case.labs:
        draws.setdefault((lab.effective, lab.panel), lab.panel or lab.name)
    entries += [(when, f"Laboratory: {title}") for (when, _), title in draws.items()]
    for study in case.studies:
        kind = "/".join(study.modalities)
        if kind in study.description:
            kind = ""
        title = " ".join(part for part in (kind, study.description) if part) or "Imaging study"
        entries.append((study.started, title))
    # Oldest first, undated last; the titles keep the order stable within one day.
    entries.sort(key=lambda e: (e[0] is None, e[0] or _EPOCH, e[1]))
    items = [
        f"<li>{html.escape(title)} ({when.date().isoformat() if when else 'undated'})</li>"
        for when, title in entries
    ]
    return "<ul>" + "".join(items) + "</ul>" if items else ""


def with_records_reviewed(draft: OpinionDraft, case: CaseFile) -> OpinionDraft:
    """Fill 'Records reviewed' from the case when the specialist has not written it."""
    if draft.text(Section.RECORDS_REVIEWED).strip():
        return draft
    return draft.with_section(Section.RECORDS_REVIEWED, records_reviewed_html(case))


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
