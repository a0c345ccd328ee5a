"""/api/w/{ws}/{websocket,postgres,mqtt,nats,email}_triggers/…: Windmill's trigger endpoints
(create, update, get, list, exists, delete, setenabled, setmode) over one table; plus
/api/w/{ws}/triggers/list, every trigger of the workspace (HTTP routes too) with its state.

A body is checked whole before anything is stored: a bad field, a script, flow, handler or
resource that does not exist, a used email address — each is a 400 that names it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core import event_triggers as rules
from desktop_app.core.errors import ArgumentError, UsageError
from desktop_app.definitions import event_trigger as definition
from desktop_app.definitions.event_trigger import api_shape as trigger_json
from desktop_app.definitions.paths import check_item_path
from desktop_app.triggers import store

_S, _NS, _B = inputs.STRING, inputs.NULLABLE_STRING, inputs.BOOLEAN
_O, _A = {"type": ["object", "null"]}, {"type": ["array", "null"]}
_COMMON_DOC: dict[str, dict[str, Any]] = {
    "path": _S, "script_path": _S, "is_flow": _B,
    "mode": {"type": "string", "enum": list(rules.MODES)}, "enabled": _B,
    "error_handler_path": _NS, "error_handler_args": _O, "retry": _O, "summary": _NS,
    "description": _NS}
_KIND_DOC: dict[str, dict[str, dict[str, Any]]] = {
    "websocket": {"url": _S, "filters": _A, "filter_logic": {"enum": ["and", "or", None]},
                  "initial_messages": _A, "url_runnable_args": _O,
                  "can_return_message": _B, "can_return_error_result": _B},
    "postgres": {"postgres_resource_path": _S, "channel": _NS,
                 "replication_slot_name": _NS, "publication_name": _NS, "publication": _O},
    "mqtt": {"mqtt_resource_path": _NS, "broker_url": _NS, "subscribe_topics": _A,
             "client_id": _NS, "client_version": {"enum": ["v3", "v5", None]},
             "v3_config": _O, "v5_config": _O},
    "nats": {"nats_resource_path": _S, "subjects": _A, "use_jetstream": _B,
             "stream_name": _NS, "consumer_name": _NS},
    "email": {"local_part": _S, "workspaced_local_part": _B},
}
_KIND_REQUIRED = {"websocket": ("url",), "postgres": ("postgres_resource_path",),
                  "mqtt": ("subscribe_topics",), "email": ("local_part",),
                  "nats": ("nats_resource_path", "subjects")}
async def _require_target(request: Request, who: Identity, values: dict[str, Any]) -> None:
    """A trigger's runs are its editor's: they must be allowed to run its target."""
    await access.require(request, who, Action.RUN, values["script_path"],
                         "flow" if values["is_flow"] else "script")


def make_router(kind: str) -> APIRouter:
    router = APIRouter(prefix=f"/api/w/{{workspace}}/{kind}_triggers", tags=[f"{kind}_triggers"])
    label = f"{kind.upper()} triggers" if kind in ("mqtt", "nats") else f"{kind} triggers"
    doc = {**_COMMON_DOC, **_KIND_DOC[kind]}

    @router.post("/create", status_code=201, response_class=PlainTextResponse,
                 name=f"create_{kind}_trigger",
                 openapi_extra=inputs.documented(doc, ("path", "script_path",
                                                       *_KIND_REQUIRED[kind])))
    async def create(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        access.require_role(who, "developer", f"creating {label}")
        body = await inputs.json_object(request)
        path = check_item_path(body.get("path"))
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            if await store.exists(conn, workspace, kind, path):
                raise UsageError(f"a {kind} trigger already exists at {path!r}",
                                 hint="update it, or pick another path")
            values = await definition.check(conn, workspace, kind, path, body, None)
            await _require_target(request, who, values)
            await definition.save(conn, workspace, kind, path, values, who.username,
                                  who.permissioned_as, old=None)
            await audit.change(conn, request, who, f"{kind}_trigger", path, "create")
        return path

    @router.post("/update/{path:path}", response_class=PlainTextResponse,
                 name=f"update_{kind}_trigger", openapi_extra=inputs.documented(doc))
    async def update(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        body = await inputs.json_object(request)
        new_path = check_item_path(body.get("path") or path)
        if new_path != path:
            await access.require(request, who, Action.WRITE, new_path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            old = await store.get(conn, workspace, kind, path)
            if new_path != path and await store.exists(conn, workspace, kind, new_path):
                raise UsageError(f"a {kind} trigger already exists at {new_path!r}")
            values = await definition.check(conn, workspace, kind, new_path, body, old)
            await _require_target(request, who, values)
            await definition.save(conn, workspace, kind, new_path, values, who.username,
                                  who.permissioned_as, old=old)
            await audit.change(conn, request, who, f"{kind}_trigger", new_path, "update",
                               old_path=path if new_path != path else None)
        return new_path

    @router.get("/get/{path:path}", name=f"get_{kind}_trigger")
    async def get(workspace: str, path: ItemPath, request: Request,
                  who: Identity = Depends(authenticate)) -> dict[str, Any]:
        await access.require(request, who, Action.READ, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn:
            return trigger_json(await store.get(conn, workspace, kind, path))

    @router.get("/exists/{path:path}", name=f"exists_{kind}_trigger")
    async def exists(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> bool:
        await access.require(request, who, Action.READ, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn:
            return await store.exists(conn, workspace, kind, path)

    @router.get("/list", name=f"list_{kind}_triggers")
    async def list_(workspace: str, request: Request, path_start: str = "",
                    path: str | None = None, is_flow: bool | None = None,
                    who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
        seen = await access.visible(request, who, workspace)
        async with request.app.state.tidemill.pool.connection() as conn:
            rows = seen.filter(await store.list_all(conn, workspace, kind, path_start))
        now = datetime.now(UTC)
        return [trigger_json(r, now) for r in rows
                if (path is None or r["script_path"] == path)
                and (is_flow is None or r["is_flow"] == is_flow)]

    @router.delete("/delete/{path:path}", response_class=PlainTextResponse,
                   name=f"delete_{kind}_trigger")
    async def delete(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            await store.delete(conn, workspace, kind, path)
            await audit.change(conn, request, who, f"{kind}_trigger", path, "delete")
        return f"deleted {kind} trigger {path}"

    async def _set_mode(workspace: str, path: str, request: Request, who: Identity,
                        mode: str) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            await store.set_mode(conn, workspace, kind, path, mode)
            await audit.change(conn, request, who, f"{kind}_trigger", path, "update")
        return f"{kind} trigger {path} {mode}"

    @router.post("/setenabled/{path:path}", response_class=PlainTextResponse,
                 name=f"setenabled_{kind}_trigger",
                 openapi_extra=inputs.documented({"enabled": _B}, ("enabled",)))
    async def set_enabled(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
        body = await inputs.json_object(request)
        if not isinstance(body.get("enabled"), bool):
            raise ArgumentError("'enabled' must be true or false", field="enabled")
        return await _set_mode(workspace, path, request, who,
                               "enabled" if body["enabled"] else "disabled")

    @router.post("/setmode/{path:path}", response_class=PlainTextResponse,
                 name=f"setmode_{kind}_trigger",
                 openapi_extra=inputs.documented({"mode": {"type": "string",
                                                           "enum": list(rules.MODES)}},
                                                 ("mode",)))
    async def set_mode(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> str:
        body = await inputs.json_object(request)
        mode = body.get("mode")
        if mode not in rules.MODES:
            raise ArgumentError(f"'mode' must be enabled or disabled, not {mode!r}",
                                field="mode")
        return await _set_mode(workspace, path, request, who, mode)

    return router


routers = [make_router(kind) for kind in rules.KINDS]
overview_router = APIRouter(prefix="/api/w/{workspace}/triggers", tags=["triggers"])


@overview_router.get("/list")
async def list_every_trigger(workspace: str, request: Request,
                             who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Every trigger of the workspace, HTTP routes included: kind, path, target, mode,
    listener status and last error."""
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = seen.filter(await store.list_all(conn, workspace))
        cur = await conn.execute(
            "SELECT path, route_path, http_method, script_path, is_flow, mode, last_error"
            " FROM http_triggers WHERE workspace_id = %s ORDER BY path", (workspace,))
        http = await cur.fetchall()
    now = datetime.now(UTC)
    out = [{"kind": "http", "path": p, "script_path": sp, "is_flow": fl, "mode": mode,
            "enabled": mode == "enabled", "status": "serving" if mode == "enabled"
            else "disabled", "last_error": err, "last_error_at": None,
            "detail": f"{method.upper()} /api/r/{route}", "events_total": None}
           for p, route, method, sp, fl, mode, err in http]
    for r in rows:
        j = trigger_json(r, now)
        cfg = r["config"] or {}
        pg_source = f"LISTEN {cfg['channel']}" if cfg.get("channel") else \
            f"publication {cfg.get('publication_name')} (slot {cfg.get('replication_slot_name')})"
        detail = {"websocket": cfg.get("url"),
                  "postgres": f"{pg_source} on {cfg.get('postgres_resource_path')}",
                  "mqtt": ", ".join(t["topic"] for t in cfg.get("subscribe_topics") or []),
                  "nats": ", ".join(cfg.get("subjects") or []) + f" on {cfg.get('nats_resource_path')}",
                  "email": cfg.get("local_part")}[r["kind"]]
        out.append({k: j[k] for k in ("kind", "path", "script_path", "is_flow", "mode",
                                      "enabled", "status", "last_error", "last_error_at",
                                      "events_total")} | {"detail": detail})
    return sorted(seen.filter(out), key=lambda t: (t["kind"], t["path"]))
