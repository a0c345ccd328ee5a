"""The scheduler: a daemon task that turns schedules into queued runs and runs their handlers.

Each round (`tick`) does, in short transactions that any number of daemons may run at once:

1. outcomes: the finished runs of schedules (rows a trigger on `job_completed` writes in
   the completing transaction) update the failure/success streaks and push handlers;
2. planning: for each enabled schedule due soon (row locked, SKIP LOCKED), the fire times
   up to `now + lead` are pushed as queued jobs with `scheduled_for` = the fire time. Each
   fire time first takes its row in `schedule_fires` (unique per schedule and time), so a
   fire is pushed exactly once whatever the number of daemons. Flows and `no_flow_overlap`
   schedules are pushed at their due time instead (a flow starts at once; overlap is only
   known then). Fires missed while nothing ran follow the catch-up policy;
3. wake-ups: a job pushed ahead is due at its fire time; the scheduler NOTIFYs its tag then,
   so workers waiting on LISTEN claim it without waiting for their poll;
4. dead-man alerts.

Time comes from `now` arguments, so tests drive it with a made-up clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import TidemillError
from desktop_app.queue.notify import QUEUE_CHANNEL
from desktop_app.scheduler import cron as cronlib
from desktop_app.scheduler.jobs import handler_target, push_item, retries
from desktop_app.scheduler.rules import (
    HandlerRules,
    Streaks,
    apply_outcome,
    dead_man_due,
    plan_fires,
)

log = logging.getLogger("tidemill.scheduler")

#: Fire times are pushed this far ahead of their time (script schedules without overlap rule).
LEAD = timedelta(seconds=2)


def _pushes_ahead(row: dict[str, Any]) -> bool:
    return not row["is_flow"] and not row["no_flow_overlap"]


async def tick(conn: AsyncConnection[Any], now: datetime, lead: timedelta = LEAD) -> None:
    """One round of the scheduler at time `now` (see the module docstring)."""
    while await process_outcomes(conn, now):
        pass
    await plan_due(conn, now, lead)
    await dead_man_alerts(conn, now)


# -- planning ---------------------------------------------------------------------------

async def plan_due(conn: AsyncConnection[Any], now: datetime, lead: timedelta = LEAD) -> None:
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT * FROM schedules WHERE enabled AND next_fire IS NOT NULL"
            " AND next_fire <= %s ORDER BY next_fire FOR UPDATE SKIP LOCKED", (now + lead,))
        for row in await cur.fetchall():
            try:
                async with conn.transaction():
                    await _plan_one(conn, row, now, lead)
            except Exception as exc:  # one bad schedule must not stop the others
                # (e.g. its script was archived): record why, and move past this fire so it
                # is not retried in a tight loop.
                message = exc.message if isinstance(exc, TidemillError) else repr(exc)
                log.warning("schedule %s: %s", row["path"], message)
                await _skip_past(conn, row, now + lead if _pushes_ahead(row) else now, message)


async def _plan_one(conn: AsyncConnection[Any], row: dict[str, Any], now: datetime,
                    lead: timedelta) -> None:
    cron = cronlib.parse(row["schedule"], row["timezone"])
    until = now + lead if _pushes_ahead(row) else now
    times = cronlib.fire_times(cron, None, row["planned_until"], until, limit=100_000)
    planned_until = times[-1] if len(times) == 100_000 else until
    paused = row["paused_until"]
    if paused is not None:
        times = [t for t in times if t >= paused]
    plan = plan_fires(times, now, row["catch_up"])
    ws, path = row["workspace_id"], row["path"]
    last_fire, last_job = row["last_fire"], row["last_job"]
    skipped = 0
    if plan.catch_up is not None:
        covered = await _fetch(conn, "SELECT id FROM job_queue WHERE workspace_id = %s AND"
                               " schedule_path = %s AND NOT running AND scheduled_for <= %s"
                               " LIMIT 1", (ws, path, now))
        if covered is None:  # a pushed-ahead job still waiting already stands for the period
            job = await _fire(conn, row, plan.catch_up, now, "catch_up", len(plan.missed))
            if job is not None:
                last_fire, last_job = plan.catch_up, job
    for t in plan.run:
        if row["no_flow_overlap"] and await _fetch(
                conn, "SELECT 1 FROM job_queue WHERE workspace_id = %s AND schedule_path = %s"
                      " LIMIT 1", (ws, path)):
            await conn.execute("INSERT INTO schedule_fires (workspace_id, schedule_path,"
                               " fire_time, status) VALUES (%s, %s, %s, 'skipped_overlap')"
                               " ON CONFLICT DO NOTHING", (ws, path, t))
            skipped += 1
            continue
        job = await _fire(conn, row, t, max(t, now) if not _pushes_ahead(row) else t, "pushed")
        if job is not None:
            last_fire, last_job = t, job
    missed = None
    if plan.missed:
        missed = {"count": len(plan.missed), "from": plan.missed[0].isoformat(),
                  "until": plan.missed[-1].isoformat(), "noticed_at": now.isoformat(),
                  "policy": row["catch_up"]}
    await conn.execute(
        "UPDATE schedules SET planned_until = %s, next_fire = %s, last_fire = %s, last_job = %s,"
        " missed_total = missed_total + %s, last_missed = COALESCE(%s, last_missed),"
        " skipped_total = skipped_total + %s, error = NULL"
        " WHERE workspace_id = %s AND path = %s",
        (planned_until, cronlib.next_fire(cron, planned_until), last_fire, last_job,
         len(plan.missed), Jsonb(missed) if missed else None, skipped, ws, path))


async def _fire(conn: AsyncConnection[Any], row: dict[str, Any], fire_time: datetime,
                scheduled_for: datetime, status: str, missed: int = 0) -> Any:
    """Take the fire time's row, then push its job. None if another daemon had it."""
    ws, path = row["workspace_id"], row["path"]
    cur = await conn.execute(
        "INSERT INTO schedule_fires (workspace_id, schedule_path, fire_time, status, missed)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING fire_time",
        (ws, path, fire_time, status, missed))
    if await cur.fetchone() is None:
        return None
    extra: dict[str, Any] = {"schedule_fire": fire_time.isoformat()}
    if missed:
        extra["schedule_missed"] = missed
    job_id = await push_item(
        conn, workspace=ws, path=row["script_path"], is_flow=row["is_flow"],
        args=dict(row["args"] or {}), created_by=row["edited_by"],
        permissioned_as=row["permissioned_as"], trigger_path=path, schedule_path=path,
        scheduled_for=scheduled_for, tag=row["tag"], max_retries=retries(row["retry"]),
        extra=extra)
    await conn.execute("UPDATE schedule_fires SET job_id = %s WHERE workspace_id = %s AND"
                       " schedule_path = %s AND fire_time = %s", (job_id, ws, path, fire_time))
    return job_id


async def _skip_past(conn: AsyncConnection[Any], row: dict[str, Any], until: datetime,
                     error: str) -> None:
    """The fires up to `until` could not be pushed: record why and plan from after them."""
    nxt = None
    with contextlib.suppress(TidemillError):
        nxt = cronlib.next_fire(cronlib.parse(row["schedule"], row["timezone"]), until)
    await conn.execute("UPDATE schedules SET planned_until = %s, next_fire = %s, error = %s"
                       " WHERE workspace_id = %s AND path = %s",
                       (until, nxt, error, row["workspace_id"], row["path"]))


# -- outcomes and handlers ---------------------------------------------------------------

async def process_outcomes(conn: AsyncConnection[Any], now: datetime, batch: int = 200) -> int:
    """Apply finished runs to their schedules' streaks; push handlers. Returns how many."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "DELETE FROM schedule_outcomes WHERE job_id IN (SELECT job_id FROM schedule_outcomes"
            " ORDER BY completed_at LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *", (batch,))
        outcomes = sorted(await cur.fetchall(), key=lambda o: (o["completed_at"], o["job_id"]))
        for o in outcomes:
            await cur.execute("SELECT * FROM schedules WHERE workspace_id = %s AND path = %s"
                              " FOR UPDATE", (o["workspace_id"], o["schedule_path"]))
            row = await cur.fetchone()
            if row is None or o["status"] == "skipped":
                continue
            await _apply(conn, row, o, now)
    return len(outcomes)


def _rules(row: dict[str, Any]) -> HandlerRules:
    return HandlerRules(on_failure=bool(row["on_failure"]),
                        on_failure_times=row["on_failure_times"],
                        on_failure_exact=row["on_failure_exact"],
                        on_recovery=bool(row["on_recovery"]),
                        on_recovery_times=row["on_recovery_times"],
                        on_success=bool(row["on_success"]))


async def _apply(conn: AsyncConnection[Any], row: dict[str, Any], o: dict[str, Any],
                 now: datetime) -> None:
    success = o["status"] == "success"
    before = Streaks(row["failure_streak"], row["success_streak"], row["last_failure"] is not None)
    after, handlers = apply_outcome(before, success, _rules(row))
    base = {"schedule_path": row["path"], "path": row["script_path"], "is_flow": row["is_flow"]}
    result = o["result"]
    started = o["started_at"].isoformat() if o["started_at"] else None
    last_failure = row["last_failure"]
    for kind in handlers:
        if kind == "failure":
            args = {**_as_object(result), **base, "started_at": started,
                    "failed_times": after.failures, "job_id": str(o["job_id"])}
            await _handler(conn, row, row["on_failure"], args, row["on_failure_extra_args"])
        elif kind == "recovery":
            prev = last_failure or {}
            args = {**_as_object(prev.get("result")), **base,
                    "error_started_at": prev.get("started_at"), "success_result": result,
                    "success_times": before.successes + 1, "success_started_at": started}
            await _handler(conn, row, row["on_recovery"], args, row["on_recovery_extra_args"])
        else:
            args = {**base, "success_result": result, "success_started_at": started,
                    "job_id": str(o["job_id"])}
            await _handler(conn, row, row["on_success"], args, row["on_success_extra_args"])
    if not success:
        last_failure = {"job_id": str(o["job_id"]), "result": result, "started_at": started}
    elif not after.recovering:
        last_failure = None
    await conn.execute(
        "UPDATE schedules SET failure_streak = %s, success_streak = %s, last_failure = %s,"
        " last_success_at = CASE WHEN %s THEN %s ELSE last_success_at END"
        " WHERE workspace_id = %s AND path = %s",
        (after.failures, after.successes, Jsonb(last_failure) if last_failure else None,
         success, o["completed_at"], row["workspace_id"], row["path"]))


def _as_object(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return dict(result)
    return {"error": result} if result is not None else {}


async def _handler(conn: AsyncConnection[Any], row: dict[str, Any], prefixed: str,
                   args: dict[str, Any], extra_args: Any) -> None:
    if isinstance(extra_args, dict):
        args.update(extra_args)
    try:
        async with conn.transaction():
            path, is_flow = handler_target(prefixed)
            await push_item(conn, workspace=row["workspace_id"], path=path, is_flow=is_flow,
                            args=args, created_by=row["edited_by"],
                            permissioned_as=row["permissioned_as"], trigger_path=row["path"],
                            schedule_path=None, extra={"schedule_handler_of": row["path"]})
    except Exception as exc:  # the outcome is still recorded, the error shown
        message = exc.message if isinstance(exc, TidemillError) else repr(exc)
        log.warning("schedule %s: handler %s: %s", row["path"], prefixed, message)
        await conn.execute("UPDATE schedules SET error = %s WHERE workspace_id = %s AND path = %s",
                           (f"could not run handler {prefixed}: {message}",
                            row["workspace_id"], row["path"]))


async def dead_man_alerts(conn: AsyncConnection[Any], now: datetime) -> None:
    """Push the failure handler of schedules whose runs have not succeeded for N intervals."""
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT * FROM schedules WHERE enabled AND dead_man_intervals IS NOT NULL"
            " AND on_failure IS NOT NULL FOR UPDATE SKIP LOCKED")
        for row in await cur.fetchall():
            since = max(row["last_success_at"] or row["watch_since"], row["watch_since"])
            cron = cronlib.parse(row["schedule"], row["timezone"])
            if not dead_man_due(cron, since, now, row["dead_man_intervals"],
                                row["dead_man_alerted_at"]):
                continue
            n = row["dead_man_intervals"]
            args = {"error": {"name": "DeadManAlert",
                              "message": f"no successful run for {n} intervals of"
                                         f" {row['schedule']!r} since {since.isoformat()}"},
                    "schedule_path": row["path"], "path": row["script_path"],
                    "is_flow": row["is_flow"], "started_at": since.isoformat(),
                    "failed_times": row["failure_streak"], "dead_man": True}
            await _handler(conn, row, row["on_failure"], args, row["on_failure_extra_args"])
            await conn.execute("UPDATE schedules SET dead_man_alerted_at = %s"
                               " WHERE workspace_id = %s AND path = %s",
                               (now, row["workspace_id"], row["path"]))


# -- wake-ups and the loop ---------------------------------------------------------------

async def wake_workers(conn: AsyncConnection[Any]) -> None:
    """NOTIFY the tags of pushed-ahead jobs that just became due."""
    cur = await conn.execute(
        "SELECT DISTINCT tag FROM job_queue WHERE NOT running AND schedule_path IS NOT NULL"
        " AND scheduled_for <= now()")
    for (tag,) in await cur.fetchall():
        await conn.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, tag))


async def next_wake(conn: AsyncConnection[Any], now: datetime, lead: timedelta = LEAD) -> datetime | None:
    row = await _fetch(conn, """
        SELECT least(
          (SELECT min(CASE WHEN is_flow OR no_flow_overlap THEN next_fire ELSE next_fire - %s END)
             FROM schedules WHERE enabled),
          (SELECT min(scheduled_for) FROM job_queue
            WHERE NOT running AND schedule_path IS NOT NULL AND scheduled_for > %s))""",
        (lead, now))
    return row[0] if row else None


async def _fetch(conn: AsyncConnection[Any], sql: str, params: tuple[Any, ...]) -> Any:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_scheduler(database_url: str, *, max_sleep_s: float = 1.0,
                        clock: Callable[[], datetime] = _utcnow) -> None:
    """The daemon task: tick, wake the workers of due jobs, sleep until the next due time.

    Due times are known exactly (fire times, pushed-ahead jobs), so `max_sleep_s` only
    bounds how soon a new schedule or a finished run is noticed; an idle laptop sees one
    round a second."""
    while True:
        try:
            async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                while True:
                    now = clock()
                    await tick(conn, now)
                    await wake_workers(conn)
                    wake = await next_wake(conn, now)
                    delay = max_sleep_s
                    if wake is not None:
                        delay = min(max((wake - clock()).total_seconds(), 0.01), max_sleep_s)
                    await asyncio.sleep(delay)
        except psycopg.OperationalError as exc:
            log.warning("scheduler lost the database: %s", str(exc).strip())
            await asyncio.sleep(0.5)
        except Exception as exc:  # the scheduler outlives any one bad round
            log.exception("scheduler round failed: %s", exc)
            await asyncio.sleep(1.0)
