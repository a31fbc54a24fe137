"""The values the synthesis hands to the server (see notes/DEMO_SERVER_API.md)."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BinarySpec:
    """A FHIR Binary: the bytes of one document."""

    id: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class PatientInfo:
    """The patient as DICOM spells it; matches the case's FHIR Patient."""

    name: str  # PN, "Testpatient^Aurora"
    patient_id: str
    birth_date: str  # DA, YYYYMMDD
    sex: str  # "F" | "M"


@dataclass(frozen=True)
class StudyPlan:
    """Everything about one study that every instance in it repeats."""

    kind: str
    study_uid: str
    study_id: str
    accession: str
    date: dt.date
    time: str  # TM, HHMMSS
    referring: str  # PN of the referring practitioner
    patient: PatientInfo


@dataclass(frozen=True)
class SeriesPlan:
    """One series: its kind (see dicom.KINDS) fixes modality, geometry and encoding."""

    study: StudyPlan
    kind: str
    series_uid: str
    series_number: int
    frame_of_reference_uid: str
    count: int
    slice_spacing: float  # mm between slice positions; 0 for projections and cine


_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class InstanceSpec:
    """One DICOM instance, rendered on demand."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    modality: str
    number: int = 1  # InstanceNumber, 1-based
    series: SeriesPlan | None = field(default=None, repr=False, compare=False)

    def render(self) -> bytes:
        """DICOM Part 10 bytes of this instance; the same bytes every call.

        Serialised: the pixel encoders behind pydicom's ``compress`` (RLE, JPEG-LS,
        JPEG 2000) are not thread-safe, and the server renders on its request threads;
        concurrent renders crashed the process (segmentation fault).
        """
        from demo_server.synth.dicom import render_instance

        if self.series is None:
            raise ValueError("InstanceSpec has no series plan to render from")
        with _RENDER_LOCK:
            return render_instance(self)


@dataclass(frozen=True)
class CaseBundle:
    """One synthetic case: FHIR resources, the PDFs they point to, the DICOM instances."""

    case_key: str
    specialty: str
    resources: list[dict]
    binaries: list[BinarySpec]
    instances: list[InstanceSpec]
