"""Benchmark: searching job logs by text over 1,000,000 log lines.

Fills `--jobs` finished jobs whose logs hold `--lines` lines in all (chunks of 50
lines, as a worker writes them), a few with a rare word; then times the API's own search
(`db.jobs.list_jobs` with `log_search`, then `queue.logs.matching_lines` for the shown
page of 30): rare words, common words, with path and status filters. Prints JSON with
each query's p50/p95 over `--repeat` runs and the overall p95.

Runs against a fresh embedded PostgreSQL unless TIDEMILL_BENCH_DATABASE_URL is set:

    python tests/benchmarks/bench_log_search.py [--lines 1000000] [--jobs 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from psycopg import AsyncConnection

from desktop_app.db import jobs as job_reads
from desktop_app.queue.logs import matching_lines
from tests.support.pg import bench_database

FILL_JOBS = """
INSERT INTO job_completed (id, workspace_id, kind, script_path, tag, created_by,
                           permissioned_as, created_at, completed_at, status, result, args)
SELECT gen_random_uuid(), 'main', 'script', 'f/bench/s' || (i %% 20), 'bash', 'bench',
       'u/bench', now() - i * interval '1 s', now() - i * interval '1 s',
       CASE WHEN i %% 10 = 0 THEN 'failure' ELSE 'success' END, 'null', '{}'
  FROM generate_series(1, %(jobs)s) i
"""
# Each job's lines, in chunks of 50; line k of job j mentions an order number and a
# customer; one job in 2,000 logs the rare "checksum mismatch".
FILL_LOGS = """
INSERT INTO job_logs (job_id, seq, chunk, end_pos)
SELECT j.id, c.seq, c.chunk, sum(length(c.chunk)) OVER (PARTITION BY j.id ORDER BY c.seq)
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM job_completed) j
 CROSS JOIN LATERAL (
   SELECT s AS seq, string_agg(
            format('%%s INFO processed order %%s for customer c%%s in %%s ms%%s',
                   to_char(now(), 'HH24:MI:SS'), j.n * 1000 + s * 50 + k, (j.n + k) %% 5000,
                   (k * 7) %% 300,
                   CASE WHEN j.n %% 2000 = 0 AND s = 0 AND k = 3
                        THEN ' WARN checksum mismatch on parcel ' || j.n ELSE '' END)
            || E'\\n', '' ORDER BY k) AS chunk
     FROM generate_series(0, %(chunks)s - 1) s, generate_series(1, 50) k
    GROUP BY s) c
"""

QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("checksum mismatch", {}),
    ("checksum mismatch", {"status": "failure"}),
    ("parcel 4000", {}),
    ("order 123456", {}),
    ("customer c4242 ", {"script_path_start": "f/bench/s1"}),
    ("processed order", {}),  # in every line: the newest 30 jobs
    ("no such words in any log", {}),
]


async def fill(url: str, jobs: int, lines: int) -> float:
    chunks = max(1, lines // jobs // 50)
    t0 = time.perf_counter()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(FILL_JOBS, {"jobs": jobs})
        await conn.execute(FILL_LOGS, {"chunks": chunks})
        await conn.execute("VACUUM ANALYZE job_completed")
        await conn.execute("VACUUM ANALYZE job_logs")
    return time.perf_counter() - t0


async def search(conn: AsyncConnection[Any], text: str, filters: dict[str, Any]) -> int:
    f = job_reads.JobFilter(log_search=text, per_page=30, **filters)
    rows = await job_reads.list_jobs(conn, "main", f)
    await matching_lines(conn, [r["id"] for r in rows], text)
    return len(rows)


async def bench(url: str, jobs: int, lines: int, repeat: int) -> dict[str, Any]:
    fill_s = await fill(url, jobs, lines)
    results: list[dict[str, Any]] = []
    every: list[float] = []
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        stored = (await (await conn.execute(
            "SELECT count(*), sum(length(chunk) - length(replace(chunk, E'\\n', '')))"
            " FROM job_logs")).fetchone())
        for text, filters in QUERIES:
            times: list[float] = []
            found = 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                found = await search(conn, text, filters)
                times.append(time.perf_counter() - t0)
            every += times
            times.sort()
            results.append({"text": text, "filters": filters, "jobs_found": found,
                            "p50_ms": round(statistics.median(times) * 1000, 1),
                            "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 1)})
    every.sort()
    return {"benchmark": "log search (trigram index)", "jobs": jobs,
            "log_chunks": stored[0], "log_lines": int(stored[1]), "fill_s": round(fill_s, 1),
            "queries": results, "p95_ms": round(every[int(len(every) * 0.95)] * 1000, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=20)
    a = p.parse_args()
    with bench_database() as url:
        print(json.dumps(asyncio.run(bench(url, a.jobs, a.lines, a.repeat)), indent=2))


if __name__ == "__main__":
    main()
