"""/api/w/{ws}/{websocket,postgres,mqtt,email}_triggers/…: Windmill's trigger endpoints
(create, update, get, list, exists, delete, setenabled, setmode) over one table; plus
/api/w/{ws}/triggers/list, every trigger of the workspace (HTTP routes too) with its state.

A body is checked whole before anything is stored: a bad field, a script, flow, handler or
resource that does not exist, a used email address — each is a 400 that names it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from psycopg import AsyncConnection

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core import event_triggers as rules
from desktop_app.core.errors import NotFound, UsageError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.triggers import runs, store

#: A listener that has not said it is alive for this long has no daemon behind it.
STALE_AFTER = timedelta(seconds=10)
_SHARED = ("script_path", "is_flow", "mode", "enabled", "error_handler_path",
           "error_handler_args", "retry", "summary", "description")
# Read-only fields of `get`: a client may send a trigger back as it got it.
_READ_ONLY = {"path", "workspace_id", "edited_by", "edited_at", "email", "extra_perms",
              "permissioned_as", "server_id", "last_server_ping", "error", "last_error",
              "last_error_at", "status", "last_event_at", "events_total", "kind",
              "preserve_permissioned_as", "labels", "smtp_address"}

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
    "postgres": {"postgres_resource_path": _S, "channel": _S},
    "mqtt": {"mqtt_resource_path": _NS, "broker_url": _NS, "subscribe_topics": _A,
             "client_id": _NS, "client_version": {"enum": ["v3", "v5", None]},
             "v3_config": _O, "v5_config": _O},
    "email": {"local_part": _S, "workspaced_local_part": _B},
}
_KIND_REQUIRED = {"websocket": ("url",), "postgres": ("postgres_resource_path", "channel"),
                  "mqtt": ("subscribe_topics",), "email": ("local_part",)}
_RESOURCE_TYPE = {"postgres_resource_path": "postgresql", "mqtt_resource_path": "mqtt"}


def _now() -> datetime:
    return datetime.now(UTC)


def trigger_body(row: dict[str, Any]) -> dict[str, Any]:
    """The definition as a create body holds it (what the `*_trigger.yaml` file holds)."""
    body: dict[str, Any] = {"script_path": row["script_path"], "is_flow": row["is_flow"],
                            "mode": row["mode"]}
    config = dict(row["config"] or {})
    for name in rules.KIND_FIELDS[row["kind"]]:
        if config.get(name) is not None:
            body[name] = config[name]
    for name in ("error_handler_path", "error_handler_args", "retry", "summary",
                 "description"):
        if row[name] is not None:
            body[name] = row[name]
    body.update(row["extra"] or {})
    return body


def listener_status(row: dict[str, Any], now: datetime) -> str:
    if row["mode"] != "enabled":
        return "disabled"
    ping = row["last_server_ping"]
    if ping is None or now - ping > STALE_AFTER:
        return "no listener (is a daemon running?)" if row["kind"] != "email" else \
            "no SMTP listener"
    return str(row["status"] or "starting")


def trigger_json(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    out = trigger_body(row)
    out.update({
        "path": row["path"], "kind": row["kind"], "workspace_id": row["workspace_id"],
        "enabled": row["mode"] == "enabled", "edited_by": row["edited_by"],
        "edited_at": iso(row["edited_at"]), "email": f"{row['edited_by']}@tidemill.local",
        "permissioned_as": row["permissioned_as"], "extra_perms": {},
        "server_id": row["server_id"], "last_server_ping": iso(row["last_server_ping"]),
        "error": row["last_error"], "last_error": row["last_error"],
        "last_error_at": iso(row["last_error_at"]),
        "status": listener_status(row, now or _now()),
        "last_event_at": iso(row["last_event_at"]), "events_total": row["events_total"]})
    return out


async def _check_target(conn: AsyncConnection[Any], ws: str, path: str, is_flow: bool) -> None:
    try:
        if is_flow:
            await flow_store.latest(conn, ws, path)
        else:
            await script_store.latest(conn, ws, path)
    except NotFound as exc:
        kind = "flow" if is_flow else "script"
        raise UsageError(f"'script_path': no {kind} at {path!r} in workspace {ws!r}",
                         hint="deploy it first, or check is_flow") from exc


async def check_values(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
                       body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The stored columns of a create/update body (an update keeps what it leaves out);
    UsageError names the first bad field."""
    if kind not in rules.KINDS:
        raise UsageError(f"unknown trigger kind {kind!r}")
    merged = {**(trigger_body(old) if old else {}),
              **{k: v for k, v in body.items() if v is not None}}
    script_path = merged.get("script_path")
    if not isinstance(script_path, str) or not script_path:
        raise UsageError("'script_path' is required: the script or flow each event runs")
    is_flow = merged.get("is_flow", False)
    if not isinstance(is_flow, bool):
        raise UsageError("'is_flow' must be true or false")
    mode = merged.get("mode")
    if "enabled" in body and "mode" not in body:
        if not isinstance(body["enabled"], bool):
            raise UsageError("'enabled' must be true or false")
        mode = "enabled" if body["enabled"] else "disabled"
    mode = mode or "enabled"
    if mode not in rules.MODES:
        raise UsageError(f"'mode' must be enabled or disabled, not {mode!r}")
    config = rules.check_config(kind, merged)
    values: dict[str, Any] = {"script_path": script_path, "is_flow": is_flow, "mode": mode,
                              "config": config}
    for name in ("error_handler_path", "summary", "description"):
        v = merged.get(name)
        if v is not None and not isinstance(v, str):
            raise UsageError(f"'{name}' must be a string")
        values[name] = v or None
    for name in ("error_handler_args", "retry"):
        v = merged.get(name)
        if v is not None and not isinstance(v, dict):
            raise UsageError(f"'{name}' must be a JSON object")
        values[name] = v
    await _check_target(conn, ws, script_path, is_flow)
    if kind == "websocket":  # the runnables that compute the URL or the first messages
        runnables = [rules.runnable_of(config["url"])]
        runnables += [(m["runnable_result"]["path"], bool(m["runnable_result"].get("is_flow")))
                      for m in config["initial_messages"] if "runnable_result" in m]
        for found in runnables:
            if found is not None:
                try:
                    await _check_target(conn, ws, *found)
                except UsageError as exc:
                    raise UsageError(exc.message.replace("'script_path'", "'url' or"
                                                         " 'initial_messages'"),
                                     hint=exc.hint) from exc
    if values["error_handler_path"]:
        runs.check_handler_prefix(values["error_handler_path"])
        try:
            await runs.handler_target(conn, ws, values["error_handler_path"])
        except NotFound as exc:
            raise UsageError(f"'error_handler_path': {exc.message}", hint=exc.hint) from exc
    for field, rtype in _RESOURCE_TYPE.items():
        res = config.get(field)
        if not res:
            continue
        cur = await conn.execute("SELECT resource_type FROM resources WHERE workspace_id = %s"
                                 " AND path = %s", (ws, res))
        found = await cur.fetchone()
        if found is None:
            raise UsageError(f"'{field}': no resource at {res!r} in workspace {ws!r}",
                             hint=f"create a {rtype} resource there first")
        if found[0] != rtype:
            raise UsageError(f"'{field}': the resource {res!r} is a {found[0]},"
                             f" not a {rtype}")
    if kind == "email":
        cur = await conn.execute(
            "SELECT path FROM event_triggers WHERE kind = 'email' AND"
            " lower(config->>'local_part') = lower(%s) AND NOT (workspace_id = %s AND path = %s)",
            (config["local_part"], ws, old["path"] if old else path))
        other = await cur.fetchone()
        if other:
            raise UsageError(f"'local_part' {config['local_part']!r} already receives mail for"
                             f" the email trigger {other[0]}")
    known = {*_SHARED, *rules.KIND_FIELDS[kind], *_READ_ONLY}
    extra = dict((old or {}).get("extra") or {})
    extra.update({k: v for k, v in body.items() if k not in known})
    values["extra"] = extra
    return values


def check_path(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise UsageError("'path' is required, e.g. f/folder/name")
    parts = path.split("/")
    if parts[0] not in ("f", "u") or len(parts) < 3 or any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"'path' {path!r} must be f/<folder>/<name> or u/<user>/<name>")
    return path


async def _require_target(request: Request, who: Identity, values: dict[str, Any]) -> None:
    """A trigger's runs are its editor's: they must be allowed to run its target."""
    await access.require(request, who, Action.RUN, values["script_path"],
                         "flow" if values["is_flow"] else "script")


def make_router(kind: str) -> APIRouter:
    router = APIRouter(prefix=f"/api/w/{{workspace}}/{kind}_triggers", tags=[f"{kind}_triggers"])
    label = f"{kind} triggers" if kind != "mqtt" else "MQTT triggers"
    doc = {**_COMMON_DOC, **_KIND_DOC[kind]}

    @router.post("/create", status_code=201, response_class=PlainTextResponse,
                 name=f"create_{kind}_trigger",
                 openapi_extra=inputs.documented(doc, ("path", "script_path",
                                                       *_KIND_REQUIRED[kind])))
    async def create(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        access.require_role(who, "developer", f"creating {label}")
        body = await inputs.json_object(request)
        path = check_path(body.get("path"))
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            if await store.exists(conn, workspace, kind, path):
                raise UsageError(f"a {kind} trigger already exists at {path!r}",
                                 hint="update it, or pick another path")
            values = await check_values(conn, workspace, kind, path, body, None)
            await _require_target(request, who, values)
            await store.create(conn, workspace, kind, path, values, who.username,
                               who.permissioned_as)
        return path

    @router.post("/update/{path:path}", response_class=PlainTextResponse,
                 name=f"update_{kind}_trigger", openapi_extra=inputs.documented(doc))
    async def update(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        body = await inputs.json_object(request)
        new_path = check_path(body.get("path") or path)
        if new_path != path:
            await access.require(request, who, Action.WRITE, new_path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
            old = await store.get(conn, workspace, kind, path)
            if new_path != path and await store.exists(conn, workspace, kind, new_path):
                raise UsageError(f"a {kind} trigger already exists at {new_path!r}")
            values = await check_values(conn, workspace, kind, new_path, body, old)
            await _require_target(request, who, values)
            await store.update(conn, workspace, kind, path, new_path, values, who.username,
                               who.permissioned_as)
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
        now = _now()
        return [trigger_json(r, now) for r in rows
                if (path is None or r["script_path"] == path)
                and (is_flow is None or r["is_flow"] == is_flow)]

    @router.delete("/delete/{path:path}", response_class=PlainTextResponse,
                   name=f"delete_{kind}_trigger")
    async def delete(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn:
            await store.delete(conn, workspace, kind, path)
        return f"deleted {kind} trigger {path}"

    async def _set_mode(workspace: str, path: str, request: Request, who: Identity,
                        mode: str) -> str:
        await access.require(request, who, Action.WRITE, path, f"{kind} trigger")
        async with request.app.state.tidemill.pool.connection() as conn:
            await store.set_mode(conn, workspace, kind, path, mode)
        return f"{kind} trigger {path} {mode}"

    @router.post("/setenabled/{path:path}", response_class=PlainTextResponse,
                 name=f"setenabled_{kind}_trigger",
                 openapi_extra=inputs.documented({"enabled": _B}, ("enabled",)))
    async def set_enabled(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
        body = await inputs.json_object(request)
        if not isinstance(body.get("enabled"), bool):
            raise UsageError("'enabled' must be true or false")
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
            raise UsageError(f"'mode' must be enabled or disabled, not {mode!r}")
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
    now = _now()
    out = [{"kind": "http", "path": p, "script_path": sp, "is_flow": fl, "mode": mode,
            "enabled": mode == "enabled", "status": "serving" if mode == "enabled"
            else "disabled", "last_error": err, "last_error_at": None,
            "detail": f"{method.upper()} /api/r/{route}", "events_total": None}
           for p, route, method, sp, fl, mode, err in http]
    for r in rows:
        j = trigger_json(r, now)
        cfg = r["config"] or {}
        detail = {"websocket": cfg.get("url"), "postgres": f"LISTEN {cfg.get('channel')}"
                  f" on {cfg.get('postgres_resource_path')}",
                  "mqtt": ", ".join(t["topic"] for t in cfg.get("subscribe_topics") or []),
                  "email": cfg.get("local_part")}[r["kind"]]
        out.append({k: j[k] for k in ("kind", "path", "script_path", "is_flow", "mode",
                                      "enabled", "status", "last_error", "last_error_at",
                                      "events_total")} | {"detail": detail})
    return sorted(seen.filter(out), key=lambda t: (t["kind"], t["path"]))
