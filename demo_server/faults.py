"""Faults the demo server can inject so clients can be tested against a bad network:
latency, 5xx answers at a rate, and connections dropped after N bytes of body.

A fault applies to requests whose path matches its regular expression (every API
request when none is given; the admin endpoint is never affected) and, when ``times``
is set, only that many times, which lets a test say "the next download breaks once".
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One injected fault."""

    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    drop_after_bytes: int | None = None
    path: str = ""
    times: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from the admin endpoint's JSON, checking every field."""
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        fault = cls(**data)
        if not isinstance(fault.latency_ms, int) or fault.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if not 0.0 <= float(fault.error_rate) <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not 500 <= fault.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        if fault.drop_after_bytes is not None and fault.drop_after_bytes < 0:
            raise ValueError("drop_after_bytes must be non-negative")
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be at least 1")
        re.compile(fault.path)
        return fault


@dataclass(frozen=True)
class Decision:
    """What to do to one request."""

    latency_ms: int = 0
    error_status: int | None = None
    drop_after_bytes: int | None = None


class Faults:
    """The active faults; thread-safe."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []  # [fault, remaining times or None]
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> None:
        """Activate a fault (in addition to the others)."""
        with self._lock:
            self._faults.append([fault, fault.times])

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        """The active faults, for the admin endpoint."""
        with self._lock:
            return [{**asdict(f), "remaining": left} for f, left in self._faults]

    def decide(self, path: str) -> Decision:
        """The combined effect of the faults on a request to ``path``."""
        latency, status, drop = 0, None, None
        with self._lock:
            for item in self._faults:
                fault, left = item
                if fault.path and not re.search(fault.path, path):
                    continue
                fired = False
                if fault.latency_ms:
                    latency = max(latency, fault.latency_ms)
                    fired = True
                if fault.error_rate and self._random.random() < fault.error_rate:
                    status = status or fault.error_status
                    fired = True
                if fault.drop_after_bytes is not None and status is None:
                    drop = (
                        fault.drop_after_bytes
                        if drop is None
                        else min(drop, fault.drop_after_bytes)
                    )
                    fired = True
                if fired and left is not None:
                    item[1] = left - 1
            self._faults = [i for i in self._faults if i[1] is None or i[1] > 0]
        return Decision(latency, status, drop)
