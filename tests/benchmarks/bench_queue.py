"""Benchmark (a): the queue alone — push + claim + complete of 20,000 no-op jobs.

Runs against a fresh embedded PostgreSQL (fsync on, as in production) unless
TIDEMILL_BENCH_DATABASE_URL is set. Prints JSON. Run by hand:

    python tests/benchmarks/bench_queue.py [--jobs 20000] [--workers 2] [--batch 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from tests.support.pg import bench_database


async def bench(url: str, n: int, workers: int, batch: int) -> dict[str, object]:
    setup = await AsyncConnection.connect(url, autocommit=True)
    await setup.execute("TRUNCATE job_queue, job_completed")
    jobs = [NewJob(kind="script", tag="noop", created_by="bench", args={"i": i}) for i in range(n)]
    t0 = time.perf_counter()
    for start in range(0, n, 5000):
        async with setup.transaction():
            await queue.push_many(setup, jobs[start:start + 5000])
    push_s = time.perf_counter() - t0

    async def worker(i: int) -> int:
        conn = await AsyncConnection.connect(url, autocommit=True)
        done = 0
        while True:
            async with conn.transaction():
                claimed = await queue.claim(conn, f"bench-{i}", ["noop"], limit=batch)
            if not claimed:
                break
            async with conn.transaction():
                done += await queue.complete_many(
                    conn, [(j.id, JobStatus.SUCCESS, {"ok": True}) for j in claimed])
        await conn.close()
        return done

    t1 = time.perf_counter()
    counts = await asyncio.gather(*(worker(i) for i in range(workers)))
    drain_s = time.perf_counter() - t1
    total = time.perf_counter() - t0
    left = await (await setup.execute("SELECT count(*) FROM job_queue")).fetchone()
    await setup.close()
    assert sum(counts) == n and left == (0,), (counts, left)

    # The per-job path a worker really takes: claim one, complete one, each its own commit.
    setup = await AsyncConnection.connect(url, autocommit=True)
    single_n = min(n, 2000)
    async with setup.transaction():
        await queue.push_many(setup, jobs[:0] + [NewJob(kind="script", tag="one", created_by="b")
                                                 for _ in range(single_n)])
    await setup.close()

    async def single(i: int) -> int:
        conn = await AsyncConnection.connect(url, autocommit=True)
        done = 0
        while claimed := await queue.claim(conn, f"one-{i}", ["one"], limit=1):
            async with conn.transaction():
                await queue.complete(conn, claimed[0].id, JobStatus.SUCCESS, 1)
            done += 1
        await conn.close()
        return done

    t2 = time.perf_counter()
    await asyncio.gather(*(single(i) for i in range(workers)))
    single_s = time.perf_counter() - t2
    return {
        "benchmark": "queue push+claim+complete",
        "jobs": n, "workers": workers, "claim_batch": batch,
        "push_s": round(push_s, 3), "drain_s": round(drain_s, 3), "total_s": round(total, 3),
        "jobs_per_s": round(n / total), "push_per_s": round(n / push_s),
        "drain_per_s": round(n / drain_s),
        "one_at_a_time_jobs_per_s": round(single_n / single_s),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=20000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=10)
    a = p.parse_args()
    with bench_database() as url:
        print(json.dumps(asyncio.run(bench(url, a.jobs, a.workers, a.batch)), indent=2))


if __name__ == "__main__":
    main()
