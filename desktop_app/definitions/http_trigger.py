"""An HTTP trigger: its rules (`check`, ArgumentError naming the field), its API shape,
its sync file (`<path>.http_trigger.yaml`, the NewHttpTrigger body) and its table.

The API and Git sync store a trigger through `save` alone, so both keep the same `extra`
keys and both clear `last_error` on a change.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from desktop_app.core import http_routes
from desktop_app.core.errors import ArgumentError, TidemillError, UsageError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.definitions.fields import field_of, in_item
from desktop_app.definitions.paths import check_item_path

KIND = "http_trigger"
COLUMNS = ("route_path", "http_method", "script_path", "is_flow", "request_type",
           "authentication_method", "authentication_resource_path", "wrap_body", "raw_string",
           "mode", "summary", "description")
_SELECT = ("SELECT workspace_id, path, " + ", ".join(COLUMNS) +
           ", extra, last_error, edited_by, permissioned_as, edited_at FROM http_triggers")
_NOT_EXTRA = {"path", "is_async", "workspace_id", "edited_by", "edited_at", "last_error",
              "extra_perms", *COLUMNS}


def api_shape(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("workspace_id", "path", *COLUMNS, "last_error", "edited_by")}
    out["edited_at"] = row["edited_at"].isoformat()
    out["is_async"] = row["request_type"] == "async"
    out["extra_perms"] = {}
    return {**(row["extra"] or {}), **out}


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    """The trigger as its `.http_trigger.yaml` holds it (the NewHttpTrigger body), plus
    its path."""
    return {"path": row["path"], **{k: row[k] for k in COLUMNS}, **(row["extra"] or {})}


async def fetch(conn: AsyncConnection[Any], where: str,
                params: tuple[Any, ...]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"{_SELECT} WHERE {where}", params)
    return list(await cur.fetchall())


async def get(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    rows = await fetch(conn, "workspace_id = %s AND path = %s", (ws, path))
    return rows[0] if rows else None


def choice(body: dict[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = field_of(body, name, str, f"one of {', '.join(allowed)}")
    value = (value or default).lower()
    if value not in allowed:
        raise ArgumentError(f"'{name}' must be one of {', '.join(allowed)}, not {value!r}",
                            field=name)
    return value


async def check(conn: AsyncConnection[Any], workspace: str, body: dict[str, Any],
                old: dict[str, Any] | None) -> dict[str, Any]:
    """The checked columns of a create/update body (an update keeps what it leaves out);
    ArgumentError names the bad field."""
    merged = {**(old or {}), **{k: v for k, v in body.items() if v is not None}}
    route = field_of(merged, "route_path", str, "a string")
    if route is None:
        raise ArgumentError("'route_path' is required, e.g. hooks/:id", field="route_path")
    route = route.lstrip("/")
    problem = http_routes.route_problem(route)
    if problem:
        raise ArgumentError(f"'route_path' {route!r} {problem}", field="route_path")
    script_path = field_of(merged, "script_path", str, "a string")
    if not script_path:
        raise ArgumentError("'script_path' is required", field="script_path")
    is_flow = bool(field_of(merged, "is_flow", bool, "a boolean"))
    for name in ("wrap_body", "raw_string", http_routes.FORM_OPT_IN):
        field_of(merged, name, bool, "a boolean")
    for name in ("summary", "description", "authentication_resource_path", "signature_header"):
        field_of(merged, name, str, "a string")
    is_async = field_of(merged, "is_async", bool, "a boolean")
    fields: dict[str, Any] = {
        "route_path": route, "script_path": script_path, "is_flow": is_flow,
        "http_method": choice(merged, "http_method", http_routes.METHODS, "post"),
        "request_type": choice(merged, "request_type", ("sync", "async"),
                               "async" if is_async else "sync"),
        "authentication_method": choice(merged, "authentication_method",
                                        http_routes.AUTH_METHODS, "none"),
        "authentication_resource_path": merged.get("authentication_resource_path"),
        "wrap_body": bool(merged.get("wrap_body")), "raw_string": bool(merged.get("raw_string")),
        "mode": choice(merged, "mode", ("enabled", "disabled"), "enabled"),
        "summary": merged.get("summary"), "description": merged.get("description"),
    }
    try:
        if is_flow:
            await flow_store.latest(conn, workspace, script_path)
        else:
            await script_store.latest(conn, workspace, script_path)
    except TidemillError as exc:
        kind = "flow" if is_flow else "script"
        raise ArgumentError(f"'script_path': no {kind} at {script_path!r}",
                            field="script_path") from exc
    if fields["authentication_method"] in ("api_key", "basic_http", "signature"):
        res = fields["authentication_resource_path"]
        if not res:
            raise ArgumentError(
                f"'authentication_resource_path' is required for"
                f" {fields['authentication_method']} authentication",
                field="authentication_resource_path")
        cur = await conn.execute(
            "SELECT 1 FROM resources WHERE workspace_id = %s AND path = %s",
            (workspace, res.removeprefix("$res:")))
        if await cur.fetchone() is None:
            raise ArgumentError(f"'authentication_resource_path': no resource at {res!r}",
                                field="authentication_resource_path")
    cur = await conn.execute(
        "SELECT path, route_path FROM http_triggers WHERE http_method = %s"
        " AND NOT (workspace_id = %s AND path = %s)",
        (fields["http_method"], workspace, (old or {}).get("path", "")))
    others = await cur.fetchall()
    shape = http_routes.route_shape(route)
    for other_path, other_route in others:
        if http_routes.route_shape(other_route) == shape:
            raise ArgumentError(f"'route_path': {fields['http_method'].upper()} {route} is"
                                f" already served by the HTTP trigger {other_path}"
                                f" ({other_route})", field="route_path")
    return fields


def extra_of(body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """Fields of the body Tidemill has no column for, kept as they came (an update adds to
    the old ones)."""
    extra = dict((old or {}).get("extra") or {})
    extra.update({k: v for k, v in body.items() if k not in _NOT_EXTRA})
    return extra


async def save(conn: AsyncConnection[Any], ws: str, path: str, fields: dict[str, Any],
               body: dict[str, Any], who: str, permissioned_as: str, *,
               old: dict[str, Any] | None) -> str:
    """Insert (`old` None) or update the trigger; an update may move it to `path`.
    Returns the path it now has."""
    check_item_path(path)
    extra = json.dumps(extra_of(body, old))
    if old is None:
        cols = ["workspace_id", "path", *fields, "extra", "edited_by", "permissioned_as"]
        await conn.execute(
            f"INSERT INTO http_triggers ({', '.join(cols)}) VALUES"
            f" ({', '.join(['%s'] * len(cols))})",
            [ws, path, *fields.values(), extra, who, permissioned_as])
        return path
    sets = ", ".join(f"{k} = %s" for k in fields)
    await conn.execute(
        f"UPDATE http_triggers SET path = %s, {sets}, extra = %s, edited_by = %s,"
        " edited_at = now(), last_error = NULL WHERE workspace_id = %s AND path = %s",
        (path, *fields.values(), extra, who, ws, old["path"]))
    return path


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    cur = await conn.execute("DELETE FROM http_triggers WHERE workspace_id = %s AND"
                             " path = %s", (ws, path))
    return cur.rowcount > 0


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    row = await get(conn, ws, path)
    return sync_shape(row) if row else None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [sync_shape(r) for r in await fetch(conn, "workspace_id = %s ORDER BY path", (ws,))]


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, item: dict[str, Any],
                who: str) -> bool:
    """Make the database hold this sync item; False when it already does."""
    path = item["path"]
    old = await get(conn, ws, path)
    if old is not None and all(sync_shape(old).get(k) == v for k, v in item.items()):
        return False
    body = {k: v for k, v in item.items() if k != "path"}
    try:
        fields = await check(conn, ws, body, old)
    except UsageError as e:
        raise in_item(e, f"http trigger {path}") from e
    await save(conn, ws, path, fields, body, who, f"u/{who}", old=old)
    return True
