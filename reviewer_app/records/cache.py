"""A least-recently-used cache bounded in bytes, for rendered pages.

Page images are large and vary in size with zoom, so a cap on the number of entries
says little about memory; the cap here is on the sum of the entries' sizes. Used on
the UI thread only (no lock).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteBudgetCache(Generic[K, V]):
    """Keeps the most recently used values whose sizes add up to at most ``budget``."""

    def __init__(self, budget: int) -> None:
        if budget <= 0:
            raise ValueError("the cache budget must be positive")
        self.budget = budget
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._used = 0

    @property
    def used(self) -> int:
        """Bytes held now."""
        return self._used

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        """Keys from least to most recently used (a snapshot: safe to modify while
        iterating)."""
        return iter(list(self._entries))

    def get(self, key: K) -> V | None:
        """The value (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Store ``value``; older entries go until the total fits. A value larger than
        the whole budget is not kept."""
        self.pop(key)
        if size > self.budget:
            return
        self._entries[key] = (value, size)
        self._used += size
        while self._used > self.budget:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._used -= dropped

    def pop(self, key: K) -> V | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self._used -= entry[1]
        return entry[0]

    def clear(self) -> None:
        self._entries.clear()
        self._used = 0
