"""A schedule: its rules (`check`: a NewSchedule/EditSchedule body → columns, ArgumentError
naming the field), its API shape, its sync file (`<path>.schedule.yaml`, the NewSchedule
body without run statistics) and its store (scheduler/store.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from desktop_app.core.args import validate_args
from desktop_app.core.errors import ArgumentError, NotFound, UsageError
from desktop_app.db import flows as flow_store
from desktop_app.db import scripts as script_store
from desktop_app.definitions.fields import in_item
from desktop_app.definitions.paths import check_item_path
from desktop_app.scheduler import cron as cronlib
from desktop_app.scheduler import store
from desktop_app.scheduler.jobs import handler_target
from desktop_app.scheduler.rules import check_catch_up

KIND = "schedule"
# A schedule's file: its NewSchedule body (WINDMILL.md §2.4), without the run statistics.
SYNC_KEYS = ("schedule", "timezone", "script_path", "is_flow", "args", "enabled",
             "paused_until", "no_flow_overlap", "retry", "tag", "on_failure",
             "on_failure_times", "on_failure_exact", "on_failure_extra_args", "on_recovery",
             "on_recovery_times", "on_recovery_extra_args", "on_success",
             "on_success_extra_args", "ws_error_handler_muted", "catch_up",
             "dead_man_intervals", "summary", "description")
_BODY_KEYS = ("path", *SYNC_KEYS)
# Read-only fields of a schedule as `get` returns it: a client may send the body back.
_KNOWN = set(_BODY_KEYS) | {"cron_version", "dynamic_skip", "permissioned_as", "labels",
                            "workspace_id", "edited_by", "edited_at", "extra_perms", "email",
                            "error", "stats"}


def _now() -> datetime:
    return datetime.now(UTC)


def bad(name: str, what: str) -> ArgumentError:
    return ArgumentError(f"'{name}' must be {what}", field=name)


def check_type(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    v = body.get(name)
    if v is None:
        return None
    if not isinstance(v, kind) or (isinstance(v, bool) and kind is int):
        raise bad(name, what)
    return v


async def check(conn: AsyncConnection[Any], ws: str, body: dict[str, Any],
                  old: dict[str, Any] | None) -> dict[str, Any]:
    """The columns of a NewSchedule/EditSchedule body, validated (ArgumentError names the field)."""
    v: dict[str, Any] = {}
    for name in ("schedule", "timezone", "script_path", "tag", "on_failure", "on_recovery",
                 "on_success", "summary", "description", "paused_until", "catch_up"):
        v[name] = check_type(body, name, str, "a string")
    for name in ("is_flow", "enabled", "no_flow_overlap", "on_failure_exact",
                 "ws_error_handler_muted"):
        v[name] = check_type(body, name, bool, "true or false")
    for name in ("on_failure_times", "on_recovery_times", "dead_man_intervals"):
        n = check_type(body, name, int, "a whole number")
        if n is not None and n < 1:
            raise bad(name, "at least 1")
        v[name] = n
    for name in ("args", "retry", "on_failure_extra_args", "on_recovery_extra_args",
                 "on_success_extra_args"):
        v[name] = check_type(body, name, dict, "a JSON object")
    if old is not None:  # an update keeps what its body leaves out
        for k, val in list(v.items()):
            if val is None and k in ("script_path", "is_flow", "timezone", "enabled"):
                v[k] = old[k]
    v["timezone"] = v["timezone"] or "UTC"
    if not v["schedule"]:
        raise bad("schedule", "a cron expression, e.g. '0 */5 * * * *'")
    if not v["script_path"]:
        raise bad("script_path", "the path of the script or flow to run")
    cronlib.parse(v["schedule"], v["timezone"])  # names 'schedule' or 'timezone'
    v["catch_up"] = check_catch_up(v["catch_up"])
    if v["paused_until"] is not None:
        try:
            v["paused_until"] = datetime.fromisoformat(v["paused_until"].replace("Z", "+00:00"))
        except ValueError as exc:
            raise bad("paused_until", "an ISO 8601 date-time") from exc
    v["is_flow"] = bool(v["is_flow"])
    v["enabled"] = True if v["enabled"] is None else v["enabled"]
    for name in ("no_flow_overlap", "on_failure_exact", "ws_error_handler_muted"):
        v[name] = bool(v[name])
    v["on_failure_times"] = v["on_failure_times"] or 1
    v["on_recovery_times"] = v["on_recovery_times"] or 1
    v["args"] = v["args"] or {}
    await _check_target(conn, ws, v["script_path"], v["is_flow"], "script_path", v["args"])
    for name in ("on_failure", "on_recovery", "on_success"):
        if v[name]:
            try:
                path, is_flow = handler_target(v[name])
            except Exception as exc:
                raise ArgumentError(str(exc), field=name) from exc
            await _check_target(conn, ws, path, is_flow, name, None)
    v["extra"] = {k: val for k, val in body.items() if k not in _KNOWN}
    return v


async def _check_target(conn: AsyncConnection[Any], ws: str, path: str, is_flow: bool,
                        field: str, args: dict[str, Any] | None) -> None:
    try:
        if is_flow:
            flow = await flow_store.latest(conn, ws, path)
            schema = flow["schema"]
        else:
            schema = (await script_store.latest(conn, ws, path)).schema
    except NotFound as exc:
        kind = "flow" if is_flow else "script"
        raise ArgumentError(f"'{field}': no {kind} at path {path!r} in workspace {ws!r}",
                            field=field, hint="deploy it first, or check is_flow") from exc
    if args is not None and schema:
        validate_args(schema, args)


def api_shape(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("workspace_id", "path", "edited_by", "schedule", "timezone",
                               "enabled", "script_path", "is_flow", "args", "on_failure",
                               "on_failure_times", "on_failure_exact", "on_failure_extra_args",
                               "on_recovery", "on_recovery_times", "on_recovery_extra_args",
                               "on_success", "on_success_extra_args", "ws_error_handler_muted",
                               "retry", "no_flow_overlap", "summary", "description", "tag",
                               "error", "catch_up", "dead_man_intervals", "permissioned_as")}
    for k in ("edited_at", "paused_until"):
        out[k] = row[k].isoformat() if row[k] else None
    out["extra_perms"] = {}
    out["email"] = f"{row['edited_by']}@tidemill.local"
    out["cron_version"] = "v2"
    # What really happened, next to what the cron says (Tidemill's additions).
    out["stats"] = {
        "next_fire": row["next_fire"].isoformat() if row["next_fire"] and row["enabled"] else None,
        "last_fire": row["last_fire"].isoformat() if row["last_fire"] else None,
        "last_job": str(row["last_job"]) if row["last_job"] else None,
        "missed_runs": row["missed_total"], "last_missed": row["last_missed"],
        "skipped_overlap": row["skipped_total"], "failure_streak": row["failure_streak"],
        "last_success_at": row["last_success_at"].isoformat() if row["last_success_at"] else None,
    }
    out.update(row["extra"] or {})
    return out


def sync_shape(row: dict[str, Any]) -> dict[str, Any]:
    """The schedule as its `.schedule.yaml` file holds it, plus its path."""
    item: dict[str, Any] = {"path": row["path"]}
    for key in SYNC_KEYS:
        value = row.get(key)
        item[key] = value.isoformat() if isinstance(value, datetime) else value
    item.update(row.get("extra") or {})
    return item


async def read(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any] | None:
    try:
        return sync_shape(await store.get(conn, ws, path))
    except NotFound:
        return None


async def read_all(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    return [sync_shape(r) for r in await store.list_all(conn, ws)]


async def save(conn: AsyncConnection[Any], ws: str, path: str, values: dict[str, Any],
               who: str, permissioned_as: str, *, old: dict[str, Any] | None) -> None:
    """Store checked values: a new schedule when `old` is None, else an update."""
    if old is None:
        check_item_path(path)
        await store.create(conn, ws, path, values, who, permissioned_as, _now())
    else:
        await store.update(conn, ws, path, values, who, permissioned_as, _now())


async def apply(conn: AsyncConnection[Any], ctx: Any, ws: str, item: dict[str, Any],
                who: str) -> bool:
    """Make the database hold this sync item; False when it already does."""
    current = await read(conn, ws, item["path"])
    if current is not None and all(current.get(k) == item.get(k) for k in SYNC_KEYS
                                   if k in item):
        return False
    body = {k: v for k, v in item.items() if k != "path"}
    try:
        old = await store.get(conn, ws, item["path"]) if current else None
        values = await check(conn, ws, body, old)
    except UsageError as e:
        raise in_item(e, f"schedule {item['path']}") from e
    await save(conn, ws, item["path"], values, who, f"u/{who}", old=old)
    return True


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    try:
        await store.delete(conn, ws, path)
        return True
    except NotFound:
        return False
