"""The viewer's imaging core, without Qt: decoding, the pixel pipeline, and geometry.

Workers call these functions and hand numpy arrays to the UI, which makes the QImage.

- :func:`render` (``pipeline``): the one function that computes what the viewer shows;
- ``source``: reading a file and decoding one frame (:func:`read_dataset`,
  :func:`decode_frame`), failures as :class:`~reviewer_app.errors.UndecodableImage`;
- ``modality``, ``voi``, ``lut``: the pipeline's stages; windows and CT presets;
- ``lossy``: whether an image was lossy-compressed;
- ``geometry``: pixel spacing, distance and angle, slice order;
- ``cine``: frame timing; ``tags``: rows for the tag browser; ``png``: a PNG writer.
"""

from reviewer_app.imaging.cine import FrameTimes, frame_times_ms
from reviewer_app.imaging.geometry import (
    Measurement,
    SliceOrder,
    Spacing,
    angle,
    distance,
    order_slices,
    pixel_spacing,
)
from reviewer_app.imaging.lossy import Lossy, lossy_compression
from reviewer_app.imaging.pipeline import RenderedImage, default_voi, render
from reviewer_app.imaging.source import decode_frame, number_of_frames, read_dataset
from reviewer_app.imaging.tags import TagRow, dataset_rows
from reviewer_app.imaging.voi import CT_PRESETS, VoiLut, Window, file_vois, presets_for

__all__ = [
    "CT_PRESETS",
    "FrameTimes",
    "Lossy",
    "Measurement",
    "RenderedImage",
    "SliceOrder",
    "Spacing",
    "TagRow",
    "VoiLut",
    "Window",
    "angle",
    "dataset_rows",
    "decode_frame",
    "default_voi",
    "distance",
    "file_vois",
    "frame_times_ms",
    "lossy_compression",
    "number_of_frames",
    "order_slices",
    "pixel_spacing",
    "presets_for",
    "read_dataset",
    "render",
]
