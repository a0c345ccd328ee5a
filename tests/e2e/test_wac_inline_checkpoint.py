"""The SDK's inline `step()` checkpoint (POST jobs/wac/inline_checkpoint/{id}), recorded in
one statement: once per key, and only for a workflow still in the queue."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon

pytestmark = pytest.mark.api_only


def test_a_step_is_recorded_once_and_only_for_a_running_workflow(
        daemon: RunningDaemon, database_url: str) -> None:
    daemon.deploy("f/wac/body", "def main():\n    return 1\n")
    r = daemon.api("POST", "jobs/run/p/f/wac/body", json={})
    assert r.status_code == 201, r.text
    job = r.text
    first = daemon.api("POST", f"jobs/wac/inline_checkpoint/{job}",
                       json={"key": "s0", "result": {"n": 1}, "duration_ms": 3,
                             "started_at": "2026-12-07T05:00:00Z"})
    assert first.status_code == 200, first.text
    again = daemon.api("POST", f"jobs/wac/inline_checkpoint/{job}",
                       json={"key": "s0", "result": {"n": 2}})
    assert again.status_code == 200, again.text
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT step_key, result, duration_ms, started_at IS NOT NULL"
                            " FROM wac_checkpoints WHERE workflow_id = %s", (job,)).fetchall()
    assert rows == [("s0", {"n": 1}, 3, True)]  # the first record stands
    unknown = daemon.api("POST", f"jobs/wac/inline_checkpoint/{uuid.uuid4()}",
                         json={"key": "s0", "result": 1})
    assert unknown.status_code == 404, unknown.text
    r = daemon.api("POST", f"jobs_u/queue/cancel/{job}", json={"reason": "test"})
    assert r.status_code == 200, r.text
    ended = daemon.api("POST", f"jobs/wac/inline_checkpoint/{job}", json={"key": "s9", "result": 1})
    assert ended.status_code == 404 and "not running" in ended.text, ended.text
    other_ws = daemon.http().post(f"/api/w/other/jobs/wac/inline_checkpoint/{job}",
                                  json={"key": "s1", "result": 1})
    assert other_ws.status_code in (403, 404), other_ws.text
