"""One Case as the review workspace shows it: read from the vault in one go.

The workspace loads a :class:`CaseFile` on a worker thread (``load_case``) and hands the
same immutable object to every pane, so the banner and all panes always describe one
and the same Case. Payload bytes (PDFs, DICOM) are not read here: entries carry the
``object_id`` that a pane opens with ``vault.objects.open`` when it needs the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from reviewer_app.domain import parse_date
from reviewer_app.errors import CaseNotFound
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

TimelineKind = Literal["record", "lab", "study"]


@dataclass(frozen=True)
class PatientHeader:
    """Who the Case is about: what the banner and every pane header show."""

    name: str
    sex: str
    birth_date: date | None
    age: int | None
    identifiers: list[str]


@dataclass(frozen=True)
class RecordEntry:
    """A Record (document); ``object_id`` is None until its bytes have been synced."""

    record_id: str
    title: str
    type_display: str
    date: datetime | None
    content_type: str
    size: int | None
    object_id: str | None


@dataclass(frozen=True)
class LabEntry:
    """One LabResult; ``range_text`` is the reference range as the platform wrote it."""

    lab_id: str
    code: str
    name: str
    panel: str
    effective: datetime | None
    value: float | None
    value_text: str | None
    unit: str | None
    low: float | None
    high: float | None
    range_text: str | None
    interpretation: str | None


@dataclass(frozen=True)
class InstanceEntry:
    """One DICOM Instance; ``object_id`` is None until it has been synced."""

    sop_uid: str
    number: int | None
    object_id: str | None


@dataclass(frozen=True)
class SeriesEntry:
    """One Series of a Study, its Instances ordered by instance number."""

    series_uid: str
    modality: str
    description: str
    number: int | None
    instance_count: int
    instances: list[InstanceEntry]


@dataclass(frozen=True)
class StudyEntry:
    """One Study; ``source`` is 'platform' or 'import' (from a patient's CD)."""

    study_uid: str
    description: str
    started: datetime | None
    modalities: list[str]
    source: str
    series: list[SeriesEntry]


@dataclass(frozen=True)
class TimelineEntry:
    """One point on the workspace timeline; ``ref`` is what the owning pane opens.

    Refs: ``record:<record_id>``, ``lab:<code>``, ``series:<series_uid>``.
    """

    date: datetime | None
    kind: TimelineKind
    title: str
    ref: str


@dataclass(frozen=True)
class CaseFile:
    """Everything the workspace shows of one Case, as read at one moment."""

    case_id: str
    case_key: str | None
    patient: PatientHeader
    specialty: str
    priority: str
    due_date: date | None
    status: str
    clinical_questions: list[str]
    patient_questions: list[str]
    reasons: list[str]
    records: list[RecordEntry]
    labs: list[LabEntry]
    studies: list[StudyEntry]

    @property
    def display_key(self) -> str:
        """The case key the platform shows, or the case id when there is none."""
        return self.case_key or self.case_id

    def timeline(self) -> list[TimelineEntry]:
        """Records, lab draws and studies on one axis, oldest first, undated last.

        A lab draw is one entry per panel and time (a flowsheet column), not one per
        value; its ref names the panel's first code so the labs pane can scroll to it.
        """
        entries = [
            TimelineEntry(r.date, "record", r.title, f"record:{r.record_id}") for r in self.records
        ]
        draws: dict[tuple[datetime | None, str], list[LabEntry]] = {}
        for lab in self.labs:
            draws.setdefault((lab.effective, lab.panel), []).append(lab)
        for (when, panel), labs in draws.items():
            title = panel or labs[0].name
            if len(labs) > 1:
                title = f"{title} ({len(labs)} results)"
            entries.append(TimelineEntry(when, "lab", title, f"lab:{labs[0].code}"))
        for study in self.studies:
            if not study.series:
                continue
            title = study.description or "/".join(study.modalities) or "Study"
            modalities = "/".join(study.modalities)
            if modalities and modalities not in title:
                title = f"{modalities} {title}"
            entries.append(
                TimelineEntry(study.started, "study", title, f"series:{study.series[0].series_uid}")
            )
        order = {"record": 0, "lab": 1, "study": 2}
        return sorted(
            entries,
            key=lambda e: (e.date is None, _sort_key(e.date), order[e.kind], e.title),
        )


def load_case(vault: Vault, case_id: str, *, today: date | None = None) -> CaseFile:
    """Read one Case from the vault (read-only; call it on a worker thread).

    ``today`` fixes the day the patient's age is computed for (tests). Raises
    CaseNotFound if the case is not (or no longer) in the vault.
    """
    conn = vault.read()
    # One read transaction: the sync engine may write while we read, and a CaseFile
    # mixing two states of a case (say, a record list from before a purge) must not exist.
    conn.execute("BEGIN")
    try:
        return _load(conn, case_id, today or datetime.now(UTC).date())
    finally:
        conn.execute("COMMIT")


def _load(conn: Connection, case_id: str, today: date) -> CaseFile:
    row = conn.execute(
        "SELECT c.patient_name, c.patient_sex, c.patient_birth_date, c.specialty, "
        "c.priority, c.due_date, c.status, c.clinical_question, s.case_key, "
        "p.name, p.sex, p.birth_date, p.identifiers "
        "FROM cases c LEFT JOIN case_sync s ON s.case_id = c.case_id "
        "LEFT JOIN patients p ON p.patient_id = s.patient_id WHERE c.case_id = ?",
        (case_id,),
    ).fetchone()
    if row is None:
        raise CaseNotFound()
    (name, sex, born, specialty, priority, due, status, question, case_key) = row[:9]
    p_name, p_sex, p_born, p_identifiers = row[9:]
    birth_date = parse_date(p_born or born)
    patient = PatientHeader(
        name=p_name or name or "",
        sex=p_sex or sex or "",
        birth_date=birth_date,
        age=_age(birth_date, today),
        identifiers=_identifiers(p_identifiers),
    )
    questions: dict[str, list[str]] = {"clinical": [], "patient": [], "reason": []}
    for kind, text in conn.execute(
        "SELECT kind, text FROM case_questions WHERE case_id = ? ORDER BY kind, seq", (case_id,)
    ):
        questions.setdefault(kind, []).append(text)
    if not questions["clinical"] and question:
        questions["clinical"].append(question)
    return CaseFile(
        case_id=case_id,
        case_key=case_key,
        patient=patient,
        specialty=specialty or "",
        priority=priority or "",
        due_date=parse_date(due),
        status=status or "",
        clinical_questions=questions["clinical"],
        patient_questions=questions["patient"],
        reasons=questions["reason"],
        records=_records(conn, case_id),
        labs=_labs(conn, case_id),
        studies=_studies(conn, case_id),
    )


def _records(conn: Connection, case_id: str) -> list[RecordEntry]:
    rows = conn.execute(
        "SELECT record_id, title, file_title, type_display, date, content_type, size, "
        "object_id FROM records WHERE case_id = ? ORDER BY date, title, record_id",
        (case_id,),
    )
    return [
        RecordEntry(
            record_id=record_id,
            title=title or file_title or type_display or "Document",
            type_display=type_display or "",
            date=parse_datetime(when),
            content_type=content_type or "",
            size=size,
            object_id=object_id,
        )
        for record_id, title, file_title, type_display, when, content_type, size, object_id in rows
    ]


def _labs(conn: Connection, case_id: str) -> list[LabEntry]:
    rows = conn.execute(
        "SELECT lab_id, code, name, panel, effective, value, value_text, unit, low, high, "
        "range_text, interpretation FROM lab_results WHERE case_id = ? "
        "ORDER BY effective, panel, code, lab_id",
        (case_id,),
    )
    return [
        LabEntry(
            lab_id=lab_id,
            code=code or "",
            name=name or code or "",
            panel=panel or "",
            effective=parse_datetime(effective),
            value=value,
            value_text=value_text,
            unit=unit,
            low=low,
            high=high,
            range_text=range_text,
            interpretation=interpretation,
        )
        for (
            lab_id,
            code,
            name,
            panel,
            effective,
            value,
            value_text,
            unit,
            low,
            high,
            range_text,
            interpretation,
        ) in rows
    ]


def _studies(conn: Connection, case_id: str) -> list[StudyEntry]:
    instances: dict[str, list[InstanceEntry]] = {}
    for series_uid, sop_uid, number, object_id in conn.execute(
        "SELECT series_uid, sop_instance_uid, number, object_id FROM instances "
        "WHERE case_id = ? ORDER BY series_uid, number IS NULL, number, sop_instance_uid",
        (case_id,),
    ):
        instances.setdefault(series_uid, []).append(InstanceEntry(sop_uid, number, object_id))
    series: dict[str, list[SeriesEntry]] = {}
    for study_uid, series_uid, modality, description, number, count in conn.execute(
        "SELECT study_uid, series_uid, modality, description, number, instance_count "
        "FROM series WHERE case_id = ? ORDER BY study_uid, number IS NULL, number, series_uid",
        (case_id,),
    ):
        listed = instances.get(series_uid, [])
        series.setdefault(study_uid, []).append(
            SeriesEntry(
                series_uid=series_uid,
                modality=modality or "",
                description=description or "",
                number=number,
                instance_count=count if count is not None else len(listed),
                instances=listed,
            )
        )
    rows = conn.execute(
        "SELECT study_uid, description, started, modalities, source FROM studies "
        "WHERE case_id = ? ORDER BY started, study_uid",
        (case_id,),
    )
    return [
        StudyEntry(
            study_uid=study_uid,
            description=description or "",
            started=parse_datetime(started),
            modalities=[m for m in (modalities or "").split(",") if m],
            source=source or "platform",
            series=series.get(study_uid, []),
        )
        for study_uid, description, started, modalities, source in rows
    ]


def parse_datetime(value: str | None) -> datetime | None:
    """An ISO date-time (or bare date, read as midnight) from the vault; None if invalid."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _sort_key(value: datetime | None) -> float:
    # Aware and naive date-times cannot be compared; naive ones are taken as UTC.
    if value is None:
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _age(born: date | None, on: date) -> int | None:
    if born is None or on < born:
        return None
    had_birthday = (on.month, on.day) >= (born.month, born.day)
    return on.year - born.year - (0 if had_birthday else 1)


def _identifiers(raw: str | None) -> list[str]:
    if not raw:
        return []
    try:
        values: Iterable[object] = json.loads(raw)
    except (ValueError, TypeError):
        return []
    if not isinstance(values, list):
        return []
    return [str(v) for v in values]
