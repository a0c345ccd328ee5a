"""Run queued jobs on a real `Worker` in the test's own event loop (real PostgreSQL, real
job processes), for tests that need to see a worker survive what its jobs do."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection

from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from desktop_app.worker.worker import Worker


def python_jobs(*codes: str) -> list[NewJob]:
    """Preview jobs (raw Python code) run as the admin."""
    return [NewJob(kind="preview", tag="python3", created_by="test", permissioned_as="u/admin",
                   language="python3", raw_code=code) for code in codes]


async def run_on_a_worker(conn: AsyncConnection[Any], database_url: str, home: Path,
                          jobs: list[NewJob], timeout_s: float = 120, **worker_options: Any,
                          ) -> dict[uuid.UUID, tuple[str, Any]]:
    """Queue `jobs`, run a worker until all have completed, stop it; each job's (status,
    result). Fails if the worker process's loop died on the way."""
    await queue.push_many(conn, jobs)
    worker = Worker(database_url, home, poll_s=0.05, **worker_options)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    rows: dict[uuid.UUID, tuple[str, Any]] = {}
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline and not running.done():
            cur = await conn.execute("SELECT id, status, result FROM job_completed"
                                     " WHERE id = ANY(%s)", ([j.id for j in jobs],))
            rows = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
            if len(rows) == len(jobs):
                break
            await asyncio.sleep(0.1)
        assert not running.done(), f"the worker died: {running.exception()!r}"
        assert len(rows) == len(jobs), f"{len(jobs) - len(rows)} jobs did not complete"
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
    return rows
