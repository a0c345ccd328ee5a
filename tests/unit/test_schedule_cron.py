"""Cron → fire instants: seconds, 5 fields, time zones, both DST transitions (exact times)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop_app.core.errors import ArgumentError
from desktop_app.scheduler.cron import fire_times, parse
from desktop_app.scheduler.rules import (
    HandlerRules,
    Streaks,
    apply_outcome,
    dead_man_due,
    plan_fires,
)


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


def iso(times: list[datetime]) -> list[str]:
    return [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]


def test_six_fields_with_seconds() -> None:
    assert iso(fire_times("*/20 * * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 1, 0, 1))) == [
        "2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"]


def test_five_fields_fire_at_second_zero() -> None:
    assert iso(fire_times("*/30 * * * *", "UTC", utc(2026, 1, 1), utc(2026, 1, 1, 1))) == [
        "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z"]


def test_time_zone() -> None:
    # 09:00 in Tokyo (UTC+9, no DST) is midnight UTC.
    assert iso(fire_times("0 0 9 * * *", "Asia/Tokyo", utc(2026, 1, 1), utc(2026, 1, 3))) == [
        "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]


def test_after_is_exclusive_until_inclusive() -> None:
    assert iso(fire_times("0 0 * * * *", "UTC", utc(2026, 1, 1, 1), utc(2026, 1, 1, 3))) == [
        "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"]


def test_paris_spring_forward_missing_time_fires_once_shifted() -> None:
    # 29 March 2026: 02:00 CET → 03:00 CEST. 02:30 does not exist: fires at 03:30 CEST.
    got = fire_times("0 30 2 * * *", "Europe/Paris", utc(2026, 3, 27), utc(2026, 3, 31))
    assert iso(got) == ["2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z",
                        "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"]


def test_paris_fall_back_repeated_time_fires_once() -> None:
    # 25 October 2026: 03:00 CEST → 02:00 CET; 02:30 happens twice, fires at the first.
    got = fire_times("0 30 2 * * *", "Europe/Paris", utc(2026, 10, 23), utc(2026, 10, 27))
    assert iso(got) == ["2026-10-23T00:30:00Z", "2026-10-24T00:30:00Z",
                        "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]


def test_new_york_spring_forward() -> None:
    # 8 March 2026: 02:00 EST → 03:00 EDT. Hourly at :30: 02:30 is shifted to 03:30,
    # which is also a real fire time: it fires once.
    got = fire_times("0 30 * * * *", "America/New_York", utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    assert iso(got) == ["2026-03-08T05:30:00Z", "2026-03-08T06:30:00Z",
                        "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"]
    daily = fire_times("0 30 2 * * *", "America/New_York", utc(2026, 3, 7), utc(2026, 3, 10))
    assert iso(daily) == ["2026-03-07T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-09T06:30:00Z"]


def test_new_york_fall_back() -> None:
    # 1 November 2026: 02:00 EDT → 01:00 EST. 01:30 daily fires once (EDT);
    # an hourly schedule keeps its real cadence through the repeated hour.
    daily = fire_times("0 30 1 * * *", "America/New_York", utc(2026, 10, 31), utc(2026, 11, 3))
    assert iso(daily) == ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    hourly = fire_times("0 0 * * * *", "America/New_York", utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    assert iso(hourly) == ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
                           "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"]


def test_every_second_through_the_paris_gap_is_continuous() -> None:
    got = fire_times("* * * * * *", "Europe/Paris", utc(2026, 3, 29, 0, 59, 58),
                     utc(2026, 3, 29, 1, 0, 2))
    assert iso(got) == ["2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-03-29T01:00:01Z",
                        "2026-03-29T01:00:02Z"]


@pytest.mark.parametrize("expr,tz,field", [
    ("61 * * * * *", "UTC", "schedule"), ("* * *", "UTC", "schedule"),
    ("", "UTC", "schedule"), ("* * * * *", "Mars/Olympus", "timezone")])
def test_errors_name_the_field(expr: str, tz: str, field: str) -> None:
    with pytest.raises(ArgumentError) as e:
        parse(expr, tz)
    assert e.value.field == field


# -- catch-up, handlers, dead man (a made-up clock) ------------------------------------

def test_catch_up_after_three_hour_sleep_runs_once() -> None:
    slept_from, now = utc(2026, 1, 1, 0, 0, 0), utc(2026, 1, 1, 3, 0, 0)
    times = fire_times("0 */10 * * * *", "UTC", slept_from, now)  # 18 fire times missed
    plan = plan_fires(times, now, "once")
    # 03:00:00 is due exactly now (on time): it runs; the 17 before it are the missed period.
    assert plan.run == [utc(2026, 1, 1, 3)]
    assert len(plan.missed) == 17 and plan.catch_up == utc(2026, 1, 1, 2, 50)
    assert plan_fires(times, now, "skip").catch_up is None
    assert len(plan_fires(times, now, "all").run) == 18


def test_on_time_fires_are_not_missed() -> None:
    now = utc(2026, 1, 1, 0, 0, 3)
    plan = plan_fires([utc(2026, 1, 1, 0, 0, 1), utc(2026, 1, 1, 0, 0, 4)], now, "once")
    assert plan.run == [utc(2026, 1, 1, 0, 0, 1), utc(2026, 1, 1, 0, 0, 4)] and not plan.missed


def test_on_failure_after_two_consecutive_failures_then_recovery() -> None:
    rules = HandlerRules(on_failure=True, on_failure_times=2, on_recovery=True)
    s = Streaks()
    s, fired = apply_outcome(s, False, rules)
    assert fired == []
    s, fired = apply_outcome(s, False, rules)
    assert fired == ["failure"]
    s, fired = apply_outcome(s, False, rules)
    assert fired == ["failure"]  # not exact: every failure from the 2nd on
    s, fired = apply_outcome(s, True, rules)
    assert fired == ["recovery"] and s == Streaks()
    s, fired = apply_outcome(s, True, rules)
    assert fired == []


def test_failure_exact_and_recovery_times_and_success() -> None:
    rules = HandlerRules(on_failure=True, on_failure_times=2, on_failure_exact=True,
                         on_recovery=True, on_recovery_times=2, on_success=True)
    s = Streaks()
    fired_all = []
    for ok in (False, False, False, True, True, True):
        s, fired = apply_outcome(s, ok, rules)
        fired_all.append(fired)
    assert fired_all == [[], ["failure"], [], ["success"], ["success", "recovery"], ["success"]]


def test_a_success_breaks_the_failure_streak() -> None:
    rules = HandlerRules(on_failure=True, on_failure_times=2)
    s = Streaks()
    for ok in (False, True, False):
        s, fired = apply_outcome(s, ok, rules)
        assert fired == []


def test_dead_man() -> None:
    cron = parse("0 * * * * *", "UTC")  # every minute
    since = utc(2026, 1, 1, 0, 0, 30)
    assert not dead_man_due(cron, since, utc(2026, 1, 1, 0, 2, 59), 3, None)
    assert dead_man_due(cron, since, utc(2026, 1, 1, 0, 3, 0), 3, None)
    assert not dead_man_due(cron, since, utc(2026, 1, 1, 0, 9), 3, utc(2026, 1, 1, 0, 3))
    assert not dead_man_due(cron, since, utc(2026, 1, 1, 0, 9), None, None)


def test_cadence_notes_say_what_differs_from_the_cron() -> None:
    from desktop_app.api.routes_schedules import cadence_notes

    assert cadence_notes({"last_missed": None, "skipped_overlap": 0,
                          "start_lag_ms_median": 8.0}) == []
    notes = cadence_notes({"last_missed": {"count": 18, "from": "a", "until": "b",
                                           "policy": "once"},
                           "skipped_overlap": 2, "start_lag_ms_median": 2500.0})
    assert notes[0] == "18 run(s) missed from a to b (daemon down or machine asleep;" \
                       " caught up with one run)"
    assert "2 fire(s) skipped" in notes[1] and "2.5 s" in notes[2]


def test_a_schedule_that_never_fires_is_refused() -> None:
    for expr in ("0 0 30 2 *", "0 0 0 31 4 *"):
        with pytest.raises(ArgumentError) as caught:
            parse(expr, "UTC")
        assert caught.value.field == "schedule"
        assert caught.value.message == f"the cron expression {expr!r} never fires: no date matches it"
    assert parse("0 0 29 2 *", "UTC")  # leap days do come
