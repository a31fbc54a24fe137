"""A minimal PNG encoder for 8-bit grey and RGB arrays (no Qt, no Pillow needed).

Used by ``reviewer-app render-dicom`` to write exactly the pixels :func:`render` makes.
Every row uses filter type 0 (none); zlib does the compressing.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode_png(pixels: npt.NDArray[np.uint8]) -> bytes:
    """PNG bytes of a uint8 array shaped (rows, cols) (grey) or (rows, cols, 3) (RGB)."""
    if pixels.dtype != np.uint8:
        raise ValueError("PNG encoding needs uint8 pixels")
    if pixels.ndim == 2:
        colour_type = 0
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        colour_type = 2
    else:
        raise ValueError("PNG encoding needs (rows, cols) or (rows, cols, 3) pixels")
    rows, cols = pixels.shape[:2]
    if rows == 0 or cols == 0:
        raise ValueError("PNG encoding needs at least one pixel")
    raw = np.ascontiguousarray(pixels).reshape(rows, -1)
    # A zero byte (filter "none") before each row.
    scanlines = np.hstack([np.zeros((rows, 1), dtype=np.uint8), raw]).tobytes()
    header = struct.pack(">IIBBBBB", cols, rows, 8, colour_type, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines, 6))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
