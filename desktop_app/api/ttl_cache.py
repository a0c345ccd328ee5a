"""A small in-process cache whose entries live a few seconds.

The API keeps the lookups every webhook repeats (the token's row, the newest script
version at a path) here, so a burst of runs costs one database statement each instead of
three. Whoever changes what an entry says drops it (a deploy drops its path); the short
life bounds what a change made elsewhere can leave behind.

A reader that missed takes `generation` before it reads the database and passes it to
`put`: if anything was dropped meanwhile, its possibly older value is not stored.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self.generation = 0

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: Hashable, value: V, generation: int, ttl_s: float | None = None) -> None:
        if generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # rare (many distinct keys): start over, stay bounded
        self._entries[key] = (time.monotonic() + (self.ttl_s if ttl_s is None else ttl_s), value)

    def drop(self, key: Hashable) -> None:
        self.generation += 1
        self._entries.pop(key, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
