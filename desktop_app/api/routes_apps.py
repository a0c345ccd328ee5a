"""/api/w/{workspace}/apps/… (Windmill's app endpoints) and running an app's runnables.

An app is stored as its document (`summary`, `value`, `policy`, other top-level keys in
`extra`), a new version per create/update. `apps_u/execute_component/{path}` runs one
runnable of the *deployed* app by its id: the script or flow path and an inline script's
code come from the stored app, the caller only supplies arguments (static inputs of the
app win over them), so a user who may run the app runs exactly what its author deployed.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from desktop_app.api import app_access, audit, inputs
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.api.submit import (
    caller_extra,
    job_options,
    new_script_job,
    push_and_wait,
    push_job,
)
from desktop_app.apps.model import AppDefinition
from desktop_app.apps.windmill_grid import runnable_value
from desktop_app.core.args import validate_args
from desktop_app.core.errors import ArgumentError, UsageError
from desktop_app.core.jobs import JobKind, default_tag
from desktop_app.core.languages import require_runnable
from desktop_app.db import apps as app_store
from desktop_app.definitions import app as app_definition
from desktop_app.definitions.paths import check_item_path
from desktop_app.queue.model import NewJob

router = APIRouter(prefix="/api/w/{workspace}", tags=["apps"])

_APP = {"path": inputs.STRING, "summary": inputs.NULLABLE_STRING, "value": inputs.OBJECT,
        "policy": {"type": ["object", "null"]}, "deployment_message": inputs.NULLABLE_STRING}
_EXECUTE = inputs.documented({"component": inputs.STRING, "args": {"type": ["object", "null"]}},
                             ("component",), example={"component": "list_users",
                                                      "args": {"limit": 10}})


def app_json(row: dict[str, Any], *, with_code: bool = True,
             versions: list[int] | None = None) -> dict[str, Any]:
    value = row["value"]
    if not with_code:
        value = _without_code(value)
    out = {"id": row["version"], "workspace_id": row["workspace_id"], "path": row["path"],
           "summary": row["summary"], "value": value, "policy": row["policy"],
           "extra": row["extra"] or {}, "created_by": row["created_by"],
           "created_at": row["created_at"].isoformat(), "versions": versions or [row["version"]],
           "extra_perms": {}, "code_visible": with_code}
    return out


def _without_code(value: Any) -> Any:
    """The app without its inline scripts' code (for callers who may run but not read it)."""
    value = copy.deepcopy(value)
    runnables = value.get("runnables") if isinstance(value, dict) else None
    for r in runnables if isinstance(runnables, list) else []:
        if isinstance(r, dict) and "content" in r:
            r["content"] = None
            r.pop("lock", None)
    _drop_inline_scripts(value)  # Windmill's grid apps keep code in `inlineScript`s
    return value


def _drop_inline_scripts(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _drop_inline_scripts(item)
    elif isinstance(node, dict):
        script = node.get("inlineScript")
        if isinstance(script, dict):
            script["content"] = None
            script.pop("lock", None)
        for v in node.values():
            _drop_inline_scripts(v)


async def _save(request: Request, workspace: str, path: str, doc: dict[str, Any],
                who: Identity, message: str | None, *, action: str,
                old_path: str | None = None) -> None:
    """Store a version at `path`; a rename (`old_path`) deletes the old path in the same
    transaction."""
    check_item_path(path)
    extra = {k: v for k, v in doc.items() if k not in app_definition.COLUMNS}
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await app_store.insert_version(conn, workspace, path, doc.get("summary") or "",
                                       doc["value"], doc.get("policy"), extra, who.username,
                                       message)
        if old_path is not None:
            await app_store.delete(conn, workspace, old_path)
        await audit.change(conn, request, who, "app", path, action, old_path=old_path)


@router.post("/apps/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_APP, ("path", "value")))
async def create_app(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
    body = await inputs.json_object(request)
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise ArgumentError("'path' is required (f/<folder>/<name>)", field="path")
    check_item_path(path)
    await app_access.require_edit(request, who, path)
    async with request.app.state.tidemill.pool.connection() as conn:
        if await app_store.exists(conn, workspace, path):
            raise HTTPException(400, f"an app already exists at {path}",
                                ) from None
    await _save(request, workspace, path, app_definition.check(body), who, body.get("deployment_message"),
                action="create")
    return path


@router.post("/apps/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_APP, ()))
async def update_app(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
    body = await inputs.json_object(request)
    new_path = inputs.field_of(body, "path", str, "a string") or path
    await app_access.require_edit(request, who, path)
    if new_path != path:
        check_item_path(new_path)
        await app_access.require_edit(request, who, new_path)
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await app_store.latest(conn, workspace, path)
    base = {"summary": row["summary"], "value": row["value"], **(row["extra"] or {})}
    if row["policy"] is not None:
        base["policy"] = row["policy"]
    doc = app_definition.check(body, base)
    await _save(request, workspace, new_path, doc, who, body.get("deployment_message"),
                action="update", old_path=path if new_path != path else None)
    return new_path


@router.get("/apps/get/p/{path:path}")
async def get_app(workspace: str, path: ItemPath, request: Request,
                  who: Identity = Depends(authenticate)) -> dict[str, Any]:
    await app_access.require_read(request, who, path)
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await app_store.latest(conn, workspace, path)
        versions = await app_store.versions(conn, workspace, path)
        schemas = await _schemas(conn, workspace, row["value"])
    with_code = await app_access.may_read_code(request, who, path)
    return {**app_json(row, with_code=with_code, versions=versions), "schemas": schemas}


def _in_signature_order(schema: Any, content: str, language: str) -> Any:
    """The stored schema (jsonb: its keys come back sorted) with an `order` following the
    signature, so the form lists the arguments as the script declares them."""
    from desktop_app.parsing import script_metadata

    if not isinstance(schema, dict) or schema.get("order") or \
            not isinstance(schema.get("properties"), dict):
        return schema
    try:
        declared = list((script_metadata(content, language)["schema"] or {})
                        .get("properties") or {})
    except UsageError:
        return schema
    names = list(schema["properties"])
    return {**schema, "order": [n for n in declared if n in names] +
            [n for n in names if n not in declared]}


async def _schemas(conn: Any, workspace: str, value: Any) -> dict[str, Any]:
    """Each runnable's argument schema (a form component's fields), so that a user who may
    not read the code still gets the form."""
    from desktop_app.db import flows as flow_store
    from desktop_app.db import scripts as script_store
    from desktop_app.parsing import script_metadata

    out: dict[str, Any] = {}
    for r in AppDefinition({"value": runnable_value(value)}).runnables:
        try:
            if r.type == "inline" and isinstance(r.content, str):
                out[r.id] = script_metadata(r.content, require_runnable(r.language))["schema"]
            elif r.type == "script" and r.path:
                script = await script_store.latest(conn, workspace, r.path)
                out[r.id] = _in_signature_order(script.schema, script.content, script.language)
            elif r.type == "flow" and r.path:
                out[r.id] = (await flow_store.latest(conn, workspace, r.path))["schema"]
        except UsageError:  # not deployed yet, or code that does not parse: no form
            out[r.id] = None
    return out


@router.get("/apps/exists/{path:path}")
async def app_exists(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> bool:
    await app_access.require_read(request, who, path)
    async with request.app.state.tidemill.pool.connection() as conn:
        return await app_store.exists(conn, workspace, path)


@router.get("/apps/list")
async def list_apps(workspace: str, request: Request, path_start: str = "",
                    pages: inputs.Paging = Depends(inputs.paging),
                    who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await app_access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = seen.filter(await app_store.list_latest(conn, workspace, path_start))
    return [{"id": r["version"], "workspace_id": r["workspace_id"], "path": r["path"],
             "summary": r["summary"], "edited_at": r["created_at"].isoformat(),
             "created_by": r["created_by"], "extra_perms": {},
             "execution_mode": (r["policy"] or {}).get("execution_mode", "viewer")}
            for r in pages.apply(rows)]


@router.delete("/apps/delete/{path:path}", response_class=PlainTextResponse)
async def delete_app(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
    await app_access.require_edit(request, who, path)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await app_store.delete(conn, workspace, path)
        await audit.change(conn, request, who, "app", path, "delete")
    return f"app {path} deleted"


# -- running -----------------------------------------------------------------------------

@router.post("/apps_u/execute_component/{path:path}", openapi_extra=_EXECUTE,
             responses={201: {"description": "the job id (or, with ?wait=true, the result)"}})
async def execute_component(workspace: str, path: ItemPath, request: Request,
                            wait: bool = False,
                            who: Identity = Depends(authenticate)) -> Response:
    """Run the runnable `component` of the deployed app at `path` with `args`."""
    from desktop_app.api.routes_jobs import _sync_response

    body = await inputs.json_object(request)
    runnable_id = body.get("component")
    if not isinstance(runnable_id, str) or not runnable_id:
        raise ArgumentError("'component' (the id of the app's runnable) is required",
                            field="component")
    args = inputs.field_of(body, "args", dict, "a JSON object of arguments") or {}
    await app_access.require_run(request, who, path)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn:
        row = await app_store.latest(conn, workspace, path)
    app = AppDefinition({"value": runnable_value(row["value"])})  # a Windmill grid too
    try:
        runnable = app.runnable(runnable_id)
    except UsageError as e:
        raise HTTPException(404, f"the app {path} has no runnable {runnable_id!r}") from e
    statics = runnable.static_inputs()
    # the author's fixed values win; only what the caller supplied may stay text
    extra = caller_extra(who, supplied=[k for k in args if k not in statics])
    args = {**args, **statics}
    opts = job_options(request)
    if runnable.type == "flow":
        return await _run_flow(request, workspace, path, runnable.path or "", args, who, wait,
                               extra)
    if runnable.type == "script":
        from desktop_app.api.routes_jobs import _script_at

        script = await _script_at(request, workspace, path=runnable.path)
        job = new_script_job(script, args, who, opts, trigger_kind="app")
    else:
        job = _inline_job(workspace, path, runnable, args, who, opts)
    job.extra = {**job.extra, **extra}
    job.trigger_path = path
    if wait:
        return _sync_response(await push_and_wait(state, job), job.id)
    return PlainTextResponse(str(await push_job(state, job)), status_code=201)


def _inline_job(workspace: str, app_path: str, runnable: Any, args: dict[str, Any],
                who: Identity, opts: dict[str, Any]) -> NewJob:
    from desktop_app.parsing import script_metadata

    language = require_runnable(runnable.language)
    schema = script_metadata(runnable.content, language)["schema"]
    validate_args(schema or {}, args)
    return NewJob(kind=JobKind.PREVIEW, tag=opts.pop("tag", None) or default_tag(language),
                  created_by=who.username, permissioned_as=who.permissioned_as, args=args,
                  workspace_id=workspace, script_path=f"{app_path}/{runnable.id}",
                  language=language, raw_code=runnable.content,
                  raw_lock=runnable.raw.get("lock"), trigger_kind="app",
                  extra={"schema": schema, "app": app_path, "runnable": runnable.id}, **opts)


async def _run_flow(request: Request, workspace: str, app_path: str, flow_path: str,
                    args: dict[str, Any], who: Identity, wait: bool,
                    extra: dict[str, Any]) -> Response:
    from desktop_app.api.routes_jobs import _sync_response
    from desktop_app.api.submit import wait_completed
    from desktop_app.db import flows as flow_store
    from desktop_app.flows import engine
    from desktop_app.flows.run import new_flow_job

    state = request.app.state.tidemill
    async with state.pool.connection() as conn:
        flow = await flow_store.latest(conn, workspace, flow_path)
    if flow["schema"]:
        validate_args(flow["schema"], args)
    job = new_flow_job(created_by=who.username, permissioned_as=who.permissioned_as,
                       workspace_id=workspace, script_path=flow_path, args=args,
                       raw_flow=flow["value"], trigger_kind="app", extra=extra,
                       **job_options(request))
    fut = state.waiter.register(job.id) if wait else None
    async with state.pool.connection() as conn, conn.transaction():
        await engine.start_flow(conn, job)
    if not wait:
        return PlainTextResponse(str(job.id), status_code=201)
    done = await wait_completed(state, workspace, job.id, fut)
    return _sync_response(done, job.id)
