"""Domain objects shared by the core and the UI: plain, immutable, Qt-free.

The vault returns these; views display them. They carry no behaviour beyond small,
pure derivations (such as a patient's age on a given day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class CaseSummary:
    """One row of the worklist: what a specialist sees before opening a Case."""

    case_id: str
    patient_name: str
    patient_sex: str
    patient_birth_date: date | None
    specialty: str
    priority: str
    due_date: date | None
    status: str
    clinical_question: str
    sync_state: str
    pinned: bool

    def patient_age(self, on: date) -> int | None:
        """Age in whole years on ``on``; None without a birth date or before birth."""
        born = self.patient_birth_date
        if born is None or on < born:
            return None
        had_birthday = (on.month, on.day) >= (born.month, born.day)
        return on.year - born.year - (0 if had_birthday else 1)


def parse_date(value: str | None) -> date | None:
    """An ISO date (``YYYY-MM-DD``, optionally with a time part) or None if absent/invalid."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# --- what the platform sends (parsed by reviewer_app/exchange/resources.py) --------------
# Appended by the exchange helper: these are the platform's view of a Case, before the
# vault stores it. Display strings are already cleaned of control characters; nothing in
# them is ever used as a file name or path.


@dataclass(frozen=True)
class CaseTask:
    """A Case as the platform describes it: one FHIR Task owned by the specialist."""

    case_id: str
    case_key: str | None
    version_id: str
    last_updated: str
    status: str
    status_reason: str | None
    patient_id: str
    referral_id: str | None
    patient_questions: tuple[str, ...]
    due: datetime | None
    priority: str
    specialty: str
    owner_id: str | None
    retention_days: int
    opinion_ids: tuple[str, ...]


@dataclass(frozen=True)
class Referral:
    """The referring doctor's request (ServiceRequest): reason and clinical questions."""

    referral_id: str
    reason: str
    clinical_questions: tuple[str, ...]
    requester: str | None
    #: What the referring doctor adds after the question (``note[1:]``): context, not a
    #: question of its own.
    background: tuple[str, ...] = ()


@dataclass(frozen=True)
class PatientInfo:
    """The Patient of a Case, as far as the app shows it."""

    patient_id: str
    name: str
    sex: str
    birth_date: date | None
    identifiers: tuple[str, ...]


@dataclass(frozen=True)
class PractitionerInfo:
    """A Practitioner (the specialist, a referring doctor)."""

    practitioner_id: str
    name: str


@dataclass(frozen=True)
class RecordRef:
    """A Record (DocumentReference) and where its bytes are; size and SHA-1 are checked."""

    record_id: str
    title: str
    type_code: str | None
    type_display: str | None
    date: datetime | None
    content_type: str
    url: str
    size: int
    sha1: bytes
    file_title: str | None


@dataclass(frozen=True)
class LabResult:
    """One laboratory Observation."""

    lab_id: str
    status: str
    code: str | None
    name: str
    effective: datetime | None
    value: float | None
    value_text: str | None
    unit: str | None
    low: float | None
    high: float | None
    interpretation: str | None
    #: The panel it was ordered in ("Full blood count"), when the platform names one.
    panel: str | None = None
    #: The reference range as the laboratory wrote it (never recomputed or converted).
    range_text: str | None = None


@dataclass(frozen=True)
class InstanceRef:
    """One DICOM Instance of a Series."""

    sop_instance_uid: str
    sop_class_uid: str | None
    number: int | None


@dataclass(frozen=True)
class SeriesRef:
    """One Series of a Study; ``instances`` may be empty (then ask QIDO-RS)."""

    series_uid: str
    modality: str | None
    description: str
    number: int | None
    instance_count: int | None
    instances: tuple[InstanceRef, ...]


@dataclass(frozen=True)
class StudyRef:
    """An ImagingStudy: its Study Instance UID, Series, and where its DICOMweb base is."""

    imaging_study_id: str
    study_uid: str
    description: str
    started: datetime | None
    modalities: tuple[str, ...]
    series: tuple[SeriesRef, ...]
    endpoint_reference: str | None
