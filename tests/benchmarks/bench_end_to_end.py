"""Benchmarks (b) and (c): whole jobs through a real daemon.

(b) 200 sequential runs of `def main(): return 1` through the HTTP API
    (run_wait_result: request → queue → worker → process → result), p50/p95.
(c) 1,000 such jobs pushed at once, drained by 2 workers: jobs/s.
(d) the cost of the job sandbox: the same sequential runs (and of a trivial Bash script,
    which is spawned rather than forked from the Python zygote) on a second daemon with
    TIDEMILL_SANDBOX=0, in alternating rounds of 20 so both see the same machine load.

A fresh embedded PostgreSQL (fsync on) and a daemon with 2 workers. Prints JSON:

    python tests/benchmarks/bench_end_to_end.py [--runs 200] [--burst 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from psycopg import AsyncConnection

from desktop_app.db.embedded import EmbeddedPostgres
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from tests.e2e.daemon_harness import RunningDaemon, free_port
from tests.support.pg import create_database


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def burst(url: str, script_hash: str, n: int) -> float:
    conn = await AsyncConnection.connect(url, autocommit=True)
    jobs = [NewJob(kind="script", tag="python3", created_by="bench", script_path="f/bench/one",
                   script_hash=script_hash, language="python3") for _ in range(n)]
    listener = await AsyncConnection.connect(url, autocommit=True)
    await listener.execute("LISTEN tidemill_done")
    t0 = time.perf_counter()
    async with conn.transaction():
        await queue.push_many(conn, jobs)
    ids = {str(j.id) for j in jobs}
    async for note in listener.notifies():
        ids.discard(note.payload.split(" ", 1)[0])  # "<id>" or "<id> <workspace> <status> <result>"
        if not ids:
            break
    elapsed = time.perf_counter() - t0
    await conn.close()
    await listener.close()
    return elapsed


def compare_sandbox(url: str, root: Path, runs: int, workers: int) -> dict[str, float]:
    """p50 of run_wait_result for a trivial Python and Bash job, sandbox on and off."""
    env = {"TIDEMILL_SECRETS": "encrypted-file", "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"}
    daemons = {}
    for mode in ("on", "off"):
        db = create_database(url, f"bench_sandbox_{mode}")
        extra = dict(env, **({"TIDEMILL_SANDBOX": "0"} if mode == "off" else {}))
        daemons[mode] = RunningDaemon(home=root / f"home-{mode}", port=free_port(),
                                      database_url=db, workers=workers, heartbeat=2.0,
                                      extra_env=extra)
    lat: dict[str, list[float]] = {}
    try:
        for d in daemons.values():
            d.start()
            d.deploy("f/bench/one", "def main():\n    return 1\n")
            d.deploy("f/bench/sh", "echo 1\n", "bash")
        clients = {mode: d.http() for mode, d in daemons.items()}
        for c in clients.values():
            for path in ("one", "sh") * 5:  # warm-up: venv, zygotes, sandbox probe
                c.post(f"/api/w/main/jobs/run_wait_result/p/f/bench/{path}", json={})
        for _ in range(max(1, runs // 20)):
            for mode, c in clients.items():
                for path in ("one", "sh"):
                    for _ in range(20):
                        t0 = time.perf_counter()
                        r = c.post(f"/api/w/main/jobs/run_wait_result/p/f/bench/{path}", json={})
                        lat.setdefault(f"{path}_{mode}", []).append(
                            (time.perf_counter() - t0) * 1000)
                        assert r.status_code == 200, r.text
        for c in clients.values():
            c.close()
    finally:
        for d in daemons.values():
            d.stop()
    names = {"one": "python", "sh": "bash"}
    out: dict[str, float] = {}
    for key, values in sorted(lat.items()):
        path, mode = key.split("_")
        out[f"{names[path]}_sandbox_{mode}_p50_ms"] = round(statistics.median(values), 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--burst", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tm-e2e-bench-"))
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    # A benchmark machine may have no OS keyring: use the explicit encrypted-file store.
    d = RunningDaemon(home=root / "home", port=free_port(), database_url=url,
                      workers=a.workers, heartbeat=2.0,
                      extra_env={"TIDEMILL_SECRETS": "encrypted-file",
                                 "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"})
    try:
        d.start()
        h = d.deploy("f/bench/one", "def main():\n    return 1\n")
        with d.http() as c:
            for _ in range(5):  # warm-up: venv built, workers' caches filled
                c.post("/api/w/main/jobs/run_wait_result/p/f/bench/one", json={})
            lat = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                r = c.post("/api/w/main/jobs/run_wait_result/p/f/bench/one", json={})
                lat.append((time.perf_counter() - t0) * 1000)
                assert r.json() == 1, r.text
        elapsed = asyncio.run(burst(url, h, a.burst))
        sandbox_cost = compare_sandbox(url, root, a.runs, a.workers)
        print(json.dumps({
            "benchmark": "end to end",
            "sequential_runs": a.runs,
            "sequential_p50_ms": round(statistics.median(lat), 1),
            "sequential_p95_ms": round(percentile(lat, 95), 1),
            "sequential_min_ms": round(min(lat), 1),
            "burst_jobs": a.burst, "workers": a.workers,
            "burst_s": round(elapsed, 2), "burst_jobs_per_s": round(a.burst / elapsed, 1),
            **sandbox_cost,
        }, indent=2))
    finally:
        d.stop()
        pg.stop()


if __name__ == "__main__":
    main()
