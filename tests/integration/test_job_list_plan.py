"""The job lists (the Runs view, `jobs/list`) stay quick on a long history: a page reads the
newest rows of each table off the `(workspace_id, created_at, id)` index and merges them,
instead of sorting every completed job (db/jobs.py `list_query`). Measured at 1,000,000
jobs by tests/benchmarks/bench_history_scale.py: 0.9-1.3 s a first page before."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import psycopg
from psycopg import AsyncConnection

from desktop_app.db import jobs as job_reads
from desktop_app.db.jobs import JobFilter, list_query
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob

ROWS = 30_000  # enough history that a sort of all of it is the plan to avoid


def _history(conn: psycopg.Connection) -> None:
    # One job a second, the newest a minute ago; every tenth a flow step.
    conn.execute(
        "INSERT INTO job_completed (id, kind, tag, created_by, permissioned_as, status,"
        "                           created_at, completed_at, parent_job)"
        " SELECT gen_random_uuid(), 'script', 'python3', 'u', 'u', 'success',"
        "        now() - make_interval(secs => 60 + n), now() - make_interval(secs => 60 + n),"
        "        CASE WHEN n %% 10 = 0 THEN gen_random_uuid() END"
        "   FROM generate_series(1, %s) n", (ROWS,))
    conn.execute("ANALYZE job_completed")


def _plan(conn: psycopg.Connection, f: JobFilter) -> str:
    query = list_query("main", f)
    assert query is not None
    return "\n".join(r[0] for r in conn.execute("EXPLAIN " + query[0], query[1]).fetchall())


def test_a_page_of_jobs_reads_the_newest_rows_off_the_index(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        _history(conn)
        newest = conn.execute("SELECT created_at, id FROM job_completed"
                              " ORDER BY created_at DESC, id DESC LIMIT 1").fetchone()
        assert newest is not None
        for f in (JobFilter(per_page=100),  # the Runs view's first page
                  JobFilter(per_page=100, top_level=True),  # runs, without flow steps
                  JobFilter(per_page=100, before=(newest[0], newest[1])),  # the next page
                  JobFilter(per_page=30, page=3),  # Windmill's page numbers
                  JobFilter(per_page=100, success=True),  # completed jobs only
                  JobFilter(per_page=100, only="completed")):
            plan = _plan(conn, f)
            assert "Seq Scan on job_completed" not in plan, plan
            assert "job_completed_keyset" in plan, plan


def test_pages_are_the_newest_jobs_of_both_tables_in_order(database_url: str) -> None:
    async def check() -> None:
        async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute(
                "INSERT INTO job_completed (id, kind, tag, created_by, permissioned_as, status,"
                "                           created_at, completed_at)"
                " SELECT gen_random_uuid(), 'script', 'python3', 'u', 'u', 'success',"
                "        now() - make_interval(secs => 2 * n), now()"
                "   FROM generate_series(1, 40) n")
            # queued jobs between the completed ones in time
            for k in range(5):
                job = NewJob(kind="script", tag="python3", created_by="u")
                await queue.push(conn, job)
                await conn.execute("UPDATE job_queue SET created_at = now() - %s WHERE id = %s",
                                   (timedelta(seconds=4 * k + 1), job.id))
            cur = await conn.execute(
                "SELECT id FROM (SELECT created_at, id FROM job_queue UNION ALL"
                "                SELECT created_at, id FROM job_completed) j"
                " ORDER BY created_at DESC, id DESC")
            expected = [r[0] for r in await cur.fetchall()]
            assert len(expected) == 45
            pages = [[r["id"] for r in await job_reads.list_jobs(
                conn, "main", JobFilter(per_page=10, page=p))] for p in range(1, 6)]
            assert [i for page in pages for i in page] == expected
            rows = await job_reads.list_jobs(conn, "main", JobFilter(per_page=10))
            after = await job_reads.list_jobs(conn, "main", JobFilter(
                per_page=10, before=(rows[-1]["created_at"], rows[-1]["id"])))
            assert [r["id"] for r in after] == expected[10:20]
            # one table only: completed, or queued
            done = await job_reads.list_jobs(conn, "main", JobFilter(per_page=50, success=True))
            assert len(done) == 40 and all(r["completed"] for r in done)
            waiting = await job_reads.list_jobs(conn, "main", JobFilter(only="queue"))
            assert len(waiting) == 5 and not any(r["completed"] for r in waiting)
            assert [r["id"] for r in waiting] == [i for i in expected
                                                  if i in {r["id"] for r in waiting}]

    asyncio.run(check())
