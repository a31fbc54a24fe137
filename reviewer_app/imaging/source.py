"""Reading a DICOM file and decoding one frame of it, with a one-line reason on failure.

This is the only module that calls pydicom's decoders. It decodes a single frame at a
time (``pydicom.pixels.pixel_array(ds, index=n)``) so a long cine is never held in memory
whole, and it turns every way a file can fail (not DICOM, truncated, an encoding no
installed plugin decodes) into :class:`~reviewer_app.errors.UndecodableImage`, whose
reason names the encoding or the damage and never quotes the file's contents.

Colour frames come back as RGB (pydicom converts YBR_FULL and YBR_FULL_422); grey frames
come back as stored values, for :mod:`reviewer_app.imaging.pipeline` to map.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder, pixel_array
from pydicom.pixels.utils import get_expected_length
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGExtended12Bit,
)

from reviewer_app.errors import UndecodableImage


def read_dataset(src: str | Path | bytes | BinaryIO) -> Dataset:
    """Read a DICOM file (path, bytes or binary file) for display.

    Files without the 128-byte preamble and file meta (old, "raw" datasets) are read as
    well, as long as they hold an image; their transfer syntax is inferred from their
    encoding. Raises UndecodableImage for anything that is not a readable DICOM file.
    """
    if isinstance(src, bytes):
        fp: BinaryIO = io.BytesIO(src)
    elif isinstance(src, str | Path):
        try:
            fp = Path(src).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise UndecodableImage(f"the file could not be opened ({exc.strerror})") from None
    else:
        fp = src
    try:
        return _read(fp)
    finally:
        if not isinstance(src, bytes) and isinstance(src, str | Path):
            fp.close()


def _read(fp: BinaryIO) -> Dataset:
    start = fp.tell()
    head = fp.read(132)
    fp.seek(start)
    has_preamble = head[128:132] == b"DICM"
    ds: Dataset
    try:
        ds = dcmread(fp)
    except InvalidDicomError:
        if has_preamble:
            raise UndecodableImage("the file is damaged (its DICOM header is invalid)") from None
        ds = _read_raw(fp, start)
    except Exception:
        # pydicom's parser raises many types on a cut-off or garbled file.
        if has_preamble:
            raise UndecodableImage("the file is damaged or incomplete") from None
        raise UndecodableImage("the file is not a DICOM file") from None
    ensure_transfer_syntax(ds)
    return ds


def _read_raw(fp: BinaryIO, start: int) -> Dataset:
    """A dataset without preamble; accepted only if it plainly describes an image."""
    fp.seek(start)
    try:
        ds = dcmread(fp, force=True)
        plausible = "PixelData" in ds and int(ds.Rows) > 0 and int(ds.Columns) > 0
    except Exception:
        plausible = False
    if not plausible:
        raise UndecodableImage("the file is not a DICOM file")
    return ds


def ensure_transfer_syntax(ds: Dataset) -> None:
    """Give a dataset read without file meta the transfer syntax it was encoded in."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("TransferSyntaxUID"):
        return
    implicit, little = ds.original_encoding
    if implicit is None or little is None:
        return
    if implicit:
        uid = ImplicitVRLittleEndian
    else:
        uid = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    if meta is None:
        ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = uid


def transfer_syntax(ds: Dataset) -> UID:
    """The dataset's transfer syntax (raises UndecodableImage if it has none)."""
    meta = getattr(ds, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if not uid:
        raise UndecodableImage("the file does not say how its pixels are encoded")
    return UID(str(uid))


def number_of_frames(ds: Dataset) -> int:
    """How many frames the image has (1 when NumberOfFrames is absent or empty)."""
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def photometric(ds: Dataset) -> str:
    """PhotometricInterpretation, upper case and stripped ("" if absent)."""
    return str(ds.get("PhotometricInterpretation", "")).strip().upper()


def decode_frame(ds: Dataset, index: int = 0) -> npt.NDArray[np.generic]:
    """Decode one frame: stored values (rows, cols), or RGB (rows, cols, 3) for colour.

    Only the frame asked for is decoded. The array is in native byte order.
    Raises UndecodableImage with a reason for anything that cannot be decoded, and
    IndexError for a frame number outside the image.
    """
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        # pydicom stops quietly at the end of a cut file: an image header without its
        # pixels, or nothing at all, means the file was truncated.
        if "Rows" in ds and "Columns" in ds:
            raise UndecodableImage("the file ends before its pixel data (it is truncated)")
        if "SOPClassUID" not in ds:
            raise UndecodableImage("the file is damaged or incomplete")
        raise UndecodableImage("the file holds no image (it has no pixel data)")
    frames = number_of_frames(ds)
    if not 0 <= index < frames:
        raise IndexError(f"frame {index} is outside the image's {frames} frame(s)")
    missing = [k for k in ("Rows", "Columns", "BitsAllocated") if ds.get(k) in (None, "")]
    if missing:
        raise UndecodableImage(f"the file lacks {', '.join(missing)}")
    tsyntax = transfer_syntax(ds)
    _check_decoder(ds, tsyntax)
    if not tsyntax.is_compressed and "PixelData" in ds:
        try:
            expected = get_expected_length(ds, unit="bytes")
        except Exception:
            raise UndecodableImage("its image attributes are inconsistent") from None
        if len(ds.PixelData) < expected:
            raise UndecodableImage(
                f"the pixel data is incomplete ({len(ds.PixelData)} of {expected} bytes; "
                "the file is truncated)"
            )
    try:
        arr = pixel_array(ds, index=index)
    except UndecodableImage:
        raise
    except Exception:
        raise UndecodableImage(
            f"its {_syntax_name(tsyntax)} pixel data could not be decoded (damaged data)"
        ) from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _syntax_name(uid: UID) -> str:
    name = uid.name
    return name if name and name != str(uid) else f"transfer syntax {uid}"


def _check_decoder(ds: Dataset, uid: UID) -> None:
    """Fail early, with a precise reason, when no installed plugin decodes this syntax."""
    if not uid.is_compressed:
        return
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise UndecodableImage(
            f"it is encoded as {_syntax_name(uid)}, which Reviewer cannot decode"
        ) from None
    # Only libjpeg (GPL, not shipped) decodes 12-bit JPEG; see docs/dependencies.md.
    twelve_bit = uid == JPEGExtended12Bit and int(ds.get("BitsStored", 8)) > 8
    if twelve_bit and not set(decoder.available_plugins) - {"gdcm", "pillow"}:
        raise UndecodableImage(
            "it is encoded as 12-bit JPEG Extended, which Reviewer cannot decode"
        )
    if not decoder.is_available:
        raise UndecodableImage(
            f"it is encoded as {_syntax_name(uid)}, which Reviewer cannot decode"
        )


def functional_item(ds: Dataset, index: int, sequence: str) -> Dataset:
    """Where a per-frame attribute lives: the frame's functional group item, else the
    shared one, else the dataset itself (enhanced multi-frame objects keep rescale,
    window, spacing and position in functional groups, classic ones at the top level).
    """
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and 0 <= index < len(per_frame):
        seq = per_frame[index].get(sequence)
        if seq:
            return seq[0]  # type: ignore[no-any-return, unused-ignore]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq:
            return seq[0]  # type: ignore[no-any-return, unused-ignore]
    return ds
