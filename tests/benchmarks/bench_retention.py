"""Benchmark: pruning a large job history while the queue runs jobs.

Fills `job_completed` with `--history` old jobs (one log row each), then runs jobs at
`--rate` per second (push → claim → complete, `--workers` workers) the whole time, while
the history is pruned in `--slices` rounds of the daemon's own `queue.retention.prune`
(each in its own process, as in the daemon; the workspace's policy is moved forward so
that each round finds the next slice due). Every round is followed by an idle stretch as
long as `--idle-s`, and one comes first.

Pruning and idle stretches alternate over the same minutes, so a drift of the machine
(another process, the server's own housekeeping) falls on both: the figure to read is the
p95 of the jobs pushed while a round ran against the p95 of the jobs pushed in the idle
stretches. The latency a 20-second window shows on this machine moves by 2x from one
window to the next with nothing pruned (see `--control`), which a before/after comparison
cannot tell from pruning.

`--control` replaces every round with an idle wait of the same length: the difference the
method shows when nothing is pruned (its noise).

Prints JSON: both groups' push-to-completion latency (median, p95, p99), the p95 change,
the p95 of each stretch, the WAL written and the vacuums seen in each group, and how long
the pruning took. Against a fresh embedded PostgreSQL (fsync on) unless
TIDEMILL_BENCH_DATABASE_URL is set. Run by hand:

    python tests/benchmarks/bench_retention.py [--history 1000000] [--rate 100] [--slices 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.jobs import JobStatus
from desktop_app.db import workspace_settings
from desktop_app.queue import queue
from desktop_app.queue.model import NewJob
from desktop_app.queue.retention import prune
from tests.support.pg import bench_database

#: The history's jobs are a second apart from this far back on: a slice of k jobs falls due
#: by keeping k seconds less. (While a round runs, one more job falls due each second; a
#: millisecond apart, the round would chase a boundary moving as fast as it prunes.)
AGE = timedelta(days=40)

# The history's ids are what Tidemill writes (`core.ids.new_job_id`): UUIDv7, whose first
# 48 bits are the creation time in ms, so they sort with `created_at`. `--random-ids`
# fills with UUIDv4 instead (a history no Tidemill writes: each batch's deletes and the
# vacuums after them touch index pages all over the job and log tables).
V7_ID = """(lpad(to_hex(floor(extract(epoch FROM t.at) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(random()::text), 1, 3)
            || substr('89ab', 1 + floor(random() * 4)::int, 1)
            || substr(md5(random()::text), 1, 15))::uuid"""
FILL = """
INSERT INTO job_completed (id, workspace_id, kind, script_path, tag, created_by,
                           permissioned_as, created_at, completed_at, status, result, args)
SELECT {id}, 'main', 'script', 'f/bench/old_' || (i %% 50), 'bash', 'bench',
       'u/bench', t.at, t.at,
       CASE WHEN i %% 10 = 0 THEN 'failure' ELSE 'success' END, '{{"ok": true}}', '{{"i": 1}}'
  FROM generate_series(%(start)s, %(stop)s - 1) i,
       LATERAL (SELECT %(base)s + i * interval '1 s' AS at) t
"""
FILL_LOGS = """
INSERT INTO job_logs (job_id, seq, chunk, end_pos)
SELECT id, 0, 'line one of an old job\nline two\n', 31 FROM job_completed
 WHERE script_path LIKE 'f/bench/old_%%' AND NOT EXISTS (
       SELECT 1 FROM job_logs l WHERE l.job_id = job_completed.id)
"""
WAL_BYTES = "SELECT wal_bytes FROM pg_stat_wal"
VACUUMING = """
SELECT coalesce(string_agg(DISTINCT c.relname, ','), '')
  FROM pg_stat_progress_vacuum p JOIN pg_class c ON c.oid = p.relid
"""


async def fill(url: str, n: int, random_ids: bool = False) -> tuple[float, datetime]:
    """`n` old jobs and their logs; how long it took and the first job's creation time."""
    t0 = time.perf_counter()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        (now,) = await (await conn.execute("SELECT now()")).fetchone()
        base = now - AGE
        for start in range(0, n, 100_000):
            await conn.execute(FILL.format(id="gen_random_uuid()" if random_ids else V7_ID),
                               {"base": base, "start": start, "stop": min(n, start + 100_000)})
        await conn.execute(FILL_LOGS)
        await conn.execute("VACUUM ANALYZE job_completed")
        await conn.execute("VACUUM ANALYZE job_logs")
        await conn.execute("CHECKPOINT")  # the fill's writes are not flushed during the runs
    return time.perf_counter() - t0, base


@dataclass
class Stream:
    """The job stream: (push time, push-to-completion latency) of every job."""
    samples: list[tuple[float, float]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def run_jobs(url: str, rate: float, workers: int, stream: Stream) -> None:
    """Push `rate` jobs a second until `stream.stop`, and claim and complete them."""
    pushed: dict[Any, float] = {}
    producer_done = asyncio.Event()

    async def producer() -> None:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            next_at = time.perf_counter()
            while not stream.stop.is_set():
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
                at = pushed.pop(claimed[0].id)
                stream.samples.append((at, time.perf_counter() - at))

    await asyncio.gather(producer(), *(worker(i) for i in range(workers)))


async def watch_vacuum(url: str, stop: asyncio.Event) -> list[tuple[float, str]]:
    """(time, tables) every 0.5 s while a VACUUM (autovacuum's or any) works on some."""
    seen: list[tuple[float, str]] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            (names,) = await (await conn.execute(VACUUMING)).fetchone()
            if names:
                seen.append((time.perf_counter(), names))
            try:
                await asyncio.wait_for(stop.wait(), 0.5)
            except TimeoutError:
                pass
    return seen


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {"jobs": 0}
    return {"jobs": len(ordered),
            "median_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 2),
            "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2)}


@dataclass
class Stretch:
    kind: str  # "pruning" or "idle"
    start: float
    end: float = 0.0
    wal_bytes: int = 0
    report: dict[str, Any] = field(default_factory=dict)


async def bench(url: str, history: int, rate: float, workers: int, slices: int,
                idle_s: float, control: bool, random_ids: bool = False) -> dict[str, Any]:
    fill_s, base = await fill(url, history, random_ids)
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        size_before = (await (await conn.execute(
            "SELECT pg_database_size(current_database())")).fetchone())[0]
        stream = Stream()
        runner = asyncio.create_task(run_jobs(url, rate, workers, stream))
        vacuum = asyncio.create_task(watch_vacuum(url, stream.stop))
        stretches: list[Stretch] = []

        async def stretch(kind: str, body: Any) -> None:
            s = Stretch(kind, time.perf_counter())
            (wal0,) = await (await conn.execute(WAL_BYTES)).fetchone()
            s.report = await body
            s.end = time.perf_counter()
            (wal1,) = await (await conn.execute(WAL_BYTES)).fetchone()
            s.wal_bytes = int(wal1 - wal0)
            stretches.append(s)

        async def idle() -> dict[str, Any]:
            await asyncio.sleep(idle_s)
            return {}

        async def round_(k: int) -> dict[str, Any]:
            if control:
                await asyncio.sleep(idle_s)
                return {"deleted_jobs": 0}
            # The next slice falls due: keep everything younger than its last job.
            (now,) = await (await conn.execute("SELECT now()")).fetchone()
            keep = int((now - base).total_seconds() - history * k / slices)
            await workspace_settings.update(conn, "main", {"keep_success_secs": keep,
                                                           "keep_failure_secs": keep})
            # In its own process, as in the daemon: the workers' commits are not in its loop.
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--prune-only", url, stdout=asyncio.subprocess.PIPE)
            out, _ = await proc.communicate()
            return json.loads(out)

        await stretch("idle", idle())
        for k in range(1, slices + 1):
            await stretch("pruning", round_(k))
            await stretch("idle", idle())
        stream.stop.set()
        await runner
        seen = await vacuum
        left = (await (await conn.execute(
            "SELECT count(*) FROM job_completed WHERE script_path LIKE 'f/bench/old_%'"
        )).fetchone())[0]
    assert control or left == 0, f"{left} old jobs left after {slices} rounds"

    def in_group(kind: str, t: float) -> bool:
        return any(s.kind == kind and s.start <= t < s.end for s in stretches)

    groups = {kind: summary([lat for at, lat in stream.samples if in_group(kind, at)])
              for kind in ("pruning", "idle")}
    per_stretch = [summary([lat for at, lat in stream.samples if s.start <= at < s.end])
                   for s in stretches]
    deleted = sum(s.report.get("deleted_jobs", 0) for s in stretches)
    prune_s = sum(s.end - s.start for s in stretches if s.kind == "pruning")
    return {
        "benchmark": "retention: pruning a job history while jobs run, pruning and idle"
                     " stretches interleaved" + (" (control: nothing pruned)" if control else ""),
        "history_jobs": history, "history_ids": "uuid4 (random)" if random_ids else "uuid7",
        "fill_s": round(fill_s, 1),
        "database_mb_before": round(size_before / 2**20),
        "rate_per_s": rate, "workers": workers, "slices": slices, "idle_s": idle_s,
        "prune": {"deleted_jobs": deleted, "seconds": round(prune_s, 1),
                  "jobs_per_s": round(deleted / prune_s) if prune_s else 0},
        "queue_while_pruning": groups["pruning"], "queue_while_idle": groups["idle"],
        "p95_change_pct": round((groups["pruning"]["p95_ms"] / groups["idle"]["p95_ms"] - 1)
                                * 100, 1),
        # Each round against the idle stretches on either side of it, the median over rounds:
        # a burst of machine noise in one stretch moves this less than the pooled p95.
        "p95_change_paired_pct": _paired_change(stretches, per_stretch),
        "stretches": [{"kind": s.kind, "seconds": round(s.end - s.start, 1),
                       "wal_mb": round(s.wal_bytes / 2**20, 1),
                       "vacuuming": sorted({n for t, names in seen if s.start <= t < s.end
                                            for n in names.split(",")}),
                       **{k: v for k, v in lat.items() if k in ("jobs", "p95_ms")}}
                      for s, lat in zip(stretches, per_stretch, strict=True)],
        "load_average": round(os.getloadavg()[0], 1),
    }


def _paired_change(stretches: list[Stretch], per_stretch: list[dict[str, float]]) -> float:
    """Median over rounds of (the round's p95 / the mean p95 of the idle stretches before
    and after it) - 1, in percent."""
    ratios = []
    for i, s in enumerate(stretches):
        if s.kind != "pruning" or not per_stretch[i].get("jobs"):
            continue
        around = [per_stretch[j]["p95_ms"] for j in (i - 1, i + 1)
                  if 0 <= j < len(stretches) and per_stretch[j].get("jobs")]
        if around:
            ratios.append(per_stretch[i]["p95_ms"] / statistics.mean(around))
    return round((statistics.median(ratios) - 1) * 100, 1) if ratios else 0.0


async def prune_only(url: str) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        print(json.dumps((await prune(conn)).as_dict()))


def main() -> None:
    if sys.argv[1:2] == ["--prune-only"]:
        asyncio.run(prune_only(sys.argv[2]))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--history", type=int, default=1_000_000, help="old jobs to prune")
    p.add_argument("--rate", type=float, default=100.0, help="jobs pushed a second")
    p.add_argument("--workers", type=int, default=2, help="workers claiming them")
    p.add_argument("--slices", type=int, default=10, help="pruning rounds the history takes")
    p.add_argument("--idle-s", type=float, default=30.0,
                   help="the idle stretch before and after every round (and a control's rounds)")
    p.add_argument("--control", action="store_true",
                   help="idle waits instead of pruning rounds: the method's own noise")
    p.add_argument("--random-ids", action="store_true",
                   help="fill the history with random (v4) ids instead of Tidemill's time-ordered v7")
    a = p.parse_args()
    with bench_database() as url:
        print(json.dumps(asyncio.run(bench(url, a.history, a.rate, a.workers, a.slices,
                                           a.idle_s, a.control, a.random_ids)), indent=2))


if __name__ == "__main__":
    main()
