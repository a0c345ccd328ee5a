"""The scheduler against a real PostgreSQL, driven by a made-up clock (no sleeping):
push-ahead, exactly once with two planners, catch-up after a 3-hour sleep, overlap skip,
handlers after consecutive failures and on recovery, dead-man alert."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.jobs import JobStatus
from desktop_app.db import scripts as script_store
from desktop_app.queue import queue
from desktop_app.scheduler import store
from desktop_app.scheduler.scheduler import plan_due, process_outcomes, tick

T0 = datetime(2030, 1, 1, tzinfo=UTC)
SCHEMA = {"type": "object", "properties": {}, "required": []}


async def connect(url: str) -> AsyncConnection[Any]:
    return await AsyncConnection.connect(url, autocommit=True)


async def deploy(conn: AsyncConnection[Any], path: str) -> None:
    await script_store.insert_version(conn, script_store.ScriptVersion(
        path=path, hash=f"h-{path}", language="python3", content="def main(): pass",
        created_by="admin", schema=SCHEMA))


async def schedule(conn: AsyncConnection[Any], path: str = "f/s/every", expr: str = "* * * * * *",
                   now: datetime = T0, **fields: Any) -> None:
    values = {"schedule": expr, "timezone": "UTC", "script_path": "f/s/job", "is_flow": False,
              "args": {}, "enabled": True, "catch_up": "once", **fields}
    await store.create(conn, "main", path, values, "admin", "u/admin", now)


async def queued(conn: AsyncConnection[Any], path: str = "f/s/every") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT id, scheduled_for, args, script_path, trigger_kind, schedule_path,"
                      " trigger_path, extra FROM job_queue WHERE schedule_path = %s OR"
                      " trigger_path = %s ORDER BY scheduled_for, id", (path, path))
    return await cur.fetchall()


async def row(conn: AsyncConnection[Any], path: str = "f/s/every") -> dict[str, Any]:
    return await store.get(conn, "main", path)


async def test_fire_times_are_pushed_ahead_once(database_url: str) -> None:
    conn = await connect(database_url)
    await deploy(conn, "f/s/job")
    await schedule(conn)
    for step in range(5):  # rounds 0.5 s apart: overlapping look-ahead windows
        await tick(conn, T0 + timedelta(seconds=step / 2))
    jobs = await queued(conn)
    assert [j["scheduled_for"] for j in jobs] == [T0 + timedelta(seconds=s) for s in range(1, 5)]
    assert {j["trigger_kind"] for j in jobs} == {"schedule"}
    assert {j["schedule_path"] for j in jobs} == {"f/s/every"}


async def test_two_planners_push_each_fire_exactly_once(database_url: str) -> None:
    a, b = await connect(database_url), await connect(database_url)
    await deploy(a, "f/s/job")
    await schedule(a)
    for step in range(40):
        now = T0 + timedelta(seconds=step / 4)
        await asyncio.gather(plan_due(a, now), plan_due(b, now))
        # A planner that lost its row's bookkeeping (stale read) is still stopped by the key.
        if step % 10 == 0:
            await a.execute("UPDATE schedules SET planned_until = %s, next_fire = %s",
                            (T0, T0 + timedelta(seconds=1)))
    times = [j["scheduled_for"] for j in await queued(a)]
    assert times == sorted(set(times))
    assert times == [T0 + timedelta(seconds=s) for s in range(1, 12)]


async def test_catch_up_after_three_hour_sleep_runs_once_and_is_recorded(database_url: str) -> None:
    conn = await connect(database_url)
    await deploy(conn, "f/s/job")
    await schedule(conn, expr="0 */10 * * * *")
    await tick(conn, T0 + timedelta(minutes=1))
    assert await queued(conn) == []
    wake = T0 + timedelta(hours=3, seconds=30)  # asleep from 00:01 to 03:00:30
    await tick(conn, wake)
    jobs = await queued(conn)
    assert len(jobs) == 1 and jobs[0]["extra"]["schedule_missed"] == 18
    assert jobs[0]["scheduled_for"] == wake
    r = await row(conn)
    assert r["missed_total"] == 18 and r["last_missed"]["count"] == 18
    assert r["last_missed"]["from"] == (T0 + timedelta(minutes=10)).isoformat()
    assert r["last_missed"]["until"] == (T0 + timedelta(hours=3)).isoformat()
    assert r["next_fire"] == T0 + timedelta(hours=3, minutes=10)
    await tick(conn, T0 + timedelta(hours=3, minutes=9, seconds=59))  # resumes its cadence
    assert [j["scheduled_for"] for j in await queued(conn)][1:] == [T0 + timedelta(hours=3, minutes=10)]


async def test_no_flow_overlap_skips_while_previous_run_is_going(database_url: str) -> None:
    conn = await connect(database_url)
    await deploy(conn, "f/s/job")
    await schedule(conn, expr="*/10 * * * * *", no_flow_overlap=True)
    await tick(conn, T0 + timedelta(seconds=9))
    assert await queued(conn) == []  # not pushed ahead: overlap is only known at fire time
    await tick(conn, T0 + timedelta(seconds=10))
    [first] = await queued(conn)
    await conn.execute("UPDATE job_queue SET running = true, started_at = now() WHERE id = %s",
                       (first["id"],))
    await tick(conn, T0 + timedelta(seconds=20))  # still running: skipped
    assert len(await queued(conn)) == 1
    assert (await row(conn))["skipped_total"] == 1
    await queue.complete(conn, first["id"], JobStatus.SUCCESS, 1)
    await tick(conn, T0 + timedelta(seconds=30))
    jobs = await queued(conn)
    assert [j["scheduled_for"] for j in jobs] == [T0 + timedelta(seconds=30)]
    fires = await store.recent_fires(conn, "main", "f/s/every")
    assert [f["status"] for f in fires] == ["pushed", "skipped_overlap", "pushed"]


async def _finish_next(conn: AsyncConnection[Any], status: JobStatus, result: Any) -> None:
    jobs = [j for j in await queued(conn) if j["schedule_path"]]
    await queue.complete(conn, jobs[0]["id"], status, result)


async def test_on_failure_after_two_failures_then_on_recovery(database_url: str) -> None:
    conn = await connect(database_url)
    for p in ("f/s/job", "f/s/alert", "f/s/recovered"):
        await deploy(conn, p)
    await schedule(conn, expr="*/10 * * * * *", on_failure="script/f/s/alert",
                   on_failure_times=2, on_failure_extra_args={"channel": "#ops"},
                   on_recovery="script/f/s/recovered")
    for s in (9, 19, 29):  # pushes 10, 20, 30 ahead
        await tick(conn, T0 + timedelta(seconds=s))
    err = {"error": {"name": "Exception", "message": "boom"}}
    await _finish_next(conn, JobStatus.FAILURE, err)
    await process_outcomes(conn, T0)
    handlers = [j for j in await queued(conn) if not j["schedule_path"]]
    assert handlers == []
    await _finish_next(conn, JobStatus.FAILURE, err)
    await process_outcomes(conn, T0)
    [h] = [j for j in await queued(conn) if not j["schedule_path"]]
    assert h["script_path"] == "f/s/alert" and h["trigger_kind"] == "schedule"
    assert h["trigger_path"] == "f/s/every"
    args = h["args"]
    assert args["error"] == err["error"] and args["failed_times"] == 2
    assert args["schedule_path"] == "f/s/every" and args["path"] == "f/s/job"
    assert args["is_flow"] is False and args["channel"] == "#ops" and args["started_at"] is None
    await _finish_next(conn, JobStatus.SUCCESS, {"ok": 1})
    await process_outcomes(conn, T0)
    rec = [j for j in await queued(conn) if j["script_path"] == "f/s/recovered"]
    assert len(rec) == 1
    a = rec[0]["args"]
    assert a["error"] == err["error"] and a["success_result"] == {"ok": 1}
    assert a["success_times"] == 1 and a["schedule_path"] == "f/s/every"
    assert (await row(conn))["failure_streak"] == 0


async def test_dead_man_alert_goes_to_the_failure_handler(database_url: str) -> None:
    conn = await connect(database_url)
    for p in ("f/s/job", "f/s/alert"):
        await deploy(conn, p)
    await schedule(conn, expr="0 * * * * *", on_failure="script/f/s/alert",
                   dead_man_intervals=3)
    await tick(conn, T0 + timedelta(minutes=2, seconds=59))
    assert [j for j in await queued(conn) if not j["schedule_path"]] == []
    await tick(conn, T0 + timedelta(minutes=3))
    [alert] = [j for j in await queued(conn) if not j["schedule_path"]]
    assert alert["args"]["error"]["name"] == "DeadManAlert"
    await tick(conn, T0 + timedelta(minutes=9))  # one alert per silence
    assert len([j for j in await queued(conn) if not j["schedule_path"]]) == 1


async def test_disable_removes_pushed_ahead_runs(database_url: str) -> None:
    conn = await connect(database_url)
    await deploy(conn, "f/s/job")
    await schedule(conn)
    await tick(conn, T0)
    assert len(await queued(conn)) == 2
    await store.set_enabled(conn, "main", "f/s/every", False, T0)
    await tick(conn, T0 + timedelta(seconds=5))
    assert await queued(conn) == []
    await store.set_enabled(conn, "main", "f/s/every", True, T0 + timedelta(minutes=1))
    await tick(conn, T0 + timedelta(minutes=1))
    assert len(await queued(conn)) == 2 and (await row(conn))["missed_total"] == 0


async def test_flow_schedule_starts_the_flow_at_its_fire_time(database_url: str) -> None:
    from desktop_app.db import flows as flow_store

    conn = await connect(database_url)
    step = {"id": "a", "value": {"type": "rawscript", "language": "python3",
                                 "content": "def main(x=None):\n    return x\n",
                                 "input_transforms": {"x": {"type": "static", "value": 1}}}}
    await flow_store.insert_version(conn, "main", "f/s/flow", "", "", {"modules": [step]},
                                    None, "admin", {})
    await schedule(conn, path="f/s/flow_every", expr="*/10 * * * * *", script_path="f/s/flow",
                   is_flow=True, args={"k": "v"})
    await tick(conn, T0 + timedelta(seconds=9))
    assert await queued(conn, "f/s/flow_every") == []  # a flow starts at once: not ahead
    await tick(conn, T0 + timedelta(seconds=10))
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT id, kind, running, args, trigger_kind, schedule_path, scheduled_for"
                      " FROM job_queue WHERE schedule_path = 'f/s/flow_every'")
    [flow] = await cur.fetchall()
    assert flow["kind"] == "flow" and flow["running"] and flow["args"] == {"k": "v"}
    assert flow["trigger_kind"] == "schedule" and flow["scheduled_for"] == T0 + timedelta(seconds=10)
    await cur.execute("SELECT count(*) AS n FROM job_queue WHERE parent_job = %s", (flow["id"],))
    assert (await cur.fetchone())["n"] == 1  # its first step was queued


async def test_on_success_handler_args(database_url: str) -> None:
    conn = await connect(database_url)
    for p in ("f/s/job", "f/s/done"):
        await deploy(conn, p)
    await schedule(conn, expr="*/10 * * * * *", on_success="script/f/s/done",
                   on_success_extra_args={"to": "me"})
    await tick(conn, T0 + timedelta(seconds=9))
    await _finish_next(conn, JobStatus.SUCCESS, [1, 2])
    await process_outcomes(conn, T0)
    [h] = [j for j in await queued(conn) if not j["schedule_path"]]
    assert h["script_path"] == "f/s/done"
    a = h["args"]
    assert a["success_result"] == [1, 2] and a["to"] == "me" and a["schedule_path"] == "f/s/every"
    assert a["path"] == "f/s/job" and a["is_flow"] is False
    assert (await row(conn))["last_success_at"] is not None


async def test_a_vanished_script_is_recorded_and_the_schedule_moves_on(database_url: str) -> None:
    conn = await connect(database_url)
    await deploy(conn, "f/s/job")
    await schedule(conn, expr="*/10 * * * * *")
    await conn.execute("UPDATE scripts SET archived = true WHERE path = 'f/s/job'")
    await tick(conn, T0 + timedelta(seconds=9))
    r = await row(conn)
    assert "f/s/job" in r["error"] and r["next_fire"] == T0 + timedelta(seconds=20)
    assert await queued(conn) == []
    await deploy(conn, "f/s/job")  # deployed again: the next fire runs and the error clears
    await conn.execute("UPDATE scripts SET archived = false WHERE path = 'f/s/job'")
    await tick(conn, T0 + timedelta(seconds=19))
    assert len(await queued(conn)) == 1 and (await row(conn))["error"] is None
