"""The Modality LUT stage: stored pixel values to modality values (e.g. Hounsfield units).

PS3.3 C.11.1: a Modality LUT Sequence, if present, else Rescale Slope and Intercept,
else the identity. Enhanced multi-frame objects keep the rescale in the frame's Pixel
Value Transformation functional group, so the transform is looked up per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from reviewer_app.imaging.lut import LookupTable, parse_lut
from reviewer_app.imaging.source import functional_item


@dataclass(frozen=True)
class Rescale:
    """``value = stored * slope + intercept`` in ``unit`` (RescaleType, e.g. "HU")."""

    slope: float = 1.0
    intercept: float = 0.0
    unit: str = ""

    def apply(self, stored: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
        """Modality values of the stored values."""
        values = np.asarray(stored, dtype=np.float64)
        if self.slope != 1.0:
            values = values * self.slope
        if self.intercept != 0.0:
            values = values + self.intercept
        return values


@dataclass(frozen=True)
class ModalityLut:
    """A Modality LUT Sequence table, output in ``unit`` (ModalityLUTType)."""

    table: LookupTable
    unit: str = ""

    def apply(self, stored: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
        """Modality values of the stored values."""
        return self.table.apply(np.asarray(stored))


ModalityTransform = Rescale | ModalityLut


def modality_transform(ds: Dataset, frame: int = 0) -> ModalityTransform:
    """The Modality LUT stage for ``frame``: LUT sequence, else rescale, else identity."""
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    seq = ds.get("ModalityLUTSequence")
    if seq:
        table = parse_lut(seq[0], ds, signed_input=signed)
        if table is not None:
            return ModalityLut(table, str(seq[0].get("ModalityLUTType", "") or ""))
    item = functional_item(ds, frame, "PixelValueTransformationSequence")
    slope = _number(item.get("RescaleSlope"), 1.0)
    intercept = _number(item.get("RescaleIntercept"), 0.0)
    if slope == 0.0:
        # A zero slope would flatten the image to one value: a broken header, ignored.
        slope = 1.0
    return Rescale(slope, intercept, str(item.get("RescaleType", "") or ""))


def _number(value: object, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
