"""The lookup tables a DICOM file may carry (Modality LUT and VOI LUT sequence items).

A LUT item has a LUT Descriptor (number of entries, first input value mapped, bits per
entry) and LUT Data. The wrinkles handled here, once for both uses:

- 0 entries in the descriptor means 65536;
- the first mapped value is written as US even when the input is signed (PS3.3
  C.11.1.1.1 lets it be SS); a value of 32768 or more with a signed input is negative;
- LUT Data may arrive as a list of numbers (US) or as raw OW bytes in the dataset's byte
  order, one entry per 16-bit word, or (8-bit tables) one entry per byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset


@dataclass(frozen=True)
class LookupTable:
    """A parsed LUT: input ``first_mapped + i`` maps to ``data[i]``; inputs outside the
    table take its first or last entry."""

    first_mapped: int
    bits: int
    data: tuple[int, ...]
    explanation: str = ""

    def apply(self, values: npt.NDArray[np.floating | np.integer]) -> npt.NDArray[np.float64]:
        """Map input values (rounded to the nearest integer) through the table."""
        table = np.asarray(self.data, dtype=np.float64)
        index = np.rint(np.asarray(values, dtype=np.float64)) - self.first_mapped
        np.clip(index, 0, len(table) - 1, out=index)
        return table[index.astype(np.intp)]

    @property
    def max_output(self) -> int:
        """The largest value the table's bit depth can hold (the top of its range)."""
        return int(2**self.bits - 1)


def parse_lut(item: Dataset, ds: Dataset, *, signed_input: bool) -> LookupTable | None:
    """The LUT in ``item`` (a Modality or VOI LUT Sequence item), or None if unusable."""
    descriptor = item.get("LUTDescriptor")
    raw = item.get("LUTData")
    if descriptor is None or raw is None or len(descriptor) != 3:
        return None
    entries, first, bits = (int(v) for v in descriptor)
    entries = entries or 65536
    if signed_input and first >= 32768:
        first -= 65536
    data = _lut_values(raw, entries, ds)
    if data is None or not 1 <= bits <= 16:
        return None
    explanation = str(item.get("LUTExplanation", "") or "")
    return LookupTable(first, bits, data, explanation)


def _lut_values(raw: object, entries: int, ds: Dataset) -> tuple[int, ...] | None:
    if isinstance(raw, bytes):
        if len(raw) == entries:
            return tuple(raw)
        if len(raw) < 2 * entries:
            return None
        little = ds.original_encoding[1]
        meta = getattr(ds, "file_meta", None)
        if meta is not None and meta.get("TransferSyntaxUID"):
            little = meta.TransferSyntaxUID.is_little_endian
        order = "<" if little is not False else ">"
        return struct.unpack_from(f"{order}{entries}H", raw)
    if isinstance(raw, int):
        values: tuple[int, ...] = (raw,)
    else:
        values = tuple(int(v) for v in raw)  # type: ignore[attr-defined]
    if len(values) < entries:
        return None
    return values[:entries]
