"""Small synthetic DICOM images built by hand for the pipeline tests (no patient data)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    SecondaryCaptureImageStorage,
    generate_uid,
)


def image(
    pixels: np.ndarray,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int | None = None,
    frames: int | None = None,
    planar: int | None = None,
    syntax: UID = ExplicitVRLittleEndian,
    pixel_bytes: bytes | None = None,
    **attrs: Any,
) -> Dataset:
    """A dataset whose Pixel Data holds ``pixels``: (rows, cols), (rows, cols, 3), or a
    leading frame axis when ``frames`` is given. ``attrs`` are set as DICOM keywords."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "OT"
    shape = pixels.shape[1:] if frames else pixels.shape
    ds.Rows, ds.Columns = int(shape[0]), int(shape[1])
    ds.SamplesPerPixel = 3 if len(shape) == 3 else 1
    ds.PhotometricInterpretation = photometric
    if ds.SamplesPerPixel == 3:
        ds.PlanarConfiguration = planar or 0
    ds.BitsAllocated = pixels.dtype.itemsize * 8
    ds.BitsStored = bits_stored or ds.BitsAllocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    if frames:
        ds.NumberOfFrames = frames
    for key, value in attrs.items():
        setattr(ds, key, value)
    if pixel_bytes is None:
        data = pixels
        if planar == 1:
            data = np.moveaxis(pixels, -1, -3)  # (…, 3, rows, cols): one plane per colour
        if syntax == ExplicitVRBigEndian:
            data = data.astype(data.dtype.newbyteorder(">"))
        pixel_bytes = np.ascontiguousarray(data).tobytes()
    if len(pixel_bytes) % 2:
        pixel_bytes += b"\0"
    ds.PixelData = pixel_bytes
    ds["PixelData"].VR = "OB" if ds.BitsAllocated <= 8 else "OW"
    return ds


def round_trip(ds: Dataset) -> Dataset:
    """``ds`` written as a DICOM file and read back (so the encoding is real)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return dcmread(io.BytesIO(buffer.getvalue()))


def file_bytes(ds: Dataset) -> bytes:
    """``ds`` as the bytes of a DICOM file."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def encapsulated(frames: list[bytes], syntax: UID, **kwargs: Any) -> Dataset:
    """A 2×2 8-bit grey image whose Pixel Data is encapsulated ``frames``."""
    ds = image(np.zeros((2, 2), np.uint8), syntax=syntax, pixel_bytes=b"", **kwargs)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds
