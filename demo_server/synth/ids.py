"""Deterministic identifiers and random streams for the synthetic cases.

Every value the generator draws comes from a stream named by the seed and a path
("case", 3, "labs"), so case 3 is the same whether 4 or 40 cases are generated, and
adding a new kind of data never shifts the values of another.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def _digest(seed: int, parts: tuple[object, ...]) -> bytes:
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return hashlib.sha256(text.encode("utf-8")).digest()


def rng(seed: int, *parts: object) -> random.Random:
    """A Python random stream private to (seed, *parts)."""
    return random.Random(_digest(seed, parts))


def np_rng(seed: int, *parts: object) -> np.random.Generator:
    """A numpy random stream private to (seed, *parts)."""
    return np.random.default_rng(int.from_bytes(_digest(seed, parts)[:16], "big"))


def uid(seed: int, *parts: object) -> str:
    """A DICOM UID under the UUID-derived root 2.25 (PS3.5 B.2), stable for the same parts.

    128 bits give at most 39 decimal digits, so the UID stays well under 64 characters.
    """
    value = int.from_bytes(_digest(seed, ("uid", *parts))[:16], "big")
    return f"2.25.{value}"
