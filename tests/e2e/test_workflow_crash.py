"""kill -9 the daemon while a workflow waits on 3 running tasks; after a restart it
completes and each task ran once."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import psycopg
import pytest

from tests.e2e.daemon_harness import RunningDaemon, free_port


@pytest.mark.timeout(240)
def test_kill9_daemon_while_workflow_waits_on_tasks(daemon: RunningDaemon, tmp_path: Path) -> None:
    out = tmp_path / "ran"
    out.mkdir()
    daemon.deploy("f/wac/crash", (
        "import asyncio, os, time\nfrom wmill import task, workflow\n\n"
        f"OUT = {str(out)!r}\n\n"
        "@task\nasync def slow(i: int):\n    time.sleep(2)\n"
        "    open(os.path.join(OUT, f'{i}-{os.getpid()}'), 'w').close()\n    return i\n\n"
        "@workflow\nasync def main():\n"
        "    return sum(await asyncio.gather(slow(1), slow(2), slow(3)))\n"))
    wf = daemon.api("POST", "jobs/run/p/f/wac/crash", json={}).text
    assert daemon.database_url
    deadline = time.monotonic() + 60
    with psycopg.connect(daemon.database_url, autocommit=True) as c:
        while time.monotonic() < deadline:
            row = c.execute("SELECT count(*) FROM job_queue WHERE parent_job = %s AND running",
                            (wf,)).fetchone()
            if row and row[0] >= 2:
                break
            time.sleep(0.05)
    daemon.kill9()
    daemon.port = free_port()
    daemon.start()
    job = daemon.wait_job(wf, timeout=180)
    assert job["success"] and job["result"] == 6
    done = collections.Counter(p.name.split("-")[0] for p in out.iterdir())
    assert set(done) == {"1", "2", "3"}
    with psycopg.connect(daemon.database_url) as c:
        ok = c.execute("SELECT step_key FROM wac_checkpoints WHERE workflow_id = %s",
                       (wf,)).fetchall()
    assert sorted(k for (k,) in ok) == ["slow", "slow_2", "slow_3"]
