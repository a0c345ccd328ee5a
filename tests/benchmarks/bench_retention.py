"""Benchmark: pruning a large job history while the queue runs jobs.

Fills `job_completed` with `--history` old jobs (one log row each), then runs jobs at
`--rate` per second (push → claim → complete, `--workers` workers) for `--baseline-s`
without pruning, then again while one pruning round (`queue.retention.prune`, the
daemon's own) deletes the whole history, then once more without pruning (on a shared
machine the load drifts during a long round: the second baseline shows how much). Prints
JSON: each phase's push-to-completion latency (median, p95), the p95 change against each
baseline, the load average at each phase, how long the pruning took and its rate, and
what the server did in each phase (WAL written, checkpoints, autovacuum seen at work).
`--control` runs the same phases with the pruning replaced by an idle wait as long as
`--control-s`: the latency drift that has nothing to do with pruning.

Runs against a fresh embedded PostgreSQL (fsync on) unless TIDEMILL_BENCH_DATABASE_URL
is set. Run by hand:

    python tests/benchmarks/bench_retention.py [--history 1000000] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.db import workspace_settings
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from desktop_app.queue.retention import prune
from tests.support.pg import bench_database

FILL = """
INSERT INTO job_completed (id, workspace_id, kind, script_path, tag, created_by,
                           permissioned_as, created_at, completed_at, status, result, args)
SELECT gen_random_uuid(), 'main', 'script', 'f/bench/old_' || (i %% 50), 'bash', 'bench',
       'u/bench', now() - interval '40 days' + i * interval '1 ms',
       now() - interval '40 days' + i * interval '1 ms',
       CASE WHEN i %% 10 = 0 THEN 'failure' ELSE 'success' END, '{"ok": true}', '{"i": 1}'
  FROM generate_series(%(start)s, %(stop)s - 1) i
"""
FILL_LOGS = """
INSERT INTO job_logs (job_id, seq, chunk, end_pos)
SELECT id, 0, 'line one of an old job\nline two\n', 31 FROM job_completed
 WHERE script_path LIKE 'f/bench/old_%%' AND NOT EXISTS (
       SELECT 1 FROM job_logs l WHERE l.job_id = job_completed.id)
"""


async def fill(url: str, n: int) -> float:
    t0 = time.perf_counter()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        for start in range(0, n, 100_000):
            await conn.execute(FILL, {"start": start, "stop": min(n, start + 100_000)})
        await conn.execute(FILL_LOGS)
        await conn.execute("VACUUM ANALYZE job_completed")
        await conn.execute("VACUUM ANALYZE job_logs")
        await conn.execute("CHECKPOINT")  # the fill's writes are not flushed during the runs
    return time.perf_counter() - t0


async def run_jobs(url: str, rate: float, workers: int, stop: asyncio.Event) -> list[float]:
    """Push `rate` jobs a second until `stop`; the push-to-completion latency of each."""
    pushed: dict[Any, float] = {}
    latencies: list[float] = []
    producer_done = asyncio.Event()

    async def producer() -> None:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            next_at = time.perf_counter()
            while not stop.is_set():
                job = NewJob(kind="script", tag="bench", created_by="bench")
                pushed[job.id] = time.perf_counter()
                await queue.push(conn, job)
                next_at += 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        producer_done.set()

    async def worker(i: int) -> None:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            while True:
                claimed = await queue.claim(conn, f"bench-{i}", ["bench"], limit=1)
                if not claimed:
                    if producer_done.is_set():
                        return
                    await asyncio.sleep(0.002)
                    continue
                async with conn.transaction():
                    await queue.complete(conn, claimed[0].id, JobStatus.SUCCESS, {"ok": True})
                latencies.append(time.perf_counter() - pushed[claimed[0].id])

    await asyncio.gather(producer(), *(worker(i) for i in range(workers)))
    return latencies


_SERVER_COUNTERS = """
SELECT (SELECT wal_bytes FROM pg_stat_wal),
       (SELECT num_timed + num_requested FROM pg_stat_checkpointer)
"""
_AUTOVACUUM = """
SELECT coalesce(string_agg(DISTINCT c.relname, ','), '')
  FROM pg_stat_progress_vacuum p JOIN pg_class c ON c.oid = p.relid
"""


async def server_activity(url: str, stop: asyncio.Event) -> dict[str, Any]:
    """What the server did while `stop` is unset: WAL bytes, checkpoints, and which
    tables autovacuum (or any VACUUM) was seen working on, sampled every 0.5 s."""
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        wal0, ckpt0 = await (await conn.execute(_SERVER_COUNTERS)).fetchone()
        vacuumed: dict[str, int] = {}
        samples = 0
        while not stop.is_set():
            samples += 1
            (names,) = await (await conn.execute(_AUTOVACUUM)).fetchone()
            for name in filter(None, names.split(",")):
                vacuumed[name] = vacuumed.get(name, 0) + 1
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
        wal1, ckpt1 = await (await conn.execute(_SERVER_COUNTERS)).fetchone()
    return {"wal_mb": round(float(wal1 - wal0) / 2**20, 1), "checkpoints": ckpt1 - ckpt0,
            "vacuum_seen_s": {k: v / 2 for k, v in sorted(vacuumed.items())},
            "samples": samples}


async def phase(url: str, rate: float, workers: int,
                body: Any) -> tuple[dict[str, float], dict[str, Any], Any]:
    """Run jobs at `rate` while `body` (a coroutine) runs; latency summary, server activity
    and the body's result."""
    stop = asyncio.Event()
    runner = asyncio.create_task(run_jobs(url, rate, workers, stop))
    activity = asyncio.create_task(server_activity(url, stop))
    result = await body
    stop.set()
    return summary(await runner), await activity, result


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"jobs": len(ordered),
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 2)}


async def bench(url: str, history: int, rate: float, workers: int, baseline_s: float,
                control_s: float | None = None) -> dict[str, Any]:
    fill_s = await fill(url, history)
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await workspace_settings.update(conn, "main", {"keep_success_secs": 86400,
                                                       "keep_failure_secs": 86400})
        size_before = (await (await conn.execute(
            "SELECT pg_database_size(current_database())")).fetchone())[0]

    baseline, server_before, _ = await phase(url, rate, workers, asyncio.sleep(baseline_s))
    load_before = os.getloadavg()[0]

    async def pruning() -> tuple[dict[str, Any], float]:
        await asyncio.sleep(1.0)  # the job stream is flowing before pruning starts
        t0 = time.perf_counter()
        if control_s is not None:
            await asyncio.sleep(control_s)
            return {"deleted_jobs": 0, "control": True}, time.perf_counter() - t0
        # In its own process, as in the daemon: the workers' commits are not in its loop.
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--prune-only", url, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        return json.loads(out), time.perf_counter() - t0

    during, server_during, (report, prune_s) = await phase(url, rate, workers, pruning())
    load_during = os.getloadavg()[0]
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        left = (await (await conn.execute(
            "SELECT count(*) FROM job_completed WHERE script_path LIKE 'f/bench/old_%'"
        )).fetchone())[0]
    assert control_s is not None or left == 0, f"{left} old jobs left after one round"
    after, server_after, _ = await phase(url, rate, workers, asyncio.sleep(baseline_s))
    return {
        "benchmark": "retention: pruning a job history while jobs run"
                     + (" (control: no pruning, an idle wait instead)" if control_s else ""),
        "history_jobs": history, "fill_s": round(fill_s, 1),
        "database_mb_before": round(size_before / 2**20),
        "rate_per_s": rate, "workers": workers,
        "prune": {**report, "seconds": round(prune_s, 1),
                  "jobs_per_s": round(report["deleted_jobs"] / prune_s)},
        "queue_without_pruning": baseline, "queue_while_pruning": during,
        "queue_after_pruning": after,
        "p95_change_pct": round((during["p95_ms"] / baseline["p95_ms"] - 1) * 100, 1),
        "p95_change_vs_after_pct": round((during["p95_ms"] / after["p95_ms"] - 1) * 100, 1),
        "server": {"baseline": server_before, "pruning": server_during, "after": server_after},
        "load_average": {"baseline": round(load_before, 1), "pruning": round(load_during, 1),
                         "after": round(os.getloadavg()[0], 1)},
    }


async def prune_only(url: str) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        print(json.dumps((await prune(conn)).as_dict()))


def main() -> None:
    if sys.argv[1:2] == ["--prune-only"]:
        asyncio.run(prune_only(sys.argv[2]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("--history", type=int, default=1_000_000)
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--baseline-s", type=float, default=20.0)
    p.add_argument("--control", action="store_true",
                   help="replace the pruning round with an idle wait (the drift without it)")
    p.add_argument("--control-s", type=float, default=285.0,
                   help="how long the control's idle wait lasts (a pruning round's length)")
    a = p.parse_args()
    with bench_database() as url:
        print(json.dumps(asyncio.run(bench(url, a.history, a.rate, a.workers, a.baseline_s,
                                           a.control_s if a.control else None)), indent=2))


if __name__ == "__main__":
    main()
