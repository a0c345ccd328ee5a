"""What a worker does when the database will not take a job's outcome as it is: the job
still ends (with its result, or failed with the reason) and the worker runs the next one.
Before, the completion's error killed the worker process, and the job failed seconds later
as "worker lost", its cause hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import AsyncConnection

from desktop_app.queue.logs import read_logs
from tests.support.worker_run import python_jobs, run_on_a_worker

pytestmark = pytest.mark.db


async def test_a_result_with_a_nul_character_completes_and_the_worker_lives_on(
        database_url: str, tmp_path: Path) -> None:
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    try:
        jobs = python_jobs("def main():\n    return {'text': 'a\\x00b'}\n",
                           "def main():\n    return 'next'\n")
        rows = await run_on_a_worker(conn, database_url, tmp_path / "home", jobs, name="w-nul")
        assert rows[jobs[0].id] == ("success", {"text": "a\\u0000b"})  # jsonb holds no NUL
        assert rows[jobs[1].id] == ("success", "next")
    finally:
        await conn.close()


async def test_an_outcome_the_database_refuses_fails_its_job_with_the_cause(
        database_url: str, tmp_path: Path) -> None:
    # Any error but a lost connection, met while recording an outcome: the job ends failed
    # with the database's reason in its result and log; the worker runs the next job.
    conn = await AsyncConnection.connect(database_url, autocommit=True)
    try:
        await conn.execute(
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.result ? 'boom' THEN RAISE EXCEPTION 'results may not say boom'; END IF;"
            " RETURN NEW; END $$")
        await conn.execute("CREATE TRIGGER refuse_boom BEFORE INSERT ON job_completed"
                           " FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        jobs = python_jobs("def main():\n    print('working')\n    return {'boom': 1}\n",
                           "def main():\n    return 'next'\n")
        rows = await run_on_a_worker(conn, database_url, tmp_path / "home", jobs,
                                     name="w-refused")
        status, result = rows[jobs[0].id]
        assert status == "failure" and result["error"]["name"] == "CompletionFailed"
        assert "results may not say boom" in result["error"]["message"]
        log = await read_logs(conn, jobs[0].id)
        assert "working" in log and "recording this job's outcome failed" in log
        assert rows[jobs[1].id] == ("success", "next")
    finally:
        await conn.close()
