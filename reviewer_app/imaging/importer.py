"""Local import: a patient's CD (a DICOMDIR) or a folder of DICOM files, added to a case.

The source is only ever opened for reading: a DICOMDIR is read with pydicom's
:class:`~pydicom.fileset.FileSet` to find its instances, a plain folder is walked for
files with the DICOM preamble. Each file's bytes go straight into the vault's object store
(encrypted, like synced data; nothing is written in plaintext anywhere), and its study,
series and instance rows are written in one transaction, the study marked
``source = 'import'`` so that sync never reports it as the platform's.
An instance already in the case (same SOP Instance UID) is not stored twice.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.fileset import FileSet

from reviewer_app.errors import NothingToImport
from reviewer_app.vault import Vault
from reviewer_app.vault.database import Connection

INSTANCE_KIND = "dicom"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


@dataclass
class ImportResult:
    """What an import added and what it left out (with the reason, per file)."""

    studies: int = 0
    series: int = 0
    instances: int = 0
    already_present: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: The patient names the imported files carry: shown to the specialist, who must
    #: see at once when a CD belongs to someone else than the case's patient.
    patient_names: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Found:
    path: Path
    study_uid: str
    series_uid: str
    sop_uid: str
    header: Dataset


def dicom_files(folder: Path) -> Iterator[Path]:
    """The files to import: those a DICOMDIR lists if the folder has one, else every
    file under it that starts with the DICOM preamble."""
    dicomdir = _find_dicomdir(folder)
    if dicomdir is not None:
        fileset = FileSet(dcmread(dicomdir))
        try:
            paths = [Path(instance.path) for instance in fileset]
        finally:
            _discard_staging(fileset)
        yield from paths
        return
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if _has_preamble(path):
                yield path


def _discard_staging(fileset: FileSet) -> None:
    """Remove the empty staging folder every FileSet makes (for files it would add).

    We only read, so nothing was ever staged there; removing it at once keeps the temp
    folder clean instead of waiting for the garbage collector.
    """
    staging = getattr(fileset, "_stage", {}).get("t")
    if staging is not None:
        staging.cleanup()


def _find_dicomdir(folder: Path) -> Path | None:
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.name.upper() == "DICOMDIR":
            return entry
    return None


def _has_preamble(path: Path) -> bool:
    try:
        with path.open("rb") as fp:
            head = fp.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def import_folder(
    vault: Vault,
    case_id: str,
    folder: Path,
    check: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Add every DICOM image under ``folder`` (a CD's root or any folder) to ``case_id``.

    Raises NothingToImport when the folder holds no importable image. ``check`` is
    called between files (cancel), ``progress`` with the number of files done.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NothingToImport("the chosen folder does not exist")
    known = {
        row[0]
        for row in vault.read().execute(
            "SELECT sop_instance_uid FROM instances WHERE case_id = ?", (case_id,)
        )
    }
    result = ImportResult()
    stored: list[tuple[_Found, str]] = []
    try:
        for done, path in enumerate(dicom_files(folder), start=1):
            if check is not None:
                check()
            found, data = _read(path, folder, result)
            if found is not None and data is not None:
                if found.sop_uid in known:
                    result.already_present += 1
                else:
                    result.patient_names.add(str(found.header.get("PatientName", "") or ""))
                    ref = vault.objects.put(data, kind=INSTANCE_KIND)
                    stored.append((found, ref.object_id))
                    known.add(found.sop_uid)
            if progress is not None:
                progress(done)
        if not stored and not result.already_present:
            raise NothingToImport()
        counts = vault.write(lambda conn: _write_rows(conn, case_id, stored)).result()
    except BaseException:
        # Rows never came to refer to them: leave nothing behind.
        vault.objects.shred(object_id for _, object_id in stored)
        raise
    result.studies, result.series = counts
    result.instances = len(stored)
    return result


def _read(path: Path, folder: Path, result: ImportResult) -> tuple[_Found | None, bytes | None]:
    where = str(path.relative_to(folder)) if path.is_relative_to(folder) else path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.skipped.append((where, f"could not be read ({exc.strerror})"))
        return None, None
    try:
        ds = dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception:
        result.skipped.append((where, "not a readable DICOM file"))
        return None, None
    if str(ds.get("SOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
        return None, None
    uids = [str(ds.get(k, "") or "") for k in ("StudyInstanceUID", "SeriesInstanceUID")]
    sop = str(ds.get("SOPInstanceUID", "") or "")
    if not all(uids) or not sop:
        result.skipped.append((where, "lacks its study, series or instance UID"))
        return None, None
    return _Found(path, uids[0], uids[1], sop, ds), data


def _date(ds: Dataset) -> str | None:
    value = str(ds.get("StudyDate", "") or "")
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None


def _int(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _write_rows(
    conn: Connection, case_id: str, stored: list[tuple[_Found, str]]
) -> tuple[int, int]:
    studies: dict[str, list[Dataset]] = {}
    series: dict[str, list[Dataset]] = {}
    for found, object_id in stored:
        ds = found.header
        studies.setdefault(found.study_uid, []).append(ds)
        series.setdefault(found.series_uid, []).append(ds)
        conn.execute(
            "INSERT OR IGNORE INTO instances (case_id, sop_instance_uid, series_uid, study_uid, "
            "sop_class_uid, number, object_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                found.sop_uid,
                found.series_uid,
                found.study_uid,
                str(ds.get("SOPClassUID", "") or "") or None,
                _int(ds.get("InstanceNumber")),
                object_id,
            ),
        )
    for study_uid, headers in studies.items():
        first = headers[0]
        modalities = sorted({str(h.get("Modality", "") or "") for h in headers} - {""})
        # OR IGNORE: a study the platform already sent stays the platform's.
        conn.execute(
            "INSERT OR IGNORE INTO studies (case_id, study_uid, description, started, "
            "modalities, source) VALUES (?, ?, ?, ?, ?, 'import')",
            (
                case_id,
                study_uid,
                str(first.get("StudyDescription", "") or "") or None,
                _date(first),
                ",".join(modalities),
            ),
        )
    for series_uid, headers in series.items():
        first = headers[0]
        conn.execute(
            "INSERT OR IGNORE INTO series (case_id, series_uid, study_uid, modality, "
            "description, number, instance_count) VALUES (?, ?, ?, ?, ?, ?, 0)",
            (
                case_id,
                series_uid,
                str(first.StudyInstanceUID),
                str(first.get("Modality", "") or "") or None,
                str(first.get("SeriesDescription", "") or "") or None,
                _int(first.get("SeriesNumber")),
            ),
        )
        conn.execute(
            "UPDATE series SET instance_count = (SELECT COUNT(*) FROM instances "
            "WHERE case_id = ?1 AND series_uid = ?2) WHERE case_id = ?1 AND series_uid = ?2",
            (case_id, series_uid),
        )
    return len(studies), len(series)
