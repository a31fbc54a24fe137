"""Parse the platform's FHIR JSON (untrusted) into the domain's dataclasses.

Every field the app relies on is checked for presence and type; anything unusable
raises :class:`~reviewer_app.errors.MalformedServerData` naming the resource type and
the field, never the value (values may be patient data). Ids and DICOM UIDs end up in
URLs, so they are checked against their grammars; display strings are cleaned of
control and bidirectional-override characters and capped in length, and nothing the
server names (titles, file names) is ever used as a path.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from reviewer_app.domain import (
    CaseTask,
    InstanceRef,
    LabResult,
    PatientInfo,
    PractitionerInfo,
    RecordRef,
    Referral,
    SeriesRef,
    StudyRef,
)
from reviewer_app.errors import MalformedServerData

# FHIR R4 id grammar; ids go into URLs, so nothing else may pass.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# DICOM PS3.5 §9.1: digits and dots, no leading zeros in a component, at most 64 chars.
_DICOM_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")
_MAX_TEXT = 4000

TASK_INPUT_SYSTEM = "https://reviewer.example/fhir/CodeSystem/task-input"
CASE_KEY_SYSTEM = "https://reviewer.example/fhir/sid/synthetic-case"
RETENTION_URL = "https://reviewer.example/fhir/StructureDefinition/local-retention"
# The platform's own host name in these URLs varies between deployments; the path names
# the concept, so matching on it keeps the app working with any of them.
_TASK_INPUT_SUFFIX = "/CodeSystem/task-input"
_RETENTION_SUFFIX = "/StructureDefinition/local-retention"
# The panel an Observation was ordered in, as a second category coding (docs/exchange.md).
LAB_PANEL_SYSTEM = "https://reviewer.example/fhir/CodeSystem/lab-panel"
_LAB_PANEL_SUFFIX = "/CodeSystem/lab-panel"
DEFAULT_RETENTION_DAYS = 30
LAB_CATEGORY = "laboratory"


class _Fields:
    """Typed access to one resource's fields; failures name the resource and field."""

    def __init__(self, resource: Any, kind: str) -> None:
        if not isinstance(resource, dict):
            raise MalformedServerData(kind, "resource", "not a JSON object")
        actual = resource.get("resourceType")
        if actual != kind:
            raise MalformedServerData(kind, "resourceType", "not the expected type")
        self.data: dict[str, Any] = resource
        self.kind = kind

    def fail(self, field: str, reason: str) -> MalformedServerData:
        return MalformedServerData(self.kind, field, reason)

    def id(self) -> str:
        return fhir_id(self.data.get("id"), self.kind, "id")

    def obj(self, value: Any, field: str) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(field, "not an object")
        return value

    def objects(self, value: Any, field: str) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(field, "not a list")
        for item in value:
            if not isinstance(item, dict):
                raise self.fail(field, "an entry is not an object")
        return value

    def string(self, value: Any, field: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                raise self.fail(field, "missing")
            return None
        if not isinstance(value, str):
            raise self.fail(field, "not a string")
        if required and not value.strip():
            raise self.fail(field, "empty")
        return value

    def text(self, value: Any, field: str) -> str:
        raw = self.string(value, field)
        return clean_text(raw) if raw else ""

    def number(self, value: Any, field: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, "not a number")
        return float(value)

    def integer(self, value: Any, field: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, "not an integer")
        return value

    def when(self, value: Any, field: str) -> datetime | None:
        raw = self.string(value, field)
        if raw is None:
            return None
        parsed = parse_datetime(raw)
        if parsed is None:
            raise self.fail(field, "not a FHIR date or dateTime")
        return parsed

    def reference_id(self, value: Any, field: str, target: str, *, required: bool) -> str | None:
        ref = self.obj(value, field)
        if ref is None:
            if required:
                raise self.fail(field, "missing")
            return None
        raw = self.string(ref.get("reference"), f"{field}.reference", required=required)
        if raw is None:
            return None
        return reference_id(raw, target, self.kind, field)


def clean_text(value: str) -> str:
    """Display text with control/format characters removed (bidi overrides, NUL…)."""
    kept = "".join(
        " " if ch in "\t\r\n" else ch
        for ch in value
        if ch in "\t\r\n" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return kept.strip()[:_MAX_TEXT]


def fhir_id(value: Any, kind: str, field: str) -> str:
    """A FHIR logical id, checked against the R4 grammar."""
    if not isinstance(value, str):
        raise MalformedServerData(kind, field, "missing or not a string")
    if not FHIR_ID.fullmatch(value):
        raise MalformedServerData(kind, field, "not a valid FHIR id")
    return value


def reference_id(reference: str, target: str, kind: str, field: str) -> str:
    """The id in a ``Type/id`` (or absolute ``…/Type/id``) reference to ``target``."""
    parts = reference.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != target:
        raise MalformedServerData(kind, field, f"not a reference to a {target}")
    return fhir_id(parts[-1], kind, field)


def dicom_uid(value: Any, kind: str, field: str) -> str:
    """A DICOM UID, checked against its grammar (it becomes part of a DICOMweb URL)."""
    if not isinstance(value, str):
        raise MalformedServerData(kind, field, "missing or not a string")
    if len(value) > 64 or not _DICOM_UID.fullmatch(value):
        raise MalformedServerData(kind, field, "not a valid DICOM UID")
    return value


def parse_datetime(value: str) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware datetime (dates: midnight UTC)."""
    try:
        if len(value) == 4:
            return datetime(int(value), 1, 1, tzinfo=UTC)
        if len(value) == 7:
            return datetime(int(value[:4]), int(value[5:7]), 1, tzinfo=UTC)
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _codings(fields: _Fields, concept: Any, field: str) -> list[dict[str, Any]]:
    obj = fields.obj(concept, field)
    return [] if obj is None else fields.objects(obj.get("coding"), f"{field}.coding")


def _concept_text(fields: _Fields, concept: Any, field: str) -> str:
    obj = fields.obj(concept, field)
    if obj is None:
        return ""
    text = fields.text(obj.get("text"), f"{field}.text")
    if text:
        return text
    for coding in _codings(fields, obj, field):
        display = fields.text(coding.get("display"), f"{field}.coding.display")
        if display:
            return display
    return ""


# --- Task (a Case) ----------------------------------------------------------------------


def parse_task(resource: Any) -> CaseTask:
    """A Task owned by the specialist, as a :class:`CaseTask`."""
    f = _Fields(resource, "Task")
    data = f.data
    meta = f.obj(data.get("meta"), "meta")
    if meta is None:
        raise f.fail("meta", "missing")
    version = f.string(meta.get("versionId"), "meta.versionId", required=True)
    last_updated = f.string(meta.get("lastUpdated"), "meta.lastUpdated", required=True)
    assert version is not None and last_updated is not None
    if parse_datetime(last_updated) is None:
        raise f.fail("meta.lastUpdated", "not a FHIR instant")
    status = f.string(data.get("status"), "status", required=True)
    assert status is not None

    case_key = None
    identifiers = f.objects(data.get("identifier"), "identifier")
    # The human case key: the case-key identifier, else the first one (display only).
    for ident in sorted(identifiers, key=lambda i: i.get("system") != CASE_KEY_SYSTEM):
        case_key = f.text(ident.get("value"), "identifier.value") or None
        if case_key:
            break

    status_reason_obj = f.obj(data.get("statusReason"), "statusReason")
    status_reason = (
        f.text(status_reason_obj.get("text"), "statusReason.text") or None
        if status_reason_obj
        else None
    )

    questions = []
    for item in f.objects(data.get("input"), "input"):
        type_obj = f.obj(item.get("type"), "input.type") or {}
        codes = {(c.get("system"), c.get("code")) for c in _codings(f, type_obj, "input.type")}
        if (TASK_INPUT_SYSTEM, "patient-question") in codes or (
            type_obj.get("text") == "patient-question"
        ):
            text = f.text(item.get("valueString"), "input.valueString")
            if text:
                questions.append(text)

    restriction = f.obj(data.get("restriction"), "restriction") or {}
    period = f.obj(restriction.get("period"), "restriction.period") or {}
    due = f.when(period.get("end"), "restriction.period.end")

    performer = f.objects(data.get("performerType"), "performerType")
    specialty = _concept_text(f, performer[0], "performerType") if performer else ""

    outputs = []
    for item in f.objects(data.get("output"), "output"):
        ref = f.obj(item.get("valueReference"), "output.valueReference")
        target = ref.get("reference") if ref is not None else None
        # Before upload the output may still name a bundle-local urn:uuid: skip those.
        if isinstance(target, str) and target.split("/")[-2:-1] == ["DocumentReference"]:
            outputs.append(reference_id(target, "DocumentReference", "Task", "output"))

    return CaseTask(
        case_id=f.id(),
        case_key=case_key,
        version_id=version,
        last_updated=last_updated,
        status=status,
        status_reason=status_reason,
        patient_id=f.reference_id(data.get("for"), "for", "Patient", required=True) or "",
        referral_id=f.reference_id(data.get("focus"), "focus", "ServiceRequest", required=False),
        patient_questions=tuple(questions),
        due=due,
        priority=f.string(data.get("priority"), "priority") or "routine",
        specialty=specialty,
        owner_id=f.reference_id(data.get("owner"), "owner", "Practitioner", required=False),
        retention_days=_retention_days(f),
        opinion_ids=tuple(outputs),
    )


def _retention_days(f: _Fields) -> int:
    for ext in f.objects(f.data.get("extension"), "extension"):
        url = ext.get("url")
        if not isinstance(url, str) or not url.endswith(_RETENTION_SUFFIX):
            continue
        duration = f.obj(ext.get("valueDuration"), "extension.valueDuration")
        if duration is None:
            raise f.fail("extension.valueDuration", "missing")
        value = f.number(duration.get("value"), "extension.valueDuration.value")
        if value is None or value < 0:
            raise f.fail("extension.valueDuration.value", "not a number of days")
        unit = duration.get("code", "d")
        per_unit = {"d": 1, "wk": 7, "mo": 30, "a": 365}.get(unit)
        if per_unit is None:
            raise f.fail("extension.valueDuration.code", "not a known unit")
        return round(value * per_unit)
    return DEFAULT_RETENTION_DAYS


def parse_referral(resource: Any) -> Referral:
    """A ServiceRequest: reason for referral, the clinical question(s) (``note[0]``) and
    the background the referring doctor adds (further notes; docs/exchange.md)."""
    f = _Fields(resource, "ServiceRequest")
    reasons = [
        _concept_text(f, c, "reasonCode") for c in f.objects(f.data.get("reasonCode"), "reasonCode")
    ]
    questions = [f.text(n.get("text"), "note.text") for n in f.objects(f.data.get("note"), "note")]
    requester = f.obj(f.data.get("requester"), "requester")
    return Referral(
        referral_id=f.id(),
        reason="; ".join(r for r in reasons if r),
        clinical_questions=tuple(q for q in questions[:1] if q),
        requester=f.text(requester.get("display"), "requester.display") or None
        if requester
        else None,
        background=tuple(b for b in questions[1:] if b),
    )


def _human_name(f: _Fields) -> str:
    names = f.objects(f.data.get("name"), "name")
    if not names:
        return ""
    name = next((n for n in names if n.get("use") == "official"), names[0])
    text = f.text(name.get("text"), "name.text")
    family = f.text(name.get("family"), "name.family")
    given_raw = name.get("given", [])
    if not isinstance(given_raw, list):
        raise f.fail("name.given", "not a list")
    given = " ".join(f.text(g, "name.given") for g in given_raw)
    prefix_raw = name.get("prefix", [])
    if not isinstance(prefix_raw, list):
        raise f.fail("name.prefix", "not a list")
    if family and f.kind == "Patient":
        return f"{family}, {given}".strip(", ")
    if family:
        prefix = " ".join(f.text(p, "name.prefix") for p in prefix_raw)
        return " ".join(part for part in (prefix, given, family) if part)
    return text or given


def parse_patient(resource: Any) -> PatientInfo:
    """A Patient: display name ("Family, Given"), sex, birth date, identifiers."""
    f = _Fields(resource, "Patient")
    birth = f.string(f.data.get("birthDate"), "birthDate")
    birth_date = None
    if birth:
        parsed = parse_datetime(birth)
        if parsed is None:
            raise f.fail("birthDate", "not a FHIR date")
        birth_date = parsed.date() if len(birth) >= 10 else None
    identifiers = [
        f.text(i.get("value"), "identifier.value")
        for i in f.objects(f.data.get("identifier"), "identifier")
    ]
    return PatientInfo(
        patient_id=f.id(),
        name=_human_name(f),
        sex=f.string(f.data.get("gender"), "gender") or "unknown",
        birth_date=birth_date,
        identifiers=tuple(i for i in identifiers if i),
    )


def parse_practitioner(resource: Any) -> PractitionerInfo:
    """A Practitioner: id and display name."""
    f = _Fields(resource, "Practitioner")
    return PractitionerInfo(practitioner_id=f.id(), name=_human_name(f))


# --- Records and labs -------------------------------------------------------------------


def parse_record(resource: Any) -> RecordRef:
    """A DocumentReference with its first attachment; size and SHA-1 hash are required."""
    f = _Fields(resource, "DocumentReference")
    data = f.data
    content = f.objects(data.get("content"), "content")
    if not content:
        raise f.fail("content", "missing")
    attachment = f.obj(content[0].get("attachment"), "content.attachment")
    if attachment is None:
        raise f.fail("content.attachment", "missing")
    url = f.string(attachment.get("url"), "content.attachment.url", required=True)
    assert url is not None
    size = f.integer(attachment.get("size"), "content.attachment.size")
    if size is None or size < 0:
        raise f.fail("content.attachment.size", "missing or negative")
    hash_b64 = f.string(attachment.get("hash"), "content.attachment.hash", required=True)
    assert hash_b64 is not None
    try:
        sha1 = base64.b64decode(hash_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise f.fail("content.attachment.hash", "not base64") from exc
    if len(sha1) != 20:
        raise f.fail("content.attachment.hash", "not a SHA-1 digest")
    content_type = f.string(
        attachment.get("contentType"), "content.attachment.contentType", required=True
    )
    assert content_type is not None
    type_obj = f.obj(data.get("type"), "type")
    codings = _codings(f, type_obj, "type") if type_obj else []
    type_code = f.string(codings[0].get("code"), "type.coding.code") if codings else None
    type_display = _concept_text(f, type_obj, "type") or None if type_obj else None
    title = (
        f.text(data.get("description"), "description")
        or f.text(attachment.get("title"), "content.attachment.title")
        or (type_display or "")
    )
    return RecordRef(
        record_id=f.id(),
        title=title,
        type_code=type_code,
        type_display=type_display,
        date=f.when(data.get("date"), "date")
        or f.when(attachment.get("creation"), "content.attachment.creation"),
        content_type=content_type.split(";")[0].strip().lower(),
        url=url,
        size=size,
        sha1=sha1,
        file_title=f.text(attachment.get("title"), "content.attachment.title") or None,
    )


def _quantity(f: _Fields, value: Any, field: str) -> tuple[float | None, str | None]:
    q = f.obj(value, field)
    if q is None:
        return None, None
    number = f.number(q.get("value"), f"{field}.value")
    unit = f.string(q.get("unit"), f"{field}.unit") or f.string(q.get("code"), f"{field}.code")
    return number, unit


def _number_text(value: Any) -> str:
    """A JSON number as the server wrote it: ``16`` stays "16", ``12.0`` stays "12.0"
    (Python's float repr is the shortest text that reads back to the same number)."""
    return str(value) if isinstance(value, int) else repr(value)


def _bound_text(f: _Fields, value: Any, field: str) -> tuple[str, str | None] | None:
    q = f.obj(value, field)
    if q is None or f.number(q.get("value"), f"{field}.value") is None:
        return None
    unit = f.string(q.get("unit"), f"{field}.unit") or f.string(q.get("code"), f"{field}.code")
    return _number_text(q["value"]), unit


def _range_text(f: _Fields, entry: dict[str, Any]) -> str | None:
    """The reference range as written: its ``text``, else built from low/high with their
    units exactly as given (a range in other units is shown so, never converted)."""
    text = f.text(entry.get("text"), "referenceRange.text")
    if text:
        return text
    low = _bound_text(f, entry.get("low"), "referenceRange.low")
    high = _bound_text(f, entry.get("high"), "referenceRange.high")
    if low and high:
        if low[1] == high[1]:
            return f"{low[0]}\u2013{high[0]}" + (f" {low[1]}" if low[1] else "")
        return " \u2013 ".join(" ".join(p for p in bound if p) for bound in (low, high))
    if high:
        return " ".join(p for p in ("\u2264", *high) if p)
    if low:
        return " ".join(p for p in ("\u2265", *low) if p)
    return None


def _lab_panel(f: _Fields) -> str | None:
    """The panel named by a lab-panel category coding: its display text, else its code."""
    for concept in f.objects(f.data.get("category"), "category"):
        for coding in _codings(f, concept, "category"):
            system = coding.get("system")
            if isinstance(system, str) and system.endswith(_LAB_PANEL_SUFFIX):
                return (
                    f.text(concept.get("text"), "category.text")
                    or f.text(coding.get("display"), "category.coding.display")
                    or f.text(coding.get("code"), "category.coding.code")
                    or None
                )
    return None


def parse_lab(resource: Any) -> LabResult:
    """A laboratory Observation; valueQuantity or valueString, range optional.

    A censored quantity (``comparator`` "<", ">"…) is kept as text ("<0.1"), never as a
    plain number: plotted or compared as 0.1 it would say something the lab did not.
    """
    f = _Fields(resource, "Observation")
    data = f.data
    code_obj = f.obj(data.get("code"), "code")
    if code_obj is None:
        raise f.fail("code", "missing")
    codings = _codings(f, code_obj, "code")
    loinc = next((c for c in codings if c.get("system") == "http://loinc.org"), None)
    first = loinc or (codings[0] if codings else None)
    code = f.string(first.get("code"), "code.coding.code") if first else None
    value, unit = _quantity(f, data.get("valueQuantity"), "valueQuantity")
    value_text = f.text(data.get("valueString"), "valueString") or None
    quantity = data.get("valueQuantity")
    if isinstance(quantity, dict) and value is not None and "comparator" in quantity:
        comparator = quantity["comparator"]
        if comparator not in ("<", "<=", ">=", ">"):
            raise f.fail("valueQuantity.comparator", "not a FHIR comparator")
        value_text = comparator + _number_text(quantity["value"])
        value = None
    low = high = None
    range_text = None
    ranges = f.objects(data.get("referenceRange"), "referenceRange")
    if ranges:
        low, low_unit = _quantity(f, ranges[0].get("low"), "referenceRange.low")
        high, high_unit = _quantity(f, ranges[0].get("high"), "referenceRange.high")
        # A bound in another unit than the value is shown (range_text) but never compared
        # or plotted against it: that would need a conversion, and units are not converted.
        if unit and low_unit and low_unit != unit:
            low = None
        if unit and high_unit and high_unit != unit:
            high = None
        unit = unit or low_unit or high_unit
        range_text = _range_text(f, ranges[0])
    interpretation = None
    interp = f.objects(data.get("interpretation"), "interpretation")
    if interp:
        codes = _codings(f, interp[0], "interpretation")
        interpretation = (
            (f.string(codes[0].get("code"), "interpretation.coding.code") if codes else None)
            or _concept_text(f, interp[0], "interpretation")
            or None
        )
    return LabResult(
        lab_id=f.id(),
        status=f.string(data.get("status"), "status") or "unknown",
        code=code,
        name=_concept_text(f, code_obj, "code") or (code or ""),
        effective=f.when(data.get("effectiveDateTime"), "effectiveDateTime")
        or f.when(data.get("issued"), "issued"),
        value=value,
        value_text=value_text,
        unit=unit,
        low=low,
        high=high,
        interpretation=interpretation,
        panel=_lab_panel(f),
        range_text=range_text,
    )


# --- Imaging ----------------------------------------------------------------------------


def parse_study(resource: Any) -> StudyRef:
    """An ImagingStudy: Study Instance UID, Series (with Instances when listed), Endpoint."""
    f = _Fields(resource, "ImagingStudy")
    data = f.data
    study_uid = None
    for ident in f.objects(data.get("identifier"), "identifier"):
        if ident.get("system") == "urn:dicom:uid":
            raw = f.string(ident.get("value"), "identifier.value", required=True) or ""
            study_uid = dicom_uid(raw.removeprefix("urn:oid:"), "ImagingStudy", "identifier")
    if study_uid is None:
        raise f.fail("identifier", "no Study Instance UID")
    series = []
    for s in f.objects(data.get("series"), "series"):
        modality = f.obj(s.get("modality"), "series.modality")
        instances = tuple(
            InstanceRef(
                sop_instance_uid=dicom_uid(i.get("uid"), "ImagingStudy", "series.instance.uid"),
                sop_class_uid=_coding_code(f, i.get("sopClass"), "series.instance.sopClass"),
                number=f.integer(i.get("number"), "series.instance.number"),
            )
            for i in f.objects(s.get("instance"), "series.instance")
        )
        count = f.integer(s.get("numberOfInstances"), "series.numberOfInstances")
        if count is not None and count < 0:
            raise f.fail("series.numberOfInstances", "negative")
        series.append(
            SeriesRef(
                series_uid=dicom_uid(s.get("uid"), "ImagingStudy", "series.uid"),
                modality=f.string(modality.get("code"), "series.modality.code")
                if modality
                else None,
                description=f.text(s.get("description"), "series.description"),
                number=f.integer(s.get("number"), "series.number"),
                instance_count=count,
                instances=instances,
            )
        )
    modalities = [
        f.string(m.get("code"), "modality.code")
        for m in f.objects(data.get("modality"), "modality")
    ]
    endpoints = f.objects(data.get("endpoint"), "endpoint")
    endpoint_reference = None
    if endpoints:
        endpoint_reference = f.string(endpoints[0].get("reference"), "endpoint.reference")
    return StudyRef(
        imaging_study_id=f.id(),
        study_uid=study_uid,
        description=f.text(data.get("description"), "description"),
        started=f.when(data.get("started"), "started"),
        modalities=tuple(_unique(m for m in modalities if m))
        or tuple(_unique(s.modality for s in series if s.modality)),
        series=tuple(series),
        endpoint_reference=endpoint_reference,
    )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _coding_code(f: _Fields, value: Any, field: str) -> str | None:
    obj = f.obj(value, field)
    if obj is None:
        return None
    code = f.string(obj.get("code"), f"{field}.code")
    # FHIR R4 codes SOP classes as urn:ietf:rfc:3986 URIs: "urn:oid:1.2.840…".
    return dicom_uid(code.removeprefix("urn:oid:"), f.kind, field) if code else None


def parse_endpoint(resource: Any) -> str:
    """An Endpoint's ``address``: the DICOMweb base URL (not yet checked for https)."""
    f = _Fields(resource, "Endpoint")
    status = f.string(f.data.get("status"), "status")
    if status not in (None, "active"):
        raise f.fail("status", "not active")
    address = f.string(f.data.get("address"), "address", required=True)
    assert address is not None
    return address.rstrip("/")


def parse_qido_instances(payload: Any, series_uid: str | None = None) -> list[InstanceRef]:
    """QIDO-RS instance results (DICOM JSON) as :class:`InstanceRef`, by instance number."""
    kind = "QIDO-RS result"
    if not isinstance(payload, list):
        raise MalformedServerData(kind, "body", "not a JSON array")
    out = []
    for item in payload:
        if not isinstance(item, dict):
            raise MalformedServerData(kind, "item", "not an object")
        if series_uid is not None:
            got = _dicom_json_value(item, "0020000E", kind)
            if got is not None and got != series_uid:
                raise MalformedServerData(kind, "0020000E", "instance of another series")
        uid = _dicom_json_value(item, "00080018", kind)
        sop_class = _dicom_json_value(item, "00080016", kind)
        number = _dicom_json_value(item, "00200013", kind)
        if isinstance(number, str):
            number = int(number) if number.strip().lstrip("-").isdigit() else None
        if number is not None and not isinstance(number, int):
            raise MalformedServerData(kind, "00200013", "not a number")
        out.append(
            InstanceRef(
                sop_instance_uid=dicom_uid(uid, kind, "00080018"),
                sop_class_uid=dicom_uid(sop_class, kind, "00080016") if sop_class else None,
                number=number,
            )
        )
    out.sort(key=lambda i: (i.number is None, i.number or 0))
    return out


def parse_qido_series(payload: Any) -> list[SeriesRef]:
    """QIDO-RS series results (DICOM JSON) as :class:`SeriesRef` without instances."""
    kind = "QIDO-RS result"
    if not isinstance(payload, list):
        raise MalformedServerData(kind, "body", "not a JSON array")
    out = []
    for item in payload:
        if not isinstance(item, dict):
            raise MalformedServerData(kind, "item", "not an object")
        number = _dicom_json_value(item, "00200011", kind)
        count = _dicom_json_value(item, "00201209", kind)
        modality = _dicom_json_value(item, "00080060", kind)
        description = _dicom_json_value(item, "0008103E", kind)
        out.append(
            SeriesRef(
                series_uid=dicom_uid(_dicom_json_value(item, "0020000E", kind), kind, "0020000E"),
                modality=modality if isinstance(modality, str) else None,
                description=clean_text(description) if isinstance(description, str) else "",
                number=number if isinstance(number, int) else None,
                instance_count=count if isinstance(count, int) else None,
                instances=(),
            )
        )
    return out


def _dicom_json_value(item: dict[str, Any], tag: str, kind: str) -> Any:
    element = item.get(tag)
    if element is None:
        return None
    if not isinstance(element, dict):
        raise MalformedServerData(kind, tag, "not a DICOM JSON element")
    values = element.get("Value")
    if values is None:
        return None
    if not isinstance(values, list) or not values:
        raise MalformedServerData(kind, tag, "Value is not a list")
    value = values[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedServerData(kind, tag, "not a plain value")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
