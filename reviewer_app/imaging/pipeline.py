"""What the viewer shows: :func:`render` is the one function that turns a frame into pixels.

The grey-scale pipeline follows PS3.4 N.2: stored values → Modality LUT (LUT sequence,
else rescale) → VOI (window or VOI LUT) → MONOCHROME1 inversion → presentation LUT
shape. Colour images (RGB, YBR decoded to RGB, PALETTE COLOR mapped through its palette)
skip the grey stages and are only scaled to 8 bits.

Speed: every grey stage is a function of the stored value alone, so for 8- and 16-bit
integer images the whole chain is computed once per (value type, transform, window,
inversion) into a lookup table covering every possible stored value (256 or 65536
entries), and a frame costs one ``np.take``. The tables are cached, so scrolling through
a series at a fixed window builds none; dragging the window builds one per step
(65536 values, well under a millisecond or two). Other pixel types (32-bit, float) take
the same functions on the frame itself.

The result is a numpy array; building a QImage from it is the UI's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from reviewer_app.errors import UndecodableImage
from reviewer_app.imaging.lossy import Lossy, lossy_compression
from reviewer_app.imaging.modality import ModalityLut, ModalityTransform, modality_transform
from reviewer_app.imaging.source import decode_frame, number_of_frames, photometric
from reviewer_app.imaging.voi import Voi, file_vois, full_range_window

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, eq=False)
class RenderedImage:
    """A frame as the viewer shows it, with what was used to make it."""

    #: uint8, (rows, cols) for grey or (rows, cols, 3) RGB, C-contiguous.
    pixels: U8
    #: The window or VOI LUT applied; None for colour images (no VOI stage).
    window: Voi | None
    lossy: Lossy
    photometric: str
    frame: int
    frames: int
    #: Whether dark and light are swapped relative to the VOI output (MONOCHROME1,
    #: presentation LUT shape INVERSE, and the user's invert toggle combined).
    inverted: bool
    #: The modality values' unit (RescaleType / ModalityLUTType, e.g. "HU"), or "".
    unit: str = ""

    @property
    def is_colour(self) -> bool:
        """Whether the pixels are RGB."""
        return self.pixels.ndim == 3


def render(
    ds: Dataset,
    frame: int = 0,
    window: Voi | None = None,
    invert: bool = False,
    *,
    stored: npt.NDArray[np.generic] | None = None,
) -> RenderedImage:
    """Render ``frame`` of ``ds`` exactly as the viewer shows it.

    ``window`` overrides the default VOI: the file's first window, else its first VOI LUT,
    else the full range of this frame's modality values (padding excluded). ``invert``
    swaps dark and light on top of what the file asks for. Colour images have no VOI
    stage: ``window`` does not apply to them and the result's ``window`` is None.
    ``stored`` is the frame from :func:`~reviewer_app.imaging.source.decode_frame`, when
    the caller already has it (re-windowing the same frame need not decode it again).

    Raises UndecodableImage when the frame cannot be decoded or its palette is unusable.
    """
    frames = number_of_frames(ds)
    if stored is None:
        stored = decode_frame(ds, frame)
    pi = photometric(ds)
    lossy = lossy_compression(ds)
    if pi == "PALETTE COLOR" and stored.ndim == 2:
        rgb = _palette(stored, ds)
        return _colour_result(rgb, invert, lossy, pi, frame=frame, frames=frames)
    if stored.ndim == 3:
        bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
        if stored.dtype == np.uint8:
            rgb = stored.view(np.uint8)
        else:
            rgb = _scale_to_8bit(stored, 2**bits - 1)
        return _colour_result(rgb, invert, lossy, pi, frame=frame, frames=frames)

    transform = modality_transform(ds, frame)
    voi = window if window is not None else default_voi(ds, frame, stored, transform)
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    # MONOCHROME1 and shape INVERSE describe the same inversion: where the standard
    # requires INVERSE it is *because* the image is MONOCHROME1 (PS3.3 C.8.11.6.1.2), so
    # both together still invert once.
    flip = (pi == "MONOCHROME1" or shape == "INVERSE") != invert
    if stored.dtype.kind in "iu" and stored.dtype.itemsize <= 2:
        lut = _display_lut(stored.dtype.str, transform, voi, flip)
        index = stored.view(np.dtype(f"u{stored.dtype.itemsize}"))
        pixels: U8 = np.take(lut, index)  # type: ignore[assignment, unused-ignore]
    else:
        pixels = _to_8bit(voi.to_unit(transform.apply(stored)), flip)
    return RenderedImage(
        pixels, voi, lossy, pi, frame, frames, flip, getattr(transform, "unit", "")
    )


def default_voi(
    ds: Dataset,
    frame: int,
    stored: npt.NDArray[np.generic],
    transform: ModalityTransform | None = None,
) -> Voi:
    """The VOI shown before the user picks one (see :func:`render`)."""
    vois = file_vois(ds, frame)
    if vois:
        return vois[0]
    if transform is None:
        transform = modality_transform(ds, frame)
    values = _without_padding(ds, stored)
    if values.size == 0:
        values = stored
    low = np.nanmin(values)
    high = np.nanmax(values)
    if isinstance(transform, ModalityLut) and stored.dtype.kind in "iu":
        # A table need not be monotonic: look at every value between the extremes.
        mapped = transform.apply(np.arange(int(low), int(high) + 1))
    else:
        mapped = transform.apply(np.array([low, high], dtype=np.float64))
    if not np.isfinite(mapped).any():
        return full_range_window(0.0, 0.0)
    return full_range_window(float(np.nanmin(mapped)), float(np.nanmax(mapped)))


def _without_padding(ds: Dataset, stored: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    pad = ds.get("PixelPaddingValue")
    if pad is None or stored.dtype.kind not in "iu" or isinstance(pad, bytes):
        return stored
    pad = int(pad)
    if stored.dtype.kind == "i" and pad >= 2 ** (8 * stored.dtype.itemsize - 1):
        pad -= 2 ** (8 * stored.dtype.itemsize)  # written as US, meant as SS
    return stored[stored != pad]


@lru_cache(maxsize=32)
def _display_lut(dtype: str, transform: ModalityTransform, voi: Voi, flip: bool) -> U8:
    """Display value for every possible stored value of ``dtype``, indexed by its bits."""
    size = np.dtype(dtype).itemsize
    domain = np.arange(256**size, dtype=np.dtype(f"u{size}")).view(np.dtype(dtype))
    lut = _to_8bit(voi.to_unit(transform.apply(domain)), flip)
    lut.flags.writeable = False
    return lut


def _to_8bit(unit: npt.NDArray[np.floating], flip: bool) -> U8:
    out = np.floor(np.nan_to_num(unit) * 255.0 + 0.5).astype(np.uint8)
    if flip:
        np.subtract(255, out, out=out)
    return out


def _scale_to_8bit(values: npt.NDArray[np.generic], max_value: int) -> U8:
    scaled = np.clip(values.astype(np.float64), 0, max_value) * (255.0 / max(max_value, 1))
    return np.floor(scaled + 0.5).astype(np.uint8)


def _palette(stored: npt.NDArray[np.generic], ds: Dataset) -> U8:
    from pydicom.pixels.processing import apply_color_lut

    try:
        rgb = apply_color_lut(stored, ds)
    except Exception:
        raise UndecodableImage("its colour palette is missing or damaged") from None
    if rgb.shape[-1] == 4:  # drop an alpha palette: the viewer shows opaque images
        rgb = rgb[..., :3]
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    return _scale_to_8bit(rgb, 65535)


def _colour_result(
    rgb: U8, invert: bool, lossy: Lossy, pi: str, *, frame: int, frames: int
) -> RenderedImage:
    pixels = np.ascontiguousarray(rgb)
    if invert:
        pixels = 255 - pixels
    return RenderedImage(pixels, None, lossy, pi, frame, frames, invert)
