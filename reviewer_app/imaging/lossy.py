"""Whether an image has been through lossy compression, and how we know.

A specialist must know when fine detail may have been lost. Two sources say so: the
image's own Lossy Image Compression attribute ("01": it has been lossy-compressed at
some point, even if it is stored uncompressed now), and the transfer syntax it arrived
in. JPEG baseline/extended and JPEG-LS near-lossless are always treated as lossy; the
JPEG 2000 and HTJ2K syntaxes that allow both are lossy unless the file says "00".
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import UID

#: Transfer syntaxes whose encoding always discards information.
ALWAYS_LOSSY = frozenset(
    {
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
        "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
        "1.2.840.10008.1.2.4.52",  # retired JPEG lossy processes
        "1.2.840.10008.1.2.4.53",
        "1.2.840.10008.1.2.4.54",
        "1.2.840.10008.1.2.4.55",
        "1.2.840.10008.1.2.4.56",
        "1.2.840.10008.1.2.4.59",
        "1.2.840.10008.1.2.4.60",
        "1.2.840.10008.1.2.4.61",
        "1.2.840.10008.1.2.4.62",
        "1.2.840.10008.1.2.4.63",
        "1.2.840.10008.1.2.4.64",
        "1.2.840.10008.1.2.4.81",  # JPEG-LS Lossy (Near-Lossless)
        "1.2.840.10008.1.2.4.100",  # MPEG2 and MPEG-4/HEVC video
        "1.2.840.10008.1.2.4.101",
        "1.2.840.10008.1.2.4.102",
        "1.2.840.10008.1.2.4.103",
        "1.2.840.10008.1.2.4.104",
        "1.2.840.10008.1.2.4.105",
        "1.2.840.10008.1.2.4.106",
        "1.2.840.10008.1.2.4.107",
        "1.2.840.10008.1.2.4.108",
    }
)
#: Syntaxes that may be lossy or lossless: lossy unless the file says "00".
MAYBE_LOSSY = frozenset(
    {
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.4.93",  # JPEG 2000 Part 2 multi-component
        "1.2.840.10008.1.2.4.203",  # HTJ2K
        "1.2.840.10008.1.2.4.111",  # JPEG XL
    }
)


@dataclass(frozen=True)
class Lossy:
    """Whether the image is lossy, with the reason shown to the specialist."""

    lossy: bool
    reason: str

    def __bool__(self) -> bool:
        return self.lossy


def lossy_compression(ds: Dataset) -> Lossy:
    """Whether ``ds`` has been lossy-compressed, from its attribute and transfer syntax."""
    flag = str(ds.get("LossyImageCompression", "") or "").strip()
    meta = getattr(ds, "file_meta", None)
    tsyntax = str(meta.get("TransferSyntaxUID", "") or "") if meta is not None else ""
    if flag == "01":
        return Lossy(True, "lossy compressed (" + _details(ds) + ")")
    if tsyntax in ALWAYS_LOSSY:
        return Lossy(True, f"lossy compressed ({UID(tsyntax).name})")
    if tsyntax in MAYBE_LOSSY and flag != "00":
        return Lossy(True, f"possibly lossy compressed ({UID(tsyntax).name})")
    return Lossy(False, "not lossy compressed")


def _details(ds: Dataset) -> str:
    parts = ["marked in the file"]
    ratio = _first(ds.get("LossyImageCompressionRatio"))
    method = _first(ds.get("LossyImageCompressionMethod"))
    if ratio:
        with contextlib.suppress(ValueError):
            parts.append(f"ratio {float(ratio):g}:1")
    if method:
        parts.append(f"method {method}")
    return ", ".join(parts)


def _first(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    items = list(value)  # type: ignore[call-overload]
    return str(items[0]) if items else ""
