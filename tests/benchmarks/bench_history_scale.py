"""Benchmark: the queue, run_wait_result and the Runs view with a large job history,
against an empty database.

The acceptance item: with 1,000,000 completed jobs and 10,000,000 log lines in the
database, claim/complete and `run_wait_result` latency within 10 % of an empty database,
and the Runs view's first page ≤ 150 ms.

One embedded PostgreSQL cluster (fsync on) holds two migrated databases: `empty`, and
`history`, filled by SQL with `--jobs` completed jobs and `--lines` log lines. The jobs
are what Tidemill writes: UUIDv7 ids made from their `created_at` (`core.ids`), over the
last `--history-days` (inside the default retention, so the daemons' pruning finds nothing
due), 200 script paths, Python and Bash, ~91 % success, ~8 % failure, ~1 % canceled, a fifth
started by schedules. The log lines are in `job_logs` chunks of `--lines-per-chunk` lines
(a worker writes a chunk per 0.5 s of output), with `end_pos` as `queue/logs.py` keeps it,
spread evenly over a share of the jobs (by default every fifth job: two chunks, 100 lines).
`job_logs`' secondary indexes (the trigram index of log search among them) are dropped
for the fill and built again after it (row by row the trigram index takes far longer; a
built index is a little tighter than a grown one). Then VACUUM ANALYZE and CHECKPOINT on
both databases. A daemon with the same settings runs on each database (`--workers`).

What is timed, each on both databases in every round, empty first in even rounds and
history first in odd ones, so a drift of the machine (on this shared 2-core VM the latency
of a minute moves 2x with nothing changed) falls on both:

1. The Runs view's first page while the history's own jobs are the newest: before the
   benchmark creates any job, the request `RunsModel` makes for its first page
   (`TidemillClient.list_jobs(per_page=FIRST_PAGE)`, i.e. `GET jobs/list?per_page=100`)
   over HTTP, `--pages` times a round (on the empty database: an empty page); and, unless
   `--no-gui`, the view itself, offscreen, in a child process for `--gui-rounds` rounds:
   `MainWindow.goto("runs")` with its repaint (the first opening), then `--gui-repeat`
   refreshes.
2. Claim/complete: `--queue-jobs` no-op jobs a round pushed at once, then claimed and
   completed one at a time on one connection the way a worker does (`queue.claim`,
   `queue.mark_started`, then one transaction: a log line and `queue.complete` with the
   completion handlers installed); each job's time from the claim to the commit.
3. `run_wait_result` of `def main(): return 1` through the daemon, `--runs` a round, one
   after the other (client: `TidemillClient.run_wait`).
4. The Runs first page again, now that the benchmark's own jobs are the newest on both
   databases: the same rows on both, the history under them.

Each figure is given for both databases (p50, p95 over all rounds) with the change, and
the median over rounds of each round's p50 ratio (`paired_p50_change_pct`: a noisy minute
moves it less). Targets: claim/complete and run_wait_result p50 and p95 both within 10 % of
the empty database; the Runs first page p95 ≤ 150 ms over HTTP (both pages) and, with the
view measured, its first opening (median) ≤ 150 ms.

`--control` leaves the history database empty: an A/A run, the method's own noise.

Prints JSON. Against a fresh embedded PostgreSQL unless TIDEMILL_BENCH_DATABASE_URL is set
(it then needs CREATE DATABASE rights). Run by hand, from the repository's root:

    python tests/benchmarks/bench_history_scale.py [--jobs 1000000] [--lines 10000000]
        [--rounds 20] [--queue-jobs 200] [--runs 20] [--pages 10] [--no-gui] [--control]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from psycopg import AsyncConnection, sql  # noqa: E402

from desktop_app.client.http import Connection, TidemillClient  # noqa: E402
from desktop_app.core.jobs import JobStatus  # noqa: E402
from desktop_app.db.migrate import migrate  # noqa: E402
from desktop_app.gui.runs_view import FIRST_PAGE  # noqa: E402
from desktop_app.queue import queue  # noqa: E402
from desktop_app.queue.logs import append_log  # noqa: E402
from desktop_app.queue.model import NewJob  # noqa: E402
from tests.e2e.daemon_harness import RunningDaemon, free_port  # noqa: E402
from tests.support.pg import bench_database, create_database  # noqa: E402

NAMES = ("empty", "history")
QUEUE_TAG = "bench-noop"  # no daemon worker takes it: only this benchmark claims these jobs
SCRIPT = "f/bench/one"
#: A benchmark machine may have no OS keyring: the daemons use the encrypted-file store.
DAEMON_ENV = {"TIDEMILL_SECRETS": "encrypted-file", "TIDEMILL_SECRETS_PASSPHRASE": "benchmark"}

# core.ids.new_job_id in SQL: the first 48 bits are the creation time in ms, then the
# version (7), 12 random bits, the variant (10xx) and 62 random bits.
V7_ID = """(lpad(to_hex(floor(extract(epoch FROM t.at) * 1000)::bigint), 12, '0') || '7'
        || substr(t.h, 1, 3) || to_hex(8 + floor(random() * 4)::int)
        || substr(t.h, 4, 15))::uuid"""
FILL_JOBS = f"""
INSERT INTO job_completed (id, workspace_id, kind, script_path, script_hash, language, tag,
                           args, created_by, permissioned_as, created_at, scheduled_for,
                           started_at, worker, attempt, canceled, canceled_by, trigger_kind,
                           schedule_path, completed_at, duration_ms, status, result)
SELECT {V7_ID}, 'main', 'script', 'f/history/script_' || (i %% 200),
       lpad(to_hex(i %% 200), 16, '0'), t.lang, t.lang,
       jsonb_build_object('customer', 'c' || (i %% 5000), 'batch', i),
       'admin', 'u/admin', t.at, t.at, t.at + interval '30 ms', 'worker-' || (i %% 4), 1,
       t.status = 'canceled', CASE WHEN t.status = 'canceled' THEN 'admin' END,
       CASE WHEN i %% 5 = 0 THEN 'schedule' ELSE 'webhook' END,
       CASE WHEN i %% 5 = 0 THEN 'f/history/every_' || (i %% 20) END,
       t.at + interval '30 ms' + t.ms * interval '1 ms', t.ms, t.status,
       CASE WHEN t.status = 'success' THEN jsonb_build_object('processed', i %% 1000)
            ELSE jsonb_build_object('error', jsonb_build_object(
                     'name', 'ValueError', 'message', 'order ' || i || ' was rejected')) END
  FROM generate_series(%(start)s::bigint, %(stop)s::bigint - 1) i,
       LATERAL (SELECT %(base)s + i * %(step)s AS at, md5(random()::text) AS h,
                       CASE WHEN i %% 3 = 0 THEN 'bash' ELSE 'python3' END AS lang,
                       (i * 37) %% 2000 AS ms,
                       CASE WHEN i %% 97 = 0 THEN 'canceled' WHEN i %% 13 = 0 THEN 'failure'
                            ELSE 'success' END AS status) t
"""
# Logged job k (0 ≤ k < logged) is job number k·jobs/logged in creation order and holds
# chunks k·chunks/logged … (k+1)·chunks/logged - 1: exactly `chunks` chunks in all.
LOGGED = """
CREATE TEMP TABLE logged AS
SELECT k, j.id, j.created_at,
       (k + 1) * %(chunks)s::bigint / %(logged)s::bigint
       - k * %(chunks)s::bigint / %(logged)s::bigint AS chunks
  FROM generate_series(0::bigint, %(logged)s::bigint - 1) k
  JOIN (SELECT id, created_at, row_number() OVER (ORDER BY created_at, id) - 1 AS n
          FROM job_completed) j ON j.n = k * %(jobs)s::bigint / %(logged)s::bigint
"""
FILL_LOGS = """
INSERT INTO job_logs (job_id, seq, chunk, end_pos, created_at)
SELECT l.id, c.seq, c.chunk, sum(length(c.chunk)) OVER (PARTITION BY l.id ORDER BY c.seq),
       l.created_at + c.seq * interval '500 ms'
  FROM logged l
 CROSS JOIN LATERAL (
   SELECT s AS seq, string_agg(format(
            '%%s %%s step %%s: order %%s for customer c%%s: %%s items in %%s ms',
            to_char(l.created_at + (s * %(per_chunk)s + n) * interval '7 ms', 'HH24:MI:SS.MS'),
            CASE WHEN (l.k + n) %% 23 = 0 THEN 'WARN' ELSE 'INFO' END, n,
            l.k * 1000 + s * %(per_chunk)s + n, (l.k * 7 + n) %% 5000, (n * 3) %% 17,
            (n * 7 + l.k) %% 900) || E'\\n', '' ORDER BY n) AS chunk
     FROM generate_series(0, l.chunks - 1) s, generate_series(1, %(per_chunk)s) n
    GROUP BY s) c
 WHERE l.k >= %(lo)s AND l.k < %(hi)s
"""
SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
 WHERE i.schemaname = current_schema() AND i.tablename = 'job_logs'
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                    WHERE c.conrelid = 'job_logs'::regclass AND c.conname = i.indexname)
"""
HISTORY_JOBS = "SELECT count(*) FROM job_completed WHERE script_path LIKE 'f/history/%'"


# -- the history -------------------------------------------------------------------------

@dataclass
class Filled:
    jobs: int = 0
    log_chunks: int = 0
    log_lines: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


async def fill(url: str, jobs: int, lines: int, per_chunk: int, days: float) -> Filled:
    """`jobs` completed jobs over the last `days` and `lines` log lines in chunks."""
    out = Filled(seconds={})
    t = time.perf_counter()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        (now,) = await (await conn.execute("SELECT now()")).fetchone()  # type: ignore[misc]
        span = timedelta(days=days)
        step, base = span / jobs, now - span
        for start in range(0, jobs, 100_000):
            await conn.execute(FILL_JOBS, {"base": base, "step": step, "start": start,
                                           "stop": min(jobs, start + 100_000)})
        out.jobs = jobs
        out.seconds["jobs"] = time.perf_counter() - t

        t = time.perf_counter()
        chunks = max(1, lines // per_chunk)
        logged = min(jobs, max(1, chunks // 2))
        await conn.execute(LOGGED, {"chunks": chunks, "logged": logged, "jobs": jobs})
        await conn.execute("CREATE INDEX ON logged (k)")
        indexes = await (await conn.execute(SECONDARY_INDEXES)).fetchall()
        for name, _ in indexes:
            await conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        batch = max(1, 20_000 * logged // chunks)  # ~20,000 chunks a statement
        for lo in range(0, logged, batch):
            await conn.execute(FILL_LOGS, {"per_chunk": per_chunk, "lo": lo, "hi": lo + batch})
        out.seconds["logs"] = time.perf_counter() - t

        t = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for _, ddl in indexes:
            await conn.execute(ddl)
        out.seconds["log_indexes"] = time.perf_counter() - t
        (total,) = await (await conn.execute("SELECT sum(chunks) FROM logged")).fetchone()  # type: ignore[misc]
        out.log_chunks, out.log_lines = int(total), int(total) * per_chunk
        (stored,) = await (await conn.execute("SELECT count(*) FROM job_logs")).fetchone()  # type: ignore[misc]
        assert stored == out.log_chunks, (stored, out.log_chunks)
        await conn.execute("DROP TABLE logged")
    return out


async def settle(url: str) -> float:
    """VACUUM ANALYZE and CHECKPOINT: the fill's writes are not flushed during the runs."""
    t = time.perf_counter()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    return time.perf_counter() - t


async def sizes(url: str) -> dict[str, float]:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        row = await (await conn.execute(
            "SELECT pg_database_size(current_database()),"
            " pg_total_relation_size('job_completed'), pg_total_relation_size('job_logs')"
        )).fetchone()
    assert row is not None
    return {"database_mb": round(row[0] / 2**20), "job_completed_mb": round(row[1] / 2**20),
            "job_logs_mb": round(row[2] / 2**20)}


async def count_history(url: str) -> int:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        (n,) = await (await conn.execute(HISTORY_JOBS)).fetchone()  # type: ignore[misc]
    return int(n)


# -- what is timed -----------------------------------------------------------------------

@dataclass
class Side:
    """One database, its daemon, a client and a worker connection, and the samples."""
    name: str
    url: str
    daemon: RunningDaemon
    client: TidemillClient | None = None
    conn: AsyncConnection[Any] | None = None
    samples: dict[str, list[list[float]]] = field(default_factory=dict)  # metric → rounds
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, metric: str, values: list[float]) -> None:
        self.samples.setdefault(metric, []).append(values)


def ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1000


async def first_pages(side: Side, n: int) -> list[float]:
    """The Runs view's first page over HTTP, as RunsModel asks for it."""
    assert side.client is not None
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await side.client.list_jobs(per_page=FIRST_PAGE)
        out.append(ms_since(t))
    return out


async def claim_complete(side: Side, n: int) -> tuple[list[float], list[float], list[float]]:
    """`n` no-op jobs pushed, then each claimed and completed as a worker does: the times
    of claim → commit, of the claim, and of the completing transaction."""
    conn, worker = side.conn, f"bench-{side.name}"
    assert conn is not None
    jobs = [NewJob(kind="script", tag=QUEUE_TAG, created_by="bench", permissioned_as="u/bench",
                   script_path="f/bench/noop", args={"i": i}) for i in range(n)]
    async with conn.transaction():
        await queue.push_many(conn, jobs)
    await queue.worker_ping(conn, worker)
    total, claims, completes = [], [], []
    for _ in range(n):
        t = time.perf_counter()
        claimed = await queue.claim(conn, worker, [QUEUE_TAG], 1)
        t_claim = time.perf_counter()
        job = claimed[0]
        await queue.mark_started(conn, worker, job.id, workspace=job.workspace_id,
                                 script_hash=job.script_hash)
        t_done = time.perf_counter()
        async with conn.transaction():
            await append_log(conn, job.id, 0, f"processed item {job.args['i']}\n")
            await queue.complete(conn, job.id, JobStatus.SUCCESS, None, result_json="1",
                                 worker=worker)
        completes.append(ms_since(t_done))
        claims.append((t_claim - t) * 1000)
        total.append(ms_since(t))
    return total, claims, completes


async def run_waits(side: Side, n: int) -> list[float]:
    assert side.client is not None
    out = []
    for _ in range(n):
        t = time.perf_counter()
        outcome = await side.client.run_wait(SCRIPT, {})
        out.append(ms_since(t))
        assert outcome.success and outcome.result == 1, outcome
    return out


async def gui_probe(side: Side, repeat: int) -> dict[str, Any]:
    """The Runs view itself, offscreen, in a child process (Qt gets its own process and
    event loop; this one stays free of it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--gui-probe", side.daemon.url, str(repeat), cwd=ROOT,
        env={**os.environ, "BENCH_PROBE_TOKEN": side.daemon.token},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"the GUI probe failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def probe_main(url: str, token: str, repeat: int) -> dict[str, Any]:
    """In the child: MainWindow, as bench_runs_view.py drives it."""
    from desktop_app.gui import tasks
    from desktop_app.gui.app import MainWindow

    async with TidemillClient(Connection(url=url, token=token)) as client:
        t = time.perf_counter()
        w = MainWindow(client)
        w.resize(1280, 800)
        w.show()
        # The window opens on the workspace view, whose loads (among them the newest 500
        # jobs, for each item's last run) must be over before the Runs view is timed.
        while tasks._running and time.perf_counter() - t < 60:
            await asyncio.sleep(0.01)
        home_ms = ms_since(t)
        await asyncio.sleep(0.2)
        t = time.perf_counter()
        await w.goto("runs")
        w.runs.table.viewport().repaint()
        open_ms = ms_since(t)
        refresh = []
        for _ in range(repeat):
            t = time.perf_counter()
            await w.runs.refresh()
            w.runs.table.viewport().repaint()
            refresh.append(ms_since(t))
        rows = len(w.runs.model.rows)
    return {"open_ms": open_ms, "refresh_ms": refresh, "rows": rows, "home_ms": home_ms}


def run_probe(argv: list[str]) -> None:
    import qasync
    from PySide6.QtWidgets import QApplication

    url, token, repeat = argv[0], os.environ["BENCH_PROBE_TOKEN"], int(argv[1])
    app = QApplication.instance() or QApplication([])
    QApplication.setQuitOnLastWindowClosed(False)  # the window stays open: exit is below
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        report = loop.run_until_complete(probe_main(url, token, repeat))
    print(json.dumps(report), flush=True)
    os._exit(0)  # skip interpreter teardown: PySide6 can crash collecting widgets at exit


def order(round_: int, sides: dict[str, Side]) -> list[Side]:
    names = NAMES if round_ % 2 == 0 else NAMES[::-1]
    return [sides[n] for n in names]


async def measure(sides: dict[str, Side], a: argparse.Namespace) -> None:
    from desktop_app.worker import completion_handlers

    completion_handlers.install()  # queue.complete runs the handlers a worker runs
    for s in sides.values():
        s.client = TidemillClient(Connection(url=s.daemon.url, token=s.daemon.token))
        s.conn = await AsyncConnection.connect(s.url, autocommit=True)
        await s.conn.execute(
            "INSERT INTO workers (name, hostname, pid, tags) VALUES (%s, 'bench', %s, %s)"
            " ON CONFLICT (name) DO NOTHING", (f"bench-{s.name}", os.getpid(), [QUEUE_TAG]))
    try:
        # The daemon's first answer of the page (its pool and caches cold), then warm-ups.
        for s in sides.values():
            s.extra["first_page_first_request_ms"] = round((await first_pages(s, 1))[0], 1)
            await first_pages(s, 3)
        # 1. The Runs first page with the history's newest jobs on it: before any job of ours.
        note("the Runs first page, history on top")
        for r in range(a.rounds):
            for s in order(r, sides):
                s.add("runs_first_page", await first_pages(s, a.pages))
            if a.gui and r < a.gui_rounds:
                for s in order(r, sides):
                    probe = await gui_probe(s, a.gui_repeat)
                    s.add("runs_view_open", [probe["open_ms"]])
                    s.add("runs_view_refresh", probe["refresh_ms"])
                    s.add("home_view_load", [probe["home_ms"]])
                    s.extra["runs_view_rows"] = probe["rows"]
        # Warm-up: the venv, the zygotes, the sandbox probe; the queue's prepared statements.
        for s in sides.values():
            await run_waits(s, 5)
            await claim_complete(s, 20)
        # 2, 3 and 4, in rounds.
        for r in range(a.rounds):
            note(f"round {r + 1} of {a.rounds}: claim/complete, run_wait_result, first page")
            for s in order(r, sides):
                total, claims, completes = await claim_complete(s, a.queue_jobs)
                s.add("claim_complete", total)
                s.add("claim", claims)
                s.add("complete", completes)
            for s in order(r, sides):
                s.add("run_wait_result", await run_waits(s, a.runs))
            for s in order(r, sides):
                s.add("runs_first_page_same_rows", await first_pages(s, a.pages))
    finally:
        for s in sides.values():
            if s.client is not None:
                await s.client.aclose()
            if s.conn is not None:
                await s.conn.close()


# -- the report --------------------------------------------------------------------------

def percentile(values: Iterable[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def flat(rounds: list[list[float]]) -> list[float]:
    return [v for values in rounds for v in values]


def stats(rounds: list[list[float]]) -> dict[str, Any]:
    values = flat(rounds)
    return {"n": len(values), "p50_ms": round(statistics.median(values), 2),
            "p95_ms": round(percentile(values, 95), 2), "max_ms": round(max(values), 2)}


def change(new: float, base: float) -> float:
    return round((new / base - 1) * 100, 1) if base else float("nan")


def compare(sides: dict[str, Side], metric: str) -> dict[str, Any]:
    e, h = sides["empty"].samples[metric], sides["history"].samples[metric]
    out: dict[str, Any] = {"empty": stats(e), "history": stats(h)}
    out["p50_change_pct"] = change(out["history"]["p50_ms"], out["empty"]["p50_ms"])
    out["p95_change_pct"] = change(out["history"]["p95_ms"], out["empty"]["p95_ms"])
    ratios = [statistics.median(hv) / statistics.median(ev) for ev, hv in zip(e, h, strict=True)]
    out["paired_p50_change_pct"] = round((statistics.median(ratios) - 1) * 100, 1)
    out["round_p50_ms"] = {name: [round(statistics.median(v), 1) for v in rounds]
                           for name, rounds in (("empty", e), ("history", h))}
    return out


def within(figure: dict[str, Any], pct: float) -> dict[str, Any]:
    return {"target": f"p50 and p95 within {pct:g} % of the empty database",
            "p50_change_pct": figure["p50_change_pct"],
            "p95_change_pct": figure["p95_change_pct"],
            "met": figure["p50_change_pct"] <= pct and figure["p95_change_pct"] <= pct}


def report(sides: dict[str, Side], a: argparse.Namespace) -> dict[str, Any]:
    figures = {m: compare(sides, m) for m in ("claim_complete", "claim", "complete",
                                              "run_wait_result", "runs_first_page",
                                              "runs_first_page_same_rows")}
    for m in ("claim", "complete"):  # the parts: their p50s are enough
        figures[m] = {k: v for k, v in figures[m].items() if k != "round_p50_ms"}
    page = {"target": f"p95 ≤ {a.page_ms:g} ms over HTTP with the history"
                      + (" and the view's first opening (median) too" if a.gui else ""),
            "http_p95_ms": figures["runs_first_page"]["history"]["p95_ms"],
            "http_same_rows_p95_ms": figures["runs_first_page_same_rows"]["history"]["p95_ms"]}
    met = max(page["http_p95_ms"], page["http_same_rows_p95_ms"]) <= a.page_ms
    if a.gui:
        view: dict[str, Any] = {}
        for s in sides.values():
            opens = flat(s.samples["runs_view_open"])
            view[s.name] = {"opens": len(opens), "open_median_ms": round(statistics.median(opens), 1),
                            "refresh": stats(s.samples["runs_view_refresh"]),
                            # not a target: the window's start on the workspace view
                            "home_view_load_median_ms": round(statistics.median(
                                flat(s.samples["home_view_load"])), 1),
                            "rows_shown": s.extra.get("runs_view_rows")}
        figures["runs_view_offscreen"] = view
        page["view_open_median_ms"] = view["history"]["open_median_ms"]
        met = met and page["view_open_median_ms"] <= a.page_ms
    page["met"] = met
    return {
        **figures,
        "targets": {"claim_complete": within(figures["claim_complete"], a.within_pct),
                    "run_wait_result": within(figures["run_wait_result"], a.within_pct),
                    "runs_first_page": page},
        "first_page_first_request_ms": {s.name: s.extra["first_page_first_request_ms"]
                                        for s in sides.values()},
    }


# -- wiring ------------------------------------------------------------------------------

def main() -> None:
    if sys.argv[1:2] == ["--gui-probe"]:
        run_probe(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=1_000_000, help="completed jobs in the history")
    p.add_argument("--lines", type=int, default=10_000_000, help="log lines in the history")
    p.add_argument("--lines-per-chunk", type=int, default=50)
    p.add_argument("--history-days", type=float, default=20.0,
                   help="the history's span, ending now (under the 30-day default retention)")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--queue-jobs", type=int, default=200, help="claim/complete, per round")
    p.add_argument("--runs", type=int, default=20, help="run_wait_result calls, per round")
    p.add_argument("--pages", type=int, default=10, help="Runs first pages, per round")
    p.add_argument("--no-gui", dest="gui", action="store_false",
                   help="skip the Runs view offscreen (a Qt child process a round)")
    p.add_argument("--gui-rounds", type=int, default=4)
    p.add_argument("--gui-repeat", type=int, default=10, help="refreshes per GUI probe")
    p.add_argument("--workers", type=int, default=2, help="each daemon's workers")
    p.add_argument("--within-pct", type=float, default=10.0)
    p.add_argument("--page-ms", type=float, default=150.0)
    p.add_argument("--control", action="store_true",
                   help="leave the history database empty: the method's own noise")
    a = p.parse_args()

    root = Path(tempfile.mkdtemp(prefix="tm-hist-bench-"))
    started = datetime.now(UTC)
    try:
        with bench_database() as server:
            out = run(server, root, a)
            out["started"] = started.isoformat(timespec="seconds")
        print(json.dumps(out, indent=2), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(server: str, root: Path, a: argparse.Namespace) -> dict[str, Any]:
    """Fill, start a daemon on each database, measure; the daemons are gone on return."""
    urls = {n: create_database(server, f"tm_bench_{n}") for n in NAMES}
    for url in urls.values():
        migrate(url)
    filled = Filled()
    if not a.control:
        note(f"filling {a.jobs:,} jobs and {a.lines:,} log lines")
        filled = asyncio.run(fill(urls["history"], a.jobs, a.lines, a.lines_per_chunk,
                                  a.history_days))
    for n in NAMES:
        filled.seconds[f"vacuum_checkpoint_{n}"] = asyncio.run(settle(urls[n]))
    size = {n: asyncio.run(sizes(urls[n])) for n in NAMES}
    note(f"filled: {json.dumps({k: round(v, 1) for k, v in filled.seconds.items()})}, "
         f"sizes: {json.dumps(size)}")
    sides: dict[str, Side] = {}
    start_s = {}
    try:
        for n in NAMES:
            d = RunningDaemon(home=root / f"home-{n}", port=free_port(), database_url=urls[n],
                              workers=a.workers, heartbeat=2.0, extra_env=DAEMON_ENV)
            sides[n] = Side(n, urls[n], d)
            t = time.perf_counter()
            d.start(timeout=180)
            start_s[n] = round(time.perf_counter() - t, 2)
            d.deploy(SCRIPT, "def main():\n    return 1\n")
        t = time.perf_counter()
        asyncio.run(measure(sides, a))
        measure_s = time.perf_counter() - t
    except BaseException:
        for s in sides.values():
            print(f"--- {s.daemon.home.name} log (tail) ---\n{s.daemon.log()[-4000:]}",
                  file=sys.stderr)
        raise
    finally:
        for s in sides.values():
            s.daemon.stop()
    intact = asyncio.run(count_history(urls["history"])) == (0 if a.control else a.jobs)
    return {
        "benchmark": "history at scale: an empty database against one with a job history"
                     + (" (control: both empty)" if a.control else ""),
        "history": {"jobs": filled.jobs, "log_lines": filled.log_lines,
                    "log_chunks": filled.log_chunks, "lines_per_chunk": a.lines_per_chunk,
                    "days": a.history_days, "intact_at_end": intact,
                    "fill_s": {k: round(v, 1) for k, v in filled.seconds.items()},
                    "fill_total_s": round(sum(filled.seconds.values()), 1)},
        "sizes": size,
        "rounds": a.rounds, "queue_jobs_per_round": a.queue_jobs, "runs_per_round": a.runs,
        "pages_per_round": a.pages, "first_page_rows": FIRST_PAGE, "daemon_workers": a.workers,
        "daemon_start_s": start_s, "measure_s": round(measure_s, 1),
        **report(sides, a),
        "notes": [
            "runs_first_page: before the benchmark's own jobs, so the history page shows the"
            " history's newest jobs and the empty database an empty page (the 150 ms target"
            " is absolute; its change is not a target)",
            "runs_first_page_same_rows: after them, the same newest rows on both databases",
            "claim/complete and run_wait_result: p50 and p95 pooled over all rounds;"
            " paired_p50_change_pct is the median over rounds of the round's p50 ratio",
        ],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
    }


def note(text: str) -> None:
    """Progress, on stderr (stdout is the JSON)."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)

if __name__ == "__main__":
    main()
