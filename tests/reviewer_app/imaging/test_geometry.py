"""Pixel spacing, measurements with their labels, angles, and slice order."""

from __future__ import annotations

import math
import random

import pytest
from pydicom.dataset import Dataset

from reviewer_app.imaging import angle, distance, order_slices, pixel_spacing
from reviewer_app.imaging.geometry import NO_SPACING, Spacing


def test_pixel_spacing_sources() -> None:
    ds = Dataset()
    assert pixel_spacing(ds) == Spacing(1.0, 1.0, "none")
    ds.ImagerPixelSpacing = [0.2, 0.25]
    assert pixel_spacing(ds) == Spacing(0.2, 0.25, "ImagerPixelSpacing")
    ds.PixelSpacing = [0.5, 0.75]  # calibrated in the patient: preferred
    assert pixel_spacing(ds) == Spacing(0.5, 0.75, "PixelSpacing")


def test_broken_pixel_spacing_is_ignored() -> None:
    ds = Dataset()
    ds.PixelSpacing = [0, 0.5]
    assert pixel_spacing(ds).source == "none"


def test_enhanced_multiframe_spacing_from_functional_groups() -> None:
    measures = Dataset()
    measures.PixelSpacing = [0.3, 0.4]
    shared = Dataset()
    shared.PixelMeasuresSequence = [measures]
    ds = Dataset()
    ds.SharedFunctionalGroupsSequence = [shared]
    assert pixel_spacing(ds, frame=5) == Spacing(0.3, 0.4, "PixelSpacing")


def test_distance_in_mm_and_pixels() -> None:
    # 30 columns right, 40 rows down. Columns 0.5 mm apart, rows 0.25 mm apart:
    # hypot(15, 10) = 18.03 mm; without spacing hypot(30, 40) = 50 px.
    spacing = Spacing(0.25, 0.5, "PixelSpacing")
    m = distance((10, 10), (40, 50), spacing)
    assert m.value == pytest.approx(math.hypot(15, 10))
    assert (m.unit, m.label) == ("mm", "18.0 mm")
    detector = distance((10, 10), (40, 50), Spacing(0.25, 0.5, "ImagerPixelSpacing"))
    assert detector.unit == "mm"
    assert detector.label == "18.0 mm at detector (not corrected for magnification)"
    px = distance((10, 10), (40, 50), NO_SPACING)
    assert (px.value, px.unit, px.label) == (50.0, "px", "50.0 px (no pixel spacing)")


def test_angle_degrees() -> None:
    assert angle((1, 0), (0, 0), (0, 1)) == pytest.approx(90.0)
    assert angle((1, 0), (0, 0), (-1, 0)) == pytest.approx(180.0)
    assert angle((1, 1), (0, 0), (1, 0)) == pytest.approx(45.0)
    # Rows twice as far apart as columns: (1, 1) in pixels is (1 mm, 2 mm) -> atan(2).
    tall = Spacing(2.0, 1.0, "PixelSpacing")
    assert angle((1, 1), (0, 0), (1, 0), tall) == pytest.approx(math.degrees(math.atan(2)))
    with pytest.raises(ValueError):
        angle((0, 0), (0, 0), (1, 0))


def slice_at(position: list[float], orientation: list[float], number: int | None) -> Dataset:
    ds = Dataset()
    ds.ImagePositionPatient = position
    ds.ImageOrientationPatient = orientation
    if number is not None:
        ds.InstanceNumber = number
    return ds


AXIAL = [1, 0, 0, 0, 1, 0]


def test_shuffled_axial_slices_by_position() -> None:
    # Instance numbers deliberately disagree with the positions.
    z = [-10.0, 2.5, 0.0, -5.0, 7.5, 5.0, -2.5]
    slices = [slice_at([0, 0, v], AXIAL, 100 - i) for i, v in enumerate(z)]
    order = order_slices(slices)
    assert order.method == "position"
    assert [ds.ImagePositionPatient[2] for ds in order.apply(slices)] == sorted(z)
    assert order.spacing_mm == pytest.approx(2.5)


def test_oblique_slices_by_projection_on_the_normal() -> None:
    # Rows along x, columns tilted 30° between y and z: normal = (0, -sin30, cos30).
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    orientation = [1, 0, 0, 0, c, s]
    normal = (0.0, -s, c)
    # Positions: 3 mm steps along the normal plus in-plane shifts that must not matter.
    steps = [3, 0, 2, 1, 4]
    slices = []
    for k in steps:
        inplane = (random.Random(k).uniform(-50, 50), c * 7 * k, s * 7 * k)
        pos = [inplane[i] + 3 * k * normal[i] for i in range(3)]
        slices.append(slice_at(pos, orientation, None))
    order = order_slices(slices)
    assert order.method == "position"
    assert [steps[i] for i in order.indices] == [0, 1, 2, 3, 4]
    assert order.spacing_mm == pytest.approx(3.0)


def test_fallback_to_instance_number_without_positions() -> None:
    slices = [Dataset() for _ in range(3)]
    for ds, n in zip(slices, [3, 1, 2], strict=True):
        ds.InstanceNumber = n
    order = order_slices(slices)
    assert order.method == "instance number"
    assert order.indices == (1, 2, 0)
    assert order.reason == "by Instance Number: some slices have no Image Position"


def test_fallback_when_not_parallel_or_same_position() -> None:
    tilted = slice_at([0, 0, 5], [1, 0, 0, 0, 0, 1], 1)
    order = order_slices([slice_at([0, 0, 0], AXIAL, 2), tilted])
    assert (order.method, order.indices) == ("instance number", (1, 0))
    assert "not parallel" in order.reason
    same = order_slices([slice_at([0, 0, 0], AXIAL, 2), slice_at([0, 0, 0], AXIAL, 1)])
    assert (same.method, same.indices) == ("instance number", (1, 0))
    assert "same position" in same.reason


def test_as_received_when_nothing_orders_them() -> None:
    order = order_slices([Dataset(), Dataset()])
    assert (order.method, order.indices) == ("as received", (0, 1))
