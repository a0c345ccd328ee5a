"""The reaper: jobs whose worker stopped heartbeating are retried or failed.

A worker pings its running job every few seconds. When a worker process is killed
(kill -9, a crash, the machine losing power) its jobs stay `running` with an old
`last_ping`; the reaper finds them and, per the job's `max_retries`, queues them
again or records a clear failure. Jobs whose own timeout has passed are failed
even if a worker still pings them, in case the worker's own timer is wedged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core.jobs import JobStatus, error_result
from desktop_app.queue.logs import append_log, next_log_seq
from desktop_app.queue.notify import QUEUE_CHANNEL
from desktop_app.queue.queue import Finished, canceled_result, complete

log = logging.getLogger(__name__)

_FIND_LOST = """
SELECT id, worker, attempt, max_retries, canceled, canceled_by, canceled_reason, timeout_s,
       tag, GREATEST(%(stale)s, 5 * COALESCE(ping_every_s, 0)) AS stale_s,
       (last_ping < now() - make_interval(
                secs => GREATEST(%(stale)s, 5 * COALESCE(ping_every_s, 0)))) AS lost
  FROM job_queue
 WHERE running
   AND (last_ping < now() - make_interval(
            secs => GREATEST(%(stale)s, 5 * COALESCE(ping_every_s, 0)))
        OR (timeout_s IS NOT NULL
            AND started_at < now() - make_interval(secs => timeout_s + %(grace)s)))
 FOR UPDATE SKIP LOCKED
"""


OnFinished = Callable[[AsyncConnection[Any], Finished | None], Awaitable[None]]


async def _nothing(_conn: AsyncConnection[Any], _fin: Finished | None) -> None:
    return None


async def reap(conn: AsyncConnection[Any], stale_after_s: float, grace_s: float = 5.0,
               on_finished: OnFinished = _nothing) -> list[uuid.UUID]:
    """Retry or fail the jobs of dead workers. Returns the ids it acted on.

    A job is lost when it missed `stale_after_s` of pings, and at least five pings of the
    cadence its own worker declared (workers on other machines may ping more slowly).
    `on_finished` is told of every job it completes (the flow engine advances parents)."""
    acted: list[uuid.UUID] = []
    async with conn.transaction():
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(_FIND_LOST, {"stale": stale_after_s, "grace": grace_s})
        rows = await cur.fetchall()
        for row in rows:
            job_id = row["id"]
            acted.append(job_id)
            seq = await next_log_seq(conn, job_id)
            if row["canceled"]:
                await on_finished(conn, await complete(
                    conn, job_id, JobStatus.CANCELED,
                    canceled_result(row["canceled_by"] or "unknown", row["canceled_reason"])))
                continue
            if not row["lost"]:
                message = (f"Job exceeded its timeout of {row['timeout_s']} s and its worker "
                           f"{row['worker']} did not stop it; failed by the reaper.")
                await append_log(conn, job_id, seq, f"\n[tidemill] {message}\n")
                await on_finished(conn, await complete(conn, job_id, JobStatus.FAILURE,
                                                       error_result("Timeout", message)))
                continue
            if row["attempt"] < row["max_retries"]:
                note = (f"\n[tidemill] worker {row['worker']} stopped heartbeating; "
                        f"retrying (attempt {row['attempt'] + 2} of {row['max_retries'] + 1})\n")
                await append_log(conn, job_id, seq, note)
                await conn.execute(
                    "UPDATE job_queue SET running = false, started_at = NULL, worker = NULL,"
                    " last_ping = NULL, attempt = attempt + 1, scheduled_for = now() WHERE id = %s",
                    (job_id,),
                )
                await conn.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, row["tag"]))
            else:
                message = (f"The worker running this job ({row['worker']}) stopped heartbeating "
                           f"for over {row['stale_s']:g} s (killed or crashed); the job was not "
                           "retried because it allows no retries.")
                await append_log(conn, job_id, seq, f"\n[tidemill] {message}\n")
                await on_finished(conn, await complete(conn, job_id, JobStatus.FAILURE,
                                                       error_result("WorkerLost", message)))
    if acted:
        log.warning("reaper acted on %d job(s): %s", len(acted), ", ".join(map(str, acted)))
    return acted
