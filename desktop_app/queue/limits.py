"""A script's runtime settings that act on its jobs in the queue: the concurrency limit
(`concurrent_limit` jobs per `concurrency_time_window_s`, counted by `concurrency_key`)
and the result cache (`cache_ttl`).

The API writes them into a job's `extra` when it queues it (`job_settings`); the worker
honours them right after its claim (`admit`, `cached_result`), so every way of starting a
job (run routes, webhooks, schedules, triggers, flows' script steps) obeys them. A job
over its limit goes back to the queue, due later — it waits, never fails — and a job
with the same key that ends wakes the next waiting one (`on_job_finished`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from psycopg import AsyncConnection

from desktop_app.queue.notify import QUEUE_CHANNEL

CONCURRENCY_KEY = "concurrency_key"  # the key a flow's own limit uses too (flows/engine.py)
LIMIT = "concurrent_limit"
WINDOW = "concurrency_time_window_s"
ADMITTED = "concurrency_admitted"  # set once the job holds one of its key's slots
CACHE_KEY = "cache_key"  # the key a flow step's cache uses too (flows/run.py)
CACHE_TTL = "cache_ttl"
FLOW_PRIORITY = "flow_priority"  # a flow's `priority`, in the extra of its (nested) runs

# How long a job over its limit waits before it is tried again when nothing wakes it
# sooner (a job of its key that ends wakes it at once).
_RETRY_S = 5.0

# Both read job_completed, which holds the whole history: each `extra ? …` term matches a
# partial index (migrations 0006, 0016), so only jobs that carry the key are looked at.
WINDOW_COUNT_SQL = (
    "SELECT count(*), extract(epoch FROM min(started_at)"
    "       + make_interval(secs => %(w)s) - now())"
    "  FROM job_completed WHERE extra ? 'concurrency_key'"
    "   AND extra->>'concurrency_key' = %(k)s"
    "   AND started_at > now() - make_interval(secs => %(w)s)")
CACHED_RESULT_SQL = (
    "SELECT result::text FROM job_completed WHERE extra ? 'cache_key'"
    " AND extra->>'cache_key' = %(key)s AND status = 'success'"
    " AND completed_at > now() - make_interval(secs => %(ttl)s)"
    " ORDER BY completed_at DESC LIMIT 1")

_ARG_REF = re.compile(r"\$args\[([A-Za-z_][A-Za-z0-9_]*)\]")


def job_settings(workspace: str, script_path: str, script_hash: str,
                 settings: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """What a job of this script records in its `extra` for the worker to honour."""
    extra: dict[str, Any] = {}
    limit = settings.get(LIMIT)
    if limit:
        template = settings.get(CONCURRENCY_KEY)
        # Windmill's key is a template: `$args[x]` is the job's argument x, `$workspace` its
        # workspace; without one, all jobs of the script share the slots.
        key = (_ARG_REF.sub(lambda m: _arg_text(args.get(m.group(1))), str(template))
               .replace("$workspace", workspace)) if template else f"{workspace}/{script_path}"
        extra.update({CONCURRENCY_KEY: key, LIMIT: int(limit),
                      WINDOW: int(settings.get(WINDOW) or 0)})
    ttl = settings.get(CACHE_TTL)
    if ttl:
        extra[CACHE_KEY] = hashlib.sha256(json.dumps(
            [workspace, script_hash, args], sort_keys=True, default=str).encode()).hexdigest()
        extra[CACHE_TTL] = int(ttl)
    return extra


def _arg_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _lock_sql() -> str:
    # One lock per key, held to the end of the transaction: an admission and the wake-up
    # of a job of the same key that ends never interleave (no wake-up lost).
    return "SELECT pg_advisory_xact_lock(hashtextextended('tidemill-concurrency:' || %s, 0))"


async def admit(conn: AsyncConnection[Any], job_id: uuid.UUID, worker: str,
                extra: dict[str, Any]) -> bool:
    """Let a just-claimed job run if its key has a free slot; else give it back to the
    queue, due when a slot may be free (False). Jobs without a limit are always admitted."""
    key, limit = extra.get(CONCURRENCY_KEY), int(extra.get(LIMIT) or 0)
    if key is None or limit <= 0:
        return True
    window = int(extra.get(WINDOW) or 0)
    async with conn.transaction():
        await conn.execute(_lock_sql(), (key,))
        cur = await conn.execute(
            "SELECT count(*) FROM job_queue WHERE extra ? 'concurrency_key'"
            " AND extra->>'concurrency_key' = %s AND running AND extra ? 'concurrency_admitted'"
            " AND id <> %s", (key, job_id))
        row = await cur.fetchone()
        taken, wait_s = int(row[0]) if row else 0, _RETRY_S
        if window > 0 and taken < limit:
            # Jobs that started within the window hold their slot until it has passed.
            cur = await conn.execute(WINDOW_COUNT_SQL, {"k": key, "w": window})
            row = await cur.fetchone()
            if row and int(row[0]):
                taken += int(row[0])
                wait_s = max(0.05, float(row[1] or 0))
        if taken < limit:
            await conn.execute(
                "UPDATE job_queue SET extra = extra || '{\"concurrency_admitted\": true}'"
                " WHERE id = %s", (job_id,))
            return True
        await conn.execute(
            "UPDATE job_queue SET running = false, started_at = NULL, worker = NULL,"
            " last_ping = NULL, scheduled_for = now() + make_interval(secs => %s)"
            " WHERE id = %s AND worker = %s", (wait_s, job_id, worker))
        return False


async def on_job_finished(conn: AsyncConnection[Any], fin: Any) -> None:
    """A job holding a slot ended (the queue's `on_complete` handler): the next job waiting
    for its key becomes due now. A job under a time window keeps its slot until the
    window has passed, so nothing is woken early for it."""
    extra = fin.extra or {}
    key = extra.get(CONCURRENCY_KEY)
    if key is None or not extra.get(ADMITTED) or int(extra.get(WINDOW) or 0) > 0:
        return
    await conn.execute(_lock_sql(), (key,))
    await conn.execute(
        "WITH next AS (SELECT id FROM job_queue WHERE extra ? 'concurrency_key'"
        "                AND extra->>'concurrency_key' = %s AND NOT running"
        "                AND scheduled_for > now()"
        "              ORDER BY priority DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED),"
        "     due AS (UPDATE job_queue q SET scheduled_for = now() FROM next"
        "              WHERE q.id = next.id RETURNING q.tag)"
        " SELECT pg_notify(%s, tag) FROM due", (key, QUEUE_CHANNEL))


async def cached_result(conn: AsyncConnection[Any], extra: dict[str, Any]) -> str | None:
    """The JSON text of a successful result of the same script version and arguments that
    ended less than `cache_ttl` seconds ago, if any."""
    key, ttl = extra.get(CACHE_KEY), extra.get(CACHE_TTL)
    if key is None or not ttl:
        return None
    cur = await conn.execute(CACHED_RESULT_SQL, {"key": key, "ttl": float(ttl)})
    row = await cur.fetchone()
    return str(row[0]) if row else None
