"""Opinion drafts: the structured sections of a case's opinion, saved as the specialist
types, with a history to browse and restore.

The UI debounces autosave; each call here is one small vault transaction (WAL with
``synchronous=FULL``), so a killed process loses at most what was typed since the last
save. Section bodies are the editor's HTML, stored verbatim: never reformatted, so what
is loaded is byte for byte what was saved.

A case has at most one *open* draft: the opinion until it is signed, then (one at a time)
an addendum. Signing closes the draft (state ``signed``, kept read-only with the outbox
item that carries its PDF); the functions below that take a case act on its open draft.

History keeps snapshots, not every keystroke: a save adds a version only when the
content differs from the newest version and that one is at least ``HISTORY_INTERVAL``
seconds old, or when the caller forces it (before a risky action, on restore).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import StrEnum

from reviewer_app.casefile import CaseFile
from reviewer_app.errors import AddendumNotAllowed, DraftSigned, DraftVersionMissing
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
    #: The single body section of an addendum.
    ADDENDUM = "addendum"


class DraftKind(StrEnum):
    """What a draft becomes when signed: the opinion, or an addendum to it."""

    OPINION = "opinion"
    ADDENDUM = "addendum"


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
    Section.ADDENDUM: "Addendum",
}

#: The sections each kind of draft has, in the document's order.
SECTIONS_BY_KIND: dict[DraftKind, tuple[Section, ...]] = {
    DraftKind.OPINION: tuple(s for s in Section if s is not Section.ADDENDUM),
    DraftKind.ADDENDUM: (Section.ADDENDUM,),
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
    """Save the case's open draft in one transaction; maybe add a history version (see
    module). A case with no draft yet gets its opinion draft (so does one whose opinion
    the platform refused); once the opinion is signed and no addendum is open, the
    future fails with DraftSigned.

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
    draft_id = _open_draft_id(conn, case_id)
    if draft_id is None:
        if _has_live_opinion(conn, case_id):
            raise DraftSigned()
        # The opinion draft's id is the case id (as before addenda existed); after an
        # opinion the platform refused, the new one gets its own.
        taken = conn.execute("SELECT 1 FROM drafts WHERE draft_id = ?", (case_id,)).fetchone()
        draft_id = uuid.uuid4().hex if taken else case_id
        conn.execute(
            "INSERT INTO drafts (draft_id, case_id, kind, state, version, created_at) "
            "VALUES (?, ?, ?, 'open', 0, ?)",
            (draft_id, case_id, DraftKind.OPINION, stamp),
        )
    latest = conn.execute(
        "SELECT version, saved_at, body FROM draft_versions WHERE draft_id = ? "
        "ORDER BY version DESC LIMIT 1",
        (draft_id,),
    ).fetchone()
    version = latest[0] if latest else 0
    changed = latest is None or latest[2] != body
    old_enough = latest is None or (when - _parse(latest[1])).total_seconds() >= interval
    new_version = changed and (force or old_enough)
    if new_version:
        # Version numbers run on across a case's drafts, so each names one snapshot.
        (version,) = conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM draft_versions WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        conn.execute(
            "INSERT INTO draft_versions (case_id, version, saved_at, body, draft_id) "
            "VALUES (?, ?, ?, ?, ?)",
            (case_id, version, stamp, body, draft_id),
        )
    conn.execute(
        "UPDATE drafts SET sections = ?, version = ?, updated_at = ? WHERE draft_id = ?",
        (body, version, stamp, draft_id),
    )
    return SaveResult(version, new_version)


def _open_draft_id(conn: Connection, case_id: str) -> str | None:
    row = conn.execute(
        "SELECT draft_id FROM drafts WHERE case_id = ? AND state = 'open'", (case_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def _has_live_opinion(conn: Connection, case_id: str) -> bool:
    """Whether the case has a signed opinion the platform has not refused: then what
    follows can only be an addendum."""
    row = conn.execute(
        "SELECT 1 FROM drafts d LEFT JOIN outbox o ON o.item_id = d.item_id "
        "WHERE d.case_id = ? AND d.kind = 'opinion' AND d.state = 'signed' "
        "AND (o.state IS NULL OR o.state != 'rejected')",
        (case_id,),
    ).fetchone()
    return row is not None


def open_draft_kind(vault: Vault, case_id: str) -> DraftKind | None:
    """The kind of the case's open draft; None when none is open (nothing written yet,
    or everything signed)."""
    row = (
        vault.read()
        .execute("SELECT kind FROM drafts WHERE case_id = ? AND state = 'open'", (case_id,))
        .fetchone()
    )
    return None if row is None else DraftKind(row[0])


def can_start_opinion(vault: Vault, case_id: str) -> bool:
    """Whether saving would start an opinion draft: none is open and no signed opinion
    stands (none yet, or the platform refused it)."""
    conn = vault.read()
    return _open_draft_id(conn, case_id) is None and not _has_live_opinion(conn, case_id)


def open_draft_id(vault: Vault, case_id: str) -> str | None:
    """The id of the case's open draft (what signing closes), or None."""
    return _open_draft_id(vault.read(), case_id)


def start_addendum(vault: Vault, case_id: str, *, now: dt.datetime | None = None) -> OpinionDraft:
    """Open an (empty) addendum draft for the case and return it.

    AddendumNotAllowed unless the case's opinion is signed and in the outbox (not refused
    by the platform) and no other draft is open.
    """
    stamp = _stamp(now or dt.datetime.now(dt.UTC))
    draft = OpinionDraft({Section.ADDENDUM: ""})

    def write(conn: Connection) -> None:
        if _open_draft_id(conn, case_id) is not None:
            raise AddendumNotAllowed("Finish the draft that is open for this case first.")
        signed = conn.execute(
            "SELECT 1 FROM outbox WHERE case_id = ? AND kind = 'opinion' "
            "AND opinion_id IS NOT NULL AND state != 'rejected'",
            (case_id,),
        ).fetchone()
        if signed is None:
            raise AddendumNotAllowed("An addendum needs a signed opinion for this case.")
        conn.execute(
            "INSERT INTO drafts (draft_id, case_id, kind, state, sections, version, "
            "created_at, updated_at) VALUES (?, ?, ?, 'open', ?, 0, ?, ?)",
            (uuid.uuid4().hex, case_id, DraftKind.ADDENDUM, draft.to_json(), stamp, stamp),
        )

    vault.write_sync(write)
    return draft


def mark_signed(conn: Connection, case_id: str, item_id: str) -> DraftKind:
    """Close the case's open draft as signed, carried by outbox item ``item_id``; runs
    inside the outbox's write, so queuing and closing happen together or not at all.
    DraftSigned if no draft is open (signed meanwhile)."""
    row = conn.execute(
        "SELECT draft_id, kind FROM drafts WHERE case_id = ? AND state = 'open'", (case_id,)
    ).fetchone()
    if row is None:
        raise DraftSigned()
    conn.execute(
        "UPDATE drafts SET state = 'signed', item_id = ? WHERE draft_id = ?", (item_id, row[0])
    )
    return DraftKind(row[1])


@dataclass(frozen=True)
class SignedDraft:
    """A signed (read-only) draft of the case and the outbox item carrying its PDF."""

    kind: DraftKind
    draft: OpinionDraft
    item_id: str | None
    updated_at: dt.datetime | None


def signed_drafts(vault: Vault, case_id: str) -> list[SignedDraft]:
    """The case's signed drafts, oldest first: the opinion, then its addenda."""
    rows = (
        vault.read()
        .execute(
            "SELECT kind, sections, item_id, updated_at FROM drafts WHERE case_id = ? "
            "AND state = 'signed' AND sections IS NOT NULL ORDER BY created_at, rowid",
            (case_id,),
        )
        .fetchall()
    )
    return [
        SignedDraft(DraftKind(k), OpinionDraft.from_json(b), i, _parse(at) if at else None)
        for k, b, i, at in rows
    ]


def load_draft(vault: Vault, case_id: str) -> OpinionDraft | None:
    """The case's open draft, or None if none is open or nothing was saved in it yet
    (the signed ones: :func:`signed_drafts`)."""
    row = (
        vault.read()
        .execute(
            "SELECT sections FROM drafts WHERE case_id = ? AND state = 'open' "
            "AND sections IS NOT NULL",
            (case_id,),
        )
        .fetchone()
    )
    return None if row is None else OpinionDraft.from_json(row[0])


def history(vault: Vault, case_id: str) -> list[DraftVersion]:
    """The saved versions of the case's open draft, newest first ([] when none is open)."""
    rows = (
        vault.read()
        .execute(
            "SELECT v.version, v.saved_at FROM draft_versions v JOIN drafts d "
            "ON d.draft_id = v.draft_id WHERE d.case_id = ? AND d.state = 'open' "
            "ORDER BY v.version DESC",
            (case_id,),
        )
        .fetchall()
    )
    return [DraftVersion(v, _parse(at)) for v, at in rows]


def load_version(vault: Vault, case_id: str, version: int) -> OpinionDraft:
    """The open draft as it was at ``version``; DraftVersionMissing if it has none such."""
    row = (
        vault.read()
        .execute(
            "SELECT v.body FROM draft_versions v JOIN drafts d ON d.draft_id = v.draft_id "
            "WHERE v.case_id = ? AND v.version = ? AND d.state = 'open'",
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
    """The 'Records reviewed' list from the case: each document and imaging study with its
    date, and each lab panel once with how many sets were drawn and over which dates,
    oldest first, as HTML for the editor."""

    def day(when: dt.datetime | None) -> str:
        return when.date().isoformat() if when else "undated"

    entries = [(r.date, f"{r.title or r.type_display or 'Document'} ({day(r.date)})")
               for r in case.records]  # fmt: skip
    draws: dict[str, set[dt.datetime | None]] = {}
    for lab in case.labs:
        draws.setdefault(lab.panel or lab.name, set()).add(lab.effective)
    for panel, times in draws.items():
        dated = sorted(t for t in times if t is not None)
        if len(times) == 1 or not dated:
            first = dated[0] if dated else None
            entries.append((first, f"Laboratory: {panel} ({day(first)})"))
        else:
            span = f"{len(times)} sets ({day(dated[0])} to {day(dated[-1])})"
            entries.append((dated[0], f"Laboratory: {panel}, {span}"))
    for study in case.studies:
        kind = "/".join(study.modalities)
        if kind in study.description:
            kind = ""
        title = " ".join(part for part in (kind, study.description) if part) or "Imaging study"
        entries.append((study.started, f"{title} ({day(study.started)})"))
    # Oldest first, undated last; the titles keep the order stable within one day.
    entries.sort(key=lambda e: (e[0] is None, e[0] or _EPOCH, e[1]))
    items = [f"<li>{html.escape(text)}</li>" for _, text in entries]
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
