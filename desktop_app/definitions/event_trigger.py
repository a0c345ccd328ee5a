"""An event trigger (websocket, postgres, mqtt, nats, email): its rules (`check`, ArgumentError
naming the field), its API shape, its sync file (`<path>.<kind>_trigger.yaml`, the create
body) and its store (triggers/store.py). The pure per-kind rules are
core/event_triggers.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core import event_triggers as rules
from desktop_app.core.errors import ArgumentError, NotFound, UsageError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.definitions.fields import in_item, named
from desktop_app.definitions.paths import check_item_path
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

_RESOURCE_TYPE = {"postgres_resource_path": "postgresql", "mqtt_resource_path": "mqtt",
                  "nats_resource_path": "nats"}


def _now() -> datetime:
    return datetime.now(UTC)


def sync_body(row: dict[str, Any]) -> dict[str, Any]:
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


def api_shape(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    out = sync_body(row)
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
        raise ArgumentError(f"'script_path': no {kind} at {path!r} in workspace {ws!r}",
                            field="script_path", hint="deploy it first, or check is_flow") from exc


async def check(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
                       body: dict[str, Any], old: dict[str, Any] | None) -> dict[str, Any]:
    """The stored columns of a create/update body (an update keeps what it leaves out);
    UsageError names the first bad field."""
    if kind not in rules.KINDS:
        raise UsageError(f"unknown trigger kind {kind!r}")
    merged = {**(sync_body(old) if old else {}),
              **{k: v for k, v in body.items() if v is not None}}
    script_path = merged.get("script_path")
    if not isinstance(script_path, str) or not script_path:
        raise ArgumentError("'script_path' is required: the script or flow each event runs",
                            field="script_path")
    is_flow = merged.get("is_flow", False)
    if not isinstance(is_flow, bool):
        raise ArgumentError("'is_flow' must be true or false", field="is_flow")
    mode = merged.get("mode")
    if "enabled" in body and "mode" not in body:
        if not isinstance(body["enabled"], bool):
            raise ArgumentError("'enabled' must be true or false", field="enabled")
        mode = "enabled" if body["enabled"] else "disabled"
    mode = mode or "enabled"
    if mode not in rules.MODES:
        raise ArgumentError(f"'mode' must be enabled or disabled, not {mode!r}", field="mode")
    try:
        config = rules.check_config(kind, merged)
    except UsageError as e:
        raise named(e) from e
    values: dict[str, Any] = {"script_path": script_path, "is_flow": is_flow, "mode": mode,
                              "config": config}
    for name in ("error_handler_path", "summary", "description"):
        v = merged.get(name)
        if v is not None and not isinstance(v, str):
            raise ArgumentError(f"'{name}' must be a string", field=name)
        values[name] = v or None
    for name in ("error_handler_args", "retry"):
        v = merged.get(name)
        if v is not None and not isinstance(v, dict):
            raise ArgumentError(f"'{name}' must be a JSON object", field=name)
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
                    field = "url" if found == runnables[0] else "initial_messages"
                    raise ArgumentError(exc.message.replace("'script_path'", "'url' or"
                                                            " 'initial_messages'"),
                                        field=field, hint=exc.hint) from exc
    if values["error_handler_path"]:
        try:
            runs.check_handler_prefix(values["error_handler_path"])
        except UsageError as exc:
            raise named(exc, "error_handler_path") from exc
        try:
            await runs.handler_target(conn, ws, values["error_handler_path"])
        except NotFound as exc:
            raise ArgumentError(f"'error_handler_path': {exc.message}", field="error_handler_path",
                                hint=exc.hint) from exc
    for field, rtype in _RESOURCE_TYPE.items():
        res = config.get(field)
        if not res:
            continue
        cur = await conn.execute("SELECT resource_type FROM resources WHERE workspace_id = %s"
                                 " AND path = %s", (ws, res))
        found = await cur.fetchone()
        if found is None:
            raise ArgumentError(f"'{field}': no resource at {res!r} in workspace {ws!r}",
                                field=field, hint=f"create a {rtype} resource there first")
        if found[0] != rtype:
            raise ArgumentError(f"'{field}': the resource {res!r} is a {found[0]},"
                                f" not a {rtype}", field=field)
    if kind == "email":
        cur = await conn.execute(
            "SELECT path FROM event_triggers WHERE kind = 'email' AND"
            " lower(config->>'local_part') = lower(%s) AND NOT (workspace_id = %s AND path = %s)",
            (config["local_part"], ws, old["path"] if old else path))
        other = await cur.fetchone()
        if other:
            raise ArgumentError(f"'local_part' {config['local_part']!r} already receives mail"
                                f" for the email trigger {other[0]}", field="local_part")
    known = {*_SHARED, *rules.KIND_FIELDS[kind], *_READ_ONLY}
    extra = dict((old or {}).get("extra") or {})
    extra.update({k: v for k, v in body.items() if k not in known})
    values["extra"] = extra
    return values


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    """The trigger as its `.<kind>_trigger.yaml` holds it, plus its path."""
    return {"path": row["path"], **sync_body(row)}


async def read(conn: AsyncConnection[Any], ws: str, kind: str,
               path: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await store.get(conn, ws, kind, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[tuple[str, dict[str, Any]]]:
    """(item kind, sync item) of every event trigger of the workspace."""
    return [(f"{r['kind']}_trigger", sync_shape(r)) for r in await store.list_all(conn, ws)]


async def save(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
               values: dict[str, Any], who: str, permissioned_as: str, *,
               old: dict[str, Any] | None) -> str:
    """Create (`old` None) or update the trigger, which may move to `path`."""
    check_item_path(path)
    if old is None:
        await store.create(conn, ws, kind, path, values, who, permissioned_as)
    else:
        await store.update(conn, ws, kind, old["path"], path, values, who, permissioned_as)
    return path


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, kind: str,
                item: dict[str, Any], who: str) -> bool:
    """Make the database hold this sync item; False when it already does."""
    path = item["path"]
    current = await read(conn, ws, kind, path)
    if current is not None and all(current.get(k) == v for k, v in item.items()):
        return False
    body = {k: v for k, v in item.items() if k != "path"}
    try:
        old = await store.get(conn, ws, kind, path) if current else None
        values = await check(conn, ws, kind, path, body, old)
    except UsageError as e:
        raise in_item(e, f"{kind} trigger {path}") from e
    await save(conn, ws, kind, path, values, who, f"u/{who}", old=old)
    return True


async def delete(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> bool:
    try:
        await store.delete(conn, ws, kind, path)
        return True
    except NotFound:
        return False
