"""Helpers of the chaos suite: a daemon on its own embedded PostgreSQL, jobs that append
their id to a file, clients that submit in bursts and retry while the daemon is away, and
the ledger that says what was lost, what ran twice and what failed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from desktop_app.core.jobs import JobStatus
from desktop_app.db.embedded import EmbeddedPostgres
from desktop_app.queue import queue
from tests.e2e.daemon_harness import RunningDaemon

# Appends its id first (so a job killed later is visibly one that started), then may sleep.
APPEND = """import os, time

def main(log: str, s: float = 0):
    with open(log, "a") as f:
        f.write(os.environ["WM_JOB_ID"] + "\\n")
    time.sleep(s)
    return "ran"
"""
PATH = "f/chaos/append"


def database_url(home: Path) -> str:
    """The URL of the home's embedded server (adopted, never started here: call it while
    the daemon runs)."""
    return EmbeddedPostgres(home).start()


def postmaster_pid(home: Path) -> int:
    return int((EmbeddedPostgres(home).data_dir / "postmaster.pid").read_text().split()[0])


def seed_history(url: str, n: int) -> None:
    """A database that already ran `n` jobs, written by SQL: the rows go through job_queue
    into job_completed, then ANALYZE sees the queue empty — the statistics a busy database
    has between bursts, under which the old claim took every queued row."""
    async def seed() -> None:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as c:
            cur = await c.execute(
                "INSERT INTO job_queue (id, workspace_id, kind, script_path, tag, created_by,"
                " permissioned_as, args) SELECT gen_random_uuid(), 'main', 'script', 'f/old/x',"
                " 'python3', 'admin', 'u/admin', '{}' FROM generate_series(1, %s) RETURNING id",
                (n,))
            ids = [r[0] for r in await cur.fetchall()]
            await queue.complete_many(c, [(i, JobStatus.SUCCESS, None) for i in ids])
            await c.execute("ANALYZE job_queue")
            await c.execute("ANALYZE job_completed")

    asyncio.run(seed())


@dataclass
class Ledger:
    """Every job id a client got back, in submission order."""

    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job_id: str) -> None:
        with self.lock:
            self.accepted.append(job_id)


def submit(d: RunningDaemon, ledger: Ledger, log: Path, n: int, clients: int = 30,
           s: float = 0.0) -> list[str]:
    """`n` jobs from `clients` concurrent clients; each retries a refusal (503) or a
    daemon that is away until its job is accepted. Returns the ids, in no order."""
    ids: list[str] = []
    ids_lock = threading.Lock()
    token = d.token

    def one_client(count: int) -> None:
        with httpx.Client(base_url=d.url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            for _ in range(count):
                while True:
                    try:
                        r = c.post(f"/api/w/main/jobs/run/p/{PATH}",
                                   json={"log": str(log), "s": s})
                    except httpx.HTTPError:
                        time.sleep(0.2)
                        continue
                    if r.status_code in (200, 201):
                        ledger.add(r.text)
                        with ids_lock:
                            ids.append(r.text)
                        break
                    assert r.status_code in (502, 503), r.text
                    time.sleep(0.2)

    share = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, [k for k in share if k]))
    return ids


def all_jobs(url: str, path: str) -> list[str]:
    """Every job of this script in the database, queued, running or completed."""
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute("SELECT id::text FROM job_queue WHERE script_path = %s UNION ALL"
                         " SELECT id::text FROM job_completed WHERE script_path = %s",
                         (path, path)).fetchall()
    return [r[0] for r in rows]


def completed(url: str, ids: list[str]) -> dict[str, tuple[str, Any]]:
    """id → (status, error name) of the given jobs that completed."""
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute("SELECT id::text, status, result->'error'->>'name' FROM job_completed"
                         " WHERE id = ANY(%s::uuid[])", (ids,)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def wait_done(url: str, ids: list[str], timeout: float) -> dict[str, tuple[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = completed(url, ids)
        except psycopg.OperationalError:
            done = {}
        if len(done) == len(ids) or time.monotonic() > deadline:
            return done
        time.sleep(0.3)


def running_started(url: str, worker_prefix: str) -> dict[str, str]:
    """worker name → the job it runs (its `current_job`, still running under it)."""
    with psycopg.connect(url, autocommit=True) as c:
        rows = c.execute("SELECT w.name, q.id::text FROM workers w JOIN job_queue q"
                         " ON q.id = w.current_job AND q.worker = w.name AND q.running"
                         " WHERE w.name LIKE %s", (worker_prefix + "%",)).fetchall()
    return dict(rows)


def ran(log: Path) -> Counter[str]:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def verdict(accepted: list[str], done: dict[str, tuple[str, Any]], log: Path) -> dict[str, Any]:
    """The counts the suite asserts on."""
    runs = ran(log)
    lost = [i for i in accepted if i not in done]
    twice = [i for i, k in runs.items() if k > 1]
    never_started_lost = [i for i, (st, name) in done.items()
                          if name == "WorkerLost" and i not in runs]
    other_failures = {i: v for i, v in done.items()
                      if v[0] != "success" and v[1] != "WorkerLost"}
    succeeded_not_run = [i for i, (st, _n) in done.items() if st == "success" and i not in runs]
    return {"accepted": len(accepted), "completed": len(done),
            "succeeded": sum(1 for v in done.values() if v[0] == "success"),
            "lost": len(lost), "run_twice": len(twice),
            "worker_lost_never_started": len(never_started_lost),
            "worker_lost_started": sum(1 for v in done.values() if v[1] == "WorkerLost")
            - len(never_started_lost),
            "other_failures": len(other_failures),
            "succeeded_without_running": len(succeeded_not_run),
            "examples": {"lost": lost[:3], "twice": twice[:3],
                         "never_started": never_started_lost[:3],
                         "failures": list(other_failures.items())[:3]}}
