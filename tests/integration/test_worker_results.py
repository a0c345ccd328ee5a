"""A result PostgreSQL cannot store as it is (a NUL character) still ends its job, and the
worker runs the next one. Before, the completion failed with a DataError, the worker
process died, and the job failed seconds later as "worker lost", its cause hidden."""

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


async def test_a_result_with_a_nul_character_completes_and_the_worker_lives_on(
        database_url: str, tmp_path: Path) -> None:
    setup = await AsyncConnection.connect(database_url, autocommit=True)
    codes = ["def main():\n    return {'text': 'a\\x00b'}\n", "def main():\n    return 'next'\n"]
    jobs = [NewJob(kind="preview", tag="python3", created_by="test", permissioned_as="u/admin",
                   language="python3", raw_code=code) for code in codes]
    await queue.push_many(setup, jobs)
    worker = Worker(database_url, tmp_path / "home", name="w-nul", poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        rows: dict = {}
        for _ in range(600):
            cur = await setup.execute("SELECT id, status, result FROM job_completed"
                                      " WHERE id = ANY(%s)", ([j.id for j in jobs],))
            rows = {r[0]: r[1:] for r in await cur.fetchall()}
            if len(rows) == len(jobs) or running.done():
                break
            await asyncio.sleep(0.1)
        assert not running.done(), f"the worker died: {running.exception()!r}"
        assert rows[jobs[0].id] == ("success", {"text": "a\\u0000b"})
        assert rows[jobs[1].id] == ("success", "next")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await setup.close()


async def test_an_outcome_the_database_refuses_fails_its_job_with_the_cause(
        database_url: str, tmp_path: Path) -> None:
    # Any error but a lost connection, met while recording an outcome: the job ends failed
    # with the database's reason in its result and log; the worker runs the next job.
    setup = await AsyncConnection.connect(database_url, autocommit=True)
    await setup.execute(
        "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.result ? 'boom' THEN RAISE EXCEPTION 'results may not say boom'; END IF;"
        " RETURN NEW; END $$")
    await setup.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON job_completed"
                        " FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
    codes = ["def main():\n    print('working')\n    return {'boom': 1}\n",
             "def main():\n    return 'next'\n"]
    jobs = [NewJob(kind="preview", tag="python3", created_by="test", permissioned_as="u/admin",
                   language="python3", raw_code=code) for code in codes]
    await queue.push_many(setup, jobs)
    worker = Worker(database_url, tmp_path / "home", name="w-refused", poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        rows: dict = {}
        for _ in range(600):
            cur = await setup.execute("SELECT id, status, result FROM job_completed"
                                      " WHERE id = ANY(%s)", ([j.id for j in jobs],))
            rows = {r[0]: r[1:] for r in await cur.fetchall()}
            if len(rows) == len(jobs) or running.done():
                break
            await asyncio.sleep(0.1)
        assert not running.done(), f"the worker died: {running.exception()!r}"
        status, result = rows[jobs[0].id]
        assert status == "failure" and result["error"]["name"] == "CompletionFailed"
        assert "results may not say boom" in result["error"]["message"]
        log = await read_logs(setup, jobs[0].id)
        assert "working" in log and "recording this job's outcome failed" in log
        assert rows[jobs[1].id] == ("success", "next")
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await setup.close()
