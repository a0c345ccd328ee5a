"""Cron expressions → fire instants, in an IANA time zone, with daylight saving handled.

Pure rules, no I/O. Expressions have 6 fields with seconds first (Windmill's format) or
the classic 5 fields (seconds = 0). Local wall-clock times are matched, then placed on
the time line:

- a wall time that does not exist (the clock jumps forward) fires once, shifted forward by
  the jump (02:30 on the spring-forward night in Paris fires at 03:30 CEST);
- a wall time that happens twice (the clock falls back) fires once, at its first occurrence
  — unless the expression's hour field is `*`: then the repeated hour is a real hour of the
  schedule's cadence and fires again (an every-minute schedule keeps running every minute).

Instants that coincide (a shifted time that is also a real fire time) fire once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from desktop_app.core.errors import ArgumentError

_DAY = timedelta(hours=26)


@dataclass(frozen=True)
class Cron:
    """A parsed, validated cron expression in a time zone."""

    expr: str
    fields: tuple[str, ...]  # always 6: sec min hour dom month dow
    tz: ZoneInfo

    @property
    def hourly_wildcard(self) -> bool:
        return self.fields[2] == "*"

    @property
    def croniter_expr(self) -> str:
        return " ".join(self.fields)


def parse(expr: str, timezone: str = "UTC") -> Cron:
    """Validate `expr` and `timezone`; ArgumentError names the bad field."""
    if not isinstance(expr, str) or not expr.strip():
        raise ArgumentError("'schedule' must be a cron expression, e.g. '0 */5 * * * *'",
                            field="schedule")
    fields = tuple(expr.split())
    if len(fields) == 5:
        fields = ("0", *fields)
    if len(fields) != 6:
        raise ArgumentError(
            f"invalid cron expression {expr!r}: expected 6 fields (sec min hour day month"
            f" weekday) or 5, got {len(expr.split())}", field="schedule")
    try:
        it = croniter(" ".join(fields), datetime(2000, 1, 1), second_at_beginning=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise ArgumentError(f"invalid cron expression {expr!r}: {exc}", field="schedule",
                            hint="6 fields: second minute hour day-of-month month"
                                 " day-of-week, e.g. '0 0 9 * * 1-5'") from exc
    try:
        # A schedule that can never fire (30 February) would sit there silently: refuse it.
        # 2000 is a leap year, so 29 February is found; croniter gives up after 50 years.
        it.get_next(datetime)
    except CroniterBadDateError as exc:
        raise ArgumentError(f"the cron expression {expr!r} never fires: no date matches it",
                            field="schedule",
                            hint="check the day of month against the month (e.g. 30 or 31 "
                                 "February, 31 April)") from exc
    return Cron(expr, fields, zone(timezone))


def zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise ArgumentError("'timezone' must be an IANA time zone name, e.g. 'Europe/Paris'",
                            field="timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ArgumentError(f"unknown time zone {name!r}", field="timezone",
                            hint="use an IANA name such as 'Europe/Paris' or 'UTC'") from exc


def _exists(local: datetime) -> bool:
    """False for a wall time skipped by a forward jump."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def _instants(cron: Cron, naive: datetime) -> list[datetime]:
    """The UTC instants one matched wall time fires at (0, 1 or 2 of them)."""
    local = naive.replace(tzinfo=cron.tz, fold=0)
    if not _exists(local):
        # fold=0 reads a gap time with the offset before the jump: shifted forward by it.
        return [local.astimezone(UTC)]
    out = [local.astimezone(UTC)]
    if _ambiguous(local) and cron.hourly_wildcard:
        out.append(local.replace(fold=1).astimezone(UTC))
    return out


def _offset_range(tz: ZoneInfo, naive: datetime) -> tuple[timedelta, timedelta]:
    """Smallest and largest UTC offset the zone has within a day of this wall time."""
    offs = []
    for d in (-_DAY, timedelta(0), _DAY):
        for fold in (0, 1):
            off = (naive + d).replace(tzinfo=tz, fold=fold).utcoffset()
            assert off is not None
            offs.append(off)
    return min(offs), max(offs)


def iter_fires(cron: Cron, after: datetime) -> Iterator[datetime]:
    """Fire instants strictly after `after` (aware), ascending, without duplicates."""
    local = after.astimezone(cron.tz).replace(tzinfo=None, fold=0)
    lo, hi = _offset_range(cron.tz, local)
    # Near a transition, a wall time before `after`'s may still fire after it.
    it = croniter(cron.croniter_expr, local - (hi - lo), second_at_beginning=True)
    pending: list[datetime] = []
    last: datetime | None = None
    while True:
        naive = it.get_next(datetime)
        for t in _instants(cron, naive):
            heapq.heappush(pending, t)
        # No wall time matched from now on can fire before this: release what precedes it.
        horizon = naive.replace(tzinfo=UTC) - _offset_range(cron.tz, naive)[1]
        while pending and pending[0] <= horizon:
            t = heapq.heappop(pending)
            if t > after and (last is None or t > last):
                last = t
                yield t


def fire_times(expr: str | Cron, tz: str | None, after: datetime, until: datetime,
               limit: int = 100_000) -> list[datetime]:
    """Fire instants (UTC) in (after, until], at most `limit` of them."""
    cron = expr if isinstance(expr, Cron) else parse(expr, tz or "UTC")
    out: list[datetime] = []
    for t in iter_fires(cron, after):
        if t > until or len(out) >= limit:
            break
        out.append(t)
    return out


def next_fire(cron: Cron, after: datetime) -> datetime | None:
    """The first fire after `after`, or None if the expression never fires again."""
    try:
        return next(iter_fires(cron, after))
    except (StopIteration, ValueError):
        return None
