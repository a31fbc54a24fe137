"""``reviewer-app render-dicom`` as a real subprocess; the PNG is decoded back with zlib."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file

from reviewer_app.imaging import read_dataset, render
from reviewer_app.imaging.png import encode_png
from reviewer_app.imaging.voi import Window
from tests.cli import run_cli
from tests.reviewer_app.imaging.synthetic import encapsulated, file_bytes, image


def decode_png(data: bytes) -> np.ndarray:
    """An independent reader for the PNGs we write (8-bit grey/RGB, any filter 0)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, colour, *_ = header
    assert depth == 8 and colour in (0, 2)
    channels = 3 if colour == 2 else 1
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * channels + 1)
    assert (raw[:, 0] == 0).all()  # filter "none" on every row
    pixels = raw[:, 1:].reshape(height, width, channels)
    return pixels[:, :, 0] if channels == 1 else pixels


def test_png_writer_round_trip() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = np.arange(36, dtype=np.uint8).reshape(3, 4, 3)
    assert np.array_equal(decode_png(encode_png(grey)), grey)
    assert np.array_equal(decode_png(encode_png(rgb)), rgb)


def test_render_good_file(tmp_path: Path) -> None:
    src = tmp_path / "ct.dcm"
    pixels = np.arange(-1024, 1024, 8, dtype=np.int16).reshape(16, 16)
    src.write_bytes(file_bytes(image(pixels, WindowCenter=40, WindowWidth=400)))
    out = tmp_path / "ct.png"
    result = run_cli("render-dicom", str(src), str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{out}: 16×16 grey, frame 1/1, W 400 L 40"
    expected = render(read_dataset(src)).pixels
    assert np.array_equal(decode_png(out.read_bytes()), expected)


def test_render_frame_and_window_options(tmp_path: Path) -> None:
    src = Path(get_testdata_file("MR_small.dcm", download=False))
    out = tmp_path / "mr.png"
    result = run_cli("render-dicom", str(src), str(out), "--window=-100,700")
    assert result.returncode == 0, result.stderr
    expected = render(read_dataset(src), window=Window(-100, 700)).pixels
    assert np.array_equal(decode_png(out.read_bytes()), expected)


def test_render_colour_multiframe(tmp_path: Path) -> None:
    src = Path(get_testdata_file("SC_rgb_rle_2frame.dcm", download=False))
    out = tmp_path / "rgb.png"
    result = run_cli("render-dicom", str(src), str(out), "--frame", "1")
    assert result.returncode == 0, result.stderr
    expected = render(read_dataset(src), frame=1).pixels
    decoded = decode_png(out.read_bytes())
    assert decoded.shape == (100, 100, 3)
    assert np.array_equal(decoded, expected)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.strip() == f"reviewer-app: {text}"


def test_not_dicom(tmp_path: Path) -> None:
    src = tmp_path / "notes.dcm"
    src.write_text("Dear colleague, please see the attached images.\n" * 5)
    out = tmp_path / "out.png"
    result = run_cli("render-dicom", str(src), str(out))
    assert_one_line_failure(result, "This image cannot be shown: the file is not a DICOM file.")
    assert not out.exists()


def test_truncated(tmp_path: Path) -> None:
    src = tmp_path / "cut.dcm"
    src.write_bytes(file_bytes(image(np.zeros((32, 32), np.uint16)))[:-100])
    result = run_cli("render-dicom", str(src), str(tmp_path / "out.png"))
    assert_one_line_failure(
        result,
        "This image cannot be shown: the pixel data is incomplete (1948 of 2048 bytes; "
        "the file is truncated).",
    )


def test_unsupported_transfer_syntax(tmp_path: Path) -> None:
    src = tmp_path / "video.dcm"
    ds = encapsulated([b"\x00\x00\x01\xb3" + b"\0" * 60], "1.2.840.10008.1.2.4.100")
    src.write_bytes(file_bytes(ds))
    result = run_cli("render-dicom", str(src), str(tmp_path / "out.png"))
    assert_one_line_failure(
        result,
        "This image cannot be shown: it is encoded as MPEG2 Main Profile / Main Level, "
        "which Reviewer cannot decode.",
    )


def test_frame_out_of_range(tmp_path: Path) -> None:
    src = tmp_path / "one.dcm"
    src.write_bytes(file_bytes(image(np.zeros((2, 2), np.uint8))))
    result = run_cli("render-dicom", str(src), str(tmp_path / "o.png"), "--frame", "1")
    assert_one_line_failure(result, "--frame 1 is outside the image (frames 0 to 0)")
