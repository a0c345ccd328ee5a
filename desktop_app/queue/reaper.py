"""The reaper: jobs whose worker is gone are re-queued, retried or failed.

A worker pings its running job and its own `workers` row every few seconds. When a
worker process is killed (kill -9, a crash, the machine losing power) its jobs stay
`running` with an old `last_ping`. The reaper judges such a job lost only once its
worker is gone (its process is dead on this machine, or its row stopped pinging), and
then: a job whose process never started (the worker died while preparing it, or claimed
it and never got to it) goes back to the queue as it was; one that really started is
retried per its `max_retries` or failed as `WorkerLost`. A job whose worker is alive but
runs something else (a claim it never got to) is re-queued too. Jobs whose own timeout
has passed are failed even if a worker still pings them, in case its timer is wedged.
"""

from __future__ import annotations

import logging
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.jobs import JobStatus, error_result
from desktop_app.queue.logs import append_log, next_log_seq
from desktop_app.queue.notify import QUEUE_CHANNEL
from desktop_app.queue.queue import canceled_result, complete
from desktop_app.queue.run_folders import pid_alive, run_folder

log = logging.getLogger(__name__)

# A job whose worker keeps dying before starting it (a venv build that kills it) is failed
# after this many returns to the queue instead of circling for ever.
MAX_NEVER_STARTED = 3

_FIND_LOST = """
SELECT q.id, q.worker, q.attempt, q.max_retries, q.canceled, q.canceled_by,
       q.canceled_reason, q.timeout_s, q.tag, q.extra,
       GREATEST(%(stale)s, 5 * COALESCE(q.ping_every_s, 0)) AS stale_s,
       (q.last_ping < now() - make_interval(
                secs => GREATEST(%(stale)s, 5 * COALESCE(q.ping_every_s, 0)))) AS lost,
       w.name IS NOT NULL AS known_worker, w.hostname, w.pid, w.current_job,
       (w.last_ping < now() - make_interval(
                secs => GREATEST(%(stale)s, 5 * COALESCE(q.ping_every_s, 0)))) AS worker_silent
  FROM job_queue q LEFT JOIN workers w ON w.name = q.worker
 WHERE q.running
   AND (q.last_ping < now() - make_interval(
            secs => GREATEST(%(stale)s, 5 * COALESCE(q.ping_every_s, 0)))
        OR (q.timeout_s IS NOT NULL
            AND q.started_at < now() - make_interval(secs => q.timeout_s + %(grace)s)))
 FOR UPDATE OF q SKIP LOCKED
"""


def worker_gone(row: dict[str, Any], hostname: str | None = None) -> bool:
    """Whether the worker named on a running job is gone: no row, its process dead on this
    machine, or (on another machine) its row stopped pinging."""
    if not row["known_worker"]:
        return True
    if row["hostname"] == (hostname or socket.gethostname()):
        return not pid_alive(int(row["pid"]))
    return bool(row["worker_silent"])


async def reap(conn: AsyncConnection[Any], stale_after_s: float, grace_s: float = 5.0,
               jobs_dir: Path | None = None) -> list[uuid.UUID]:
    """Re-queue, retry or fail the jobs of gone workers. Returns the ids it acted on.

    A job is a candidate when it missed `stale_after_s` of pings, and at least five pings
    of the cadence its own worker declared (workers on other machines may ping more
    slowly). Each completion runs the queue's `on_complete` handlers (a flow step's flow
    moves on). `jobs_dir`: the home's `jobs/`, where the lost run's folder of each job acted
    on goes (before the commit that lets another worker claim the job)."""
    acted: list[uuid.UUID] = []
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(_FIND_LOST, {"stale": stale_after_s, "grace": grace_s})
        rows = await cur.fetchall()
        for row in rows:
            job_id = row["id"]
            if await _judge(conn, row):
                acted.append(job_id)
                if jobs_dir is not None and row["worker"]:  # the lost run's own folder
                    shutil.rmtree(run_folder(jobs_dir, job_id, row["worker"]),
                                  ignore_errors=True)
    if acted:
        log.warning("reaper acted on %d job(s): %s", len(acted), ", ".join(map(str, acted)))
    return acted


async def _judge(conn: AsyncConnection[Any], row: dict[str, Any]) -> bool:
    job_id = row["id"]
    if row["canceled"]:
        await complete(conn, job_id, JobStatus.CANCELED,
                       canceled_result(row["canceled_by"] or "unknown", row["canceled_reason"]))
        return True
    if not row["lost"]:
        message = (f"Job exceeded its timeout of {row['timeout_s']} s and its worker "
                   f"{row['worker']} did not stop it; failed by the reaper.")
        await append_log(conn, job_id, await next_log_seq(conn, job_id), f"\n[tidemill] {message}\n")
        await complete(conn, job_id, JobStatus.FAILURE, error_result("Timeout", message))
        return True
    gone = worker_gone(row)
    started = row["current_job"] == job_id
    if not gone and started:
        return False  # its worker is alive and runs it: a slow ping, not a lost job
    if not started:
        return await _requeue_unstarted(conn, row, gone)
    seq = await next_log_seq(conn, job_id)
    if row["attempt"] < row["max_retries"]:
        note = (f"\n[tidemill] worker {row['worker']} stopped heartbeating; "
                f"retrying (attempt {row['attempt'] + 2} of {row['max_retries'] + 1})\n")
        await append_log(conn, job_id, seq, note)
        await _back_to_queue(conn, row, "attempt = attempt + 1")
        return True
    message = (f"The worker running this job ({row['worker']}) stopped heartbeating "
               f"for over {row['stale_s']:g} s (killed or crashed); the job was not "
               "retried because it allows no retries.")
    await append_log(conn, job_id, seq, f"\n[tidemill] {message}\n")
    await complete(conn, job_id, JobStatus.FAILURE, error_result("WorkerLost", message))
    return True


async def _requeue_unstarted(conn: AsyncConnection[Any], row: dict[str, Any], gone: bool) -> bool:
    """The job's process never started: it goes back to the queue as it was (its attempt
    unchanged), or fails once its workers died before starting it too many times."""
    job_id = row["id"]
    count = int((row["extra"] or {}).get("never_started", 0)) + 1
    why = (f"worker {row['worker']} stopped before starting this job" if gone else
           f"worker {row['worker']} claimed this job but did not start it")
    seq = await next_log_seq(conn, job_id)
    if count > MAX_NEVER_STARTED:
        message = (f"{why}, for the {count}th time; it is not queued again. See the worker"
                   " logs for what stops them while they prepare it.")
        await append_log(conn, job_id, seq, f"\n[tidemill] {message}\n")
        await complete(conn, job_id, JobStatus.FAILURE, error_result("JobNeverStarted", message))
        return True
    await append_log(conn, job_id, seq, f"\n[tidemill] {why}; queued again\n")
    await _back_to_queue(conn, row, "extra = jsonb_set(extra, '{never_started}', to_jsonb(%s::int))",
                         (count,))
    return True


async def _back_to_queue(conn: AsyncConnection[Any], row: dict[str, Any], change: str,
                         params: tuple[Any, ...] = ()) -> None:
    await conn.execute(
        "UPDATE job_queue SET running = false, started_at = NULL, worker = NULL,"
        f" last_ping = NULL, scheduled_for = now(), {change} WHERE id = %s",
        (*params, row["id"]))
    await conn.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, row["tag"]))
