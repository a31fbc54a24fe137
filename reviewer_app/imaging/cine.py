"""Cine timing: when each frame of a multi-frame image is shown.

From, in order: Frame Time Vector (the increment before each frame; the first is 0),
Frame Time (the same interval for every frame), Cine Rate and Recommended Display Frame
Rate (frames per second). Without any of them the viewer plays at
:data:`DEFAULT_FRAME_TIME_MS` and says the rate is not in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydicom.dataset import Dataset

from reviewer_app.imaging.source import number_of_frames

DEFAULT_FRAME_TIME_MS = 100.0
TimingSource = Literal[
    "FrameTimeVector", "FrameTime", "CineRate", "RecommendedDisplayFrameRate", "default"
]


@dataclass(frozen=True)
class FrameTimes:
    """The time of each frame from the first, in milliseconds, and where it came from."""

    times_ms: tuple[float, ...]
    source: TimingSource

    def delay_ms(self, frame: int) -> float:
        """How long ``frame`` stays on screen before the next one (the last frame stays
        as long as the one before it, so a loop keeps its rhythm)."""
        times = self.times_ms
        if len(times) < 2:
            return DEFAULT_FRAME_TIME_MS if self.source == "default" else 0.0
        if frame + 1 < len(times):
            return times[frame + 1] - times[frame]
        return times[-1] - times[-2]


def frame_times_ms(ds: Dataset) -> FrameTimes:
    """The cine timing of ``ds`` (see the module docstring for the order of sources)."""
    frames = number_of_frames(ds)
    vector = _floats(ds.get("FrameTimeVector"))
    if vector is not None and len(vector) == frames and all(v >= 0 for v in vector):
        times, total = [], 0.0
        for i, increment in enumerate(vector):
            total += increment if i else 0.0
            times.append(total)
        return FrameTimes(tuple(times), "FrameTimeVector")
    frame_time = _positive(ds.get("FrameTime"))
    if frame_time is not None:
        return _even(frames, frame_time, "FrameTime")
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _positive(ds.get(keyword))
        if rate is not None:
            return _even(frames, 1000.0 / rate, keyword)
    return _even(frames, DEFAULT_FRAME_TIME_MS, "default")


def _even(frames: int, interval: float, source: TimingSource) -> FrameTimes:
    return FrameTimes(tuple(i * interval for i in range(frames)), source)


def _floats(value: object) -> list[float] | None:
    if value is None or value == "" or isinstance(value, str | bytes):
        return None
    items = [value] if isinstance(value, int | float) else list(value)  # type: ignore[call-overload, unused-ignore]
    try:
        out = [float(v) for v in items]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None


def _positive(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None
