"""The queue against a real PostgreSQL: ordering, concurrency, completion, cancel, reaping."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.queue import queue
from desktop_app.queue.logs import append_log, read_logs
from desktop_app.queue.model import NewJob
from desktop_app.queue.reaper import reap
from desktop_app.queue.run_folders import run_folder


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


async def _register(conn: AsyncConnection, name: str, pid: int, host: str | None = None) -> None:
    await conn.execute("INSERT INTO workers (name, hostname, pid, tags) VALUES (%s, %s, %s, '{}')",
                       (name, host or socket.gethostname(), pid))


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


async def _claim_and_start(conn: AsyncConnection, worker: str) -> None:
    (j,) = await queue.claim(conn, worker, ["python3"])
    assert await queue.mark_started(conn, worker, j.id, workspace="main", script_hash=None)


async def test_reaper_retries_or_fails_jobs_of_dead_workers(database_url: str) -> None:
    conn = await connect(database_url)
    await _register(conn, "dead-worker", _dead_pid())
    await _register(conn, "dead-worker-2", _dead_pid())
    await _register(conn, "live-worker", os.getpid())
    retry = await queue.push(conn, job(max_retries=1))
    await _claim_and_start(conn, "dead-worker")
    final = await queue.push(conn, job())
    await _claim_and_start(conn, "dead-worker-2")
    alive = await queue.push(conn, job())
    await _claim_and_start(conn, "live-worker")
    await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'")
    acted = await reap(conn, stale_after_s=10)
    assert set(acted) == {retry, final}
    row = await (await conn.execute("SELECT running, attempt FROM job_queue WHERE id = %s",
                                    (retry,))).fetchone()
    assert row == (False, 1)
    row = await (await conn.execute("SELECT status, result->'error'->>'name' FROM job_completed"
                                    " WHERE id = %s", (final,))).fetchone()
    assert row == ("failure", "WorkerLost")
    assert "stopped heartbeating" in await read_logs(conn, final)
    # its worker process is alive and runs it: a late ping is not a lost job
    assert await (await conn.execute("SELECT running FROM job_queue WHERE id = %s",
                                     (alive,))).fetchone() == (True,)
    await conn.close()


async def test_reaper_clears_a_lost_runs_folder_before_the_job_can_be_claimed(
        database_url: str, tmp_path: Path) -> None:
    """A worker of the same home may claim a re-queued job the moment the reaper commits:
    the lost run's folder is gone by then, and the reaper never touches another run's
    folder (seen in CI: a Bun task re-queued after a daemon's kill -9 failed with
    "args.json: No such file or directory" when both runs used `jobs/<id>`)."""
    conn = await connect(database_url)
    await _register(conn, "dead-worker", _dead_pid())
    jid = await queue.push(conn, job(max_retries=1))
    await _claim_and_start(conn, "dead-worker")
    await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'")
    folder = run_folder(tmp_path / "jobs", jid, "dead-worker")
    folder.mkdir(parents=True)
    for i in range(3000):  # a lost run's files: deleting them takes tens of milliseconds
        (folder / f"part-{i}").write_bytes(b"x")
    # Another worker of the home already runs the job again (the reaper of another daemon
    # on this database re-queued it): its folder is not the lost run's.
    taken_over = run_folder(tmp_path / "jobs", jid, "next-worker")
    taken_over.mkdir(parents=True)
    (taken_over / "args.json").write_text("{}")
    seen: list[bool] = []

    def next_worker() -> None:
        # What a claiming worker sees: the moment the re-queue is visible, is the old
        # folder still there?
        with psycopg.connect(database_url, autocommit=True) as c:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                row = c.execute("SELECT running FROM job_queue WHERE id = %s", (jid,)).fetchone()
                if row == (False,):
                    seen.append(folder.exists())
                    return

    watcher = threading.Thread(target=next_worker)
    watcher.start()
    await asyncio.sleep(0.2)  # the watcher is polling
    assert await reap(conn, stale_after_s=10, jobs_dir=tmp_path / "jobs") == [jid]
    watcher.join()
    assert seen == [False], "the lost run's folder was still there when the job could be claimed"
    assert (taken_over / "args.json").read_text() == "{}"
    assert await (await conn.execute("SELECT running, attempt FROM job_queue WHERE id = %s",
                                     (jid,))).fetchone() == (False, 1)
    await conn.close()


async def test_reaper_requeues_jobs_that_never_started(database_url: str) -> None:
    """A claimed job whose process never started goes back as it was — never WorkerLost:
    its worker died while preparing it, or claimed it and never got to it."""
    conn = await connect(database_url)
    await _register(conn, "died-preparing", _dead_pid())
    await _register(conn, "forgetful", os.getpid())
    await _register(conn, "far-away", 1, host="another-machine")
    await _register(conn, "far-away-alive", 1, host="another-machine")
    ids = [await queue.push(conn, job()) for _ in range(5)]
    await queue.claim(conn, "died-preparing", ["python3"])
    await queue.claim(conn, "forgetful", ["python3"])
    await queue.claim(conn, "never-registered", ["python3"])
    await queue.claim(conn, "far-away", ["python3"])
    await _claim_and_start(conn, "far-away-alive")
    await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'")
    await conn.execute("UPDATE workers SET last_ping = now() - interval '1 minute'"
                       " WHERE name = 'far-away'")
    acted = await reap(conn, stale_after_s=10)
    assert set(acted) == set(ids[:4])  # far-away-alive still pings its row: not gone
    rows = await (await conn.execute(
        "SELECT running, attempt, extra->>'never_started' FROM job_queue WHERE id = ANY(%s)",
        (ids[:4],))).fetchall()
    assert rows == [(False, 0, "1")] * 4
    assert await (await conn.execute("SELECT count(*) FROM job_completed")).fetchone() == (0,)
    assert "did not start it; queued again" in await read_logs(conn, ids[1])
    # a job whose workers keep dying before it starts ends, with a name saying so
    await conn.execute("UPDATE job_queue SET priority = 9 WHERE id = %s", (ids[0],))
    for _ in range(3):
        (j,) = await queue.claim(conn, "died-preparing", ["python3"])
        await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'"
                           " WHERE id = %s", (j.id,))
        await reap(conn, stale_after_s=10)
    row = await (await conn.execute("SELECT id, result->'error'->>'name' FROM job_completed"
                                    )).fetchone()
    assert row == (ids[0], "JobNeverStarted")
    await conn.close()


async def test_worker_completes_only_its_own_job(database_url: str) -> None:
    """A job re-queued and claimed by another worker is not completed by the first."""
    conn = await connect(database_url)
    await _register(conn, "w1", os.getpid())
    await _register(conn, "w2", os.getpid())
    job_id = await queue.push(conn, job())
    await queue.claim(conn, "w1", ["python3"])
    assert await queue.give_back(conn, "w1", [job_id]) == 1
    await queue.claim(conn, "w2", ["python3"])
    assert not await queue.mark_started(conn, "w1", job_id, workspace="main", script_hash=None)
    assert await queue.complete(conn, job_id, JobStatus.SUCCESS, 1, worker="w1") is None
    assert await queue.mark_started(conn, "w2", job_id, workspace="main", script_hash=None)
    assert await queue.complete(conn, job_id, JobStatus.SUCCESS, 2, worker="w2")
    row = await (await conn.execute("SELECT current_job, jobs_done FROM workers WHERE name = 'w2'"
                                    )).fetchone()
    assert row == (None, 1)
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


async def test_every_completion_runs_the_registered_handlers_in_its_transaction(
        database_url: str) -> None:
    """One completion path: a worker's completion, a cancel of a queued job and the
    reaper's all call the handlers registered with `on_complete`, inside the completing
    transaction (a rollback undoes both), once per job."""
    conn = await connect(database_url)
    await _register(conn, "w1", os.getpid())
    await _register(conn, "gone", _dead_pid())
    seen: list[tuple[str, str]] = []

    async def handler(c: AsyncConnection, fin: queue.Finished) -> None:
        # inside the completing transaction (the connection is in autocommit otherwise)
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        seen.append((str(fin.id), str(fin.status)))
        await c.execute("INSERT INTO settings (name, value) VALUES (%s, %s)",
                        (f"done-{fin.id}", str(fin.status)))

    queue.on_complete(handler)
    queue.on_complete(handler)  # registered once however often
    try:
        ran = await queue.push(conn, job())
        await queue.claim(conn, "w1", ["python3"])
        assert await queue.mark_started(conn, "w1", ran, workspace="main", script_hash=None)
        async with conn.transaction():
            await queue.complete(conn, ran, JobStatus.SUCCESS, 1, worker="w1")
        canceled = await queue.push(conn, job())
        async with conn.transaction():  # as the cancel route does
            await queue.request_cancel(conn, canceled, "alice", None)
        lost = await queue.push(conn, job())
        await _claim_and_start(conn, "gone")
        await conn.execute("UPDATE job_queue SET last_ping = now() - interval '1 minute'")
        await reap(conn, stale_after_s=10)
        rolled_back = await queue.push(conn, job())
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await queue.complete(conn, rolled_back, JobStatus.SUCCESS, 1)
                raise RuntimeError("the transaction fails after the completion")
    finally:
        queue._on_complete.remove(handler)
    assert [s for _, s in seen] == ["success", "canceled", "failure", "success"]
    rows = dict(await (await conn.execute(
        "SELECT name, value FROM settings WHERE name LIKE 'done-%'")).fetchall())
    assert rows == {f"done-{ran}": "success", f"done-{canceled}": "canceled",
                    f"done-{lost}": "failure"}  # the rolled-back one left nothing
    assert await (await conn.execute("SELECT count(*) FROM job_queue WHERE id = %s",
                                     (rolled_back,))).fetchone() == (1,)
    await conn.close()


async def test_a_result_keeps_the_scripts_column_order_beside_the_jsonb(database_url: str) -> None:
    """jsonb sorts keys (`age` before `name`); result_columns keeps the script's order,
    whether the worker hands over the value or its JSON text."""
    conn = await connect(database_url)
    rows = [{"name": "Ada", "age": 36, "zeta": True}, {"name": "Alan", "age": 41, "zeta": False}]
    by_value = await queue.push(conn, job())
    by_text = await queue.push(conn, job())
    plain = await queue.push(conn, job())
    await queue.claim(conn, "w1", ["python3"], limit=3)
    await queue.complete(conn, by_value, JobStatus.SUCCESS, rows)
    await queue.complete(conn, by_text, JobStatus.SUCCESS, None,
                         result_json='{"table-col": {"when": [1], "b": [2], "a": [3]}}')
    await queue.complete(conn, plain, JobStatus.SUCCESS, 42)
    got = dict(await (await conn.execute(
        "SELECT id, result_columns FROM job_completed")).fetchall())
    stored = await (await conn.execute(
        "SELECT result FROM job_completed WHERE id = %s", (by_value,))).fetchone()
    assert list(stored[0][0]) == ["age", "name", "zeta"]  # what jsonb gives back
    assert got == {by_value: ["name", "age", "zeta"], by_text: ["when", "b", "a"], plain: None}
    await conn.close()


async def test_a_completion_tells_its_waiters_a_small_result_and_only_the_id_of_a_long_one(
        database_url: str) -> None:
    # run_wait_result answers from the NOTIFY when the result fits in it (no query).
    from desktop_app.queue.notify import DONE_CHANNEL, DONE_RESULT_MAX_BYTES, parse_done

    conn = await connect(database_url)
    listener = await connect(database_url)
    await listener.execute(f"LISTEN {DONE_CHANNEL}")
    small = {"b": [1, 2.5, None], "a": "é ✓ with spaces"}
    long = "x" * (DONE_RESULT_MAX_BYTES + 1)
    jobs = [NewJob(kind="script", tag="python3", created_by="t") for _ in range(3)]
    for job in jobs:
        await queue.push(conn, job)
    await queue.complete(conn, jobs[0].id, JobStatus.SUCCESS, small)
    await queue.complete(conn, jobs[1].id, JobStatus.FAILURE, long)
    await queue.complete(conn, jobs[2].id, JobStatus.SUCCESS, None)
    told = []
    async for note in listener.notifies(stop_after=3, timeout=5):
        told.append(parse_done(note.payload))
    assert [t.job_id for t in told] == [j.id for j in jobs]
    assert (told[0].workspace, told[0].status, told[0].result) == ("main", "success", small)
    assert told[1].status is None and told[2].status == "success" and told[2].result is None
    await listener.close()
    await conn.close()


async def test_a_result_with_a_nul_character_is_stored_with_the_nul_written_out(
        database_url: str) -> None:
    # jsonb cannot hold NUL; the completion used to fail (and kill the worker).
    conn = await connect(database_url)
    jobs = [NewJob(kind="script", tag="python3", created_by="t") for _ in range(2)]
    for job in jobs:
        await queue.push(conn, job)
    await queue.complete(conn, jobs[0].id, JobStatus.SUCCESS, {"t": "a\x00b", "kept": "c\\u0000"})
    await queue.complete(conn, jobs[1].id, JobStatus.SUCCESS, None,
                         result_json='["\\u0000", "\\\\u0000", "\\\\\\u0000"]')
    rows = dict(await (await conn.execute(
        "SELECT id, result FROM job_completed WHERE id = ANY(%s)", ([j.id for j in jobs],))
    ).fetchall())
    assert rows[jobs[0].id] == {"t": "a\\u0000b", "kept": "c\\u0000"}
    # a NUL; a backslash then "u0000" (kept as it was); an escaped backslash then a NUL
    assert rows[jobs[1].id] == ["\\u0000", "\\u0000", "\\\\u0000"]
    await conn.close()
