"""Workflow-as-code endpoints the `wmill` SDK calls: inline step checkpoints and
approval URLs; plus the signed approve/reject links themselves."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from desktop_app.api import access, approval_links, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import JobId
from desktop_app.api.routes_flows import approver_of
from desktop_app.api.submit import get_job_row
from desktop_app.durable import engine as durable
from desktop_app.flows import approvers

router = APIRouter(prefix="/api/w/{workspace}", tags=["workflow-as-code"])


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise HTTPException(400, f"{text!r} is not a job id (a UUID)") from exc


@router.post("/jobs/wac/inline_checkpoint/{job_id}", openapi_extra=inputs.documented({
    "key": inputs.STRING, "result": inputs.ANY, "started_at": inputs.NULLABLE_STRING,
    "duration_ms": {"type": ["integer", "null"]}}, ("key",)))
async def inline_checkpoint(workspace: str, job_id: JobId, request: Request,
                            who: Identity = Depends(authenticate)) -> JSONResponse:
    """A `step()` ran inside the workflow job: record its result without a replay."""
    jid = _uuid(job_id)
    if who.job_id is not None and who.job_id != str(jid):
        raise HTTPException(403, "a job may only checkpoint its own steps")
    body = await inputs.json_object(request)
    if not isinstance(body.get("key"), str):
        raise HTTPException(400, "the body needs 'key' and 'result'")
    inputs.field_of(body, "started_at", str, "an ISO 8601 date-time")
    inputs.field_of(body, "duration_ms", int, "a whole number of milliseconds")
    if who.job_id is None:
        await access.require_job(request, who, await get_job_row(request.app.state.tidemill,
                                                                 workspace, jid), Action.WRITE)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn:  # one statement: one round trip
        running = await durable.record_inline_step(
            conn, workspace, jid, body["key"], body.get("result"),
            started_at=body.get("started_at"), duration_ms=body.get("duration_ms"))
    if not running:
        raise HTTPException(404, f"workflow job {job_id} is not running")
    return JSONResponse({"ok": True})


def _subject(job_id: uuid.UUID, step_key: str, approver: str | None) -> str:
    return f"wac/{job_id}/{step_key}/{approver or ''}"


@router.get("/jobs/wac_approval_urls/{job_id}/{step_key}")
async def approval_urls(workspace: str, job_id: JobId, step_key: str, request: Request,
                        approver: str | None = None,
                        who: Identity = Depends(authenticate)) -> dict[str, str]:
    jid = _uuid(job_id)
    await access.require_job(request, who, await get_job_row(request.app.state.tidemill,
                                                             workspace, jid))
    sig = approval_links.sign(request.app.state.tidemill.token_key,
                              _subject(jid, step_key, approver))
    return approval_links.urls(request, workspace, f"{jid}/{quote(step_key)}/{sig}", approver,
                               page="wac/", resume="wac_resume", cancel="wac_cancel")


async def _answer(request: Request, job_id: str, step_key: str, signature: str,
                  approver: str | None, approved: bool, payload: str | None) -> JSONResponse:
    jid = _uuid(job_id)
    approval_links.check(request.app.state.tidemill.token_key,
                         _subject(jid, step_key, approver), signature)
    value = await approval_links.payload(request, payload)
    who = await approver_of(request, approver)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        cur = await conn.execute("SELECT created_by, extra->'wac'->'approval' FROM job_queue"
                                 " WHERE id = %s FOR UPDATE", (jid,))
        row = await cur.fetchone()
        # Only while the workflow waits on this very step (as Windmill): its rules are
        # known then, and an early answer cannot bank an approval no rule was checked for.
        if row is None or not isinstance(row[1], dict) or row[1].get("key") != step_key:
            raise HTTPException(404, "this workflow is not waiting for that approval (yet, or"
                                     " any more): approvers can answer once it reaches the step")
        approvers.check(row[1], None, row[0], who)
        if not await durable.resume_approval(conn, jid, step_key, value, who.name, approved):
            raise HTTPException(404, "this workflow is not waiting for that approval (any more)")
    return JSONResponse("approved" if approved else "rejected")


@router.get("/jobs_u/wac_resume/{job_id}/{step_key}/{signature}")  # one route per method: unique OpenAPI operation ids
@router.post("/jobs_u/wac_resume/{job_id}/{step_key}/{signature}")
async def resume(workspace: str, job_id: JobId, step_key: str, signature: str, request: Request,
                 approver: str | None = None, payload: str | None = None) -> JSONResponse:
    return await _answer(request, job_id, step_key, signature, approver, True, payload)


@router.get("/jobs_u/wac_cancel/{job_id}/{step_key}/{signature}")  # one route per method: unique OpenAPI operation ids
@router.post("/jobs_u/wac_cancel/{job_id}/{step_key}/{signature}")
async def reject(workspace: str, job_id: JobId, step_key: str, signature: str, request: Request,
                 approver: str | None = None, payload: str | None = None) -> JSONResponse:
    return await _answer(request, job_id, step_key, signature, approver, False, payload)
