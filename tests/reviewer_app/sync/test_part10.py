"""The quick SOP Instance UID reader agrees with pydicom, or leaves the answer to it."""

from __future__ import annotations

import io
import struct

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    generate_uid,
)

from reviewer_app.errors import NotDicom
from reviewer_app.sync.part10 import quick_sop_instance_uid
from reviewer_app.sync.remote import check_instance, instance_uid

CT = "1.2.840.10008.5.1.4.1.1.2"


def _file(syntax: str, *, before_uid: Dataset | None = None, uid: str | None = None) -> bytes:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = CT
    ds.file_meta.MediaStorageSOPInstanceUID = uid or generate_uid()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = uid or ds.file_meta.MediaStorageSOPInstanceUID
    if before_uid is not None:
        # (0008,0006) Language Code Sequence sorts before the UID: a sequence of
        # undefined length there is past what the quick reader walks.
        ds.LanguageCodeSequence = [before_uid]
    ds.PatientName = "Synthetic^Test"
    out = io.BytesIO()
    little = syntax != ExplicitVRBigEndian
    implicit = syntax == ImplicitVRLittleEndian
    ds.save_as(out, enforce_file_format=True, little_endian=little, implicit_vr=implicit)
    return out.getvalue()


def _pydicom_uid(data: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)


@pytest.mark.parametrize(
    "syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless]
)
def test_the_common_encodings_are_read_quickly_and_agree_with_pydicom(syntax: str) -> None:
    data = _file(syntax)
    uid = quick_sop_instance_uid(data)
    assert uid is not None and uid == _pydicom_uid(data)
    check_instance(data, uid)
    with pytest.raises(NotDicom, match="not the one that was asked for"):
        check_instance(data, uid + ".1")


@pytest.mark.parametrize("syntax", [ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian])
def test_other_encodings_are_left_to_pydicom(syntax: str) -> None:
    data = _file(syntax)
    assert quick_sop_instance_uid(data) is None
    assert instance_uid(data) == _pydicom_uid(data)


def test_an_undefined_length_before_the_uid_is_left_to_pydicom() -> None:
    item = Dataset()
    item.CodeValue = "en"
    data = _file(ExplicitVRLittleEndian, before_uid=item)
    # pydicom writes sequences with undefined length only when asked; force one.
    marker = struct.pack("<HH", 0x0008, 0x0006) + b"SQ\x00\x00"
    at = data.index(marker) + len(marker)
    (length,) = struct.unpack_from("<I", data, at)
    assert length != 0xFFFFFFFF
    sequence_end = at + 4 + length
    undefined = (
        data[:at]
        + b"\xff\xff\xff\xff"
        + data[at + 4 : sequence_end]
        + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        + data[sequence_end:]
    )
    assert quick_sop_instance_uid(undefined) is None
    assert instance_uid(undefined) == _pydicom_uid(undefined)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"this is not a DICOM file" * 40,
        b"\x00" * 128 + b"DICM",
        b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f1.2",  # length past the end
    ],
)
def test_what_is_not_dicom_is_refused(data: bytes) -> None:
    assert quick_sop_instance_uid(data) is None
    assert instance_uid(data) is None
    with pytest.raises(NotDicom):
        check_instance(data, "1.2.3")


def test_a_meta_header_without_vrs_is_left_to_pydicom() -> None:
    assert quick_sop_instance_uid(b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00u1\x02\x001.") is None


def test_a_truncated_file_is_refused_when_the_uid_is_cut() -> None:
    data = _file(ExplicitVRLittleEndian)
    uid = _pydicom_uid(data)
    cut = data[: data.index(uid.encode()) + 3]
    assert quick_sop_instance_uid(cut) is None
    with pytest.raises(NotDicom):
        check_instance(cut, uid)
