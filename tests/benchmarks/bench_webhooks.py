"""Webhook load: many asynchronous runs posted at once, as an external service would.

A fresh embedded PostgreSQL (fsync on) and a daemon with 2 workers; a trivial Python
script; N POSTs to /api/w/main/jobs/run/p/{path} (Windmill's async webhook) from C
concurrent clients, each with its own connection, authenticated by a run-only token.
Reports the accept latency (request → job id) p50/p95/max, the accept throughput, and the
time until every job has completed; fails if any job is lost, duplicated or failed.
Prints JSON:

    python tests/benchmarks/bench_webhooks.py [--posts 2000] [--clients 20] [--workers 2]

`--profile FILE` samples the daemon's API process with py-spy (must be installed) while
the posts are accepted and writes its collapsed stacks to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx
from psycopg import AsyncConnection

from desktop_app.db.embedded import EmbeddedPostgres
from tests.e2e.daemon_harness import RunningDaemon, free_port

SCRIPT = "def main(i: int = 0):\n    return i\n"
PATH = "f/bench/hook"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to compare costs on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def post_all(url: str, token: str, posts: int, clients: int) -> tuple[list[float], dict[str, int], float]:
    """POST `posts` webhooks from `clients` concurrent clients; (latencies ms, id → i, wall s)."""
    latencies: list[float] = []
    ids: dict[str, int] = {}
    numbers = iter(range(posts))

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120,
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            for i in numbers:  # shared iterator: each client takes the next number
                t0 = time.perf_counter()
                r = await c.post(f"/api/w/main/jobs/run/p/{PATH}", json={"i": i})
                latencies.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
                ids[r.text] = i

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, ids, time.perf_counter() - t0


async def wait_completed(db_url: str, ids: dict[str, int], timeout: float) -> list[Any]:
    """Poll until every job has a completed row; returns the rows (id, status, result)."""
    conn = await AsyncConnection.connect(db_url, autocommit=True)
    try:
        deadline = time.monotonic() + timeout
        keys = list(ids)
        while True:
            cur = await conn.execute(
                "SELECT count(*) FROM job_completed WHERE id = ANY(%s::uuid[])", (keys,))
            row = await cur.fetchone()
            if (row and row[0] >= len(keys)) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        cur = await conn.execute(
            "SELECT id::text, status, result FROM job_completed WHERE id = ANY(%s::uuid[])", (keys,))
        return list(await cur.fetchall())
    finally:
        await conn.close()


def check_none_lost(ids: dict[str, int], rows: list[Any], posts: int) -> None:
    assert len(ids) == posts, f"{posts - len(ids)} posts got a duplicate job id"
    assert len(rows) == posts, f"{posts - len(rows)} of {posts} jobs never completed"
    assert len({r[0] for r in rows}) == posts, "a job completed twice"
    bad = [r for r in rows if r[1] != "success" or r[2] != ids[r[0]]]
    assert not bad, f"{len(bad)} jobs failed or returned the wrong value, e.g. {bad[:3]}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--posts", type=int, default=2000)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--profile", type=Path, help="py-spy collapsed stacks of the API process")
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-webhook-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    db_url = pg.start()
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=db_url,
                      workers=a.workers, heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark",
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        d.start()
        d.deploy(PATH, SCRIPT)
        with d.http() as c:
            r = c.post("/api/users/tokens/create", json={"label": "bench", "scope": "run:f/bench/*"})
            assert r.status_code == 201, r.text
            hook_token = r.text
            for _ in range(3):  # warm-up: venv built, workers' caches filled
                assert c.post(f"/api/w/main/jobs/run_wait_result/p/{PATH}", json={}).json() == 0
        spy = None
        if a.profile:
            assert d.proc is not None
            spy = subprocess.Popen(["py-spy", "record", "-p", str(d.proc.pid), "-r", "250",
                                    "-f", "raw", "-o", str(a.profile)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        assert d.proc is not None
        cpu0 = cpu_seconds(d.proc.pid)
        t0 = time.perf_counter()
        latencies, ids, post_s = asyncio.run(post_all(d.url, hook_token, a.posts, a.clients))
        api_cpu_s = cpu_seconds(d.proc.pid) - cpu0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        rows = asyncio.run(wait_completed(db_url, ids, timeout=600))
        all_done_s = time.perf_counter() - t0
        check_none_lost(ids, rows, a.posts)
        print(json.dumps({
            "benchmark": "webhooks",
            "posts": a.posts, "clients": a.clients, "workers": a.workers,
            "accept_p50_ms": round(statistics.median(latencies), 1),
            "accept_p95_ms": round(percentile(latencies, 95), 1),
            "accept_p99_ms": round(percentile(latencies, 99), 1),
            "accept_max_ms": round(max(latencies), 1),
            "accept_s": round(post_s, 2),
            "accept_per_s": round(a.posts / post_s, 1),
            "api_cpu_ms_per_post": round(api_cpu_s * 1000 / a.posts, 2),
            "all_completed_s": round(all_done_s, 2),
            "completed_per_s": round(a.posts / all_done_s, 1),
            "completed": len(rows), "lost": a.posts - len(rows),
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
