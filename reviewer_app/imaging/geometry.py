"""Geometry for the viewer: pixel spacing, measurements, and the order of a series' slices.

Points are ``(x, y)`` = (column, row) in pixel coordinates, as the UI's scene uses them.
A measurement says what its millimetres rest on: Pixel Spacing (in the patient),
Imager Pixel Spacing (at the detector of a projection radiograph, so not corrected for
magnification), or nothing (then it is given in pixels).

Slices are ordered by where they are along the stack's normal (Image Position Patient
projected on the cross product of Image Orientation Patient's row and column
directions); Instance Number, which says only the order of acquisition or export, is the
fallback, and the result says which was used and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydicom.dataset import Dataset

from reviewer_app.imaging.source import functional_item

SpacingSource = Literal["PixelSpacing", "ImagerPixelSpacing", "none"]
Point = tuple[float, float]


@dataclass(frozen=True)
class Spacing:
    """Millimetres between rows (vertical) and between columns (horizontal)."""

    row_mm: float
    col_mm: float
    source: SpacingSource

    @property
    def calibrated(self) -> bool:
        """Whether measurements can be given in millimetres."""
        return self.source != "none"


NO_SPACING = Spacing(1.0, 1.0, "none")


def pixel_spacing(ds: Dataset, frame: int = 0) -> Spacing:
    """The spacing measurements use: Pixel Spacing, else Imager Pixel Spacing, else none."""
    item = functional_item(ds, frame, "PixelMeasuresSequence")
    for source, value in (
        ("PixelSpacing", item.get("PixelSpacing")),
        ("ImagerPixelSpacing", ds.get("ImagerPixelSpacing")),
    ):
        pair = _pair(value)
        if pair is not None:
            return Spacing(pair[0], pair[1], source)  # type: ignore[arg-type]
    return NO_SPACING


def _pair(value: object) -> tuple[float, float] | None:
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        row, col = (float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(row) and math.isfinite(col) and row > 0 and col > 0):
        return None
    return row, col


@dataclass(frozen=True)
class Measurement:
    """A measured value, its unit, and the text the viewer shows next to it."""

    value: float
    unit: Literal["mm", "px"]
    label: str
    source: SpacingSource


def distance(p1: Point, p2: Point, spacing: Spacing = NO_SPACING) -> Measurement:
    """The distance between two points, in mm when the image has a spacing, else pixels."""
    dx = (p2[0] - p1[0]) * (spacing.col_mm if spacing.calibrated else 1.0)
    dy = (p2[1] - p1[1]) * (spacing.row_mm if spacing.calibrated else 1.0)
    value = math.hypot(dx, dy)
    if spacing.source == "PixelSpacing":
        return Measurement(value, "mm", f"{value:.1f} mm", spacing.source)
    if spacing.source == "ImagerPixelSpacing":
        label = f"{value:.1f} mm at detector (not corrected for magnification)"
        return Measurement(value, "mm", label, spacing.source)
    return Measurement(value, "px", f"{value:.1f} px (no pixel spacing)", spacing.source)


def angle(a: Point, b: Point, c: Point, spacing: Spacing = NO_SPACING) -> float:
    """The angle ABC at vertex ``b``, in degrees (0-180).

    With a spacing whose rows and columns differ, the angle is the one in the patient,
    not the one on the screen's pixel grid. Raises ValueError if a side has no length.
    """
    sx = spacing.col_mm if spacing.calibrated else 1.0
    sy = spacing.row_mm if spacing.calibrated else 1.0
    u = ((a[0] - b[0]) * sx, (a[1] - b[1]) * sy)
    v = ((c[0] - b[0]) * sx, (c[1] - b[1]) * sy)
    nu, nv = math.hypot(*u), math.hypot(*v)
    if nu == 0 or nv == 0:
        raise ValueError("an angle needs three distinct points")
    cos = (u[0] * v[0] + u[1] * v[1]) / (nu * nv)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


# --- slice order -----------------------------------------------------------------------

OrderMethod = Literal["position", "instance number", "as received"]
#: Orientations closer than this (1 - |cos|) count as the same stack direction.
PARALLEL_TOLERANCE = 1e-4


@dataclass(frozen=True)
class SliceOrder:
    """The display order of a series' slices and how it was found."""

    #: Indices into the sequence given, in display order.
    indices: tuple[int, ...]
    method: OrderMethod
    #: Why this method was used (shown in the series' details).
    reason: str
    #: Median distance between neighbouring slices in mm (position order only).
    spacing_mm: float | None = None

    def apply(self, items: Sequence[Dataset]) -> list[Dataset]:
        """``items`` in display order."""
        return [items[i] for i in self.indices]


def order_slices(datasets: Sequence[Dataset]) -> SliceOrder:
    """Order slices by position along the stack normal; Instance Number as fallback.

    Sorted from lowest to highest position along ``row × column`` of the orientation (for
    axial slices: feet to head). Position order needs every slice to have a position and
    a parallel orientation, and no two slices at the same place.
    """
    n = len(datasets)
    if n <= 1:
        return SliceOrder(tuple(range(n)), "position", "a single slice")
    where, why = _projections(datasets)
    if where is not None:
        order = np.argsort(where, kind="stable")
        gaps = np.diff(where[order])
        return SliceOrder(
            tuple(int(i) for i in order),
            "position",
            "ordered by Image Position along the slice normal",
            float(np.median(gaps)),
        )
    numbers = [_instance_number(ds) for ds in datasets]
    known = [v for v in numbers if v is not None]
    if len(known) == n:
        indices = sorted(range(n), key=lambda i: (known[i], i))
        return SliceOrder(tuple(indices), "instance number", f"by Instance Number: {why}")
    return SliceOrder(
        tuple(range(n)),
        "as received",
        f"in the order received: {why}, and not all slices have an Instance Number",
    )


def _projections(datasets: Sequence[Dataset]) -> tuple[np.ndarray | None, str]:
    """Each slice's position along the common normal, or None and why it cannot be used."""
    normals = [_normal(ds) for ds in datasets]
    positions = [_position(ds) for ds in datasets]
    known_positions = [p for p in positions if p is not None]
    known_normals = [v for v in normals if v is not None]
    if len(known_positions) < len(datasets):
        return None, "some slices have no Image Position"
    if len(known_normals) < len(datasets):
        return None, "some slices have no usable Image Orientation"
    first = known_normals[0]
    for v in known_normals[1:]:
        if 1.0 - abs(float(np.dot(first, v))) > PARALLEL_TOLERANCE:
            return None, "the slices are not parallel"
    where = np.array([float(np.dot(p, first)) for p in known_positions])
    if len(np.unique(np.round(where, 3))) < len(where):
        return None, "two or more slices are at the same position"
    return where, ""


def _frame0(ds: Dataset, sequence: str) -> Dataset:
    return functional_item(ds, 0, sequence)


def _position(ds: Dataset) -> np.ndarray | None:
    value = _frame0(ds, "PlanePositionSequence").get("ImagePositionPatient")
    try:
        vec = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return vec if vec.shape == (3,) and np.isfinite(vec).all() else None


def _normal(ds: Dataset) -> np.ndarray | None:
    value = _frame0(ds, "PlaneOrientationSequence").get("ImageOrientationPatient")
    try:
        vec = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if vec.shape != (6,) or not np.isfinite(vec).all():
        return None
    normal = np.cross(vec[:3], vec[3:])
    length = float(np.linalg.norm(normal))
    if length < 1e-6:
        return None
    return normal / length


def _instance_number(ds: Dataset) -> int | None:
    value = ds.get("InstanceNumber")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
