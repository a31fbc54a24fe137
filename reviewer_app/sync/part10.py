"""The SOP Instance UID of a DICOM Part 10 file, read without parsing the file.

The sync checks every instance it receives (it must be DICOM and the instance asked
for). A full parse of a 500 KB slice with pydicom costs more than receiving it, and
under the GIL that parse is the transfer's bottleneck; yet the UID is the sixth element
of a typical file. :func:`quick_sop_instance_uid` walks the file meta header and the
first elements of the dataset in the two common encodings (explicit and implicit VR
little endian, the former also under every encapsulated transfer syntax) and answers
only when it is sure; anything unusual (big endian, deflate, an element of undefined
length before the UID, a truncated or malformed header) gives None, and the caller asks
pydicom, which has the last word on whether the file is DICOM at all (DICOM PS3.10 §7,
PS3.5 §7.1).
"""

from __future__ import annotations

import struct

_PREFIX = 128 + 4
_MAGIC = b"DICM"
_TAG = struct.Struct("<HH")
_SHORT = struct.Struct("<H")
_LONG = struct.Struct("<I")
_UNDEFINED = 0xFFFFFFFF
# VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 §7.1.2).
_LONG_VRS = frozenset(
    (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")
)
_TRANSFER_SYNTAX = 0x00020010
_SOP_INSTANCE_UID = 0x00080018
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
# Encapsulated (compressed) pixel data: the dataset itself is explicit VR little endian.
_ENCAPSULATED = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")


def quick_sop_instance_uid(data: bytes) -> str | None:
    """The SOP Instance UID of Part 10 ``data``, or None when this quick reading cannot
    tell (the caller then parses the file properly)."""
    if len(data) < _PREFIX or data[128:_PREFIX] != _MAGIC:
        return None
    offset = _PREFIX
    syntax = None
    # The file meta group is always explicit VR little endian.
    while True:
        if offset + 2 > len(data):
            return None
        if _SHORT.unpack_from(data, offset)[0] != 0x0002:
            break
        element = _explicit(data, offset)
        if element is None:
            return None
        tag, vr, start, length = element
        if tag == _TRANSFER_SYNTAX:
            syntax = _text(data[start : start + length]) if vr == b"UI" else None
        offset = start + length
    if syntax is None:
        return None
    if syntax == _IMPLICIT_LE:
        read = _implicit
    elif syntax == _EXPLICIT_LE or syntax.startswith(_ENCAPSULATED):
        read = _explicit
    else:
        return None
    while True:
        element = read(data, offset)
        if element is None:
            return None
        tag, vr, start, length = element
        if tag == _SOP_INSTANCE_UID:
            return _text(data[start : start + length]) if vr in (b"UI", None) else None
        if tag > _SOP_INSTANCE_UID:
            return None
        offset = start + length


def _explicit(data: bytes, offset: int) -> tuple[int, bytes | None, int, int] | None:
    """(tag, VR, value start, value length) of the element at ``offset``, or None."""
    if offset + 8 > len(data):
        return None
    group, number = _TAG.unpack_from(data, offset)
    vr = data[offset + 4 : offset + 6]
    if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
        return None
    if vr in _LONG_VRS:
        if offset + 12 > len(data):
            return None
        (length,) = _LONG.unpack_from(data, offset + 8)
        start = offset + 12
    else:
        (length,) = _SHORT.unpack_from(data, offset + 6)
        start = offset + 8
    if length == _UNDEFINED or start + length > len(data):
        return None
    return (group << 16) | number, vr, start, length


def _implicit(data: bytes, offset: int) -> tuple[int, bytes | None, int, int] | None:
    """(tag, None, value start, value length) of the element at ``offset``, or None."""
    if offset + 8 > len(data):
        return None
    group, number = _TAG.unpack_from(data, offset)
    (length,) = _LONG.unpack_from(data, offset + 4)
    start = offset + 8
    if length == _UNDEFINED or start + length > len(data):
        return None
    return (group << 16) | number, None, start, length


def _text(value: bytes) -> str | None:
    """A UI value without its padding; None if it is not plain ASCII."""
    try:
        text = value.rstrip(b"\x00 ").decode("ascii")
    except UnicodeDecodeError:
        return None
    return text or None
