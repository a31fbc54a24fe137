"""A bounded cache of decoded frames (and of datasets still being read), by bytes.

The viewer keeps what it decoded so that scrolling back, re-windowing and cine cost no
decoding; the budget (a setting, in bytes) bounds the memory that takes. Entries are
evicted least recently used first. Workers fill it and the UI thread reads it, so every
method holds one lock; values are never copied (numpy frames are made read-only so a
reader cannot change what another one sees).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

#: The default budget: half a 500-slice 512×512 CT fits twice over.
DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024


def size_of(value: Any) -> int:
    """Bytes a value holds (numpy arrays by their buffer; others must give ``nbytes``)."""
    nbytes = getattr(value, "nbytes", None)
    if nbytes is None:
        raise TypeError("the cache needs values that report their size (nbytes)")
    return int(nbytes)


class FrameCache:
    """Least-recently-used values, at most ``budget_bytes`` in total."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes <= 0:
            raise ValueError("the cache budget must be positive")
        self._budget = budget_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._peak = 0
        self._lock = threading.Lock()

    @property
    def budget_bytes(self) -> int:
        """The most this cache holds."""
        return self._budget

    @property
    def used_bytes(self) -> int:
        """What it holds now."""
        with self._lock:
            return self._bytes

    @property
    def peak_bytes(self) -> int:
        """The most it ever held (never above the budget)."""
        with self._lock:
            return self._peak

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def get(self, key: Hashable) -> Any | None:
        """The value for ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, size: int | None = None) -> bool:
        """Keep ``value``; evicts the oldest entries to stay within the budget.

        A value larger than the whole budget is not kept (returns False): evicting
        everything for one item would only slow the next scroll.
        """
        nbytes = size_of(value) if size is None else size
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if nbytes > self._budget:
                return False
            while self._entries and self._bytes + nbytes > self._budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
            self._entries[key] = (value, nbytes)
            self._bytes += nbytes
            self._peak = max(self._peak, self._bytes)
            return True

    def resize(self, budget_bytes: int) -> None:
        """Change the budget, evicting what no longer fits."""
        if budget_bytes <= 0:
            raise ValueError("the cache budget must be positive")
        with self._lock:
            self._budget = budget_bytes
            while self._entries and self._bytes > self._budget:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        """Forget everything (switching case: nothing of the last patient stays)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
