"""While the database is away, a loop's warning shows once per window, with a count."""

from __future__ import annotations

import logging

from desktop_app.daemon.quiet_log import RepeatFilter


def _record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("tidemill.scheduler", level, __file__, 1, msg, args, None)


def test_repeated_warning_passes_once_per_window_then_counts() -> None:
    f = RepeatFilter(window_s=30)
    first = _record("scheduler lost the database: %s", "connection failed\n\tIs the server running?")
    assert f.filter(first) and first.getMessage() == "scheduler lost the database: connection failed"
    assert not any(f.filter(_record("scheduler lost the database: %s", "x")) for _ in range(20))
    assert f.filter(_record("something else happened"))  # another message is not held back
    assert f.filter(_record("an error", level=logging.ERROR))
    assert f.filter(_record("an error", level=logging.ERROR))  # errors are never held back
    f._last[("tidemill.scheduler", "scheduler lost the database: %s")] = (1.0, 20)  # window over
    later = _record("scheduler lost the database: %s", "y")
    assert f.filter(later) and later.getMessage() == (
        "scheduler lost the database: y (20 more like it in the last 30 s)")
