"""The job history's keyset cursor and pausing the workers, through the HTTP API."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon


@pytest.mark.api_only
def test_cursor_pages_through_jobs_with_equal_timestamps_once_each(
        daemon: RunningDaemon, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO job_completed (id, kind, script_path, tag, created_by, permissioned_as,"
            " created_at, status) SELECT gen_random_uuid(), 'script', 'f/x/y', 'default',"
            " 'admin', 'u/admin', now() - make_interval(secs => i / 10), 'success'"
            " FROM generate_series(1, 95) AS i")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"per_page": 20}
        if cursor:
            params["cursor"] = cursor
        r = daemon.api("GET", "jobs/list", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [j["id"] for j in page]
        if len(page) < 20:
            break
        cursor = f"{page[-1]['created_at']},{page[-1]['id']}"
    assert len(seen) == 95 and len(set(seen)) == 95
    offset_order = [j["id"] for j in daemon.api("GET", "jobs/list",
                                                params={"per_page": 100}).json()]
    assert seen == offset_order


@pytest.mark.api_only
def test_a_bad_cursor_says_what_it_should_be(daemon: RunningDaemon) -> None:
    r = daemon.api("GET", "jobs/list", params={"cursor": "yesterday"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert "'cursor' must be '<created_at>,<job id>'" in err["message"]
    assert err["field"] == "cursor"


def test_paused_workers_claim_nothing_until_resumed(daemon: RunningDaemon) -> None:
    daemon.deploy("f/x/hello", "def main():\n    return 'hi'\n")
    with daemon.http() as c:
        assert c.post("/api/workers/pause").status_code == 200
        assert c.get("/api/workers/status").json()["paused"] is True
        job_id = daemon.api("POST", "jobs/run/p/f/x/hello", json={}).text
        time.sleep(1.5)
        job = daemon.api("GET", f"jobs_u/get/{job_id}").json()
        assert job["type"] == "QueuedJob" and not job["running"]
        assert c.get("/api/workers/status").json()["queued_jobs"] == 1
        assert c.post("/api/workers/resume").status_code == 200
        assert daemon.wait_job(job_id, timeout=30)["result"] == "hi"
        assert c.get("/api/workers/status").json()["paused"] is False
