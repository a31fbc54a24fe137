"""What a key-image citation says and stores: its label, its view, its PNG figure.

The Imaging pane's "Cite in opinion" takes a :class:`KeyImage` snapshot of what is on
screen (on the UI thread, where the widgets are); these functions turn it into the
citation's text and JSON view, and encode the figure (on a worker thread: a QImage may be
used there, a widget may not). The label must stand alone in the signed PDF, so it names
the study, its date, the series, instance and frame, the window, the measurements with
their units, and says when the image is lossy-compressed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewer_app.imaging import Window
from reviewer_app.imaging.voi import Voi, VoiLut

#: A measurement as the citation stores it: kind, value, unit, points (image pixels).
MeasurementView = dict[str, Any]


@dataclass(frozen=True)
class KeyImage:
    """The image on screen when "Cite" was chosen (ids, texts and numbers only)."""

    case_id: str
    series_uid: str
    sop_uid: str
    frame: int
    frames: int
    index: int
    slices: int
    modality: str
    study_description: str
    study_date: str  # ISO date, or "" when the study has none
    series_number: int | None
    series_description: str
    instance_number: int | None
    #: The window applied to the image shown (None: a colour image, no window).
    applied: Voi | None
    #: The window chosen by the reader (None: each file's own).
    chosen: Voi | None
    invert: bool
    zoom: float
    centre: tuple[float, float]
    fitted: bool
    lossy: str  # why the image is lossy ("" when it is not)
    measurements: Sequence[MeasurementView] = field(default_factory=tuple)


def ref_of(shot: KeyImage) -> str:
    """``image:<series_uid>/<sop_uid>#<frame, 0-based>``."""
    return f"image:{shot.series_uid}/{shot.sop_uid}#{shot.frame}"


def parse_ref(ref: str) -> tuple[str, str, int] | None:
    """(series uid, SOP instance uid, frame) of an ``image:`` ref; None if malformed."""
    kind, _, rest = ref.partition(":")
    uids, _, frame = rest.partition("#")
    series_uid, _, sop_uid = uids.partition("/")
    if kind != "image" or not series_uid or not sop_uid or not frame.isdigit():
        return None
    return series_uid, sop_uid, int(frame)


def window_text(voi: Voi | None, invert: bool = False) -> str:
    """ "W 400 / L 40" (with the function if not LINEAR), a VOI LUT's name, or colour."""
    if voi is None:
        text = "colour image (no window)"
    elif isinstance(voi, Window):
        text = f"W {voi.width:g} / L {voi.center:g}"
        if voi.function != "LINEAR":
            text += f" ({voi.function})"
    else:
        text = voi.label
    return f"{text}, inverted" if invert else text


def measurement_text(m: Mapping[str, Any]) -> str:
    """A stored measurement as the label says it: its own label (unit and caveats)."""
    return str(m.get("label") or f"{m['value']:.1f} {m['unit']}")


def label_of(shot: KeyImage) -> str:
    """The citation's text, e.g. "CT Chest (2026-02-11), series 3 (Axial), image 45
    (slice 12 of 60), W 400 / L 40; distance 23.4 mm"."""
    study = shot.study_description.strip()
    if shot.modality and shot.modality.upper() not in study.upper().split():
        study = f"{shot.modality} {study}".strip()
    parts = [f"{study or 'Imaging study'} ({shot.study_date or 'undated'})"]
    series = f"series {shot.series_number}" if shot.series_number is not None else "series"
    if shot.series_description:
        series += f" ({shot.series_description})"
    parts.append(series)
    # The instance number is what reports quote ("image 45"); the slice is what the
    # viewer's overlay shows ("Slice 12/60"): both, so either can be checked.
    slice_text = f"slice {shot.index + 1} of {shot.slices}"
    if shot.instance_number is not None:
        parts.append(f"image {shot.instance_number} ({slice_text})")
    else:
        parts.append(slice_text)
    if shot.frames > 1:
        parts.append(f"frame {shot.frame + 1} of {shot.frames}")
    parts.append(window_text(shot.applied, shot.invert))
    text = ", ".join(parts)
    if shot.measurements:
        measured = [f"{m['kind']} {measurement_text(m)}" for m in shot.measurements]
        text += "; " + ", ".join(measured)
    if shot.lossy:
        text += "; " + lossy_text(shot.lossy)
    return text


def lossy_text(reason: str) -> str:
    """ "lossy compressed (ratio 16:1 …)" → "LOSSY-compressed image (ratio 16:1 …)";
    a "possibly lossy" reason keeps its "possibly"."""
    possibly = reason.startswith("possibly")
    detail = reason.removeprefix("possibly").strip().removeprefix("lossy compressed").strip()
    head = "possibly LOSSY-compressed image" if possibly else "LOSSY-compressed image"
    return f"{head} {detail}" if detail else head


def voi_view(voi: Voi | None) -> dict[str, Any] | None:
    """A window as JSON (None stays None)."""
    if voi is None:
        return None
    if isinstance(voi, Window):
        return {
            "kind": "window",
            "center": _finite(voi.center),
            "width": _finite(voi.width),
            "function": voi.function,
            "explanation": voi.explanation,
        }
    assert isinstance(voi, VoiLut)
    return {"kind": "voi_lut", "explanation": voi.explanation, "label": voi.label}


def window_from(view: Mapping[str, Any] | None) -> Window | None:
    """The Window stored by :func:`voi_view` (None for none or a VOI LUT)."""
    if not view or view.get("kind") != "window":
        return None
    return Window(
        float(view["center"]),
        float(view["width"]),
        str(view.get("function") or "LINEAR"),
        str(view.get("explanation") or ""),
    )


def view_of(shot: KeyImage) -> dict[str, Any]:
    """Everything needed to show this exact view again (JSON-able)."""
    return {
        "series_uid": shot.series_uid,
        "sop_uid": shot.sop_uid,
        "frame": shot.frame,
        "index": shot.index,
        "instance_number": shot.instance_number,
        "window": voi_view(shot.applied),
        "window_choice": "file" if shot.chosen is None else "chosen",
        "chosen_window": voi_view(shot.chosen),
        "invert": shot.invert,
        "zoom": _finite(shot.zoom),
        "pan": [_finite(shot.centre[0]), _finite(shot.centre[1])],
        "fit": shot.fitted,
        "lossy": bool(shot.lossy),
        "measurements": [dict(m) for m in shot.measurements],
    }


def _finite(value: float) -> float:
    # JSON has no NaN or infinity; a view never legitimately holds one.
    number = float(value)
    return number if math.isfinite(number) else 0.0
