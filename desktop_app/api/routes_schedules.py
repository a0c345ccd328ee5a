"""/api/w/{workspace}/schedules/…: Windmill's schedule endpoints, plus a preview of the next
fire times and the record of recent fires (missed, caught up, skipped for overlap)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from desktop_app.api import access, audit, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.core.errors import ArgumentError
from desktop_app.definitions import schedule as definition
from desktop_app.definitions.paths import check_item_path
from desktop_app.definitions.schedule import api_shape as schedule_json
from desktop_app.definitions.schedule import bad as _bad
from desktop_app.definitions.schedule import check_type as _check_type
from desktop_app.scheduler import cron as cronlib
from desktop_app.scheduler import store

router = APIRouter(prefix="/api/w/{workspace}/schedules", tags=["schedules"])
global_router = APIRouter(prefix="/api/schedules", tags=["schedules"])

_S, _NS, _B, _O, _I = (inputs.STRING, inputs.NULLABLE_STRING, inputs.BOOLEAN,
                       {"type": ["object", "null"]}, {"type": ["integer", "null"]})
_BODY = {"path": _S, "schedule": _S, "timezone": _S, "script_path": _S, "is_flow": _B,
         "args": _O, "enabled": _B, "paused_until": {"type": ["string", "null"],
                                                    "format": "date-time"},
         "no_flow_overlap": _B, "retry": _O, "tag": _NS, "on_failure": _NS,
         "on_failure_times": _I, "on_failure_exact": _B, "on_failure_extra_args": _O,
         "on_recovery": _NS, "on_recovery_times": _I, "on_recovery_extra_args": _O,
         "on_success": _NS, "on_success_extra_args": _O, "ws_error_handler_muted": _B,
         "catch_up": {"enum": ["once", "all", "skip", None]}, "dead_man_intervals": _I,
         "summary": _NS, "description": _NS}



@router.post("/create", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_BODY, ("path", "schedule", "script_path")))
async def create_schedule(workspace: str, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    access.require_role(who, "developer", "creating schedules")
    body = await inputs.json_object(request)
    path = _check_type(body, "path", str, "a string")
    if not path:
        raise _bad("path", "the schedule's path, e.g. f/folder/name")
    check_item_path(path)
    await access.require(request, who, Action.WRITE, path, "schedule")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        values = await definition.check(conn, workspace, body, None)
        await _require_target(request, who, values)
        cur = await conn.execute("SELECT 1 FROM schedules WHERE workspace_id = %s AND path = %s",
                                 (workspace, path))
        if await cur.fetchone():
            raise ArgumentError(f"schedule {path} already exists", field="path")
        await definition.save(conn, workspace, path, values, who.username,
                              who.permissioned_as, old=None)
        await audit.change(conn, request, who, "schedule", path, "create")
    return str(path)


@router.post("/update/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_BODY, ("schedule",)))
async def update_schedule(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "schedule")
    body = await inputs.json_object(request)
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        old = await store.get(conn, workspace, path)
        values = await definition.check(conn, workspace, body, old)
        await _require_target(request, who, values)
        if "enabled" not in body:
            values["enabled"] = old["enabled"]
        await definition.save(conn, workspace, path, values, who.username,
                              who.permissioned_as, old=old)
        await audit.change(conn, request, who, "schedule", path, "update")
    return path


async def _require_target(request: Request, who: Identity, values: dict[str, Any]) -> None:
    """A schedule runs as its editor: they must be allowed to run its target."""
    await access.require(request, who, Action.RUN, values["script_path"],
                         "flow" if values["is_flow"] else "script")


@router.get("/get/{path:path}")
async def get_schedule(workspace: str, path: ItemPath, request: Request,
                       who: Identity = Depends(authenticate)) -> dict[str, Any]:
    await access.require(request, who, Action.READ, path, "schedule")
    async with request.app.state.tidemill.pool.connection() as conn:
        out = schedule_json(await store.get(conn, workspace, path))
        cur = await conn.execute(
            "SELECT extract(epoch FROM started_at - scheduled_for) * 1000 FROM job_completed"
            " WHERE workspace_id = %s AND schedule_path = %s AND started_at IS NOT NULL"
            " ORDER BY completed_at DESC LIMIT 20", (workspace, path))
        lags = sorted(float(r[0]) for r in await cur.fetchall())
    stats = out["stats"]
    stats["start_lag_ms_median"] = round(lags[len(lags) // 2], 1) if lags else None
    stats["cadence_notes"] = cadence_notes(stats)
    return out


def cadence_notes(stats: dict[str, Any]) -> list[str]:
    """Where the schedule's real cadence differs from its cron, in words."""
    notes = []
    m = stats.get("last_missed")
    if m:
        how = {"once": "caught up with one run", "all": "each run caught up",
               "skip": "not run"}.get(m.get("policy"), "")
        notes.append(f"{m['count']} run(s) missed from {m['from']} to {m['until']}"
                     f" (daemon down or machine asleep; {how})")
    if stats.get("skipped_overlap"):
        notes.append(f"{stats['skipped_overlap']} fire(s) skipped: the previous run was still"
                     " running (no_flow_overlap)")
    lag = stats.get("start_lag_ms_median")
    if lag is not None and lag > 1000:
        notes.append(f"runs start {lag / 1000:.1f} s after their planned time (median of the"
                     " last 20): workers are busy")
    return notes


@router.get("/exists/{path:path}")
async def schedule_exists(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> bool:
    await access.require(request, who, Action.READ, path, "schedule")
    async with request.app.state.tidemill.pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM schedules WHERE workspace_id = %s AND path = %s",
                                 (workspace, path))
        return await cur.fetchone() is not None


@router.get("/list")
async def list_schedules(workspace: str, request: Request,
                         pages: inputs.Paging = Depends(inputs.paging),
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    q = request.query_params
    seen = await access.visible(request, who, workspace)
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = seen.filter(await store.list_all(conn, workspace, q.get("path_start") or ""))
    out = [schedule_json(r) for r in rows]
    if q.get("path"):
        out = [s for s in out if s["script_path"] == q["path"]]
    if q.get("is_flow") in ("true", "false"):
        out = [s for s in out if s["is_flow"] == (q["is_flow"] == "true")]
    return pages.apply(out)


@router.delete("/delete/{path:path}", response_class=PlainTextResponse)
async def delete_schedule(workspace: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "schedule")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await store.delete(conn, workspace, path)
        await audit.change(conn, request, who, "schedule", path, "delete")
    return f"schedule {path} deleted"


@router.post("/setenabled/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented({"enabled": _B}, ("enabled",)))
async def set_enabled(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    await access.require(request, who, Action.WRITE, path, "schedule")
    body = await inputs.json_object(request)
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise _bad("enabled", "true or false")
    async with request.app.state.tidemill.pool.connection() as conn, conn.transaction():
        await store.set_enabled(conn, workspace, path, enabled, datetime.now(UTC))
        await audit.change(conn, request, who, "schedule", path, "update")
    return f"succesfully updated schedule at path {path} to status {enabled}"


@router.get("/fires/{path:path}")
async def schedule_fires(workspace: str, path: ItemPath, request: Request,
                         who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    """Recent fire times: pushed, caught up after a missed period (with how many were
    missed), or skipped because the previous run was still going."""
    await access.require(request, who, Action.READ, path, "schedule")
    async with request.app.state.tidemill.pool.connection() as conn:
        await store.get(conn, workspace, path)
        rows = await store.recent_fires(conn, workspace, path)
    return [{"fire_time": r["fire_time"].isoformat(), "status": r["status"],
             "job_id": str(r["job_id"]) if r["job_id"] else None, "missed": r["missed"]}
            for r in rows]


_PREVIEW = inputs.documented({"schedule": _S, "timezone": _S, "count": _I,
                              "cron_version": _NS}, ("schedule",))


async def _preview(request: Request) -> list[str]:
    body = await inputs.json_object(request)
    expr = _check_type(body, "schedule", str, "a cron expression")
    tz = _check_type(body, "timezone", str, "an IANA time zone name") or "UTC"
    count = _check_type(body, "count", int, "a whole number") or 10
    if not 1 <= count <= 1000:
        raise _bad("count", "between 1 and 1000")
    cron = cronlib.parse(expr or "", tz)
    out: list[str] = []
    try:
        for t in cronlib.iter_fires(cron, datetime.now(UTC)):
            out.append(t.isoformat())
            if len(out) >= count:
                break
    except ValueError as exc:  # croniter: no date matches (e.g. 30 February)
        raise ArgumentError(f"'schedule' never fires: {exc}", field="schedule") from exc
    return out


@router.post("/preview", openapi_extra=_PREVIEW)
async def preview_ws(workspace: str, request: Request,
                     who: Identity = Depends(authenticate)) -> list[str]:
    """The next `count` (default 10) fire times, in UTC."""
    return await _preview(request)


@global_router.post("/preview", openapi_extra=_PREVIEW)
async def preview(request: Request, who: Identity = Depends(authenticate)) -> list[str]:
    """The next `count` (default 10) fire times, in UTC (Windmill's global endpoint)."""
    return await _preview(request)
