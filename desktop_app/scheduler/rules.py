"""The scheduler's decisions as pure functions: which fire times run, which were missed,
when a handler is due. Tested with plain values and a made-up clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from desktop_app.core.errors import ArgumentError
from desktop_app.scheduler.cron import Cron, fire_times

CATCH_UP_POLICIES = ("once", "all", "skip")

#: A fire handled later than this after its time counts as missed (daemon down, laptop
#: asleep) rather than merely late.
MISSED_AFTER = timedelta(seconds=5)

#: With policy "all", at most this many missed fires are run.
MAX_CATCH_UP = 1000


@dataclass
class FirePlan:
    """What to do with the fire times that became due."""

    run: list[datetime] = field(default_factory=list)     # run each, at its time
    catch_up: datetime | None = None                       # one run now for a missed period
    missed: list[datetime] = field(default_factory=list)   # fire times that did not run on time


def plan_fires(times: list[datetime], now: datetime, policy: str) -> FirePlan:
    """Split due fire times by the catch-up policy: 'once' (default) runs one job for a
    missed period then resumes, 'all' runs every missed fire, 'skip' runs none of them."""
    late = [t for t in times if t < now - MISSED_AFTER]
    on_time = [t for t in times if t >= now - MISSED_AFTER]
    if not late:
        return FirePlan(run=on_time)
    if policy == "all":
        return FirePlan(run=late[-MAX_CATCH_UP:] + on_time, missed=late[:-MAX_CATCH_UP])
    if policy == "skip":
        return FirePlan(run=on_time, missed=late)
    return FirePlan(run=on_time, catch_up=late[-1], missed=late)


def check_catch_up(policy: Any) -> str:
    if policy is None:
        return "once"
    if policy not in CATCH_UP_POLICIES:
        raise ArgumentError(f"'catch_up' must be one of {', '.join(CATCH_UP_POLICIES)}",
                            field="catch_up")
    return str(policy)


@dataclass(frozen=True)
class HandlerRules:
    on_failure: bool = False
    on_failure_times: int = 1
    on_failure_exact: bool = False
    on_recovery: bool = False
    on_recovery_times: int = 1
    on_success: bool = False


@dataclass(frozen=True)
class Streaks:
    """Consecutive failures; successes since the last failure (while recovering)."""

    failures: int = 0
    successes: int = 0
    recovering: bool = False


def apply_outcome(s: Streaks, success: bool, rules: HandlerRules) -> tuple[Streaks, list[str]]:
    """A run of the schedule finished: the new streaks and the handlers to run
    ('failure', 'recovery', 'success')."""
    fire: list[str] = []
    if not success:
        failures = s.failures + 1
        times = max(rules.on_failure_times, 1)
        if rules.on_failure and (failures == times if rules.on_failure_exact else failures >= times):
            fire.append("failure")
        return Streaks(failures=failures, successes=0, recovering=True), fire
    if rules.on_success:
        fire.append("success")
    if not s.recovering:
        return replace(s, failures=0), fire
    successes = s.successes + 1
    if successes >= max(rules.on_recovery_times, 1):
        if rules.on_recovery:
            fire.append("recovery")
        return Streaks(), fire
    return Streaks(failures=0, successes=successes, recovering=True), fire


def dead_man_due(cron: Cron, since: datetime, now: datetime, intervals: int | None,
                 alerted_at: datetime | None) -> bool:
    """True when `intervals` fire times passed since the last success (or since watching
    began) and no alert was sent for this silence yet."""
    if not intervals or intervals < 1:
        return False
    if alerted_at is not None and alerted_at >= since:
        return False
    return len(fire_times(cron, None, since, now, limit=intervals)) >= intervals
