"""/api/workers/…: the worker pool's state, and pausing it (the tray's Pause workers).

Paused workers claim nothing new; jobs already running finish. Queued jobs wait and start
as soon as the workers are resumed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access
from desktop_app.api.auth import Identity, authenticate
from desktop_app.db.settings import get_setting, set_setting
from desktop_app.queue.notify import QUEUE_CHANNEL
from desktop_app.queue.queue import PAUSED_SETTING

router = APIRouter(prefix="/api/workers", tags=["workers"])


@router.get("/status")
async def worker_status(request: Request,
                        who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Whether the workers are paused, and how many jobs run and wait."""
    async with request.app.state.tidemill.pool.connection() as conn:
        paused = await get_setting(conn, PAUSED_SETTING) == "true"
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE running), count(*) FILTER (WHERE NOT running)"
            " FROM job_queue")
        running, queued = await cur.fetchone() or (0, 0)
    return {"paused": paused, "running_jobs": running, "queued_jobs": queued}


async def _set_paused(request: Request, who: Identity, paused: bool) -> str:
    access.require_role(who, "admin", "pausing or resuming the workers")
    async with request.app.state.tidemill.pool.connection() as conn:
        await set_setting(conn, PAUSED_SETTING, "true" if paused else "false")
        if not paused:  # wake the idle workers now rather than at their next poll
            await conn.execute(
                "SELECT pg_notify(%s, tag) FROM (SELECT DISTINCT tag FROM job_queue"
                " WHERE NOT running) t", (QUEUE_CHANNEL,))
    return "workers paused: running jobs finish, queued jobs wait" if paused \
        else "workers resumed"


@router.post("/pause", response_class=PlainTextResponse)
async def pause(request: Request, who: Identity = Depends(authenticate)) -> str:
    return await _set_paused(request, who, True)


@router.post("/resume", response_class=PlainTextResponse)
async def resume(request: Request, who: Identity = Depends(authenticate)) -> str:
    return await _set_paused(request, who, False)


@router.get("/list")
async def list_workers(request: Request, ping_since: int = 60,
                       who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """The workers heard from in the last `ping_since` seconds (Windmill's WorkerPing
    shape: `last_ping` is seconds ago), on every machine sharing the database."""
    async with request.app.state.tidemill.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT name, hostname, pid, tags, started_at, current_job, jobs_done,"
            " extract(epoch FROM now() - last_ping)::float8 FROM workers"
            " WHERE last_ping > now() - make_interval(secs => %s) ORDER BY name",
            (max(1, ping_since),))
        rows = await cur.fetchall()
    return [{"worker": r[0], "worker_instance": r[1], "worker_group": "default", "pid": r[2],
             "custom_tags": list(r[3] or []), "started_at": r[4].isoformat(),
             "current_job_id": str(r[5]) if r[5] else None, "jobs_executed": r[6],
             "last_ping": round(r[7], 1)} for r in rows]
