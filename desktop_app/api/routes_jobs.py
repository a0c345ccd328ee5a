"""/api/w/{workspace}/jobs/… and /jobs_u/…: run, wait, inspect and cancel jobs."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath, JobId
from desktop_app.api.job_json import job_json
from desktop_app.api.run_request import request_args
from desktop_app.api.submit import get_job_row, job_options, new_script_job, push_and_wait, push_job
from desktop_app.core.jobs import JobKind, default_tag
from desktop_app.core.languages import require_runnable
from desktop_app.db import jobs as job_reads
from desktop_app.db import scripts as script_store
from desktop_app.flows.engine import cancel_flow
from desktop_app.queue import queue
from desktop_app.queue.logs import iter_log, matching_lines, read_logs
from desktop_app.queue.model import NewJob

router = APIRouter(prefix="/api/w/{workspace}", tags=["jobs"])

_ARGS = inputs.any_json("the run's arguments: a JSON object gives them by name; any other"
                        " body becomes the argument `body`")
_PREVIEW = inputs.documented({
    "content": inputs.STRING, "language": inputs.STRING, "args": {"type": ["object", "null"]},
    "path": inputs.NULLABLE_STRING, "tag": inputs.NULLABLE_STRING,
    "lock": inputs.NULLABLE_STRING}, ("content", "language"), example={
        "language": "python3", "args": {"name": "Ada"},
        "content": "def main(name: str = 'world'):\n    return f'hello {name}'\n"})


async def _script_at(request: Request, workspace: str, path: str | None = None,
                     hash_: str | None = None) -> script_store.ScriptVersion:
    state = request.app.state.tidemill
    if hash_ is None:  # by path: the webhooks' hot lookup, cached (see ApiState.scripts)
        assert path is not None
        cached = state.scripts.get((workspace, path))
        if cached is not None:
            return cached
    generation = state.scripts.generation
    async with state.pool.connection() as conn:
        if hash_ is not None:
            return await script_store.by_hash(conn, workspace, hash_)
        assert path is not None
        script = await script_store.latest(conn, workspace, path)
    state.scripts.put((workspace, path), script, generation)
    return script


def _job_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise HTTPException(400, f"{text!r} is not a job id (a UUID)") from exc


@router.post("/jobs/run/p/{path:path}", status_code=201, response_class=PlainTextResponse,
             openapi_extra=_ARGS)
async def run_by_path(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """Queue a run of the newest version at `path`; returns the job id."""
    await access.require(request, who, Action.RUN, path, "script")
    args = await request_args(request)
    script = await _script_at(request, workspace, path=path)
    job = new_script_job(script, args, who, job_options(request), trigger_kind="webhook")
    return str(await push_job(request.app.state.tidemill, job))


@router.post("/jobs/run/h/{hash_}", status_code=201, response_class=PlainTextResponse,
             openapi_extra=_ARGS)
async def run_by_hash(workspace: str, hash_: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    args = await request_args(request)
    script = await _script_at(request, workspace, hash_=hash_)
    await access.require(request, who, Action.RUN, script.path, "script")
    job = new_script_job(script, args, who, job_options(request), trigger_kind="webhook")
    return str(await push_job(request.app.state.tidemill, job))


@router.post("/jobs/run/preview", status_code=201, response_class=PlainTextResponse,
             openapi_extra=_PREVIEW)
async def run_preview(workspace: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """Run code that is not deployed (the editor's Test run)."""
    access.require_role(who, "developer", "running code that is not deployed")
    job = await _preview_job(workspace, request, who)
    return str(await push_job(request.app.state.tidemill, job))


@router.post("/jobs/run_wait_result/preview", openapi_extra=_PREVIEW)
async def run_wait_preview(workspace: str, request: Request,
                           who: Identity = Depends(authenticate)) -> Response:
    access.require_role(who, "developer", "running code that is not deployed")
    job = await _preview_job(workspace, request, who)
    return _sync_response(await push_and_wait(request.app.state.tidemill, job), job.id)


async def _preview_job(workspace: str, request: Request, who: Identity) -> NewJob:
    from desktop_app.parsing import script_metadata

    body = await inputs.json_object(request)
    content, language = body.get("content"), body.get("language")
    if not isinstance(content, str):
        raise HTTPException(400, "a preview needs 'content' (the code) and a 'language'")
    language = require_runnable(language)
    for name in ("path", "tag", "lock"):
        inputs.field_of(body, name, str, "a string")
    inputs.field_of(body, "args", dict, "a JSON object of arguments")
    schema = script_metadata(content, language)["schema"]
    return NewJob(
        kind=JobKind.PREVIEW, tag=body.get("tag") or default_tag(language),
        created_by=who.username, permissioned_as=who.permissioned_as,
        args=body.get("args") or {}, workspace_id=workspace, script_path=body.get("path"),
        language=language, raw_code=content, raw_lock=body.get("lock"),
        extra={"schema": schema}, **job_options(request),
    )


@router.post("/jobs/run_wait_result/p/{path:path}", openapi_extra=_ARGS)
async def run_wait_by_path(workspace: str, path: ItemPath, request: Request,
                           who: Identity = Depends(authenticate)) -> Response:
    """Run and answer with the result (Windmill's synchronous webhook)."""
    return await _run_wait(workspace, path, request, who, None)


@router.get("/jobs/run_wait_result/p/{path:path}")
async def run_wait_by_path_get(workspace: str, path: ItemPath, request: Request,
                               payload: str | None = None,
                               who: Identity = Depends(authenticate)) -> Response:
    return await _run_wait(workspace, path, request, who, payload or "e30")


@router.post("/jobs/run_wait_result/h/{hash_}", openapi_extra=_ARGS)
async def run_wait_by_hash(workspace: str, hash_: str, request: Request,
                           who: Identity = Depends(authenticate)) -> Response:
    script = await _script_at(request, workspace, hash_=hash_)
    return await _run_wait(workspace, script.path, request, who, None, script)


async def _run_wait(workspace: str, path: str, request: Request, who: Identity,
                    payload: str | None, script: script_store.ScriptVersion | None = None) -> Response:
    await access.require(request, who, Action.RUN, path, "script")
    args = await request_args(request, payload)
    script = script or await _script_at(request, workspace, path=path)
    job = new_script_job(script, args, who, job_options(request), trigger_kind="webhook")
    return _sync_response(await push_and_wait(request.app.state.tidemill, job), job.id)


def _sync_response(done: dict[str, Any], job_id: uuid.UUID) -> Response:
    response = _shape_result(done)
    # Windmill answers a failed run with 200 and {"error": …}; these headers let our own
    # clients tell success from failure without a second request.
    response.headers["x-tidemill-job-id"] = str(job_id)
    response.headers["x-tidemill-job-status"] = done["status"]
    return response


def _shape_result(done: dict[str, Any]) -> Response:
    """Windmill's result conventions: windmill_status_code / _content_type / _headers
    shape the HTTP answer; wm_failure marks a successful run as failed."""
    result = done["result"]
    if isinstance(result, dict) and ("windmill_status_code" in result
                                     or "windmill_content_type" in result
                                     or "windmill_headers" in result):
        status = int(result.get("windmill_status_code") or 200)
        headers = {str(k): str(v) for k, v in (result.get("windmill_headers") or {}).items()}
        body = result.get("result", {k: v for k, v in result.items()
                                     if not k.startswith("windmill_")})
        ctype = result.get("windmill_content_type")
        if ctype and isinstance(body, str):
            return Response(body, status_code=status, media_type=ctype, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(result, dict) and isinstance(result.get("wm_failure"), str):
        return JSONResponse({"error": {"name": "ManualFailure", "message": result["wm_failure"]}})
    return JSONResponse(result)


def job_filter(
    script_path_exact: str | None = None, script_path_start: str | None = None,
    parent_job: str | None = None, running: bool | None = None, success: bool | None = None,
    status: str | None = None, job_kinds: str | None = None, created_after: datetime | None = None,
    created_before: datetime | None = None, trigger_kind: str | None = None,
    created_by: str | None = None, per_page: int = 30, page: int = 1,
    cursor: str | None = None, has_null_parent: bool | None = None,
    log_search: Annotated[str | None, Query(
        description="Tidemill: only jobs whose log contains this text (any case, at least "
                    "3 characters); each job then carries `log_match`, its first such line")] = None,
) -> job_reads.JobFilter:
    """The list filters Windmill's job lists take, as query parameters."""
    return job_reads.JobFilter(
        script_path_exact=script_path_exact, script_path_start=script_path_start,
        parent_job=_job_id(parent_job) if parent_job else None, running=running, success=success,
        status=status, job_kinds=job_kinds.split(",") if job_kinds else None,
        created_after=created_after, created_before=created_before, trigger_kind=trigger_kind,
        created_by=created_by, per_page=per_page, page=page, top_level=has_null_parent,
        before=job_reads.parse_cursor(cursor) if cursor else None, log_search=log_search,
    )


async def _list(workspace: str, request: Request, who: Identity,
                f: job_reads.JobFilter) -> list[dict[str, Any]]:
    f.visible_to, f.visible_paths = await access.job_visibility(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await job_reads.list_jobs(conn, workspace, f)
        if f.log_search is None:
            return [job_json(r) for r in rows]
        lines = await matching_lines(conn, [r["id"] for r in rows], f.log_search)
    return [{**job_json(r), "log_match": lines.get(r["id"])} for r in rows]


@router.get("/jobs/list")
async def list_jobs(workspace: str, request: Request,
                    f: job_reads.JobFilter = Depends(job_filter),
                    who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Newest first. `cursor` (Tidemill's addition) is `<created_at>,<id>` of the last job
    of the previous page: keyset paging, as fast deep in 100,000 jobs as on page 1."""
    return await _list(workspace, request, who, f)


@router.get("/jobs/queue/list")
async def list_queue(workspace: str, request: Request,
                     f: job_reads.JobFilter = Depends(job_filter),
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Queued and running jobs only (QueuedJob), newest first."""
    f.only = "queue"
    return await _list(workspace, request, who, f)


@router.get("/jobs/completed/list")
async def list_completed(workspace: str, request: Request,
                         f: job_reads.JobFilter = Depends(job_filter),
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Completed jobs only (CompletedJob), newest first."""
    f.only = "completed"
    return await _list(workspace, request, who, f)


@router.get("/jobs_u/get/{job_id}")
async def get_job(workspace: str, job_id: JobId, request: Request, no_logs: bool = False,
                  who: Identity = Depends(authenticate)) -> dict[str, Any]:
    state = request.app.state.tidemill
    jid = _job_id(job_id)
    row = await get_job_row(state, workspace, jid)
    await access.require_job(request, who, row)
    logs = None
    if not no_logs:
        async with state.pool.connection() as conn:
            logs = await read_logs(conn, jid)
    out = job_json(row, logs)
    if "wac" in (row.get("extra") or {}):
        from desktop_app.durable.engine import status_view

        async with state.pool.connection() as conn:
            out["workflow_as_code_status"] = await status_view(conn, jid, row["extra"])
    return out


@router.get("/jobs_u/get_logs/{job_id}", response_class=PlainTextResponse)
async def get_logs(workspace: str, job_id: JobId, request: Request,
                   offset: int = Query(0, ge=0, description="Tidemill: start at this character"),
                   limit: int | None = Query(None, ge=1,
                                             description="Tidemill: at most this many characters"),
                   download: bool = Query(False, description="Tidemill: as a file to save"),
                   who: Identity = Depends(authenticate)) -> StreamingResponse:
    """The job's log as plain text, sent page by page (never held whole in memory)."""
    state = request.app.state.tidemill
    jid = _job_id(job_id)
    await access.require_job(request, who, await get_job_row(state, workspace, jid))

    async def pages() -> AsyncIterator[bytes]:
        left = limit
        async for page in iter_log(state.pool.connection, jid, offset):
            if left is not None:
                page = page[:left]
                left -= len(page)
            yield page.encode()
            if left == 0:
                return

    headers = {"content-disposition": f'attachment; filename="{jid}.log"'} if download else {}
    return StreamingResponse(pages(), media_type="text/plain; charset=utf-8", headers=headers)


@router.get("/jobs_u/completed/get/{job_id}")
async def get_completed(workspace: str, job_id: JobId, request: Request,
                        who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The CompletedJob with its logs; 404 while the job is queued or running (wmill polls
    it until it answers)."""
    state = request.app.state.tidemill
    jid = _job_id(job_id)
    row = await get_job_row(state, workspace, jid)
    await access.require_job(request, who, row)
    if not row["completed"]:
        raise HTTPException(404, f"job {job_id} has not completed yet")
    async with state.pool.connection() as conn:
        return job_json(row, await read_logs(conn, jid))


@router.get("/jobs_u/completed/get_result/{job_id}")
async def get_result(workspace: str, job_id: JobId, request: Request,
                     who: Identity = Depends(authenticate)) -> Any:
    row = await get_job_row(request.app.state.tidemill, workspace, _job_id(job_id))
    await access.require_job(request, who, row)
    if not row["completed"]:
        raise HTTPException(404, f"job {job_id} has not completed yet")
    return row["result"]


@router.get("/jobs_u/completed/get_result_maybe/{job_id}")
async def get_result_maybe(workspace: str, job_id: JobId, request: Request,
                           get_started: bool = False,
                           who: Identity = Depends(authenticate)) -> dict[str, Any]:
    row = await get_job_row(request.app.state.tidemill, workspace, _job_id(job_id))
    await access.require_job(request, who, row)
    if row["completed"]:
        return {"completed": True, "result": row["result"],
                "success": row["status"] == "success", "started": True}
    return {"completed": False, "result": None, "success": None,
            "started": row["started_at"] is not None}


@router.post("/jobs_u/queue/cancel/{job_id}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented({"reason": inputs.NULLABLE_STRING},
                                             body_required=False))
async def cancel_job(workspace: str, job_id: JobId, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
    jid = _job_id(job_id)
    try:
        body = await request.json()
    except ValueError:
        body = {}
    reason = body.get("reason") if isinstance(body, dict) else None
    if reason is not None and not isinstance(reason, str):
        reason = json.dumps(reason)  # a cancel must not fail over its reason's type
    state = request.app.state.tidemill
    row = await get_job_row(state, workspace, jid)
    await access.require_job(request, who, row, Action.WRITE)
    if row["completed"]:
        raise HTTPException(400, f"job {job_id} has already completed ({row['status']})")
    async with state.pool.connection() as conn, conn.transaction():
        if row["kind"] == "flow":
            await cancel_flow(conn, jid, who.username, reason)  # and all its steps
            return f"{job_id} canceled"
        # a queued job completes now; its parent flow, if any, learns of it in `complete`
        outcome = await queue.request_cancel(conn, jid, who.username, reason)
    if outcome is None:
        raise HTTPException(400, f"job {job_id} completed before it could be canceled")
    return f"{job_id} is being canceled" if outcome == "running" else f"{job_id} canceled"
