"""The VOI stage: modality values to display brightness, as a window or a VOI LUT.

PS3.3 C.11.2.1.2 defines three window functions (LINEAR, LINEAR_EXACT, SIGMOID); a VOI LUT
Sequence item is a table instead. Both map to a brightness in [0, 1] here, which the
pipeline scales to 8 bits (pydicom's ``apply_windowing`` keeps the modality range
instead, which is not what a screen shows).

A file may offer several windows (Window Center/Width are multi-valued, each with an
explanation such as "BONE") and several VOI LUTs: :func:`file_vois` lists them all, in
the order the default is chosen. :data:`CT_PRESETS` are the usual CT windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from reviewer_app.imaging.lut import LookupTable, parse_lut
from reviewer_app.imaging.modality import Rescale, modality_transform
from reviewer_app.imaging.source import functional_item

WINDOW_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


@dataclass(frozen=True)
class Window:
    """A window centre and width (in modality units) with its VOI LUT function."""

    center: float
    width: float
    function: str = "LINEAR"
    explanation: str = ""

    def to_unit(self, values: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Brightness in [0, 1] of modality values (PS3.3 C.11.2.1.2)."""
        x = np.asarray(values, dtype=np.float64)
        c = float(self.center)
        if self.function == "SIGMOID":
            w = max(float(self.width), 1e-6)
            # Clipped so far-off values give 0 or 1 without an overflow warning.
            return 1.0 / (1.0 + np.exp(np.clip(-4.0 * (x - c) / w, -60.0, 60.0)))
        if self.function == "LINEAR_EXACT":
            w = max(float(self.width), 1e-6)
            return np.clip((x - c) / w + 0.5, 0.0, 1.0)
        # LINEAR, the default: width >= 1; the -0.5 and -1 place the window on whole values.
        w = max(float(self.width), 1.0)
        if w == 1.0:
            return (x > c - 0.5).astype(np.float64)
        return np.clip((x - (c - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0)

    @property
    def label(self) -> str:
        """Short text for the viewer, e.g. "W 400 L 40" (with the function if not LINEAR)."""
        text = f"W {_fmt(self.width)} L {_fmt(self.center)}"
        if self.function != "LINEAR":
            text += f" ({self.function})"
        return text


@dataclass(frozen=True)
class VoiLut:
    """A VOI LUT Sequence item: modality values to the table's output range."""

    table: LookupTable

    def to_unit(self, values: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
        """Brightness in [0, 1]: table output over the top of its bit range."""
        return np.clip(self.table.apply(values) / self.table.max_output, 0.0, 1.0)

    @property
    def explanation(self) -> str:
        """The file's LUTExplanation."""
        return self.table.explanation

    @property
    def label(self) -> str:
        """Short text for the viewer."""
        return f"VOI LUT {self.explanation}".strip()


Voi = Window | VoiLut


def _fmt(value: float) -> str:
    return f"{value:g}"


#: The usual CT windows (centre/width in HU), from Radiopaedia's "Windowing (CT)" table;
#: where it gives a range (subdural W 130-300, L 50-100) its middle is used.
CT_PRESETS: tuple[Window, ...] = (
    Window(40, 80, explanation="Brain"),
    Window(75, 215, explanation="Subdural"),
    Window(-600, 1500, explanation="Lung"),
    Window(50, 350, explanation="Mediastinum"),
    Window(50, 400, explanation="Abdomen"),
    Window(30, 150, explanation="Liver"),
    Window(400, 1800, explanation="Bone"),
)


def presets_for(ds: Dataset) -> tuple[Window, ...]:
    """The preset windows that make sense for this image (CT presets for CT in HU)."""
    if str(ds.get("Modality", "")).upper() == "CT":
        return CT_PRESETS
    return ()


def file_vois(ds: Dataset, frame: int = 0) -> list[Voi]:
    """Every VOI the file offers for ``frame``: its windows first, then its VOI LUTs.

    Windows with an invalid width (below 1 for LINEAR, not above 0 otherwise) are left
    out; an unknown VOI LUT Function is read as LINEAR, the standard's default.
    """
    vois: list[Voi] = []
    item = functional_item(ds, frame, "FrameVOILUTSequence")
    centers = _values(item.get("WindowCenter"))
    widths = _values(item.get("WindowWidth"))
    explanations = [str(v) for v in _raw_values(item.get("WindowCenterWidthExplanation"))]
    function = str(item.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function not in WINDOW_FUNCTIONS:
        function = "LINEAR"
    for i, (center, width) in enumerate(zip(centers, widths, strict=False)):
        valid = width >= 1.0 if function == "LINEAR" else width > 0.0
        if not valid or np.isnan(center):
            continue
        explanation = explanations[i] if i < len(explanations) else ""
        vois.append(Window(center, width, function, explanation))
    seq = ds.get("VOILUTSequence")
    if seq:
        signed = _modality_output_signed(ds, frame)
        for lut_item in seq:
            table = parse_lut(lut_item, ds, signed_input=signed)
            if table is not None:
                vois.append(VoiLut(table))
    return vois


def _modality_output_signed(ds: Dataset, frame: int) -> bool:
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return True
    transform = modality_transform(ds, frame)
    return isinstance(transform, Rescale) and (transform.intercept < 0 or transform.slope < 0)


def _raw_values(value: object) -> list[object]:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    return list(value)  # type: ignore[call-overload]


def _values(value: object) -> list[float]:
    out: list[float] = []
    for v in _raw_values(value):
        try:
            out.append(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def full_range_window(low: float, high: float) -> Window:
    """The LINEAR window mapping ``low`` to black and ``high`` to white (whole values)."""
    width = max(high - low + 1.0, 1.0)
    return Window(low + width / 2.0, width, "LINEAR", "Full range (no window in the file)")
