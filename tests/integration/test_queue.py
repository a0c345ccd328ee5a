"""The queue against a real PostgreSQL: ordering, concurrency, completion, cancel, reaping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.queue import queue
from desktop_app.queue.logs import append_log, read_logs
from desktop_app.queue.model import NewJob
from desktop_app.queue.reaper import reap


def job(tag: str = "python3", **kw: object) -> NewJob:
    return NewJob(kind="script", tag=tag, created_by="tester", **kw)  # type: ignore[arg-type]


async def connect(url: str) -> AsyncConnection:
    return await AsyncConnection.connect(url, autocommit=True)


async def test_claim_order_tags_and_schedule(database_url: str) -> None:
    conn = await connect(database_url)
    later = datetime.now(UTC) + timedelta(hours=1)
    low = await queue.push(conn, job(args={"n": "low"}))
    high = await queue.push(conn, job(args={"n": "high"}, priority=5))
    await queue.push(conn, job(args={"n": "future"}, scheduled_for=later))
    await queue.push(conn, job(tag="bash", args={"n": "bash"}))
    first = await queue.claim(conn, "w1", ["python3"])
    second = await queue.claim(conn, "w1", ["python3"])
    third = await queue.claim(conn, "w1", ["python3"])
    assert [first[0].id, second[0].id] == [high, low]
    assert third == []  # the future one is not due, the bash one has another tag
    assert (await queue.claim(conn, "w1", ["bash"]))[0].args == {"n": "bash"}
    await conn.close()


async def test_concurrent_claims_never_share_a_job(database_url: str) -> None:
    setup = await connect(database_url)
    await queue.push_many(setup, [job(args={"i": i}) for i in range(200)])
    conns = [await connect(database_url) for _ in range(4)]

    async def drain(c: AsyncConnection) -> list[str]:
        got: list[str] = []
        while batch := await queue.claim(c, "w", ["python3"], limit=7):
            got += [str(j.id) for j in batch]
        return got

    results = await asyncio.gather(*(drain(c) for c in conns))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    for c in [setup, *conns]:
        await c.close()


async def test_complete_moves_job_to_history_in_one_step(database_url: str) -> None:
    conn = await connect(database_url)
    job_id = await queue.push(conn, job(args={"x": 1}))
    (_claimed,) = await queue.claim(conn, "w1", ["python3"])
    await append_log(conn, job_id, 0, "hello ")
    await append_log(conn, job_id, 1, "world\n")
    assert await read_logs(conn, job_id) == "hello world\n"
    assert await read_logs(conn, job_id, offset=6) == "world\n"
    assert await queue.complete(conn, job_id, JobStatus.SUCCESS, {"ok": True})
    assert not await queue.complete(conn, job_id, JobStatus.FAILURE, None)  # not twice
    row = await (await conn.execute(
        "SELECT status, result, args, worker, duration_ms >= 0 FROM job_completed WHERE id = %s",
        (job_id,))).fetchone()
    assert row == ("success", {"ok": True}, {"x": 1}, "w1", True)
    assert await (await conn.execute("SELECT count(*) FROM job_queue")).fetchone() == (0,)
    await conn.close()


async def test_cancel_queued_and_running(database_url: str) -> None:
    conn = await connect(database_url)
    queued = await queue.push(conn, job())
    fin = await queue.request_cancel(conn, queued, "alice", "not needed")
    assert isinstance(fin, queue.Finished) and fin.status == JobStatus.CANCELED
    row = await (await conn.execute("SELECT status, result FROM job_completed WHERE id = %s",
                                    (queued,))).fetchone()
    assert row is not None and row[0] == "canceled" and "not needed" in row[1]["error"]["message"]
    running = await queue.push(conn, job())
    await queue.claim(conn, "w1", ["python3"])
    listener = await connect(database_url)
    await listener.execute("LISTEN tidemill_cancel")
    assert await queue.request_cancel(conn, running, "bob", None) == "running"
    note = await anext(listener.notifies(timeout=5))
    assert note.payload == str(running)
    assert await queue.heartbeat(conn, running) is True  # the worker learns on its next ping
    await listener.close()
    await conn.close()


async def test_reaper_retries_or_fails_jobs_of_dead_workers(database_url: str) -> None:
    conn = await connect(database_url)
    retry = await queue.push(conn, job(max_retries=1))
    final = await queue.push(conn, job())
    alive = await queue.push(conn, job())
    await queue.claim(conn, "dead-worker", ["python3"], limit=2)
    await queue.claim(conn, "live-worker", ["python3"])
    await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'"
                       " WHERE worker = 'dead-worker'")
    acted = await reap(conn, stale_after_s=10)
    assert set(acted) == {retry, final}
    row = await (await conn.execute("SELECT running, attempt FROM job_queue WHERE id = %s",
                                    (retry,))).fetchone()
    assert row == (False, 1)
    row = await (await conn.execute("SELECT status, result->'error'->>'name' FROM job_completed"
                                    " WHERE id = %s", (final,))).fetchone()
    assert row == ("failure", "WorkerLost")
    assert "stopped heartbeating" in await read_logs(conn, final)
    assert await (await conn.execute("SELECT running FROM job_queue WHERE id = %s",
                                     (alive,))).fetchone() == (True,)
    await conn.close()


async def test_reaper_fails_job_past_its_timeout(database_url: str) -> None:
    conn = await connect(database_url)
    job_id = await queue.push(conn, job(timeout_s=1))
    await queue.claim(conn, "wedged", ["python3"])
    await conn.execute("UPDATE job_queue SET started_at = now() - interval '1 minute'")
    assert await reap(conn, stale_after_s=60, grace_s=1) == [job_id]
    row = await (await conn.execute("SELECT result->'error'->>'name' FROM job_completed")).fetchone()
    assert row == ("Timeout",)
    await conn.close()


async def test_push_is_transactional_and_notifies_on_commit(database_url: str) -> None:
    conn = await connect(database_url)
    listener = await connect(database_url)
    await listener.execute("LISTEN tidemill_queue")
    async with conn.transaction():
        await queue.push(conn, job(tag="bash"))
    note = await anext(listener.notifies(timeout=5))
    assert note.payload == "bash"
    try:
        async with conn.transaction():
            await queue.push(conn, job())
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert await (await conn.execute("SELECT count(*) FROM job_queue")).fetchone() == (1,)
    await listener.close()
    await conn.close()


def test_migrations_are_idempotent(database_url: str) -> None:
    from alembic.script import ScriptDirectory

    from desktop_app.db.migrate import alembic_config, migrate

    migrate(database_url)  # already at head: nothing to do, no error
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    with psycopg.connect(database_url) as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
