"""HTTP route triggers: /api/w/{ws}/http_triggers/… define them (Windmill's
NewHttpTrigger bodies), /api/r/{route_path} serves them.

A request is matched by method and route (`:params`), authenticated per trigger (a bad
credential is a 401 and no job), then runs the script or flow: through the script's
`preprocessor(event)` when it has one, else with the body's fields as arguments.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.api.routes_resources import resource_value
from desktop_app.api.submit import (
    caller_extra,
    new_script_job,
    push_and_wait,
    push_job,
    wait_completed,
)
from desktop_app.core import http_routes
from desktop_app.core.args import validate_args
from desktop_app.core.errors import ArgumentError, NotFound, TidemillError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.definitions import http_trigger as definition
from desktop_app.definitions.paths import check_item_path

router = APIRouter(prefix="/api/w/{workspace}/http_triggers", tags=["http_triggers"])
serve_router = APIRouter(tags=["http_triggers"])

EVENT_ARG = http_routes.EVENT_ARG

_TRIGGER = {
    "path": inputs.STRING, "route_path": inputs.STRING, "script_path": inputs.STRING,
    "http_method": {"type": "string", "enum": list(http_routes.METHODS)},
    "is_flow": inputs.BOOLEAN, "request_type": {"type": "string", "enum": ["sync", "async"]},
    "authentication_method": {"type": "string", "enum": list(http_routes.AUTH_METHODS)},
    "authentication_resource_path": inputs.NULLABLE_STRING, "wrap_body": inputs.BOOLEAN,
    "raw_string": inputs.BOOLEAN, "mode": {"type": "string", "enum": ["enabled", "disabled"]},
    "summary": inputs.NULLABLE_STRING, "description": inputs.NULLABLE_STRING,
    "signature_header": inputs.NULLABLE_STRING,
    # Tidemill's: a route without authentication takes browser form posts only with this
    http_routes.FORM_OPT_IN: inputs.BOOLEAN}


async def _one(request: Request, workspace: str, path: str) -> dict[str, Any]:
    async with request.app.state.tidemill.pool.connection() as conn:
        row = await definition.get(conn, workspace, path)
    if row is None:
        raise NotFound(f"no HTTP trigger at {path!r}")
    return row


@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_TRIGGER, ("path", "route_path", "script_path")))
async def create_trigger(workspace: str, request: Request,
                         who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "creating HTTP triggers")
    body = await inputs.json_object(request)
    path = inputs.field_of(body, "path", str, "a string")
    if not path:
        raise ArgumentError("'path' is required", field="path")
    check_item_path(path)
    await access.require(request, who, Action.WRITE, path, "HTTP trigger")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        fields = await definition.check(conn, workspace, body, None)
        await _require_target(request, who, fields)
        await definition.save(conn, workspace, path, fields, body, who.username,
                              who.permissioned_as, old=None)
        await audit.change(conn, request, who, "http_trigger", path, "create")
    return path


@router.post("/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_TRIGGER))
async def update_trigger(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "HTTP trigger")
    body = await inputs.json_object(request)
    old = await _one(request, workspace, path)
    new_path = inputs.field_of(body, "path", str, "a string") or path
    if new_path != path:
        check_item_path(new_path)
        await access.require(request, who, Action.WRITE, new_path, "HTTP trigger")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        fields = await definition.check(conn, workspace, body, old)
        await _require_target(request, who, fields)
        await definition.save(conn, workspace, new_path, fields, body, who.username,
                              who.permissioned_as, old=old)
        await audit.change(conn, request, who, "http_trigger", new_path, "update",
                           old_path=path if new_path != path else None)
    return new_path


async def _require_target(request: Request, who: Identity, fields: dict[str, Any]) -> None:
    """A trigger runs as its editor: they must be allowed to run its target."""
    await access.require(request, who, Action.RUN, fields["script_path"],
                         "flow" if fields["is_flow"] else "script")


@router.get("/get/{path:path}")
async def get_trigger(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> dict[str, Any]:
    await access.require(request, who, Action.READ, path, "HTTP trigger")
    return definition.api_shape(await _one(request, workspace, path))


@router.get("/exists/{path:path}")
async def trigger_exists(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, path, "HTTP trigger")
    async with request.app.state.tidemill.pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM http_triggers WHERE workspace_id = %s"
                                 " AND path = %s", (workspace, path))
        return await cur.fetchone() is not None


@router.get("/list")
async def list_triggers(workspace: str, request: Request, path_start: str = "",
                        path: str | None = None, is_flow: bool | None = None,
                        who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await definition.fetch(conn, "workspace_id = %s AND starts_with(path, %s)"
                                  " AND (%s::text IS NULL OR script_path = %s)"
                                  " AND (%s::boolean IS NULL OR is_flow = %s) ORDER BY path",
                            (workspace, path_start, path, path, is_flow, is_flow))
    return [definition.api_shape(r) for r in seen.filter(rows)]


@router.delete("/delete/{path:path}", response_class=PlainTextResponse)
async def delete_trigger(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "HTTP trigger")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        if not await definition.delete(conn, workspace, path):
            raise NotFound(f"no HTTP trigger at {path!r}")
        await audit.change(conn, request, who, "http_trigger", path, "delete")
    return f"deleted {path}"


@router.post("/setmode/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(
                 {"mode": {"type": "string", "enum": ["enabled", "disabled"]}}, ("mode",)))
async def set_mode(workspace: str, path: ItemPath, request: Request,
                   who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "HTTP trigger")
    body = await inputs.json_object(request)
    if "mode" not in body and isinstance(body.get("enabled"), bool):
        body["mode"] = "enabled" if body["enabled"] else "disabled"
    if body.get("mode") is None:
        raise ArgumentError("'mode' is required: enabled or disabled", field="mode")
    mode = definition.choice(body, "mode", ("enabled", "disabled"), "enabled")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        cur = await conn.execute("UPDATE http_triggers SET mode = %s WHERE workspace_id = %s"
                                 " AND path = %s", (mode, workspace, path))
        if cur.rowcount == 0:
            raise NotFound(f"no HTTP trigger at {path!r}")
        await audit.change(conn, request, who, "http_trigger", path, "update")
    return f"{path} {mode}"


# -- serving ---------------------------------------------------------------------------

async def _matching(request: Request, route: str) -> tuple[dict[str, Any], dict[str, str]]:
    method = request.method.lower()
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await definition.fetch(conn, "http_method = %s", (method,))
    found = [(r, p) for r in rows
             if (p := http_routes.match_route(r["route_path"], route)) is not None]
    if not found:
        raise HTTPException(404, f"no HTTP trigger serves {request.method} /{route.strip('/')}")
    found.sort(key=lambda rp: (rp[0]["mode"] != "enabled",
                               http_routes.specificity(rp[0]["route_path"])))
    row, params = found[0]
    if row["mode"] != "enabled":
        raise HTTPException(503, f"the HTTP trigger {row['path']} serving {request.method}"
                                 f" /{row['route_path']} is disabled; enable it with"
                                 f" http_triggers/setmode")
    return row, params


async def _authenticate(request: Request, trigger: dict[str, Any], raw: bytes) -> Identity:
    """The identity the run gets; HTTPException 401 when the credentials do not fit."""
    method = trigger["authentication_method"]
    ws, target = trigger["workspace_id"], trigger["script_path"]
    kind = "flow" if trigger["is_flow"] else "script"
    owner = await access.identity_of(request, trigger["edited_by"])
    if method in ("token", "windmill"):
        who = await authenticate(request)
        await access.require(request, who, Action.RUN, target, kind, ws)
        return who
    # Runs as its editor, with the editor's rights today (a demoted editor's trigger stops).
    await access.require(request, owner, Action.RUN, target, kind, ws)
    if method == "none":
        return owner
    res_path = (trigger["authentication_resource_path"] or "").removeprefix("$res:")
    try:
        value = await resource_value(request, trigger["workspace_id"], res_path, owner)
    except TidemillError as exc:
        await _set_error(request, trigger, f"authentication resource {res_path!r}: {exc.message}")
        raise HTTPException(503, f"the HTTP trigger {trigger['path']} cannot check credentials:"
                                 f" its resource {res_path!r} is missing") from exc
    value = value if isinstance(value, dict) else {}
    headers = request.headers
    ok = False
    if method == "api_key":
        header = str(value.get("header") or value.get("api_key_header") or "x-api-key")
        ok = http_routes.secret_matches(str(value.get("api_key") or value.get("key") or ""),
                                        headers.get(header))
    elif method == "basic_http":
        ok = http_routes.basic_ok(str(value.get("username") or ""),
                                  str(value.get("password") or ""), headers.get("authorization"))
    elif method == "signature":
        header = str((trigger["extra"] or {}).get("signature_header") or value.get("header")
                     or "x-signature")
        secret = str(value.get("secret") or value.get("signing_secret") or "")
        ok = bool(secret) and http_routes.signature_ok(secret, raw, headers.get(header))
    if not ok:
        raise HTTPException(401, f"the request's credentials do not match the HTTP trigger"
                                 f" {trigger['path']} ({method})",
                            headers={"www-authenticate": "Basic"}
                            if method == "basic_http" else None)
    return owner


async def _set_error(request: Request, trigger: dict[str, Any], message: str) -> None:
    async with request.app.state.tidemill.pool.connection() as conn:
        await conn.execute("UPDATE http_triggers SET last_error = %s WHERE workspace_id = %s"
                           " AND path = %s", (message, trigger["workspace_id"], trigger["path"]))


def _decode_body(request: Request, raw: bytes) -> Any:
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    text = raw.decode("utf-8", "replace")
    if "json" in ctype or not ctype:
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            if "json" in ctype:
                raise HTTPException(400, f"the body is not valid JSON: {exc}") from exc
            return text
    if "x-www-form-urlencoded" in ctype:
        return dict(parse_qsl(text, keep_blank_values=True))
    return text


# One route per method, so each has its own OpenAPI operation id.
@serve_router.get("/api/r/{route_path:path}")
@serve_router.post("/api/r/{route_path:path}")
@serve_router.put("/api/r/{route_path:path}")
@serve_router.delete("/api/r/{route_path:path}")
@serve_router.patch("/api/r/{route_path:path}")
async def serve(route_path: str, request: Request) -> Response:
    """Run the script or flow of the HTTP trigger serving this method and route."""
    state = request.app.state.tidemill
    trigger, params = await _matching(request, route_path)
    raw = await request.body()
    if len(raw) > state.max_body_bytes:
        raise HTTPException(413, f"request body is {len(raw)} bytes, over the limit of "
                                 f"{state.max_body_bytes} bytes")
    refusal = http_routes.browser_form_refusal(
        request.headers.get("content-type"), trigger["authentication_method"],
        (trigger["extra"] or {}).get(http_routes.FORM_OPT_IN) is True, trigger["path"])
    if refusal:
        raise HTTPException(403, refusal)
    who = await _authenticate(request, trigger, raw)
    data = http_routes.HttpRequestData(
        body=_decode_body(request, raw), raw_string=raw.decode("utf-8", "replace"),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params), params=params, method=request.method,
        route=trigger["route_path"], path=route_path.strip("/"))
    ws = trigger["workspace_id"]
    opts: dict[str, Any] = {"trigger_path": trigger["path"]}
    sync = trigger["request_type"] == "sync"
    # Only a caller signed in with a token of their own may have references resolved (with
    # their rights); without one, or with a shared secret, the job runs as the trigger's
    # editor and what the request says stays text.
    plain = trigger["authentication_method"] not in ("token", "windmill") \
        or not who.supplies_references
    try:
        if trigger["is_flow"]:
            return await _run_flow(request, trigger, data, who, opts, sync, plain)
        async with state.pool.connection() as conn:
            script = await script_store.latest(conn, ws, trigger["script_path"])
    except TidemillError as exc:
        if exc.http_status != 404:
            raise
        await _set_error(request, trigger, exc.message)
        raise HTTPException(503, f"the HTTP trigger {trigger['path']} cannot run:"
                                 f" {exc.message}") from exc
    if script.has_preprocessor and script.language == "python3":
        # main's arguments come from preprocessor(event), in the job itself
        job = new_script_job(dataclasses.replace(script, schema=None),
                             {EVENT_ARG: data.event(trigger["path"])}, who, opts,
                             trigger_kind="http", plain_args=plain)
    else:
        job = new_script_job(script, data.args(trigger["wrap_body"], trigger["raw_string"]),
                             who, opts, trigger_kind="http", plain_args=plain)
    if not sync:
        return PlainTextResponse(str(await push_job(state, job)))
    from desktop_app.api.routes_jobs import _sync_response

    return _sync_response(await push_and_wait(state, job), job.id)


async def _run_flow(request: Request, trigger: dict[str, Any],
                    data: http_routes.HttpRequestData, who: Identity, opts: dict[str, Any],
                    sync: bool, plain: bool) -> Response:
    from desktop_app.api.routes_jobs import _sync_response
    from desktop_app.flows import engine
    from desktop_app.flows.run import new_flow_job

    state = request.app.state.tidemill
    ws = trigger["workspace_id"]
    async with state.pool.connection() as conn:
        flow = await flow_store.latest(conn, ws, trigger["script_path"])
    args = data.args(trigger["wrap_body"], trigger["raw_string"])
    if flow["schema"]:
        validate_args(flow["schema"], args)
    job = new_flow_job(created_by=who.username, permissioned_as=who.permissioned_as,
                       workspace_id=ws, script_path=trigger["script_path"], args=args,
                       raw_flow=flow["value"], trigger_kind="http",
                       extra=caller_extra(who, plain_args=plain), **opts)
    fut = state.waiter.register(job.id) if sync else None
    try:
        async with state.pool.connection() as conn, conn.transaction():
            await engine.start_flow(conn, job)
    except BaseException:
        if fut is not None:
            state.waiter.unregister(job.id, fut)
        raise
    if fut is None:
        return PlainTextResponse(str(job.id))
    return _sync_response(await wait_completed(state, ws, job.id, fut), job.id)
