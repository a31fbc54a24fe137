"""The pipeline over pydicom's own example files, checked against pydicom's functions.

Only files bundled with pydicom are used (``download=False``); a file that is not there is
skipped with its name. Decoders that are optional extras (Pillow, GDCM) are skipped when
absent, so the suite runs on a machine that has only the required packages.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import dcmread, examples
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder, pixel_array
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_windowing

from reviewer_app.errors import UndecodableImage
from reviewer_app.imaging import lossy_compression, read_dataset, render


def bundled(name: str) -> str:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    return str(path)


def needs_decoder(ds: Dataset) -> None:
    uid = ds.file_meta.TransferSyntaxUID
    if uid.is_compressed and not get_decoder(uid).is_available:
        pytest.skip(f"no decoder installed for {uid.name}")


# Grey files that carry a window: our 8-bit output must equal pydicom's windowing, which
# returns values in the modality output range [lo, hi], rescaled to 0-255 by hand.
@pytest.mark.parametrize("name", ["MR_small.dcm", "693_J2KI.dcm", "MR_small_RLE.dcm"])
def test_grey_window_matches_pydicom(name: str) -> None:
    ds = read_dataset(bundled(name))
    needs_decoder(ds)
    ours = render(ds)
    values = apply_modality_lut(pixel_array(ds, index=0), ds)
    windowed = apply_windowing(values, ds)
    bits = int(ds.BitsStored)
    if ds.PixelRepresentation == 0:
        lo, hi = 0, 2**bits - 1
    else:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    slope = float(ds.get("RescaleSlope", 1))
    icpt = float(ds.get("RescaleIntercept", 0))
    y_min, y_max = sorted((lo * slope + icpt, hi * slope + icpt))
    expected = (windowed - y_min) / (y_max - y_min) * 255
    assert ours.pixels.shape == (ds.Rows, ds.Columns)
    assert np.abs(ours.pixels.astype(float) - expected).max() <= 1.0


def test_ct_example_full_range_and_modality() -> None:
    ds = examples.ct  # no window in the file: full range of its HU values
    ours = render(ds)
    hu = apply_modality_lut(pixel_array(ds, index=0), ds)
    assert ours.window is not None
    assert ours.window.label  # shown in the viewer
    assert ours.pixels[hu == hu.min()].max() == 0
    assert ours.pixels[hu == hu.max()].min() == 255
    assert ours.unit == ""  # this file has no RescaleType


def test_palette_example_matches_pydicom() -> None:
    ds = examples.palette_color
    expected = apply_color_lut(pixel_array(ds, index=0), ds)
    if expected.dtype != np.uint8:
        expected = np.floor(expected / 257 + 0.5).astype(np.uint8)
    assert np.array_equal(render(ds).pixels, expected)


@pytest.mark.parametrize(
    "name",
    [
        "examples_rgb_color.dcm",
        "SC_rgb_small_odd_big_endian.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
        "SC_rgb_rle.dcm",
        "examples_jpeg2k.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "SC_rgb_jpeg_gdcm.dcm",
        "SC_rgb_jls_lossy_line.dcm",
    ],
)
def test_colour_examples_are_pydicoms_rgb(name: str) -> None:
    ds = read_dataset(bundled(name))
    needs_decoder(ds)
    assert np.array_equal(render(ds).pixels, pixel_array(ds, index=0))


def test_ybr_multiframe_example_one_frame() -> None:
    ds = examples.ybr_color  # 30-frame YBR_FULL_422 JPEG
    needs_decoder(ds)
    out = render(ds, frame=29)
    assert out.pixels.shape == (ds.Rows, ds.Columns, 3)
    assert (out.frame, out.frames) == (29, 30)
    assert np.array_equal(out.pixels, pixel_array(ds, index=29))
    assert out.lossy


def test_rle_16_bit_rgb_two_frames() -> None:
    ds = read_dataset(bundled("SC_rgb_rle_16bit_2frame.dcm"))
    second = pixel_array(ds, index=1).astype(float)
    expected = np.floor(second * 255 / 65535 + 0.5)
    assert np.array_equal(render(ds, frame=1).pixels, expected)


def test_big_endian_example_equals_little_endian() -> None:
    little = render(read_dataset(bundled("MR_small.dcm")))
    big = render(read_dataset(bundled("MR_small_bigendian.dcm")))
    assert np.array_equal(little.pixels, big.pixels)


def test_32_bit_dose_multiframe() -> None:
    ds = read_dataset(bundled("rtdose.dcm"))
    out = render(ds, frame=14)
    frame = pixel_array(ds, index=14)
    assert out.pixels.shape == frame.shape
    assert out.pixels[frame == frame.max()].min() == 255


def test_truncated_example() -> None:
    with pytest.raises(UndecodableImage, match="truncated"):
        render(read_dataset(bundled("MR_truncated.dcm")))


def test_12_bit_jpeg_extended_is_reported() -> None:
    ds = read_dataset(bundled("JPGExtended.dcm"))
    if "pylibjpeg" in get_decoder(ds.file_meta.TransferSyntaxUID).available_plugins:
        pytest.skip("a 12-bit JPEG decoder is installed here")
    with pytest.raises(UndecodableImage, match="12-bit JPEG Extended") as info:
        render(ds)
    assert "\n" not in info.value.user_text()


def test_lossy_flags_of_examples() -> None:
    def flag(name: str) -> bool:
        return lossy_compression(dcmread(bundled(name), stop_before_pixels=True)).lossy

    assert flag("JPEGLSNearLossless_08.dcm")  # .81 near-lossless
    assert flag("SC_rgb_jpeg_dcmtk.dcm")  # .50 baseline
    assert flag("693_J2KI.dcm")  # LossyImageCompression 01
    assert not flag("MR_small_jpeg_ls_lossless.dcm")  # .80
    assert not flag("MR_small_jp2klossless.dcm")  # .90
    assert not flag("MR_small.dcm")
