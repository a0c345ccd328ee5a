"""kill -9 the daemon in the middle of flows; after a restart they complete, every step once."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.e2e.flow_helpers import flow, js, sh


def _steps_done(url: str, flow_id: str) -> int:
    with psycopg.connect(url) as c:
        row = c.execute("SELECT count(*) FROM job_completed WHERE root_job = %s", (flow_id,)).fetchone()
    return int(row[0]) if row else 0


def _assert_each_step_once(url: str, root: str, expected_steps: int) -> None:
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT extra->>'flow_step_id', parent_job, status"
                         " FROM job_completed WHERE root_job = %s AND kind <> 'flow'",
                         (root,)).fetchall()
    # a step is identified by its id within its parent (an iteration has its own parent)
    ok = collections.Counter((r[0], r[1]) for r in rows if r[2] == "success")
    assert len(ok) == expected_steps and set(ok.values()) == {1}, ok


@pytest.mark.timeout(240)
def test_kill9_daemon_mid_sequential_flow(daemon: RunningDaemon, tmp_path: Path) -> None:
    out = tmp_path / "steps.txt"
    steps = [sh(f"s{i:02d}", f'sleep 0.15\necho s{i:02d} >> {out}\necho {i}\n') for i in range(20)]
    daemon.api("POST", "flows/create", json={"path": "f/crash/seq", **flow(*steps)})
    flow_id = daemon.api("POST", "jobs/run/f/f/crash/seq", json={}).text
    assert daemon.database_url
    deadline = time.monotonic() + 60
    while _steps_done(daemon.database_url, flow_id) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    daemon.kill9()
    daemon.port = free_port()
    daemon.start()
    job = daemon.wait_job(flow_id, timeout=150)
    assert job["success"] and job["result"] == "19"
    _assert_each_step_once(daemon.database_url, flow_id, 20)
    lines = collections.Counter(out.read_text().split())
    assert set(lines) == {f"s{i:02d}" for i in range(20)}
    # only a step killed after its write but before its completion can show twice
    assert sum(n - 1 for n in lines.values()) <= 1


@pytest.mark.timeout(240)
def test_kill9_daemon_mid_parallel_loop(daemon: RunningDaemon, tmp_path: Path) -> None:
    loop = {"id": "loop", "value": {"type": "forloopflow", "iterator": js("flow_input.items"),
                                    "skip_failures": False, "parallel": True,
                                    "modules": [sh("work", 'v="$1"\nsleep 0.1\necho $((v * 2))\n',
                                                   v=js("flow_input.iter.value"))]}}
    daemon.api("POST", "flows/create", json={"path": "f/crash/par", **flow(loop)})
    flow_id = daemon.api("POST", "jobs/run/f/f/crash/par", json={"items": list(range(30))}).text
    assert daemon.database_url
    deadline = time.monotonic() + 60
    while _steps_done(daemon.database_url, flow_id) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    daemon.kill9()
    daemon.port = free_port()
    daemon.start()
    job = daemon.wait_job(flow_id, timeout=150)
    assert job["success"] and job["result"] == [str(v * 2) for v in range(30)]
    _assert_each_step_once(daemon.database_url, flow_id, 30)
