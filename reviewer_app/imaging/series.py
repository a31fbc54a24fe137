"""A series as the viewer scrolls it: its instances read from the vault, in slice order.

The vault keeps each DICOM instance as an encrypted object; this module is where the
viewer's core reads them, never writing plaintext anywhere. Opening a series reads only
the headers (``stop_before_pixels``: a few kilobytes of each object) to order the slices
by position along the slice normal (:func:`~reviewer_app.imaging.order_slices`); pixels
are decoded one frame at a time, on demand, into a :class:`~.cache.FrameCache`.

A stack is a list of :class:`Slice` (instance, frame): single-frame instances give one
slice each, in position order; a multi-frame instance (a cine loop, an enhanced CT) gives
one slice per frame, in frame order. An instance that cannot be read keeps its place at
the end with the reason, so the others stay usable.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pydicom import dcmread
from pydicom.dataset import Dataset

from reviewer_app.errors import ReviewerError, UndecodableImage
from reviewer_app.imaging.cache import FrameCache
from reviewer_app.imaging.geometry import SliceOrder, order_slices
from reviewer_app.imaging.pipeline import render
from reviewer_app.imaging.source import (
    decode_frame,
    ensure_transfer_syntax,
    number_of_frames,
    read_dataset,
)
from reviewer_app.vault import Vault

NOT_DOWNLOADED = "it has not been downloaded yet"


@dataclass(frozen=True)
class InstanceRef:
    """An instance as the case file lists it."""

    sop_uid: str
    number: int | None
    object_id: str | None


@dataclass(frozen=True)
class Slice:
    """One image of the stack: a frame of an instance."""

    instance: int
    frame: int
    frames: int


@dataclass(frozen=True)
class SeriesStack:
    """A series' instances, their headers (no pixel data) and the slices in display order."""

    instances: tuple[InstanceRef, ...]
    headers: tuple[Dataset | None, ...]
    #: Why an instance cannot be shown (None when it can, as far as its header says).
    problems: tuple[str | None, ...]
    slices: tuple[Slice, ...]
    order: SliceOrder
    #: Position along the slice normal of each slice in display order (mm), or None.
    positions: tuple[float | None, ...] = field(default=())

    def header(self, index: int) -> Dataset | None:
        """The header of slice ``index``."""
        return self.headers[self.slices[index].instance]

    def problem(self, index: int) -> str | None:
        """Why slice ``index`` cannot be shown, or None."""
        return self.problems[self.slices[index].instance]

    def index_of(self, sop_uid: str, frame: int = 0) -> int | None:
        """The display index of an instance's frame."""
        for i, s in enumerate(self.slices):
            if self.instances[s.instance].sop_uid == sop_uid and s.frame == frame:
                return i
        return None


def _problem_text(error: ReviewerError) -> str:
    if isinstance(error, UndecodableImage):
        return error.reason
    # CorruptObject, ObjectMissing: the vault's copy, not the image, is the problem.
    return f"its stored copy cannot be read ({error.title.lower()})"


def read_header(vault: Vault, object_id: str) -> Dataset:
    """An instance's dataset without its pixel data, read from the vault.

    Raises UndecodableImage (not DICOM, damaged header) or the vault's CorruptObject /
    ObjectMissing.
    """
    reader = vault.objects.open(object_id)
    # Not io.BufferedReader around the stream: pydicom takes one for a named file (it
    # asks for .name and fails), which sent every header through the whole-file path
    # below. A one-chunk object (a CT slice) was decrypted whole by open() anyway, and
    # parsing from memory is quicker than through the stream; a larger one is read
    # through the stream, which decrypts only the chunks the header lies in.
    source: io.IOBase = (
        io.BytesIO(reader.read(0, reader.size)) if reader.chunk_count == 1 else reader.stream()
    )
    try:
        header: Dataset = dcmread(source, stop_before_pixels=True)
        ensure_transfer_syntax(header)
        return header
    except Exception:
        # Let the full reader say precisely what is wrong (or read a raw dataset).
        ds = read_dataset(reader.read_all())
        for keyword in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
            if keyword in ds:
                del ds[keyword]
        return ds


def read_instance(vault: Vault, object_id: str) -> Dataset:
    """An instance's whole dataset, pixel data included (UndecodableImage if unreadable)."""
    return read_dataset(vault.objects.open(object_id).read_all())


def build_stack(
    vault: Vault,
    instances: Sequence[InstanceRef],
    check: Callable[[], None] | None = None,
    known: Mapping[str, Dataset] | None = None,
) -> SeriesStack:
    """Read every instance's header and order the slices (see the module docstring).

    ``check`` is called between instances (an operation's cancel check). ``known``:
    headers already read, by object id (a series rebuilt as a sync brings more slices
    reads only the new ones).
    """
    headers: list[Dataset | None] = []
    problems: list[str | None] = []
    for ref in instances:
        if check is not None:
            check()
        if ref.object_id is None:
            headers.append(None)
            problems.append(NOT_DOWNLOADED)
            continue
        if known is not None and ref.object_id in known:
            headers.append(known[ref.object_id])
            problems.append(None)
            continue
        try:
            headers.append(read_header(vault, ref.object_id))
            problems.append(None)
        except ReviewerError as error:
            headers.append(None)
            problems.append(_problem_text(error))
    return _assemble(tuple(instances), headers, problems)


def _number_key(ref: InstanceRef, index: int) -> tuple[int, int]:
    return (ref.number if ref.number is not None else 2**31, index)


def _assemble(
    instances: tuple[InstanceRef, ...],
    headers: list[Dataset | None],
    problems: list[str | None],
) -> SeriesStack:
    single = [i for i, h in enumerate(headers) if h is not None and number_of_frames(h) == 1]
    multi = [i for i, h in enumerate(headers) if h is not None and number_of_frames(h) > 1]
    broken = [i for i, h in enumerate(headers) if h is None]
    order = order_slices([headers[i] for i in single])  # type: ignore[misc]
    slices = [Slice(single[k], 0, 1) for k in order.indices]
    positions: list[float | None] = [
        _position(headers[single[k]]) if order.method == "position" else None  # type: ignore[arg-type]
        for k in order.indices
    ]
    for i in sorted(multi, key=lambda i: _number_key(instances[i], i)):
        frames = number_of_frames(headers[i])  # type: ignore[arg-type]
        slices += [Slice(i, f, frames) for f in range(frames)]
        positions += [None] * frames
    for i in sorted(broken, key=lambda i: _number_key(instances[i], i)):
        slices.append(Slice(i, 0, 1))
        positions.append(None)
    return SeriesStack(
        instances, tuple(headers), tuple(problems), tuple(slices), order, tuple(positions)
    )


def _position(ds: Dataset) -> float | None:
    """Where the slice is along its normal (the value the overlay shows), in mm."""
    try:
        ipp = np.array([float(v) for v in ds.ImagePositionPatient])
        iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    except (AttributeError, TypeError, ValueError):
        return None
    normal = np.cross(iop[:3], iop[3:])
    return float(np.dot(ipp, normal))


class _Held:
    """A whole dataset kept in the cache (multi-frame: decoding frame n reuses it)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        pixels = ds.get("PixelData") or b""
        self.nbytes = len(pixels) + 64 * 1024  # the header's own share, roughly


def decode_slice(
    vault: Vault, stack: SeriesStack, index: int, cache: FrameCache
) -> npt.NDArray[np.generic]:
    """The stored values of slice ``index`` (from the cache, or decoded into it).

    Raises UndecodableImage with the reason when the slice cannot be shown.
    """
    s = stack.slices[index]
    ref = stack.instances[s.instance]
    problem = stack.problems[s.instance]
    if problem is not None or ref.object_id is None:
        raise UndecodableImage(problem or NOT_DOWNLOADED)
    key = ("frame", ref.object_id, s.frame)
    frame = cache.get(key)
    if frame is not None:
        return frame
    try:
        if s.frames > 1:
            held = cache.get(("dataset", ref.object_id))
            if held is None:
                held = _Held(read_instance(vault, ref.object_id))
                cache.put(("dataset", ref.object_id), held)
            frame = decode_frame(held.ds, s.frame)
        else:
            frame = decode_frame(read_instance(vault, ref.object_id), 0)
    except UndecodableImage:
        raise
    except ReviewerError as error:
        raise UndecodableImage(_problem_text(error)) from None
    cache.put(key, frame)
    return frame


def thumbnail(vault: Vault, object_id: str, size: int = 96) -> npt.NDArray[np.uint8]:
    """A small grey or RGB picture of an instance's first frame at its default window.

    Taken by striding (no filtering): a thumbnail only has to be recognisable.
    """
    ds = read_instance(vault, object_id)
    image = render(ds, 0).pixels
    step = max(1, int(np.ceil(max(image.shape[0], image.shape[1]) / size)))
    return np.ascontiguousarray(image[::step, ::step])
