"""Schedule rows: create, update, enable, delete — each clears what the old definition
had pushed ahead, so a changed schedule never runs its old plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound
from desktop_app.scheduler import cron as cronlib

#: Columns a NewSchedule body sets (Windmill's names, plus Tidemill's catch_up and
#: dead_man_intervals).
FIELDS = ("schedule", "timezone", "script_path", "is_flow", "args", "enabled", "paused_until",
          "no_flow_overlap", "retry", "tag", "on_failure", "on_failure_times",
          "on_failure_exact", "on_failure_extra_args", "on_recovery", "on_recovery_times",
          "on_recovery_extra_args", "on_success", "on_success_extra_args",
          "ws_error_handler_muted", "catch_up", "dead_man_intervals", "summary", "description",
          "extra")
_JSON = {"args", "retry", "on_failure_extra_args", "on_recovery_extra_args",
         "on_success_extra_args", "extra"}


def _value(name: str, v: Any) -> Any:
    return Jsonb(v) if name in _JSON and v is not None else v


async def get(conn: AsyncConnection[Any], ws: str, path: str, *,
              for_update: bool = False) -> dict[str, Any]:
    """The schedule's row. `for_update` locks it first: a scheduler planning it then either
    has committed its pushes (which we clear) or skips it until we commit."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM schedules WHERE workspace_id = %s AND path = %s"
                      + (" FOR UPDATE" if for_update else ""), (ws, path))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"schedule not found at path {path!r} in workspace {ws!r}")
    return row


async def list_all(conn: AsyncConnection[Any], ws: str, path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM schedules WHERE workspace_id = %s AND path LIKE %s"
                      " ORDER BY path", (ws, path_start.replace("%", r"\%") + "%"))
    return await cur.fetchall()


async def clear_pending(conn: AsyncConnection[Any], ws: str, path: str) -> int:
    """Remove the runs pushed ahead that have not started; their fire times are free again."""
    cur = await conn.execute("DELETE FROM job_queue WHERE workspace_id = %s AND schedule_path = %s"
                             " AND NOT running RETURNING id", (ws, path))
    ids = [r[0] for r in await cur.fetchall()]
    if ids:
        await conn.execute("DELETE FROM schedule_fires WHERE job_id = ANY(%s)", (ids,))
    return len(ids)


def _plan_fields(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    cron = cronlib.parse(values["schedule"], values["timezone"])
    return {"planned_until": now, "next_fire": cronlib.next_fire(cron, now),
            "watch_since": now, "dead_man_alerted_at": None, "error": None}


async def create(conn: AsyncConnection[Any], ws: str, path: str, values: dict[str, Any],
                 who: str, permissioned_as: str, now: datetime) -> None:
    cols = {**{k: values[k] for k in FIELDS if k in values}, **_plan_fields(values, now)}
    names = ["workspace_id", "path", "edited_by", "permissioned_as", *cols]
    params = [ws, path, who, permissioned_as, *(_value(k, v) for k, v in cols.items())]
    await conn.execute(f"INSERT INTO schedules ({', '.join(names)}) VALUES"
                       f" ({', '.join(['%s'] * len(names))})", params)


async def update(conn: AsyncConnection[Any], ws: str, path: str, values: dict[str, Any],
                 who: str, permissioned_as: str, now: datetime) -> None:
    await get(conn, ws, path, for_update=True)
    await clear_pending(conn, ws, path)
    cols = {**{k: values[k] for k in FIELDS if k in values}, **_plan_fields(values, now),
            "edited_by": who, "permissioned_as": permissioned_as, "edited_at": now}
    sets = ", ".join(f"{k} = %s" for k in cols)
    await conn.execute(f"UPDATE schedules SET {sets} WHERE workspace_id = %s AND path = %s",
                       [*(_value(k, v) for k, v in cols.items()), ws, path])


async def set_enabled(conn: AsyncConnection[Any], ws: str, path: str, enabled: bool,
                      now: datetime) -> None:
    row = await get(conn, ws, path, for_update=True)
    await clear_pending(conn, ws, path)
    fields: dict[str, Any] = {"enabled": enabled}
    if enabled and not row["enabled"]:
        # A disabled period is not "missed": planning resumes from now.
        fields.update(_plan_fields(row, now))
    sets = ", ".join(f"{k} = %s" for k in fields)
    await conn.execute(f"UPDATE schedules SET {sets} WHERE workspace_id = %s AND path = %s",
                       [*fields.values(), ws, path])
    if enabled and row["enabled"]:
        # Still enabled: the pending runs we removed are planned again from where they were.
        await conn.execute("UPDATE schedules SET planned_until = %s, next_fire = %s"
                           " WHERE workspace_id = %s AND path = %s",
                           (now, cronlib.next_fire(cronlib.parse(row["schedule"],
                                                                 row["timezone"]), now), ws, path))


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> None:
    await get(conn, ws, path, for_update=True)
    await clear_pending(conn, ws, path)
    await conn.execute("DELETE FROM schedules WHERE workspace_id = %s AND path = %s", (ws, path))


async def recent_fires(conn: AsyncConnection[Any], ws: str, path: str,
                       limit: int = 50) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT fire_time, status, job_id, missed FROM schedule_fires"
                      " WHERE workspace_id = %s AND schedule_path = %s"
                      " ORDER BY fire_time DESC LIMIT %s", (ws, path, limit))
    return await cur.fetchall()
