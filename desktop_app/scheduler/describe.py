"""A cron expression in plain English, for the schedule editor ("Every 5 minutes",
"At 09:00, Monday through Friday").

Pure Python, no I/O. Accepts Windmill's 6 fields (seconds first) or the classic 5. Only
describes: whether the expression is valid is decided by `cron.parse` (croniter); a token
this module does not recognise is quoted as it is rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(DAYS)}
_MONTH_NAMES = {m[:3].lower(): i + 1 for i, m in enumerate(MONTHS)}


class CronDescribeError(ValueError):
    """The expression does not have the shape of a cron expression."""


@dataclass(frozen=True)
class _Field:
    raw: str

    @property
    def any(self) -> bool:
        return self.raw in ("*", "?")

    @property
    def step(self) -> int | None:
        """n for `*/n`."""
        if self.raw.startswith("*/") and self.raw[2:].isdigit():
            return int(self.raw[2:])
        return None

    def numbers(self, names: dict[str, int] | None = None) -> list[int] | None:
        """The values of a plain list like `1,15` or `5`; None for ranges and steps."""
        out = []
        for part in self.raw.split(","):
            n = _number(part, names)
            if n is None:
                return None
            out.append(n)
        return out


def _number(text: str, names: dict[str, int] | None) -> int | None:
    if text.isdigit():
        return int(text)
    if names and text.lower() in names:
        return names[text.lower()]
    return None


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, unit: str) -> str:
    return f"{unit}" if n == 1 else f"{n} {unit}s"


def _list_of(raw: str, name: Callable[[int | None], str],
             names: dict[str, int] | None = None) -> str:
    """`1-5` → "Monday through Friday", `1,3` → "Monday and Wednesday", `*/2` → "every 2nd"."""
    parts = []
    for part in raw.split(","):
        base, _, step = part.partition("/")
        if "-" in base:
            lo_s, _, hi_s = base.partition("-")
            lo, hi = _number(lo_s, names), _number(hi_s, names)
            if lo is None or hi is None:
                return f"“{raw}”"
            text = f"{name(lo)} through {name(hi)}"
        else:
            n = _number(base, names)
            if n is None and base not in ("*", "?"):
                return f"“{raw}”"
            text = "" if n is None else name(n)
        if step:
            text = f"every {step} from {text or name(None)}" if text else f"every {step}"
        parts.append(text)
    return _join(parts)


def _hhmm(h: int, m: int, s: int = 0) -> str:
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _time_phrase(sec: _Field, minute: _Field, hour: _Field) -> tuple[str, bool]:
    """The time of day part, and whether it already says "every …" (so the day part
    should not add "every day")."""
    secs = sec.numbers() or ([0] if sec.raw == "0" else None)
    mins, hours = minute.numbers(), hour.numbers()
    if secs is not None and len(secs) == 1 and mins and hours and len(mins) * len(hours) <= 6:
        times = [_hhmm(h, m, secs[0]) for h in sorted(hours) for m in sorted(mins)]
        return "At " + _join(times), False
    # Something repeats within the day.
    if not sec.any and secs != [0]:
        if sec.step and minute.any and hour.any:
            return f"Every {_plural(sec.step, 'second')}", True
        if minute.any and hour.any and secs is not None:
            return f"At second {_join([str(s) for s in secs])} of every minute", True
    if sec.any:
        head = "Every second"
        if minute.any and hour.any:
            return head, True
    elif minute.any:
        head = "Every minute"
    elif minute.step:
        head = f"Every {_plural(minute.step, 'minute')}"
    elif mins is not None and hour.any:
        return f"At {_join([str(m) for m in mins])} minutes past every hour" \
            if mins != [0] else "Every hour, on the hour", True
    elif mins is not None:
        past = "on the hour" if mins == [0] else \
            f"at {_join([str(m) for m in mins])} minutes past the hour"
        if hour.step:
            return f"Every {_plural(hour.step, 'hour')}, {past}", True
        head = f"Every hour, {past}"
    else:
        head = f"At minutes {_list_of(minute.raw, str)}"
    if hour.any:
        return head + (" past every hour" if head.startswith("At minutes") else ""), True
    if hour.step:
        return f"{head}, every {_plural(hour.step, 'hour')}", True
    if "-" in hour.raw and "," not in hour.raw and "/" not in hour.raw:
        lo, _, hi = hour.raw.partition("-")
        if lo.isdigit() and hi.isdigit():
            last = max(mins) if mins is not None else 59  # the last fire, not the hour's end
            return f"{head}, between {_hhmm(int(lo), min(mins or [0]))} and " \
                   f"{_hhmm(int(hi), last)}", True
    if hours is not None:
        return f"{head}, during hour {_join([_hhmm(h, 0) for h in hours])}", True
    return f"{head}, hours {_list_of(hour.raw, str)}", True


def _day_phrase(dom: _Field, month: _Field, dow: _Field) -> str:
    def day_name(n: int | None) -> str:
        return DAYS[n % 7] if n is not None else "Sunday"

    def month_name(n: int | None) -> str:
        return MONTHS[(n or 1) - 1] if n is None or 1 <= n <= 12 else str(n)

    days = []
    if not dom.any:
        nums = dom.numbers()
        if dom.raw == "L":
            days.append("on the last day of the month")
        elif dom.step:
            days.append(f"every {_plural(dom.step, 'day')}")
        elif nums is not None:
            which = "day" if len(nums) == 1 else "days"
            days.append(f"on {which} {_join([str(n) for n in nums])} of the month")
        else:
            days.append(f"on days {_list_of(dom.raw, str)} of the month")
    if not dow.any:
        text = _list_of(dow.raw, day_name, _DAY_NAMES)
        days.append(text if " through " in text else f"on {text}")
    # Classic cron: with both restricted a day matches when either matches.
    day = " or ".join(days)
    if not month.any:
        months = _list_of(month.raw, month_name, _MONTH_NAMES)
        return f"{day + ', ' if day else ''}in {months}"
    return day


def describe(expr: str) -> str:
    """`expr` in words; CronDescribeError when it has the wrong number of fields."""
    fields = expr.split() if isinstance(expr, str) else []
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        raise CronDescribeError(
            f"a cron expression has 6 fields (second minute hour day month weekday) or 5,"
            f" not {len(fields)}")
    sec, minute, hour, dom, month, dow = (_Field(f) for f in fields)
    time, repeats = _time_phrase(sec, minute, hour)
    day = _day_phrase(dom, month, dow)
    if not day:
        return time if repeats else f"{time}, every day"
    return f"{time}, {day}"
