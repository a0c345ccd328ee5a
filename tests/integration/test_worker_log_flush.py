"""A job's log survives the heartbeat's flush being in flight when the job ends.

The heartbeat task writes the job's output every `log_flush_s`. When the job's process
exits, the worker used to cancel that task wherever it was: an INSERT that the server had
already committed, cancelled before the worker noted it, left the log buffer's chunk
counter behind. The final flush then wrote the same chunk number again, the unique key
refused it, and the worker process died, so the job failed as "worker lost" (seen in
`bench_workflows.py`: a 40-step workflow, 1 run in a few dozen).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from psycopg import AsyncConnection

from desktop_app.queue import queue
from desktop_app.queue.logs import read_logs
from desktop_app.queue.model import NewJob
from desktop_app.worker.worker import Worker

pytestmark = pytest.mark.db

LINES = 400
# Prints without pause until its very end, so a flush is nearly always on the wire.
CHATTY = (f"import sys\nfor i in range({LINES}):\n    print(f'line {{i}}', flush=True)\n"
          "def main():\n    return 'done'\n")


async def test_every_job_ends_with_its_whole_log_once_while_flushes_are_in_flight(
        database_url: str, tmp_path: Path) -> None:
    setup = await AsyncConnection.connect(database_url, autocommit=True)
    jobs = [NewJob(kind="preview", tag="python3", created_by="test", permissioned_as="u/admin",
                   language="python3", raw_code=CHATTY) for _ in range(30)]
    await queue.push_many(setup, jobs)
    # A flush every 2 ms: the worker's cancel at a job's end meets one in flight.
    worker = Worker(database_url, tmp_path / "home", name="w-flush", log_flush_s=0.002,
                    poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        for _ in range(1200):
            cur = await setup.execute("SELECT count(*) FROM job_completed WHERE id = ANY(%s)",
                                      ([j.id for j in jobs],))
            done = (await cur.fetchone())[0]
            if done == len(jobs) or running.done():
                break
            await asyncio.sleep(0.1)
        assert not running.done(), f"the worker died: {running.exception()!r}"
        cur = await setup.execute("SELECT id, status, result FROM job_completed WHERE id = ANY(%s)",
                                  ([j.id for j in jobs],))
        rows = await cur.fetchall()
        assert len(rows) == len(jobs)
        assert all(status == "success" for _, status, _ in rows), rows
        expected = "".join(f"line {i}\n" for i in range(LINES))
        for job in jobs:
            text = await read_logs(setup, job.id)
            assert text.count("line 0\n") == 1 and expected in text, text[-300:]
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await setup.close()
