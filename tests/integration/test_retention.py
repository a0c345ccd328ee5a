"""Retention against a real PostgreSQL: a round deletes what the policy says, in batches,
with the logs; running jobs, young jobs and the steps of running flows stay; a script's
`delete_after_secs` clears arguments, result and logs but keeps the row."""

from __future__ import annotations

import time
import uuid

import pytest
from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.db import workspace_settings
from desktop_app.queue import queue
from desktop_app.queue.logs import append_log, read_logs
from desktop_app.queue.model import NewJob
from desktop_app.queue.retention import prune


def job(**kw: object) -> NewJob:
    return NewJob(kind="script", tag="bash", created_by="tester", **kw)  # type: ignore[arg-type]


async def finished(conn: AsyncConnection, status: JobStatus, age_s: float, **kw: object) -> uuid.UUID:
    job_id = await queue.push(conn, job(**kw))
    await queue.claim(conn, "w1", ["bash"])
    await append_log(conn, job_id, 0, f"log of {job_id}\n")
    await queue.complete(conn, job_id, status, {"ok": status == JobStatus.SUCCESS})
    await conn.execute("UPDATE job_completed SET created_at = now() - make_interval(secs => %s),"
                       " completed_at = now() - make_interval(secs => %s) WHERE id = %s",
                       (age_s, age_s, job_id))
    return job_id


async def exists(conn: AsyncConnection, job_id: uuid.UUID) -> bool:
    row = await (await conn.execute(
        "SELECT count(*) FROM (SELECT id FROM job_completed WHERE id = %s"
        " UNION ALL SELECT id FROM job_queue WHERE id = %s) j", (job_id, job_id))).fetchone()
    return bool(row and row[0])


async def test_a_round_deletes_old_jobs_and_logs_and_leaves_the_rest(database_url: str) -> None:
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    await workspace_settings.update(conn, "main", {"keep_success_secs": 1, "keep_failure_secs": 60})
    old_ok = [await finished(conn, JobStatus.SUCCESS, 5) for _ in range(7)]
    old_failed = await finished(conn, JobStatus.FAILURE, 5)  # failures are kept 60 s
    older_failed = await finished(conn, JobStatus.CANCELED, 120)
    young = await finished(conn, JobStatus.SUCCESS, 0)
    other_ws = await finished(conn, JobStatus.SUCCESS, 5, workspace_id="other")  # default: 30 d
    running = await queue.push(conn, job())
    await queue.claim(conn, "w1", ["bash"])
    await append_log(conn, running, 0, "still running\n")
    await conn.execute("UPDATE job_queue SET created_at = now() - interval '1 day' WHERE id = %s",
                       (running,))
    flow = await queue.push(conn, NewJob(kind="flow", tag="flow", created_by="tester"))
    step = await finished(conn, JobStatus.SUCCESS, 5, parent_job=flow, root_job=flow)

    report = await prune(conn, batch=3, pause_s=0)

    assert report.deleted_jobs == 8 and report.batches >= 3  # 7 + the canceled one, 3 a batch
    for gone in [*old_ok, older_failed]:
        assert not await exists(conn, gone)
        assert await read_logs(conn, gone) == ""
    for kept in (old_failed, young, other_ws, running, step, flow):
        assert await exists(conn, kept), kept
    assert await read_logs(conn, running) == "still running\n"
    assert await read_logs(conn, step) == f"log of {step}\n"
    again = await prune(conn, pause_s=0)
    assert again.deleted_jobs == 0  # one round did it all
    await conn.close()


async def test_delete_after_secs_clears_a_scripts_runs(database_url: str) -> None:
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    await conn.execute(
        "INSERT INTO scripts (workspace_id, hash, path, language, content, created_by, extra)"
        " VALUES ('main', 'h1', 'f/x/private', 'bash', 'echo', 't', '{\"delete_after_secs\": 2}'),"
        "        ('main', 'h2', 'f/x/plain', 'bash', 'echo', 't', '{}')")
    spent = await finished(conn, JobStatus.SUCCESS, 10, script_path="f/x/private",
                           script_hash="h1", args={"password": "hunter2"})
    fresh = await finished(conn, JobStatus.SUCCESS, 0, script_path="f/x/private",
                           script_hash="h1", args={"password": "x"})
    plain = await finished(conn, JobStatus.SUCCESS, 10, script_path="f/x/plain",
                           script_hash="h2", args={"a": 1})
    report = await prune(conn, pause_s=0)
    assert report.cleared_jobs == 1 and report.deleted_jobs == 0
    row = await (await conn.execute(
        "SELECT args, result, extra->'deleted_after_use' FROM job_completed WHERE id = %s",
        (spent,))).fetchone()
    assert row == ({}, None, True)
    assert await read_logs(conn, spent) == ""
    for kept in (fresh, plain):
        assert await read_logs(conn, kept) == f"log of {kept}\n"
    assert (await prune(conn, pause_s=0)).cleared_jobs == 0
    await conn.close()


async def test_pruning_holds_back_while_the_queue_is_behind(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs due and unclaimed beyond BACKLOG: each batch waits (up to BACKLOG_WAIT_S) for the
    workers first, and the round still ends; the queue's jobs are never touched."""
    from desktop_app.queue import retention

    monkeypatch.setattr(retention, "BACKLOG_WAIT_S", 2.0)
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    await workspace_settings.update(conn, "main", {"keep_success_secs": 1})
    old = [await finished(conn, JobStatus.SUCCESS, 5) for _ in range(6)]
    waiting = [await queue.push(conn, NewJob(kind="script", tag="nobody", created_by="tester"))
               for _ in range(retention.BACKLOG + 1)]

    t0 = time.monotonic()
    report = await prune(conn, batch=2, pause_s=0.001)
    behind_s = time.monotonic() - t0
    assert report.deleted_jobs == 6 and report.batches == 3
    assert behind_s >= 3 * 2.0  # it waited after each batch (three 2-row batches alone: ms)
    assert all([await exists(conn, j) for j in waiting])  # pruning never touches the queue

    await conn.execute("DELETE FROM job_queue WHERE id = ANY(%s)", (waiting[:2],))  # caught up
    more = [await finished(conn, JobStatus.SUCCESS, 5) for _ in range(6)]
    report = await prune(conn, batch=2, pause_s=0.001)
    assert report.deleted_jobs == 6 and not any([await exists(conn, j) for j in [*old, *more]])
    await conn.close()
