"""Job progress (set_progress/get_progress) and live updates as server-sent events."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import JobId
from desktop_app.api.job_json import job_json
from desktop_app.api.submit import get_job_row
from desktop_app.core.errors import ArgumentError
from desktop_app.queue.logs import PAGE_CHARS, read_log_page

router = APIRouter(prefix="/api/w/{workspace}", tags=["jobs"])


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise HTTPException(400, f"{text!r} is not a job id (a UUID)") from exc


@router.post("/job_metrics/set_progress/{job_id}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented({
                 "percent": {"type": "number", "minimum": 0, "maximum": 100},
                 "flow_job_id": {"type": ["string", "null"], "format": "uuid"}}, ("percent",)))
async def set_progress(workspace: str, job_id: JobId, request: Request,
                       who: Identity = Depends(authenticate)) -> str:
    body = await inputs.json_object(request)
    percent = body.get("percent")
    if not isinstance(percent, int | float) or not 0 <= percent <= 100:
        raise ArgumentError("'percent' must be a number from 0 to 100", field="percent")
    jid = _uuid(job_id)
    state = request.app.state.tidemill
    row = await get_job_row(state, workspace, jid)
    await access.require_job(request, who, row, Action.WRITE)
    if row["completed"]:
        raise HTTPException(400, f"job {job_id} has completed; its progress is final")
    async with state.pool.connection() as conn:
        await conn.execute("INSERT INTO job_progress (job_id, percent) VALUES (%s, %s)"
                           " ON CONFLICT (job_id) DO UPDATE SET percent = excluded.percent",
                           (jid, int(percent)))
    return "ok"


@router.get("/job_metrics/get_progress/{job_id}")
async def get_progress(workspace: str, job_id: JobId, request: Request,
                       who: Identity = Depends(authenticate)) -> int | None:
    jid = _uuid(job_id)
    state = request.app.state.tidemill
    row = await get_job_row(state, workspace, jid)
    await access.require_job(request, who, row)
    if row["completed"]:
        return 100
    async with state.pool.connection() as conn:
        cur = await conn.execute("SELECT percent FROM job_progress WHERE job_id = %s", (jid,))
        found = await cur.fetchone()
    return int(found[0]) if found else None


async def _update(state: Any, workspace: str, jid: uuid.UUID, log_offset: int,
                  with_logs: bool = True) -> dict[str, Any]:
    """Windmill's job update: state, one page of the logs after `log_offset` (characters),
    progress; the job itself once it has completed and its last log page is sent."""
    row = await get_job_row(state, workspace, jid)
    async with state.pool.connection() as conn:
        # One page per update: a long log arrives in several, never whole.
        new_logs = await read_log_page(conn, jid, log_offset) if with_logs else ""
        cur = await conn.execute("SELECT percent FROM job_progress WHERE job_id = %s", (jid,))
        prog = await cur.fetchone()
    done = bool(row["completed"]) and len(new_logs) < PAGE_CHARS
    update: dict[str, Any] = {
        "running": bool(row["running"]) and not done, "completed": done,
        "log_offset": log_offset + len(new_logs),
        "progress": 100 if done else (prog[0] if prog else None)}
    if new_logs:
        update["new_logs"] = new_logs
    if done:
        update["job"] = job_json(row)
        update["result"] = row["result"]
    return update


@router.get("/jobs_u/getupdate/{job_id}")
async def getupdate(workspace: str, job_id: JobId, request: Request, log_offset: int = 0,
                    running: bool | None = None,
                    who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """One job update (wmill polls it in a loop while it follows a run). With nothing new
    to say, it waits up to half a second for the job to change, so a client polling
    without pause does not spin the daemon."""
    jid = _uuid(job_id)
    state = request.app.state.tidemill
    await access.require_job(request, who, await get_job_row(state, workspace, jid))
    fut = state.waiter.register(jid)
    try:
        update = await _update(state, workspace, jid, max(log_offset, 0))
        if not update["completed"] and "new_logs" not in update and \
                (running is None or running == update["running"]):
            await state.waiter.wait(fut, 0.5)
            update = await _update(state, workspace, jid, max(log_offset, 0))
    finally:
        state.waiter.unregister(jid, fut)
    update.pop("result", None)
    return update


@router.get("/jobs_u/getupdate_sse/{job_id}")
async def getupdate_sse(workspace: str, job_id: JobId, request: Request, log_offset: int = 0,
                        only_result: bool = False, no_logs: bool = False,
                        who: Identity = Depends(authenticate)) -> StreamingResponse:
    """Live logs and status until the job completes: one `update` event per change."""
    jid = _uuid(job_id)
    state = request.app.state.tidemill
    # 404 or 403 before the stream starts
    await access.require_job(request, who, await get_job_row(state, workspace, jid))

    async def events() -> AsyncIterator[bytes]:
        offset = log_offset
        fut = state.waiter.register(jid)
        last: dict[str, Any] | None = None
        try:
            while True:
                update = {"type": "update", **await _update(
                    state, workspace, jid, offset, with_logs=not (no_logs or only_result))}
                offset = update["log_offset"]
                done = update["completed"]
                result = update.pop("result", None)
                if done and only_result:
                    update["only_result"] = result
                if update != last:
                    yield f"data: {json.dumps(update)}\n\n".encode()
                    last = update
                if done or await request.is_disconnected():
                    return
                if len(update.get("new_logs", "")) >= PAGE_CHARS:
                    continue  # more log is waiting: send it now
                # Completion wakes us at once; logs and progress are polled.
                await state.waiter.wait(fut, 0.25)
                if fut.done():
                    state.waiter.unregister(jid, fut)
                    fut = state.waiter.register(jid)
        finally:
            state.waiter.unregister(jid, fut)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
