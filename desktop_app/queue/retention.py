"""Retention: finished jobs and their logs are deleted once their workspace's policy says,
and a script's `delete_after_secs` clears its jobs' arguments, result and logs.

Pruning works in small batches (`BATCH` rows, one short transaction each, `SKIP LOCKED`)
with a pause between them, so the queue's own statements never wait long behind it; while
jobs wait unclaimed (the workers are behind) it holds back longer, so it never competes
with a busy queue for the machine.
Only `job_completed` is touched: queued and running jobs live in `job_queue`, and a
finished flow step whose flow still runs is kept until the flow ends.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import AsyncConnection

log = logging.getLogger(__name__)

#: Kept when a workspace sets nothing (Windmill's OSS keeps job details 30 days).
DEFAULT_KEEP_SUCCESS_SECS = 30 * 86400
DEFAULT_KEEP_FAILURE_SECS = 90 * 86400
BATCH = 100  # 500 doubled the queue's median latency while pruning (bench_retention, 200k)
PAUSE_S = 0.02  # the least pause between batches
#: After each batch, pause this many times as long as it took: pruning takes at most a
#: third of the server's time, whatever the machine's speed.
YIELD_FACTOR = 2.0
#: Jobs due but not claimed above which the queue is "behind": pruning then waits (up to
#: BACKLOG_WAIT_S before each batch) for the workers to catch up instead of competing.
BACKLOG = 16
BACKLOG_WAIT_S = 2.0
#: The daemon's pruning rounds (seconds); the first comes a minute after start.
INTERVAL_S = float(os.environ.get("TIDEMILL_PRUNE_INTERVAL_S", "600"))

SUCCESS_STATUSES = ["success", "skipped"]
FAILURE_STATUSES = ["failure", "canceled"]

# Each batch goes on from where the last one stopped (keyset on the (workspace_id,
# created_at, id) index): rows of the other status and kept flow steps are passed over
# once per round, not once per batch.
_PRUNE = """
WITH victims AS (
    SELECT c.id, c.created_at FROM job_completed c
     WHERE c.workspace_id = %(ws)s
       AND c.created_at < now() - make_interval(secs => %(keep)s)
       AND (c.created_at, c.id) > (%(after_ts)s, %(after_id)s)
       AND c.status = ANY(%(statuses)s)
       AND NOT EXISTS (SELECT 1 FROM job_queue q WHERE q.id IN (c.parent_job, c.root_job))
     ORDER BY c.created_at, c.id
     LIMIT %(batch)s
       FOR UPDATE OF c SKIP LOCKED),
gone AS (DELETE FROM job_completed c USING victims v WHERE c.id = v.id
         RETURNING c.id, c.created_at)
SELECT array_agg(id), (array_agg(created_at ORDER BY created_at DESC, id DESC))[1],
       (array_agg(id ORDER BY created_at DESC, id DESC))[1]
  FROM gone
"""
_START = ("-infinity", "00000000-0000-0000-0000-000000000000")

_CLEAR_AFTER_USE = """
WITH victims AS (
    SELECT c.id FROM scripts s
      JOIN job_completed c ON c.workspace_id = s.workspace_id AND c.script_path = s.path
                          AND c.script_hash = s.hash
     WHERE s.workspace_id = %(ws)s AND jsonb_typeof(s.extra->'delete_after_secs') = 'number'
       AND c.completed_at < now() - make_interval(secs => (s.extra->>'delete_after_secs')::float)
       AND NOT c.extra ? 'deleted_after_use'
     LIMIT %(batch)s
       FOR UPDATE OF c SKIP LOCKED),
cleared AS (
    UPDATE job_completed c SET args = '{}'::jsonb, result = NULL,
           extra = c.extra || '{"deleted_after_use": true}'::jsonb
      FROM victims v WHERE c.id = v.id RETURNING c.id)
SELECT array_agg(id) FROM cleared
"""

# What else a job leaves behind, by job id.
_JOB_TABLES = ("job_logs", "job_progress", "job_secret_reads")


@dataclass
class PruneReport:
    deleted_jobs: int = 0
    cleared_jobs: int = 0  # delete_after_secs: arguments, result and logs removed
    deleted_log_rows: int = 0
    batches: int = 0
    by_workspace: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"deleted_jobs": self.deleted_jobs, "cleared_jobs": self.cleared_jobs,
                "deleted_log_rows": self.deleted_log_rows, "batches": self.batches,
                "by_workspace": self.by_workspace}


async def policies(conn: AsyncConnection[Any],
                   workspace: str | None = None) -> list[tuple[str, int, int]]:
    """(workspace, keep success s, keep failure s) for every workspace with jobs."""
    # The workspaces that have history, by skipping along the (workspace_id, …) index.
    cur = await conn.execute(
        "WITH RECURSIVE w(ws) AS ("
        "   SELECT min(workspace_id) FROM job_completed"
        "   UNION ALL SELECT (SELECT min(workspace_id) FROM job_completed WHERE workspace_id > w.ws)"
        "     FROM w WHERE w.ws IS NOT NULL)"
        " SELECT w.ws, COALESCE(s.keep_success_secs, %(succ)s),"
        "        COALESCE(s.keep_failure_secs, %(fail)s)"
        "   FROM w LEFT JOIN workspace_settings s ON s.workspace_id = w.ws"
        "  WHERE w.ws IS NOT NULL AND (%(only)s::text IS NULL OR w.ws = %(only)s)",
        {"succ": DEFAULT_KEEP_SUCCESS_SECS, "fail": DEFAULT_KEEP_FAILURE_SECS, "only": workspace})
    return [(str(ws), int(s), int(f)) for ws, s, f in await cur.fetchall()]


async def prune(conn: AsyncConnection[Any], workspace: str | None = None, *,
                batch: int = BATCH, pause_s: float = PAUSE_S) -> PruneReport:
    """One pruning round over every workspace (or one): until nothing is due."""
    report = PruneReport()
    for ws, keep_success, keep_failure in await policies(conn, workspace):
        for keep, statuses in ((keep_success, SUCCESS_STATUSES), (keep_failure, FAILURE_STATUSES)):
            params = {"ws": ws, "keep": keep, "statuses": statuses, "batch": batch,
                      "after_ts": _START[0], "after_id": _START[1]}
            while ids := await _paced(pause_s, _batch(conn, _PRUNE, params, report), conn):
                report.deleted_jobs += len(ids)
                report.by_workspace[ws] = report.by_workspace.get(ws, 0) + len(ids)
        while ids := await _paced(pause_s, _batch(conn, _CLEAR_AFTER_USE,
                                                  {"ws": ws, "batch": batch}, report,
                                                  tables=("job_logs",))):
            report.cleared_jobs += len(ids)
    return report


async def _paced(pause_s: float, work: Awaitable[list[Any]],
                 conn: AsyncConnection[Any] | None = None) -> list[Any]:
    """Run one batch, then pause (YIELD_FACTOR times its duration, at least `pause_s`) if it
    did anything, and longer while the queue is behind."""
    start = time.monotonic()
    ids = await work
    if ids and pause_s > 0:
        await asyncio.sleep(max(pause_s, (time.monotonic() - start) * YIELD_FACTOR))
        if conn is not None:
            await _while_queue_behind(conn)
    return ids


async def _while_queue_behind(conn: AsyncConnection[Any]) -> None:
    """Wait (at most BACKLOG_WAIT_S) while more than BACKLOG jobs are due and unclaimed."""
    deadline = time.monotonic() + BACKLOG_WAIT_S
    while time.monotonic() < deadline:
        row = await (await conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM job_queue WHERE NOT running"
            " AND scheduled_for <= now() LIMIT %s) due", (BACKLOG + 1,))).fetchone()
        if row is None or row[0] <= BACKLOG:
            return
        await asyncio.sleep(0.25)


async def _batch(conn: AsyncConnection[Any], statement: str, params: dict[str, Any],
                 report: PruneReport, tables: tuple[str, ...] = _JOB_TABLES) -> list[Any]:
    async with conn.transaction():
        row = await (await conn.execute(statement, params)).fetchone()
        ids = list(row[0] or []) if row else []
        if row is not None and ids and len(row) > 2:  # where the next batch starts
            params["after_ts"], params["after_id"] = row[1], row[2]
        if ids:
            report.batches += 1
            for table in tables:
                cur = await conn.execute(f"DELETE FROM {table} WHERE job_id = ANY(%s)", (ids,))
                if table == "job_logs":
                    report.deleted_log_rows += cur.rowcount
    return ids


async def run_pruner(database_url: str, interval_s: float = INTERVAL_S,
                     first_after_s: float = 60.0) -> None:
    """The daemon's pruning loop: a round every `interval_s`; several daemons on one
    database are safe (locked rows are skipped)."""
    await asyncio.sleep(min(first_after_s, interval_s))
    while True:
        try:
            async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                while True:
                    report = await prune(conn)
                    if report.deleted_jobs or report.cleared_jobs:
                        log.info("retention: %s", report.as_dict())
                    await asyncio.sleep(interval_s)
        except psycopg.OperationalError as exc:
            log.warning("retention lost the database: %s", str(exc).strip())
            await asyncio.sleep(min(interval_s, 5.0))
