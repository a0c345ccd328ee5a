"""One line per outage, not fifteen a second: while the database is away, each of the
daemon's loops (API pool, listeners, scheduler, reaper, timers, triggers) fails and
retries every half second. The same warning of the same logger is let through once per
`window_s`; the next one that passes says how many were held back, and a multi-line
message keeps its first line."""

from __future__ import annotations

import logging
import time


class RepeatFilter(logging.Filter):
    def __init__(self, window_s: float = 30.0) -> None:
        super().__init__()
        self.window_s = window_s
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, held = self._last.get(key, (0.0, 0))
        if last and now - last < self.window_s:
            self._last[key] = (last, held + 1)
            return False
        self._last[key] = (now, 0)
        message = record.getMessage().strip().splitlines()[0] if record.getMessage() else ""
        if held:
            message += f" ({held} more like it in the last {self.window_s:g} s)"
        record.msg, record.args = message, None
        return True


def install(window_s: float = 30.0) -> None:
    """Filter every handler of the root logger (set up by logging.basicConfig)."""
    quiet = RepeatFilter(window_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
