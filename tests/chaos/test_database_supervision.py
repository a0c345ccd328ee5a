"""The daemon restarts its embedded PostgreSQL when it dies, and says so meanwhile."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from desktop_app.client.activity import ActivityWatch
from desktop_app.client.http import Connection, TidemillClient
from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import discard_server

SCRIPT = """import os, time

def main(log: str, s: float = 0):
    time.sleep(s)
    with open(log, "a") as f:
        f.write(os.environ["WM_JOB_ID"] + "\\n")
    return "ran"
"""


def _postmaster_pid(home: Path) -> int:
    return int((EmbeddedPostgres(home).data_dir / "postmaster.pid").read_text().split()[0])


def _health(d: RunningDaemon) -> tuple[int, dict]:
    r = httpx.get(f"{d.url}/api/health", timeout=10)
    return r.status_code, r.json()


def _submit(d: RunningDaemon, log: Path, n: int, s: float = 0) -> list[str]:
    """Submit n jobs, retrying a refusal while the database is away (as a client would)."""
    ids: list[str] = []
    with d.http() as c:
        for _ in range(n):
            while True:
                r = c.post("/api/w/main/jobs/run/p/f/db/append", json={"log": str(log), "s": s})
                if r.status_code == 201 or r.status_code == 200:
                    ids.append(r.text)
                    break
                assert r.status_code == 503, r.text
                time.sleep(0.2)
    return ids


def _wait_all(d: RunningDaemon, ids: list[str], deadline: float) -> dict[str, dict]:
    done: dict[str, dict] = {}
    with d.http() as c:
        while len(done) < len(ids) and time.monotonic() < deadline:
            for i in ids:
                if i not in done:
                    r = c.get(f"/api/w/main/jobs_u/get/{i}")
                    if r.status_code == 200 and r.json()["type"] == "CompletedJob":
                        done[i] = r.json()
            time.sleep(0.2)
    return done


@pytest.mark.timeout(240)
def test_killed_postmaster_is_restarted_and_jobs_complete(tmp_path: Path,
                                                          shared_cache: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(shared_cache)
    d = RunningDaemon(home=home, port=free_port(), database_url=None).start(timeout=120)
    log = tmp_path / "ran.log"
    try:
        d.deploy("f/db/append", SCRIPT)
        assert _health(d) == (200, {"status": "ok", "database": _health(d)[1]["database"]})
        before = _submit(d, log, 5, s=0)
        running = _submit(d, log, 2, s=4)  # in their workers when the server dies
        time.sleep(1.5)
        killed_at = time.monotonic()
        os.kill(_postmaster_pid(home), signal.SIGKILL)
        after = _submit(d, log, 10)
        done = _wait_all(d, before + running + after, killed_at + 30)
        missing = [i for i in before + running + after if i not in done]
        assert not missing, (f"{len(missing)} of {len(before + running + after)} jobs not done "
                             f"30 s after the postmaster was killed:\n{d.log()[-3000:]}")
        failed = {i: j["result"] for i, j in done.items() if not j["success"]}
        assert not failed, f"jobs failed across the restart: {failed}"
        lines = log.read_text().split()
        assert sorted(lines) == sorted(before + running + after), "a job ran twice or never"
        status, body = _health(d)
        assert status == 200 and body["database"]["state"] == "up"
        assert body["database"]["restarts"] >= 1 and body["database"]["outages"] >= 1
        state = json.loads((home / "daemon.json").read_text())["database_state"]
        assert state["state"] == "up" and state["restarts"] >= 1
    finally:
        d.stop()
        discard_server(EmbeddedPostgres(home))


@pytest.mark.timeout(240)
def test_outage_is_reported_while_the_database_cannot_restart(tmp_path: Path,
                                                              shared_cache: Path) -> None:
    """While the server cannot be started again, /api/health, `daemon status` and the
    tray say so; once it can, the daemon brings it back with no manual step."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").symlink_to(shared_cache)
    d = RunningDaemon(home=home, port=free_port(), database_url=None).start(timeout=120)
    log = tmp_path / "ran.log"
    try:
        d.deploy("f/db/append", SCRIPT)
        # Hold the cluster's start/stop lock: the restart waits behind it.
        with open(home / "postgres" / ".lock", "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            os.kill(_postmaster_pid(home), signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                status, body = _health(d)
                if body["database"]["state"] == "restarting":
                    break
                time.sleep(0.2)
            assert status == 503 and body["status"] == "degraded", body
            assert body["database"]["state"] == "restarting", body
            res = d.cli("daemon", "status", "--home", str(home))
            assert res.returncode == 1, res.stdout + res.stderr
            assert "database DOWN, restarting" in res.stdout, res.stdout

            async def tray_view() -> tuple[str, str]:
                async with TidemillClient(Connection(url=d.url, token=d.token)) as client:
                    watch = ActivityWatch(client)
                    await watch.poll()
                    return watch.activity.level, watch.activity.tooltip()

            level, tooltip = asyncio.run(tray_view())
            assert level == "down" and "database restarting" in tooltip, tooltip
            fcntl.flock(held, fcntl.LOCK_UN)
        # no manual step: the next job runs within 30 s
        (job,) = _submit(d, log, 1)
        assert job in _wait_all(d, [job], time.monotonic() + 30)
        assert _health(d)[1]["database"]["state"] == "up"
        assert d.cli("daemon", "status", "--home", str(home)).returncode == 0
    finally:
        d.stop()
        discard_server(EmbeddedPostgres(home))
