"""A job's log survives the heartbeat's flush being in flight when the job ends.

The heartbeat task writes the job's output every `log_flush_s`. When the job's process
exits, the worker used to cancel that task wherever it was: an INSERT that the server had
already committed, cancelled before the worker noted it, left the log buffer's chunk
counter behind. The final flush then wrote the same chunk number again, the unique key
refused it, and the worker process died, so the job failed as "worker lost" (seen in
`bench_workflows.py`: a 40-step workflow, 1 run in a few dozen).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import AsyncConnection

from desktop_app.queue.logs import read_logs
from tests.support.worker_run import python_jobs, run_on_a_worker

pytestmark = pytest.mark.db

LINES = 400
# Prints without pause until its very end, so a flush is nearly always on the wire.
CHATTY = (f"import sys\nfor i in range({LINES}):\n    print(f'line {{i}}', flush=True)\n"
          "def main():\n    return 'done'\n")


async def test_every_job_ends_with_its_whole_log_once_while_flushes_are_in_flight(
        database_url: str, tmp_path: Path) -> None:
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    try:
        jobs = python_jobs(*[CHATTY] * 30)
        # A flush every 2 ms: the worker's cancel at a job's end meets one in flight.
        rows = await run_on_a_worker(conn, database_url, tmp_path / "home", jobs,
                                     name="w-flush", log_flush_s=0.002)
        assert all(status == "success" for status, _ in rows.values()), rows
        expected = "".join(f"line {i}\n" for i in range(LINES))
        for job in jobs:
            text = await read_logs(conn, job.id)
            assert text.count("line 0\n") == 1 and expected in text, text[-300:]
    finally:
        await conn.close()
