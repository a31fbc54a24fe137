"""Small synthetic series written into a test vault the way sync stores them (no patient data).

``ct_slice`` makes one CT instance whose pixels say which slice it is (stored value
``1000 + 10 * z`` everywhere, so a test can tell from the image which slice is shown);
``store_series`` encrypts instances into the vault's object store and writes the study,
series and instance rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, UltrasoundMultiFrameImageStorage, generate_uid

from tests.reviewer_app.imaging.synthetic import file_bytes, image

PATIENT_MARKER = "ZZMARKER^Imaging"


def base_value(z: float) -> int:
    """The stored value of every pixel of the CT slice at position ``z``."""
    return int(1000 + 10 * z)


def ct_slice(z: float, number: int, size: int = 32, **attrs: Any) -> Dataset:
    """An axial CT slice at ``z`` mm with instance number ``number``."""
    pixels = np.full((size, size), base_value(z), np.int16)
    pixels[: size // 4, : size // 4] = 0  # a dark corner: the image has some contrast
    values: dict[str, Any] = {
        "Modality": "CT",
        "PatientName": PATIENT_MARKER,
        "PatientID": "SYN-0001",
        "StudyDate": "20260301",
        "StudyDescription": "CT head",
        "SeriesDescription": "Axial 5 mm",
        "SeriesNumber": 2,
        "InstanceNumber": number,
        "ImagePositionPatient": [0, 0, z],
        "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
        "PixelSpacing": [0.5, 0.25],
        "RescaleSlope": 1,
        "RescaleIntercept": -1024,
        "WindowCenter": [40, 400],
        "WindowWidth": [80, 1800],
        "WindowCenterWidthExplanation": ["BRAIN", "BONE"],
    }
    values.update(attrs)
    ds = image(pixels, **values)
    ds.SOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    return ds


def cine(frames: int = 4, frame_time: str = "33.3333", **attrs: Any) -> Dataset:
    """A small multi-frame ultrasound loop; frame ``f`` has every pixel at ``20 * f``."""
    pixels = np.stack([np.full((16, 16), 20 * f, np.uint8) for f in range(frames)])
    values: dict[str, Any] = {
        "Modality": "US",
        "PatientName": PATIENT_MARKER,
        "SeriesDescription": "Cine loop",
        "InstanceNumber": 1,
        "FrameTime": frame_time,
        "FrameIncrementPointer": 0x00181063,
    }
    values.update(attrs)
    ds = image(pixels, frames=frames, **values)
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.file_meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    return ds


def same_study(datasets: list[Dataset], study_uid: str, series_uid: str) -> list[Dataset]:
    """Give every dataset the study and series UIDs (and a fresh SOP instance UID)."""
    for ds in datasets:
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return datasets


def store_series(
    vault: Any,
    case_id: str,
    items: list[Dataset | bytes],
    *,
    modality: str = "CT",
    description: str = "Axial 5 mm",
    study_uid: str | None = None,
    series_uid: str | None = None,
    study_description: str = "CT head",
) -> str:
    """Store ``items`` (datasets, or raw bytes for broken files) as one series; returns its
    UID. Instance numbers come from the datasets (raw bytes get their position + 1)."""
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    rows = []
    for i, item in enumerate(items):
        if isinstance(item, Dataset):
            same_study([item], study_uid, series_uid)
            data = file_bytes(item)
            sop, number = str(item.SOPInstanceUID), int(item.get("InstanceNumber") or i + 1)
        else:
            data, sop, number = item, generate_uid(), i + 1
        ref = vault.objects.put(data, kind="dicom")
        rows.append((case_id, sop, series_uid, study_uid, None, number, ref.object_id))

    def write(conn: Any) -> None:
        conn.execute(
            "INSERT OR IGNORE INTO studies (case_id, study_uid, description, started, "
            "modalities) VALUES (?, ?, ?, ?, ?)",
            (case_id, study_uid, study_description, "2026-03-01T09:00:00Z", modality),
        )
        conn.execute(
            "INSERT INTO series (case_id, series_uid, study_uid, modality, description, "
            "number, instance_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, series_uid, study_uid, modality, description, 2, len(items)),
        )
        conn.executemany(
            "INSERT INTO instances (case_id, sop_instance_uid, series_uid, study_uid, "
            "sop_class_uid, number, object_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    vault.write_sync(write)
    return series_uid
