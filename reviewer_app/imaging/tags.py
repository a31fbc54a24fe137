"""Rows for the tag browser: every element of a dataset, sequences flattened by depth.

A row is text ready for a table model: tag, keyword (or a private tag's dictionary
name), VR, the value shortened for display, and its depth (0 at the top level; a
sequence's items one deeper, their elements two deeper). Binary values, pixel data
included, are shown as their size, never decoded. A value that cannot be read (a wrong
VR, a malformed number) becomes a row that says so instead of stopping the listing.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.valuerep import PersonName

#: Values longer than this are cut, with "…".
MAX_VALUE_CHARS = 120
#: At most this many values of a multi-valued element are formatted.
MAX_VALUES = 16
BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"})
PIXEL_DATA_KEYWORDS = frozenset({"PixelData", "FloatPixelData", "DoubleFloatPixelData"})


@dataclass(frozen=True)
class TagRow:
    """One line of the tag browser."""

    tag: str
    keyword: str
    vr: str
    value: str
    depth: int


def dataset_rows(ds: Dataset, *, include_meta: bool = True) -> list[TagRow]:
    """The tag browser's rows for ``ds`` (file meta first when ``include_meta``)."""
    rows: list[TagRow] = []
    meta = getattr(ds, "file_meta", None)
    if include_meta and meta is not None:
        _add(meta, 0, rows)
    _add(ds, 0, rows)
    return rows


def _tag_text(tag: BaseTag) -> str:
    return f"({tag.group:04X},{tag.element:04X})"


def _add(ds: Dataset, depth: int, rows: list[TagRow]) -> None:
    for tag in list(ds.keys()):
        try:
            elem = ds[tag]
        except Exception:
            rows.append(TagRow(_tag_text(BaseTag(tag)), "", "", "<unreadable value>", depth))
            continue
        keyword = elem.keyword or (f"[{elem.name}]" if elem.tag.is_private else "")
        vr = str(elem.VR)
        if vr == "SQ":
            items = list(elem.value or [])
            count = f"{len(items)} item" + ("" if len(items) == 1 else "s")
            rows.append(TagRow(_tag_text(elem.tag), keyword, vr, count, depth))
            for number, item in enumerate(items, start=1):
                label = f"item {number} of {len(items)}"
                rows.append(TagRow("(FFFE,E000)", "Item", "", label, depth + 1))
                _add(item, depth + 2, rows)
            continue
        rows.append(TagRow(_tag_text(elem.tag), keyword, vr, value_text(elem), depth))


def value_text(elem: DataElement) -> str:
    """An element's value as shown in the browser (binary values as their size)."""
    value = elem.value
    if value is None or value == "":
        return ""
    if elem.keyword in PIXEL_DATA_KEYWORDS or str(elem.VR) in BINARY_VRS:
        size = len(value) if isinstance(value, bytes | bytearray) else 0
        kind = "compressed pixel data" if elem.is_undefined_length else "binary data"
        return f"<{kind}, {size} bytes>"
    if isinstance(value, bytes | bytearray):
        return f"<binary data, {len(value)} bytes>"
    # A PersonName iterates over its characters: it is one value, not many.
    if isinstance(value, str | int | float | PersonName) or not hasattr(value, "__iter__"):
        text = str(value)
    else:
        values = list(value)
        text = "\\".join(str(v) for v in values[:MAX_VALUES])
        if len(values) > MAX_VALUES:
            text += f"\\… ({len(values)} values)"
    text = text.replace("\r", " ").replace("\n", " ")
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text
