"""What the viewer's pixel pipeline costs per CT slice, against bare numpy windowing.

Builds synthetic 512×512 int16 CT slices (a noisy phantom in stored values, rescale
intercept -1024) as in-memory DICOM datasets and, slice by slice in the same run, times:

- ``render``: ``reviewer_app.imaging.render(ds, window=...)``, decoding included;
- ``render(stored=)``: the same with the frame already decoded (re-windowing a frame);
- ``numpy``: the bare formula on the decoded frame,
  ``np.clip((x*slope + icpt - (c-0.5))/(w-1) + 0.5, 0, 1) * 255`` as uint8;
- ``decode``: pydicom's ``pixel_array(ds, index=0)`` alone, for reference.

It prints the median and 99th percentile per slice in milliseconds and the ratios to
numpy, plus the one-off cost of building a 65536-entry display table (a window change).
The render output is checked against the formula (rounded, where numpy truncates).

    .venv/bin/python bench/imaging_pipeline.py [--slices 500] [--size 512]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pixel_array
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from reviewer_app.imaging import render
from reviewer_app.imaging.modality import Rescale
from reviewer_app.imaging.pipeline import _display_lut
from reviewer_app.imaging.voi import Window

SLOPE, INTERCEPT = 1.0, -1024.0
WINDOW = Window(40, 80, explanation="Brain")


def phantom(size: int, rng: np.random.Generator, z: int) -> np.ndarray:
    """A head-like phantom in stored values: air, a skull ring, brain, noise."""
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - size / 2, xx - size / 2) / (size / 2)
    hu = np.full((size, size), -1000.0)
    hu[r < 0.85] = 1200.0 - z % 7  # skull
    hu[r < 0.78] = 35.0  # brain
    hu += rng.normal(0, 8, hu.shape)
    return np.clip(hu - INTERCEPT, -32768, 32767).astype(np.int16)


def ct_slice(pixels: np.ndarray) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = SLOPE, INTERCEPT
    ds.PixelData = pixels.tobytes()
    return ds


def numpy_window(x: np.ndarray, c: float, w: float) -> np.ndarray:
    return (np.clip((x * SLOPE + INTERCEPT - (c - 0.5)) / (w - 1) + 0.5, 0, 1) * 255).astype(
        np.uint8
    )


def timed(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    start = time.perf_counter_ns()
    fn(*args, **kwargs)
    return (time.perf_counter_ns() - start) / 1e6


def table_build_ms(repeats: int = 7) -> float:
    """Median time to build one display table (what a window change costs once)."""
    transform = Rescale(SLOPE, INTERCEPT, "")
    times = []
    for k in range(repeats):
        _display_lut.cache_clear()
        times.append(timed(_display_lut, "<i2", transform, Window(40 + k, 80), False))
    _display_lut.cache_clear()
    return statistics.median(times)


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=500)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    slices = [ct_slice(phantom(args.size, rng, z)) for z in range(args.slices)]
    c, w = WINDOW.center, WINDOW.width

    build = table_build_ms()

    results: dict[str, list[float]] = {
        "render": [],
        "render(stored=)": [],
        "numpy": [],
        "decode": [],
    }
    worst = 0
    for ds in slices:
        stored = pixel_array(ds, index=0)
        results["decode"].append(timed(pixel_array, ds, index=0))
        results["render"].append(timed(render, ds, window=WINDOW))
        results["render(stored=)"].append(timed(render, ds, window=WINDOW, stored=stored))
        results["numpy"].append(timed(numpy_window, stored, c, w))
        ours = render(ds, window=WINDOW, stored=stored).pixels
        exact = np.floor(
            np.clip((stored * SLOPE + INTERCEPT - (c - 0.5)) / (w - 1) + 0.5, 0, 1) * 255 + 0.5
        )
        worst = max(worst, int(np.abs(ours.astype(int) - exact).max()))

    base_median, base_p99 = summary(results["numpy"])
    print(f"{args.slices} slices of {args.size}×{args.size} int16, window {WINDOW.label}")
    print(f"{'':18}{'median ms':>10}{'p99 ms':>10}{'median/numpy':>14}{'p99/numpy':>11}")
    for name, times in results.items():
        median, p99 = summary(times)
        print(
            f"{name:18}{median:10.3f}{p99:10.3f}{median / base_median:13.2f}×"
            f"{p99 / base_p99:10.2f}×"
        )
    print(f"display table build (window change, once): median {build:.2f} ms")
    print(f"largest difference from the exact formula: {worst} (must be 0)")
    if worst:
        raise SystemExit("render() disagrees with the formula")


if __name__ == "__main__":
    main()
