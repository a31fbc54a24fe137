"""The pixel pipeline against values worked out by hand, one branch at a time.

Expected values come from the formulas of PS3.3 C.11 computed on paper; each test's
comment shows the arithmetic. Output is round(brightness × 255).
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian

from reviewer_app.imaging import source
from reviewer_app.imaging.pipeline import render
from reviewer_app.imaging.voi import VoiLut, Window, file_vois, full_range_window
from tests.reviewer_app.imaging.synthetic import image, round_trip


def row(*values: int) -> np.ndarray:
    return np.array([values])


# --- Modality LUT stage ---------------------------------------------------------------------


def test_rescale_then_linear_window() -> None:
    # Stored 999..1100, intercept -1000 -> -1, 0, 50, 99, 100 HU.
    # LINEAR c=50 w=101: y = ((x - 49.5) / 100 + 0.5), clipped: -1 -> 0 (below -0.5),
    # 0 -> 0.005 -> 1.275 -> 1; 50 -> 0.505 -> 128.8 -> 129; 99 -> 0.995 -> 253.7 -> 254;
    # 100 > 99.5 -> 255.
    ds = image(
        row(999, 1000, 1050, 1099, 1100).astype(np.int16),
        RescaleIntercept=-1000,
        RescaleSlope=1,
        WindowCenter=50,
        WindowWidth=101,
    )
    out = render(ds)
    assert out.pixels.tolist() == [[0, 1, 129, 254, 255]]
    assert out.window == Window(50, 101)


def test_rescale_slope_applies_before_the_window() -> None:
    # Slope 2: stored 0, 25, 50 -> 0, 50, 100; same window as above -> 1, 129, 255.
    ds = image(row(0, 25, 50).astype(np.uint16), RescaleSlope=2, RescaleIntercept=0)
    out = render(ds, window=Window(50, 101))
    assert out.pixels.tolist() == [[1, 129, 255]]


def _modality_lut_item(descriptor: list[int], data: list[int]) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.ModalityLUTType = "OD"
    item.LUTData = data
    return item


def test_modality_lut_sequence() -> None:
    # Table: first mapped 10, entries 0, 1000, 2000, 4000. Stored 5 (below: first entry),
    # 10, 11, 12, 13, 20 (above: last entry) -> 0, 0, 1000, 2000, 4000, 4000.
    # LINEAR_EXACT c=2000 w=4000: y = x / 4000 -> 0, 0, 63.75->64, 127.5->128, 255, 255.
    ds = image(
        row(5, 10, 11, 12, 13, 20).astype(np.uint16),
        RescaleSlope=10,  # ignored: the LUT sequence wins
        RescaleIntercept=5,
    )
    ds.ModalityLUTSequence = [_modality_lut_item([4, 10, 16], [0, 1000, 2000, 4000])]
    out = render(ds, window=Window(2000, 4000, "LINEAR_EXACT"))
    assert out.pixels.tolist() == [[0, 0, 64, 128, 255, 255]]
    assert out.unit == "OD"


def test_modality_lut_with_negative_first_value() -> None:
    # Signed pixels; the first mapped value 65534 written as US means -2. Stored -3..1
    # -> 100 (clamped), 100, 200, 300, 300 (clamped); window full 100..300 exact.
    ds = image(row(-3, -2, -1, 0, 1).astype(np.int16))
    ds.ModalityLUTSequence = [_modality_lut_item([3, 65534, 16], [100, 200, 300])]
    out = render(ds, window=Window(200, 200, "LINEAR_EXACT"))
    # y = (x - 200) / 200 + 0.5 -> 0, 0, 0.5 -> 127.5 -> 128, 1, 1
    assert out.pixels.tolist() == [[0, 0, 128, 255, 255]]


# --- VOI stage -------------------------------------------------------------------------------


def test_linear_exact() -> None:
    # c=50 w=100: y = (x - 50)/100 + 0.5 = x/100: -10 -> 0, 0 -> 0, 25 -> 63.75 -> 64,
    # 50 -> 127.5 -> 128, 100 -> 255, 110 -> 255.
    ds = image(
        row(-10, 0, 25, 50, 100, 110).astype(np.int16),
        WindowCenter=50,
        WindowWidth=100,
        VOILUTFunction="LINEAR_EXACT",
    )
    assert render(ds).pixels.tolist() == [[0, 0, 64, 128, 255, 255]]


def test_sigmoid() -> None:
    # y = 1 / (1 + exp(-4 (x - 50) / 100)): 0 -> 1/(1+e^2) = 0.11920 -> 30.40 -> 30;
    # 25 -> 1/(1+e) = 0.26894 -> 68.58 -> 69; 50 -> 0.5 -> 127.5 -> 128;
    # 75 -> 0.73106 -> 186.42 -> 186.
    ds = image(
        row(0, 25, 50, 75).astype(np.int16),
        WindowCenter=50,
        WindowWidth=100,
        VOILUTFunction="SIGMOID",
    )
    assert render(ds).pixels.tolist() == [[30, 69, 128, 186]]


def test_voi_lut_sequence_8_and_12_bit() -> None:
    # 8-bit table [0, 51, 255] first mapped 0: inputs -1 (clamped), 0, 1, 2, 3 (clamped)
    # -> 0, 0, 51, 255, 255 over 255.
    item8 = Dataset()
    item8.LUTDescriptor = [3, 0, 8]
    item8.LUTData = [0, 51, 255]
    item8.LUTExplanation = "NORMAL"
    # 12-bit table [0, 4095, 2048]: over 4095 -> 0, 255, 2048/4095*255 = 127.53 -> 128.
    item12 = Dataset()
    item12.LUTDescriptor = [3, 0, 12]
    item12.LUTData = [0, 4095, 2048]
    ds = image(row(-1, 0, 1, 2, 3).astype(np.int16))
    ds.VOILUTSequence = [item8, item12]
    vois = file_vois(ds)
    assert [type(v) for v in vois] == [VoiLut, VoiLut]
    out = render(ds)
    assert out.pixels.tolist() == [[0, 0, 51, 255, 255]]
    assert out.window == vois[0]
    assert out.window.label == "VOI LUT NORMAL"
    assert render(ds, window=vois[1]).pixels.tolist() == [[0, 0, 255, 128, 128]]


def test_voi_lut_data_as_ow_bytes() -> None:
    # The same 12-bit table stored as OW (little-endian 16-bit words).
    item = Dataset()
    item.LUTDescriptor = [3, 0, 12]
    item.add_new("LUTData", "OW", np.array([0, 4095, 2048], "<u2").tobytes())
    ds = image(row(0, 1, 2).astype(np.uint16))
    ds.VOILUTSequence = [item]
    assert render(round_trip(ds)).pixels.tolist() == [[0, 255, 128]]


def test_all_file_windows_listed_with_explanations_first_is_default() -> None:
    ds = image(
        row(0, 40, 80).astype(np.int16),
        WindowCenter=[40, 300],
        WindowWidth=[80, 1500],
        WindowCenterWidthExplanation=["BRAIN", "BONE"],
    )
    ds = round_trip(ds)
    vois = file_vois(ds)
    assert vois == [Window(40, 80, "LINEAR", "BRAIN"), Window(300, 1500, "LINEAR", "BONE")]
    assert render(ds).window == vois[0]


def test_invalid_window_width_is_skipped() -> None:
    ds = image(row(0, 1).astype(np.int16), WindowCenter=[10, 20], WindowWidth=[0, 30])
    assert file_vois(ds) == [Window(20, 30)]


def test_full_range_window_without_voi() -> None:
    # Stored 10, 20, 30, nothing in the file: window 10..30, i.e. w = 21, c = 20.5;
    # 20 -> (20 - 20)/20 + 0.5 = 0.5 -> 127.5 -> 128.
    ds = image(row(10, 20, 30).astype(np.uint16))
    out = render(ds)
    assert out.pixels.tolist() == [[0, 128, 255]]
    assert out.window == full_range_window(10, 30)


def test_full_range_window_leaves_out_padding() -> None:
    # Padding -2000 (written as US 63536) is not part of the range 0..100:
    # w = 101, c = 50.5; 50 -> 0.5 -> 128.
    ds = image(row(-2000, 0, 50, 100).astype(np.int16), PixelPaddingValue=63536)
    assert render(ds).pixels.tolist() == [[0, 0, 128, 255]]


# --- inversion and presentation LUT ----------------------------------------------------


def _grey(photometric: str, **attrs: object) -> Dataset:
    # 0..255 full range: w = 256, c = 128 -> y = x / 255, so 0, 51, 255 stay as they are.
    return image(row(0, 51, 255).astype(np.uint8), photometric=photometric, **attrs)


def test_monochrome1_inverts_after_voi() -> None:
    assert render(_grey("MONOCHROME2")).pixels.tolist() == [[0, 51, 255]]
    out = render(_grey("MONOCHROME1"))
    assert out.pixels.tolist() == [[255, 204, 0]]
    assert out.inverted


def test_monochrome1_inversion_follows_the_window() -> None:
    # Window c=25.5 w=51 maps 0 -> 0 and 51.. -> 255 (then inverted).
    ds = _grey("MONOCHROME1")
    assert render(ds, window=Window(25.5, 51)).pixels.tolist() == [[255, 0, 0]]


def test_presentation_lut_shape_inverse() -> None:
    inverse = render(_grey("MONOCHROME2", PresentationLUTShape="INVERSE"))
    assert inverse.pixels.tolist() == [[255, 204, 0]]
    identity = render(_grey("MONOCHROME2", PresentationLUTShape="IDENTITY"))
    assert identity.pixels.tolist() == [[0, 51, 255]]


def test_monochrome1_with_inverse_shape_inverts_once() -> None:
    # PS3.3 C.8.11.6.1.2: INVERSE is required with MONOCHROME1; it is the same inversion.
    out = render(_grey("MONOCHROME1", PresentationLUTShape="INVERSE"))
    assert out.pixels.tolist() == [[255, 204, 0]]


def test_user_invert_toggles() -> None:
    assert render(_grey("MONOCHROME2"), invert=True).pixels.tolist() == [[255, 204, 0]]
    assert render(_grey("MONOCHROME1"), invert=True).pixels.tolist() == [[0, 51, 255]]


# --- colour ----------------------------------------------------------------------------------


def test_palette_colour() -> None:
    # 16-bit palette, 3 entries: red 0, 65535, 32768 -> 0, 255, 32768/257 = 127.5 -> 128.
    ds = image(row(0, 1, 2).astype(np.uint8), photometric="PALETTE COLOR")
    for colour, data in (
        ("Red", [0, 65535, 32768]),
        ("Green", [65535, 0, 0]),
        ("Blue", [0, 0, 65535]),
    ):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [3, 0, 16])
        ds.add_new(f"{colour}PaletteColorLookupTableData", "OW", np.array(data, "<u2").tobytes())
    out = render(round_trip(ds))
    assert out.pixels.tolist() == [[[0, 255, 0], [255, 0, 0], [128, 0, 255]]]
    assert out.window is None
    assert out.is_colour


RGB = np.array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]], np.uint8)


@pytest.mark.parametrize("planar", [0, 1])
def test_rgb_planar_configurations(planar: int) -> None:
    ds = round_trip(image(RGB, photometric="RGB", planar=planar))
    if planar == 1:  # the bytes really are one plane per colour
        assert ds.PixelData[:4] == bytes([1, 4, 7, 10])
    else:
        assert ds.PixelData[:4] == bytes([1, 2, 3, 4])
    assert render(ds).pixels.tolist() == RGB.tolist()


def test_rgb_16_bit_scaled_to_8() -> None:
    # 12 bits stored: 4095 -> 255, 2048 -> 2048 * 255 / 4095 = 127.53 -> 128.
    pixels = np.array([[[0, 2048, 4095]]], np.uint16)
    ds = image(pixels, photometric="RGB", bits_stored=12)
    assert render(ds).pixels.tolist() == [[[0, 128, 255]]]


def test_ybr_full_422_is_shown_as_rgb() -> None:
    # One pair of pixels per 4 bytes: Y1 Y2 Cb Cr. Neutral chroma (128, 128) gives grey
    # Y; Cr = 200 gives R = Y + 1.402 (200 - 128) = 228.9, G = Y - 0.714136 * 72 = 76.6,
    # B = Y (PS3.3 C.7.6.3.1.2). Rounding in the converter may differ by one.
    ds = image(
        np.zeros((2, 2, 3), np.uint8),
        photometric="YBR_FULL_422",
        pixel_bytes=bytes([100, 200, 128, 128, 128, 128, 128, 200]),
    )
    out = render(round_trip(ds))
    assert out.pixels[0].tolist() == [[100, 100, 100], [200, 200, 200]]
    assert np.abs(out.pixels[1].astype(int) - [[229, 77, 128], [229, 77, 128]]).max() <= 1


# --- encodings and frames --------------------------------------------------------------


def test_big_endian_matches_little_endian() -> None:
    pixels = row(-1000, -1, 0, 255, 3000).astype(np.int16)
    attrs = {"WindowCenter": 40, "WindowWidth": 400, "RescaleIntercept": -24}
    little = render(round_trip(image(pixels, **attrs)))
    big_ds = round_trip(image(pixels, syntax=ExplicitVRBigEndian, **attrs))
    assert big_ds.PixelData[:2] == (-1000).to_bytes(2, "big", signed=True)
    assert render(big_ds).pixels.tolist() == little.pixels.tolist()
    # by hand: x - 24 -> -1024, -25, -24, 231, 2976; y = (x - 39.5)/399 + 0.5
    # -25 -> 0.338 -> 86.2 -> 86; -24 -> 0.3409 -> 86.9 -> 87; 231 -> 0.9799 -> 249.9 -> 250
    assert little.pixels.tolist() == [[0, 86, 87, 250, 255]]


def test_multi_frame_decodes_only_the_frame_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = np.stack([np.full((2, 3), v, np.uint8) for v in (10, 20, 30)])
    ds = image(frames, frames=3, WindowCenter=25.5, WindowWidth=51)
    asked: list[object] = []
    real = source.pixel_array

    def spy(ds: Dataset, **kwargs: object) -> np.ndarray:
        asked.append(kwargs.get("index"))
        return real(ds, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "pixel_array", spy)
    out = render(ds, frame=1)
    assert asked == [1]
    # 20 -> (20 - 25)/50 + 0.5 = 0.4 -> 102
    assert out.pixels.shape == (2, 3)
    assert out.pixels.tolist() == [[102] * 3] * 2
    assert (out.frame, out.frames) == (1, 3)
    with pytest.raises(IndexError):
        render(ds, frame=3)


def test_lookup_table_path_equals_direct_computation() -> None:
    # The 65536-entry table indexed by the stored bits must give what the formulas give
    # on the values themselves, negative values included.
    rng = np.random.default_rng(7)
    stored = rng.integers(-32768, 32767, size=(64, 64), dtype=np.int16)
    ds = image(stored, RescaleSlope=0.5, RescaleIntercept=-10)
    window = Window(-300, 2500, "SIGMOID")
    direct = np.floor(window.to_unit(stored * 0.5 - 10) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(render(ds, window=window).pixels, direct)


def test_float_pixels_take_the_direct_path() -> None:
    # 32-bit: no table. stored 0, 100, 200, slope 0.5 -> 0, 50, 100; w=101 c=50 -> 1, 129, 255
    ds = image(row(0, 100, 200).astype(np.uint32), RescaleSlope=0.5, RescaleIntercept=0)
    assert render(ds, window=Window(50, 101)).pixels.tolist() == [[1, 129, 255]]


def test_stored_frame_can_be_reused_for_rewindowing() -> None:
    ds = image(row(0, 50, 100).astype(np.int16))
    stored = source.decode_frame(ds, 0)
    again = render(ds, window=Window(50, 101), stored=stored)
    assert again.pixels.tolist() == [[1, 129, 255]]
