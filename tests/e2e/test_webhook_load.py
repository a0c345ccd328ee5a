"""Webhooks under load: 300 asynchronous runs posted by 20 concurrent clients; every job
is accepted, runs exactly once and completes successfully — none lost, none doubled.
(tests/benchmarks/bench_webhooks.py is the 2,000-post version, with timings.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import psycopg

from tests.e2e.daemon_harness import RunningDaemon

POSTS, CLIENTS = 300, 20
# Each run leaves a line in a file, so a job run twice (or not at all) shows there, not
# only in the job tables.
HOOK = "def main(i: int, out: str):\n" \
       "    with open(out, 'a') as f:\n" \
       "        f.write(f'{i}\\n')\n" \
       "    return i\n"


async def _post_all(url: str, token: str, out: Path) -> dict[str, int]:
    ids: dict[str, int] = {}
    numbers = iter(range(POSTS))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            for i in numbers:
                r = await c.post("/api/w/main/jobs/run/p/f/hooks/count",
                                 json={"i": i, "out": str(out)})
                assert r.status_code == 201, r.text
                ids[r.text] = i

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return ids


def test_concurrent_webhooks_each_run_exactly_once(daemon: RunningDaemon, tmp_path: Path) -> None:
    daemon.deploy("f/hooks/count", HOOK)
    token = daemon.cli("token", "create", "--label", "load", "--scope", "run:f/hooks/*",
                       check=True).stdout.strip()
    out = tmp_path / "runs.txt"
    ids = asyncio.run(_post_all(daemon.url, token, out))
    assert len(ids) == POSTS, "two posts got the same job id"

    assert daemon.database_url
    with psycopg.connect(daemon.database_url, autocommit=True) as conn:
        deadline = time.monotonic() + 180
        while True:
            done = conn.execute("SELECT count(*) FROM job_completed WHERE id = ANY(%s::uuid[])",
                                (list(ids),)).fetchone()
            if (done and done[0] == POSTS) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        rows = conn.execute("SELECT id::text, status, result FROM job_completed"
                            " WHERE id = ANY(%s::uuid[])", (list(ids),)).fetchall()
        left = conn.execute("SELECT count(*) FROM job_queue WHERE id = ANY(%s::uuid[])",
                            (list(ids),)).fetchone()
    assert len(rows) == POSTS, f"{POSTS - len(rows)} jobs never completed"
    assert left == (0,)
    assert all(status == "success" and result == ids[jid] for jid, status, result in rows), \
        [r for r in rows if r[1] != "success"][:3]
    runs = sorted(int(line) for line in out.read_text().split())
    assert runs == list(range(POSTS)), "a job ran twice or never"

    # the pipelined push still refuses a job id that is taken
    with daemon.http() as c:
        params = {"job_id": "01a215d0-0000-7000-8000-000000000001", "scheduled_in_secs": 3600}
        body = {"i": 0, "out": str(tmp_path / "never.txt")}
        assert c.post("/api/w/main/jobs/run/p/f/hooks/count", params=params,
                      json=body).status_code == 201
        r = c.post("/api/w/main/jobs/run/p/f/hooks/count", params=params, json=body)
        assert r.status_code == 400 and "already exists" in r.text, r.text
