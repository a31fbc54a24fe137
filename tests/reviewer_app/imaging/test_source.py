"""Reading files and decoding frames: what fails, and the one-line reason it gives."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import UID, JPEGLSLossless, RLELossless

from reviewer_app.errors import UndecodableImage
from reviewer_app.imaging import decode_frame, read_dataset, render
from tests.reviewer_app.imaging.synthetic import encapsulated, file_bytes, image

MPEG2 = UID("1.2.840.10008.1.2.4.100")


def reason(exc: pytest.ExceptionInfo[UndecodableImage]) -> str:
    text = exc.value.user_text()
    assert "\n" not in text
    return text


def test_reads_path_bytes_and_file(tmp_path: Path) -> None:
    data = file_bytes(image(np.array([[1, 2]], np.uint16)))
    path = tmp_path / "a.dcm"
    path.write_bytes(data)
    for src in (path, str(path), data, io.BytesIO(data)):
        assert read_dataset(src).Rows == 1


def test_dataset_without_preamble_or_meta() -> None:
    ds = image(np.array([[0, 10]], np.uint16))
    del ds.file_meta
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=True, little_endian=True)
    assert buffer.getvalue()[:4] != b"DICM"
    assert buffer.getvalue()[128:132] != b"DICM"
    assert render(read_dataset(buffer.getvalue())).pixels.tolist() == [[0, 255]]


def test_not_dicom() -> None:
    with pytest.raises(UndecodableImage) as exc:
        read_dataset(b"%PDF-1.7 this is a PDF, not an image\n" * 10)
    assert reason(exc) == "This image cannot be shown: the file is not a DICOM file."


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UndecodableImage, match="could not be opened"):
        read_dataset(tmp_path / "nothing.dcm")


def test_truncated_pixel_data() -> None:
    data = file_bytes(image(np.arange(64, dtype=np.uint16).reshape(8, 8)))
    ds = read_dataset(data[:-20])
    with pytest.raises(UndecodableImage) as exc:
        decode_frame(ds)
    assert "truncated" in reason(exc)


def test_truncated_inside_the_header() -> None:
    data = file_bytes(image(np.zeros((8, 8), np.uint16), ImageComments="x" * 40))
    for cut, text in (
        (200, "the file is damaged or incomplete"),
        (len(data) - 140, "the file ends before its pixel data (it is truncated)"),
    ):
        with pytest.raises(UndecodableImage) as exc:
            render(read_dataset(data[:cut]))
        assert reason(exc) == f"This image cannot be shown: {text}."


def test_no_image_in_a_complete_file() -> None:
    ds = image(np.zeros((2, 2), np.uint8))
    for keyword in ("PixelData", "Rows", "Columns"):
        delattr(ds, keyword)
    with pytest.raises(UndecodableImage, match="holds no image"):
        render(read_dataset(file_bytes(ds)))


def test_unsupported_transfer_syntax() -> None:
    ds = encapsulated([b"\x00\x00\x01\xb3" + b"\0" * 60], MPEG2)
    with pytest.raises(UndecodableImage) as exc:
        render(ds)
    assert reason(exc) == (
        "This image cannot be shown: it is encoded as MPEG2 Main Profile / Main Level, "
        "which Reviewer cannot decode."
    )


def test_damaged_compressed_data() -> None:
    ds = encapsulated([b"\xff\xd8 not really JPEG-LS" + b"\0" * 11], JPEGLSLossless)
    with pytest.raises(UndecodableImage) as exc:
        render(ds)
    assert reason(exc) == (
        "This image cannot be shown: its JPEG-LS Lossless Image Compression pixel data "
        "could not be decoded (damaged data)."
    )


def test_compressed_rle_frame_decodes() -> None:
    # pydicom's own RLE encoder, our decoder path: the round trip is exact.
    pixels = np.array([[0, 1000], [2000, 4095]], np.uint16)
    ds = image(pixels, bits_stored=12)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    assert decode_frame(ds).tolist() == pixels.tolist()
