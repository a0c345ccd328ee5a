"""The job queue on PostgreSQL: push, claim, heartbeat, complete, cancel.

The hot statements are hand-written SQL. Every state change is one transaction,
so a process killed at any moment leaves each job either queued, running (and
then reaped when its heartbeat stops) or completed — never half-recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.jobs import JobStatus
from desktop_app.core.result_columns import columns_of, columns_of_json
from desktop_app.db.jsonb import storable, storable_json
from desktop_app.queue.logs import LOG_LIMIT_SQL, log_cap
from desktop_app.queue.model import ClaimedJob, NewJob
from desktop_app.queue.notify import CANCEL_CHANNEL, DONE_CHANNEL, QUEUE_CHANNEL, done_payload_sql


@dataclass
class Finished:
    """A job just completed: what a parent flow needs to advance."""

    id: uuid.UUID
    parent_job: uuid.UUID | None
    status: JobStatus
    result_json: str
    extra: dict[str, Any]

    def result_value(self) -> Any:
        return json.loads(self.result_json)


# What else happens when a job ends: its parent flow takes its next step, its workflow
# records the task's checkpoint. The daemon and each worker process register these at
# start (worker/completion_handlers.py); `complete` calls them in the completing
# transaction, whoever completes the job (a worker, the reaper, a cancel, the daemon's
# timers, a flow's own end), so no path can forget one. Schedules and triggers learn of
# completions from a table trigger on job_completed, in the same transaction.
OnComplete = Callable[[AsyncConnection[Any], Finished], Awaitable[None]]
_on_complete: list[OnComplete] = []


def on_complete(handler: OnComplete) -> None:
    """Call `handler(conn, finished)` in the transaction of every completion from now on
    (once, however often it is registered)."""
    if handler not in _on_complete:
        _on_complete.append(handler)


_PUSH_COLUMNS = (
    "id", "workspace_id", "kind", "script_path", "script_hash", "language", "raw_code",
    "raw_lock", "args", "tag", "priority", "created_by", "permissioned_as", "scheduled_for",
    "timeout_s", "max_retries", "parent_job", "root_job", "trigger_kind", "trigger_path",
    "schedule_path", "flow_status", "extra", "raw_flow",
)

# Columns shared by job_queue and job_completed (same order in both tables).
_MOVE_COLUMNS = (
    "id, workspace_id, kind, script_path, script_hash, language, raw_code, raw_lock, args, tag,"
    " priority, created_by, permissioned_as, created_at, scheduled_for, running, started_at,"
    " worker, last_ping, ping_every_s, canceled, canceled_by, canceled_reason, timeout_s, max_retries, attempt,"
    " parent_job, root_job, trigger_kind, trigger_path, schedule_path, flow_status, extra, raw_flow"
)


def _push_row(job: NewJob) -> tuple[Any, ...]:
    return (
        job.id, job.workspace_id, job.kind, job.script_path, job.script_hash, job.language,
        job.raw_code, job.raw_lock, Jsonb(job.args), job.tag, job.priority, job.created_by,
        job.permissioned_as or job.created_by, job.scheduled_for, job.timeout_s, job.max_retries,
        job.parent_job, job.root_job, job.trigger_kind, job.trigger_path, job.schedule_path,
        Jsonb(job.flow_status) if job.flow_status is not None else None, Jsonb(job.extra),
        Jsonb(job.raw_flow) if job.raw_flow is not None else None,
    )


_INSERT = (
    f"INSERT INTO job_queue ({', '.join(_PUSH_COLUMNS)}) VALUES"
    f" ({', '.join(['%s'] * 13)}, COALESCE(%s, now()),"
    f" {', '.join(['%s'] * (len(_PUSH_COLUMNS) - 14))})"
)


# One statement, so one round trip, and atomic even outside a transaction.
_PUSH = f"WITH j AS ({_INSERT} RETURNING tag) SELECT pg_notify(%s, j.tag) FROM j"


async def push(conn: AsyncConnection[Any], job: NewJob) -> uuid.UUID:
    """Queue one job and wake a worker (in the caller's transaction, if any)."""
    await conn.execute(_PUSH, (*_push_row(job), QUEUE_CHANNEL))
    return job.id


async def push_many(conn: AsyncConnection[Any], jobs: Sequence[NewJob]) -> list[uuid.UUID]:
    """Queue many jobs with one COPY (the fastest bulk insert) and one wake-up per tag."""
    if not jobs:
        return []
    async with conn.cursor() as cur:
        copy_sql = f"COPY job_queue ({', '.join(_PUSH_COLUMNS)}) FROM STDIN"
        async with cur.copy(copy_sql) as copy:
            for job in jobs:
                row = list(_push_row(job))
                # COPY has no COALESCE: fill the default time here.
                if row[13] is None:
                    row[13] = "now"
                await copy.write_row(row)
        for tag in sorted({j.tag for j in jobs}):
            await cur.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, tag))
    return [j.id for j in jobs]


# While the workers are paused (the tray's "Pause workers") nothing is claimed; running
# jobs finish. The flag lives in `settings` so every worker of the database obeys it.
PAUSED_SETTING = "workers_paused"

# The rows are chosen and locked in a MATERIALIZED CTE, which PostgreSQL runs once; the
# UPDATE then joins to its stored rows. The former `WHERE id IN (SELECT … LIMIT n FOR UPDATE
# SKIP LOCKED)` let the planner put the sub-select on the inner side of a nested loop and
# re-run it for every outer row: each re-run skipped the rows the statement had just updated
# and locked the next, so one claim of limit 1 took every queued row (the plan PostgreSQL
# picks once ANALYZE has seen an empty queue, i.e. on any database that ran a few thousand
# jobs). A re-check after a concurrent update (EvalPlanQual) re-reads a CTE's stored rows
# too, so the statement's row count can never exceed its limit.
_CLAIM = f"""
WITH next AS MATERIALIZED (
        SELECT id FROM job_queue
         WHERE NOT running AND tag = ANY(%(tags)s) AND scheduled_for <= now()
           AND NOT EXISTS (SELECT 1 FROM settings WHERE name = 'workers_paused'
                                                    AND value = 'true')
         ORDER BY priority DESC, scheduled_for, id
         LIMIT %(limit)s
           FOR UPDATE SKIP LOCKED)
UPDATE job_queue q
   SET running = true, started_at = now(), last_ping = now(), worker = %(worker)s,
       ping_every_s = %(ping_every_s)s
  FROM next
 WHERE q.id = next.id
RETURNING {', '.join('q.' + f.strip() for f in ClaimedJob.FIELDS.split(','))}
"""


async def claim(
    conn: AsyncConnection[Any], worker: str, tags: Sequence[str], limit: int = 1,
    ping_every_s: float = 2.0,
) -> list[ClaimedJob]:
    """Take up to `limit` due jobs for these tags; other workers skip the rows we lock.

    `ping_every_s` is how often this worker will heartbeat the job: the reaper judges a
    job lost only after several missed pings of its own worker's cadence."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CLAIM, {"worker": worker, "tags": list(tags), "limit": limit,
                                   "ping_every_s": ping_every_s})
        rows = await cur.fetchall()
    if len(rows) > limit:  # cannot happen with the CTE; a guard should the SQL ever change
        raise AssertionError(f"a claim of limit {limit} took {len(rows)} rows")
    # The UPDATE … RETURNING order is not the ORDER BY of the CTE.
    rows.sort(key=lambda r: r["id"])
    return [ClaimedJob(**r) for r in rows]


# The flow fast path: the same claim, of a flow's next step only (a child of the flow whose
# step the worker is completing), taken in the completing transaction. Derived from _CLAIM
# so that whatever the claim learns (priority, limits) applies to it too.
_CLAIM_CHILD = _CLAIM.replace("WHERE NOT running AND", "WHERE parent_job = %(parent)s AND NOT running AND", 1)
assert _CLAIM_CHILD != _CLAIM, "the claim's WHERE changed: update _CLAIM_CHILD"


async def claim_child(
    conn: AsyncConnection[Any], worker: str, tags: Sequence[str], parent: uuid.UUID,
    ping_every_s: float = 2.0,
) -> ClaimedJob | None:
    """Take one due job of `parent` (a flow's next step) for these tags, as `claim` would.
    Called inside the transaction that completes the previous step, the step pushed by
    that completion is claimed before any other worker can see it, and runs on this warm
    worker without a NOTIFY round trip."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CLAIM_CHILD, {"worker": worker, "tags": list(tags), "limit": 1,
                                         "ping_every_s": ping_every_s, "parent": parent})
        rows = await cur.fetchall()
    if len(rows) > 1:  # cannot happen with the CTE; a guard should the SQL ever change
        raise AssertionError(f"a claim of limit 1 took {len(rows)} rows")
    return ClaimedJob(**rows[0]) if rows else None


async def give_back(conn: AsyncConnection[Any], worker: str, job_ids: Sequence[uuid.UUID]) -> int:
    """Return claimed jobs this worker will not run to the queue at once (not started, so
    their attempt is unchanged), and wake the other workers. Returns how many went back."""
    if not job_ids:
        return 0
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE job_queue SET running = false, started_at = NULL, worker = NULL,"
            " last_ping = NULL WHERE id = ANY(%s) AND worker = %s AND running RETURNING tag",
            (list(job_ids), worker))
        tags = [r[0] for r in await cur.fetchall()]
        for tag in sorted(set(tags)):
            await cur.execute("SELECT pg_notify(%s, %s)", (QUEUE_CHANNEL, tag))
    return len(tags)


async def mark_started(conn: AsyncConnection[Any], worker: str, job_id: uuid.UUID, *,
                       workspace: str, script_hash: str | None) -> int | None:
    """Record, just before the job's process starts, that this worker runs it (its
    `workers.current_job`): the reaper fails a lost job as `WorkerLost` only when it really
    started, and re-queues one that never did. Returns the job's log cap in bytes (read in
    the same round trip; see `logs.LOG_LIMIT_SQL`), or None when the job is no longer this
    worker's (re-queued or completed meanwhile): it must then not be started."""
    cur = await conn.execute(
        "WITH j AS (UPDATE job_queue SET last_ping = now()"
        "            WHERE id = %(id)s AND worker = %(w)s AND running RETURNING id)"
        " UPDATE workers SET current_job = j.id, last_ping = now() FROM j"
        f"  WHERE name = %(w)s RETURNING {LOG_LIMIT_SQL}",
        {"id": job_id, "w": worker, "ws": workspace, "hash": script_hash})
    row = await cur.fetchone()
    return None if row is None else log_cap(row[0])


async def worker_ping(conn: AsyncConnection[Any], worker: str, *, idle: bool = False) -> None:
    """The worker process is alive (the reaper asks before judging its jobs lost); `idle`:
    it runs no job now (a workflow round that suspended ends without a completion)."""
    await conn.execute(
        "UPDATE workers SET last_ping = now()"
        + (", current_job = NULL" if idle else "") + " WHERE name = %s", (worker,))


async def heartbeat(conn: AsyncConnection[Any], job_id: uuid.UUID,
                    worker: str | None = None) -> bool:
    """Mark the job (and, given its name, its worker) alive. Returns True when someone
    asked to cancel the job."""
    async with conn.cursor() as cur:
        if worker is None:
            await cur.execute(
                "UPDATE job_queue SET last_ping = now() WHERE id = %s RETURNING canceled",
                (job_id,))
        else:
            await cur.execute(
                "WITH w AS (UPDATE workers SET last_ping = now() WHERE name = %(w)s)"
                " UPDATE job_queue SET last_ping = now() WHERE id = %(id)s RETURNING canceled",
                {"w": worker, "id": job_id})
        row = await cur.fetchone()
    return bool(row and row[0])


# Completing is one statement (one round trip): move the row to history, clear the
# worker's current job, drop the job's progress and secret-read rows, and wake the
# waiters (the NOTIFY is delivered at commit; a small result rides along, see
# notify.done_payload_sql). Data-modifying CTEs always run; `woken` runs because the outer
# SELECT reads it.
_COMPLETE = f"""
WITH moved AS (DELETE FROM job_queue WHERE id = %(id)s AND (%(worker)s::text IS NULL
                                                         OR worker = %(worker)s)
               RETURNING *),
done AS (
    INSERT INTO job_completed ({_MOVE_COLUMNS}, completed_at, duration_ms, status, result,
                               result_columns)
    SELECT {_MOVE_COLUMNS}, now(),
           (extract(epoch FROM now() - COALESCE(started_at, now())) * 1000)::bigint,
           %(status)s, %(result)s, %(columns)s
      FROM moved
    RETURNING id, parent_job, extra, workspace_id, status, result),
freed AS (UPDATE workers SET current_job = NULL, last_ping = now(),
                             jobs_done = jobs_done + (SELECT count(*) FROM done)
           WHERE %(worker)s::text IS NOT NULL AND name = %(worker)s
             AND current_job = %(id)s),
progress AS (DELETE FROM job_progress WHERE job_id IN (SELECT id FROM done)),
secret_reads AS (DELETE FROM job_secret_reads WHERE job_id IN (SELECT id FROM done)),
woken AS (SELECT pg_notify(%(channel)s, {done_payload_sql("id", "workspace_id", "status",
                                                          "result::text")}) FROM done)
SELECT id, parent_job, extra, (SELECT count(*) FROM woken) FROM done
"""


async def complete(
    conn: AsyncConnection[Any],
    job_id: uuid.UUID,
    status: JobStatus,
    result: Any,
    *,
    result_json: str | None = None,
    worker: str | None = None,
) -> Finished | None:
    """Record the final state, move the job to history and wake waiters (one transaction).

    Returns None when the job was no longer in the queue (already completed elsewhere,
    e.g. by the reaper), so the caller records nothing twice. Otherwise the registered
    handlers (`on_complete`: a flow step's flow moves on) ran in the same transaction.

    A worker passes its name: the job completes only while it is still that worker's (the
    reaper may have re-queued it for another), and the worker's `current_job` is cleared.
    """
    payload = _jsonb(result, result_json)
    # jsonb sorts keys: the script's column order is kept beside the result
    columns = columns_of_json(result_json) if result_json is not None else columns_of(result)
    cur = await conn.execute(_COMPLETE, {"id": job_id, "status": str(status), "result": payload,
                                         "columns": columns, "worker": worker,
                                         "channel": DONE_CHANNEL})
    moved = await cur.fetchone()
    if moved is None:
        return None
    fin = Finished(job_id, moved[1], status,
                   result_json if result_json is not None else json.dumps(result), moved[2] or {})
    for handler in list(_on_complete):
        await handler(conn, fin)
    return fin


async def complete_many(
    conn: AsyncConnection[Any], outcomes: Iterable[tuple[uuid.UUID, JobStatus, Any]]
) -> int:
    """Complete a batch of jobs in one statement (bulk paths and benchmarks: jobs with no
    parent, as no `on_complete` handler is called)."""
    items = list(outcomes)
    if not items:
        return 0
    sql = f"""
    WITH outcome AS (
        SELECT * FROM unnest(%(ids)s::uuid[], %(statuses)s::text[], %(results)s::jsonb[])
                 AS o(id, status, result)),
    moved AS (DELETE FROM job_queue q USING outcome o WHERE q.id = o.id RETURNING q.*)
    INSERT INTO job_completed ({_MOVE_COLUMNS}, completed_at, duration_ms, status, result)
    SELECT {', '.join('m.' + c.strip() for c in _MOVE_COLUMNS.split(','))}, now(),
           (extract(epoch FROM now() - COALESCE(m.started_at, now())) * 1000)::bigint,
           o.status, o.result
      FROM moved m JOIN outcome o USING (id)
    """
    async with conn.cursor() as cur:
        await cur.execute(
            sql,
            {
                "ids": [i for i, _, _ in items],
                "statuses": [str(s) for _, s, _ in items],
                "results": [storable_json(json.dumps(r)) for _, _, r in items],
            },
        )
        count = cur.rowcount
        await cur.execute("SELECT pg_notify(%s, %s)", (DONE_CHANNEL, "*"))
    return count


async def request_cancel(
    conn: AsyncConnection[Any], job_id: uuid.UUID, by: str, reason: str | None
) -> str | Finished | None:
    """Cancel a job. A queued one completes as canceled now (its Finished is returned; a
    parent flow learns of it through `complete`); a running one is flagged and its worker is told to
    kill its process tree ('running'). None when the job is not in the queue."""
    async with conn.cursor() as cur:
        await cur.execute(
            "UPDATE job_queue SET canceled = true, canceled_by = %s, canceled_reason = %s"
            " WHERE id = %s RETURNING running",
            (by, reason, job_id),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        if row[0]:
            await cur.execute("SELECT pg_notify(%s, %s)", (CANCEL_CHANNEL, str(job_id)))
            return "running"
    return await complete(conn, job_id, JobStatus.CANCELED, canceled_result(by, reason))


def canceled_result(by: str, reason: str | None) -> dict[str, Any]:
    message = f"Job canceled by {by}" + (f": {reason}" if reason else "")
    return {"error": {"name": "Canceled", "message": message, "canceled_by": by}}


def _jsonb(result: Any, result_json: str | None) -> Any:
    if result_json is not None:
        # Already serialised (and size-checked) by the runtime: pass the text through.
        return _RawJson(storable_json(result_json))
    return storable(result)


class _RawJson(Jsonb):
    """Jsonb whose text is already JSON, so it is not serialised a second time."""

    def __init__(self, text: str) -> None:
        super().__init__(None, dumps=lambda _obj: text)
