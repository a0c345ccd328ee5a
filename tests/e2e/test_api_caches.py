"""The API caches token rows and the newest script at a path for a few seconds
(desktop_app/api/ttl_cache.py); what it serves must still be right: a deploy or an
archive takes effect at once, also when another daemon made it, and an expired token
is refused at its expiry."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import AsyncConnection

from desktop_app.db import scripts as script_store
from desktop_app.db.scripts import ScriptVersion
from tests.e2e.daemon_harness import RunningDaemon

# Each test deploys and runs its own items and judges only its own jobs: one daemon
# serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

V1 = "def main():\n    return 1\n"
V2 = "def main():\n    return 2\n"


def test_a_deploy_or_archive_takes_effect_at_once(daemon: RunningDaemon) -> None:
    daemon.deploy("f/cache/v", V1)
    with daemon.http() as c:
        for _ in range(3):  # the lookup is cached now
            assert c.post("/api/w/main/jobs/run_wait_result/p/f/cache/v", json={}).json() == 1
        daemon.deploy("f/cache/v", V2)
        assert c.post("/api/w/main/jobs/run_wait_result/p/f/cache/v", json={}).json() == 2
        assert c.post("/api/w/main/scripts/archive/p/f/cache/v").status_code == 200
        r = c.post("/api/w/main/jobs/run/p/f/cache/v", json={})
        assert r.status_code == 404, r.text


def test_a_deploy_by_another_daemon_reaches_the_cache_by_notify(daemon: RunningDaemon) -> None:
    h1 = daemon.deploy("f/cache/w", V1)
    with daemon.http() as c:
        def hash_of_a_run() -> str:
            job = c.post("/api/w/main/jobs/run/p/f/cache/w", json={}).text
            return str(c.get(f"/api/w/main/jobs_u/get/{job}").json()["script_hash"])

        assert hash_of_a_run() == h1  # cached now
        # Another daemon on the same database deploys: a row and a NOTIFY, nothing else.
        assert daemon.database_url
        asyncio.run(_insert_version(daemon.database_url, ScriptVersion(
            path="f/cache/w", hash="00000000000000aa", language="python3", content=V2,
            created_by="elsewhere", schema={"type": "object", "properties": {}})))
        t0 = time.monotonic()
        while hash_of_a_run() != "00000000000000aa":
            time.sleep(0.05)
        # well inside the cache's 5 s life: the notification dropped the entry
        assert time.monotonic() - t0 < 3


async def _insert_version(url: str, version: ScriptVersion) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn, conn.transaction():
        await script_store.insert_version(conn, version)


def test_an_expired_token_is_refused_at_its_expiry(daemon: RunningDaemon) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=2)
    with daemon.http() as c:
        r = c.post("/api/users/tokens/create", json={"label": "short", "scope": "admin",
                                                     "expiration": expires.isoformat()})
        assert r.status_code == 201, r.text
        short = r.text
    with daemon.http(short) as c:
        assert c.get("/api/users/whoami").status_code == 200  # cached now
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        r = c.get("/api/users/whoami")
        assert r.status_code == 401, r.text
