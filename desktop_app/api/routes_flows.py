"""/api/w/{workspace}/flows/… and running flows; approval (resume/cancel) URLs."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from desktop_app.api import access, approval_links, audit, auth, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath, JobId
from desktop_app.api.run_request import request_args
from desktop_app.api.submit import caller_extra, get_job_row, job_options, wait_completed
from desktop_app.core.args import validate_args
from desktop_app.core.errors import ArgumentError, Forbidden
from desktop_app.db import flows as flow_store
from desktop_app.definitions import flow as definition
from desktop_app.definitions.paths import check_item_path
from desktop_app.flows import engine
from desktop_app.flows.approvers import Approver
from desktop_app.flows.run import new_flow_job

router = APIRouter(prefix="/api/w/{workspace}", tags=["flows"])

_FLOW = {"path": inputs.STRING, "summary": inputs.NULLABLE_STRING,
         "description": inputs.NULLABLE_STRING, "value": inputs.OBJECT,
         "schema": {"type": ["object", "null"]}}


def flow_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"workspace_id": row["workspace_id"], "path": row["path"], "summary": row["summary"],
            "description": row["description"], "value": row["value"], "schema": row["schema"],
            "archived": row["archived"], "edited_by": row["created_by"],
            "edited_at": row["created_at"].isoformat(), "version_id": row["version"],
            "extra_perms": {}, **inputs.without_request_only(row["extra"] or {})}


async def _save(request: Request, workspace: str, body: dict[str, Any], who: Identity,
                path: str, action: str) -> str:
    check_item_path(path)
    await access.require(request, who, Action.WRITE, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await definition.check(conn, workspace, path, body)
        await definition.save(conn, workspace, path, body, who.username)
        await audit.change(conn, request, who, "flow", path, action)
    return path


@router.post("/flows/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_FLOW, ("path", "value")))
async def create_flow(workspace: str, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "deploying flows")
    body = await inputs.json_object(request)
    if not isinstance(body.get("path"), str) or not body["path"]:
        raise ArgumentError("'path' is required", field="path")
    return await _save(request, workspace, body, who, body["path"], "deploy")


@router.post("/flows/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_FLOW, ("value",)))
async def update_flow(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "flow")
    body = await inputs.json_object(request)
    inputs.field_of(body, "path", str, "a string")
    return await _save(request, workspace, body, who, body.get("path") or path, "update")


@router.get("/flows/get/{path:path}")
async def get_flow(workspace: str, path: ItemPath, request: Request,
                   who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """The flow's definition, inline code included (not for operators: see get_form)."""
    await access.require(request, who, Action.READ_CODE, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn:
        return flow_json(await flow_store.latest(conn, workspace, path))


@router.get("/flows/get_form/{path:path}")
async def get_flow_form(workspace: str, path: ItemPath, request: Request,
                        who: Identity = Depends(authenticate)) -> dict[str, Any]:
    """Path, summary, description and input schema, without the steps: enough to render
    its run form. Open to whoever may read the flow, operators included."""
    await access.require(request, who, Action.READ, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn:
        full = flow_json(await flow_store.latest(conn, workspace, path))
    return {k: v for k, v in full.items() if k in ("workspace_id", "path", "summary",
                                                    "description", "schema", "archived",
                                                    "edited_by", "edited_at", "version_id")}


@router.get("/flows/exists/{path:path}")
async def flow_exists(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn:
        try:
            await flow_store.latest(conn, workspace, path)
            return True
        except Exception:
            return False


@router.get("/flows/list")
async def list_flows(workspace: str, request: Request, path_start: str = "",
                     pages: inputs.Paging = Depends(inputs.paging),
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await flow_store.list_latest(conn, workspace, path_start)
    return [{k: v for k, v in flow_json(r).items() if k != "value"} for r in pages.apply(seen.filter(rows))]


@router.post("/flows/archive/{path:path}", response_class=PlainTextResponse)
async def archive_flow(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await flow_store.archive(conn, workspace, path)
        await audit.change(conn, request, who, "flow", path, "delete")
    return f"archived {path}"


@router.delete("/flows/delete/{path:path}", response_class=PlainTextResponse)
async def delete_flow(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    """Remove the flow and its versions (its past runs stay). Deleting a flow that is not
    there succeeds, as in Windmill: wmill asks once per file of a removed flow folder."""
    await access.require(request, who, Action.WRITE, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        existed = await flow_store.delete(conn, workspace, path)
        if existed:
            await audit.change(conn, request, who, "flow", path, "delete")
    return f"deleted {path}" if existed else f"{path} did not exist"


@router.get("/flows/history/p/{path:path}")
async def flow_history(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Windmill's FlowVersion list, newest first."""
    await access.require(request, who, Action.READ, path, "flow")
    async with request.app.state.tidemill.pool.connection() as conn:
        versions = await flow_store.history(conn, workspace, path)
    return [{"id": v["version"], "created_at": v["created_at"].isoformat(),
             "deployment_msg": None} for v in versions]


_PREVIEW_FLOW = inputs.documented({"value": inputs.OBJECT, "path": inputs.NULLABLE_STRING,
                                   "args": {"type": ["object", "null"]},
                                   "tag": inputs.NULLABLE_STRING}, ("value",))


@router.post("/jobs/run/preview_flow", status_code=201, response_class=PlainTextResponse,
             openapi_extra=_PREVIEW_FLOW)
async def run_preview_flow(workspace: str, request: Request,
                           who: Identity = Depends(authenticate)) -> str:
    """Run a flow that is not deployed (`wmill flow preview`, the designer's test run)."""
    from desktop_app.flows.model import validate_flow

    access.require_role(who, "developer", "running a flow that is not deployed")
    body = await inputs.json_object(request)
    value = inputs.field_of(body, "value", dict, "the flow ({modules: [...]})")
    if value is None:
        raise HTTPException(400, "'value' (the flow: {modules: [...]}) is required")
    path = inputs.field_of(body, "path", str, "a string")
    args = inputs.field_of(body, "args", dict, "a JSON object of arguments") or {}
    validate_flow({"value": value})
    job = new_flow_job(created_by=who.username, permissioned_as=who.permissioned_as,
                       workspace_id=workspace, script_path=path, args=args, raw_flow=value,
                       **job_options(request))
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await engine.start_flow(conn, job)
    return str(job.id)


async def _flow_job(request: Request, workspace: str, path: str, who: Identity,
                    payload: str | None = None) -> Any:
    await access.require(request, who, Action.RUN, path, "flow")
    args = await request_args(request, payload)
    async with request.app.state.tidemill.pool.connection() as conn:
        flow = await flow_store.latest(conn, workspace, path)
    if flow["schema"]:
        validate_args(flow["schema"], args)
    return new_flow_job(created_by=who.username, permissioned_as=who.permissioned_as,
                        workspace_id=workspace, script_path=path, args=args,
                        raw_flow=flow["value"], trigger_kind="webhook",
                        extra=caller_extra(who), **job_options(request))


@router.post("/jobs/run/f/{path:path}", status_code=201, response_class=PlainTextResponse)
async def run_flow(workspace: str, path: ItemPath, request: Request,
                   who: Identity = Depends(authenticate)) -> str:
    job = await _flow_job(request, workspace, path, who)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await engine.start_flow(conn, job)
    return str(job.id)


@router.post("/jobs/run_wait_result/f/{path:path}")
async def run_wait_flow(workspace: str, path: ItemPath, request: Request,
                        who: Identity = Depends(authenticate)) -> Response:
    from desktop_app.api.routes_jobs import _sync_response

    job = await _flow_job(request, workspace, path, who)
    state = request.app.state.tidemill
    fut = state.waiter.register(job.id)
    async with state.pool.connection() as conn, conn.transaction():
        await engine.start_flow(conn, job)
    done = await wait_completed(state, workspace, job.id, fut)
    return _sync_response(done, job.id)


@router.post("/jobs/restart/f/{job_id}/from/{step_id}", status_code=201,
             response_class=PlainTextResponse)
async def restart_flow(workspace: str, job_id: JobId, step_id: str, request: Request,
                       who: Identity = Depends(authenticate)) -> str:
    """Re-run a finished flow from a step, reusing the results of the steps before it."""
    old = await get_job_row(request.app.state.tidemill, workspace, _uuid(job_id))
    await access.require_job(request, who, old)
    await access.require(request, who, Action.RUN, old["script_path"] or "", "flow")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        new_id = await engine.restart_flow(conn, workspace, _uuid(job_id), step_id,
                                           who.username, who.permissioned_as)
    return str(new_id)


# -- approvals -------------------------------------------------------------------------

def _subject(job_id: uuid.UUID, resume_id: int, approver: str | None) -> str:
    return f"{job_id}/{resume_id}/{approver or ''}"


@router.get("/jobs/resume_urls/{job_id}/{resume_id}")
async def resume_urls(workspace: str, job_id: JobId, resume_id: int, request: Request,
                      approver: str | None = None,
                      who: Identity = Depends(authenticate)) -> dict[str, str]:
    """Signed URLs that resume or cancel the flow waiting after the step `job_id`."""
    jid = _uuid(job_id)
    await access.require_job(request, who, await get_job_row(request.app.state.tidemill,
                                                             workspace, jid))
    sig = approval_links.sign(request.app.state.tidemill.token_key,
                              _subject(jid, resume_id, approver))
    return approval_links.urls(request, workspace, f"{jid}/{resume_id}/{sig}", approver,
                               page="", resume="resume", cancel="cancel")


def _check(request: Request, job_id: str, resume_id: int, signature: str,
           approver: str | None) -> uuid.UUID:
    jid = _uuid(job_id)
    approval_links.check(request.app.state.tidemill.token_key,
                         _subject(jid, resume_id, approver), signature)
    return jid


async def approver_of(request: Request, link_approver: str | None) -> Approver:
    """Who answers: the user of the request's token when it has one (a run-only token is
    no person), else the name the signed link carries."""
    if auth.token_from(request) is None:
        return Approver(link_approver)
    who = await auth.identify(request)
    if who.scope == "run":
        return Approver(link_approver)
    if link_approver and link_approver != who.username:
        raise Forbidden(f"this approval link is for {link_approver}; you are signed in as"
                        f" {who.username}", hint="ask for a link of your own")
    return Approver(who.username, signed_in=True, role=who.role)


@router.get("/jobs_u/resume/{job_id}/{resume_id}/{signature}")  # one route per method: unique OpenAPI operation ids
@router.post("/jobs_u/resume/{job_id}/{resume_id}/{signature}")
async def resume(workspace: str, job_id: JobId, resume_id: int, signature: str, request: Request,
                 approver: str | None = None, payload: str | None = None) -> JSONResponse:
    jid = _check(request, job_id, resume_id, signature, approver)
    value = await approval_links.payload(request, payload)
    who = await approver_of(request, approver)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        outcome = await engine.resume_step(conn, jid, value, who)
    if outcome == "gone":
        raise HTTPException(404, "this flow is not waiting for an approval (any more)")
    return JSONResponse(outcome)


@router.get("/jobs_u/cancel/{job_id}/{resume_id}/{signature}")  # one route per method: unique OpenAPI operation ids
@router.post("/jobs_u/cancel/{job_id}/{resume_id}/{signature}")
async def cancel_from_link(workspace: str, job_id: JobId, resume_id: int, signature: str,
                           request: Request, approver: str | None = None) -> JSONResponse:
    jid = _check(request, job_id, resume_id, signature, approver)
    who = await approver_of(request, approver)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        if not await engine.cancel_step(conn, jid, who):
            raise HTTPException(404, "this flow is not waiting for an approval (any more)")
    return JSONResponse("canceled")


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise HTTPException(400, f"{text!r} is not a job id (a UUID)") from exc



