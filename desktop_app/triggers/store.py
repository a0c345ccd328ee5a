"""Event trigger rows (`event_triggers`): one table for the four kinds, the shared fields
as columns and each kind's settings in `config`. Every change NOTIFYs `tidemill_triggers`
so the daemons' trigger managers pick it up at once (they also poll)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound

CHANNEL = "tidemill_triggers"
#: Columns a create/update body sets.
FIELDS = ("script_path", "is_flow", "mode", "config", "error_handler_path",
          "error_handler_args", "retry", "summary", "description", "extra")
_JSON = {"config", "error_handler_args", "retry", "extra"}


def _value(name: str, v: Any) -> Any:
    return Jsonb(v) if name in _JSON and v is not None else v


async def _changed(conn: AsyncConnection[Any]) -> None:
    await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


async def get(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM event_triggers WHERE workspace_id = %s AND kind = %s"
                      " AND path = %s", (ws, kind, path))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no {kind} trigger at {path!r} in workspace {ws!r}")
    return row


async def exists(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM event_triggers WHERE workspace_id = %s AND"
                             " kind = %s AND path = %s", (ws, kind, path))
    return await cur.fetchone() is not None


async def list_all(conn: AsyncConnection[Any], ws: str, kind: str | None = None,
                   path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT * FROM event_triggers WHERE workspace_id = %s"
                      " AND (%s::text IS NULL OR kind = %s) AND starts_with(path, %s)"
                      " ORDER BY kind, path", (ws, kind, kind, path_start))
    return await cur.fetchall()


async def create(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
                 values: dict[str, Any], who: str, permissioned_as: str) -> None:
    cols = {k: values[k] for k in FIELDS if k in values}
    names = ["workspace_id", "kind", "path", "edited_by", "permissioned_as", *cols]
    params = [ws, kind, path, who, permissioned_as, *(_value(k, v) for k, v in cols.items())]
    await conn.execute(f"INSERT INTO event_triggers ({', '.join(names)}) VALUES"
                       f" ({', '.join(['%s'] * len(names))})", params)
    await _changed(conn)


async def update(conn: AsyncConnection[Any], ws: str, kind: str, path: str, new_path: str,
                 values: dict[str, Any], who: str, permissioned_as: str) -> None:
    """Replace the definition; the listener restarts (its `edited_at` moved) and the old
    error is forgotten."""
    cols = {k: values[k] for k in FIELDS if k in values}
    sets = ", ".join(f"{k} = %s" for k in cols)
    cur = await conn.execute(
        f"UPDATE event_triggers SET path = %s, {sets}, edited_by = %s, permissioned_as = %s,"
        " edited_at = now(), last_error = NULL, last_error_at = NULL, status = NULL"
        " WHERE workspace_id = %s AND kind = %s AND path = %s",
        [new_path, *(_value(k, v) for k, v in cols.items()), who, permissioned_as, ws, kind,
         path])
    if cur.rowcount == 0:
        raise NotFound(f"no {kind} trigger at {path!r} in workspace {ws!r}")
    await _changed(conn)


async def set_mode(conn: AsyncConnection[Any], ws: str, kind: str, path: str,
                   mode: str) -> None:
    cur = await conn.execute(
        "UPDATE event_triggers SET mode = %s, edited_at = now(),"
        " last_error = CASE WHEN %s = 'enabled' THEN NULL ELSE last_error END,"
        " last_error_at = CASE WHEN %s = 'enabled' THEN NULL ELSE last_error_at END"
        " WHERE workspace_id = %s AND kind = %s AND path = %s",
        (mode, mode, mode, ws, kind, path))
    if cur.rowcount == 0:
        raise NotFound(f"no {kind} trigger at {path!r} in workspace {ws!r}")
    await _changed(conn)


async def delete(conn: AsyncConnection[Any], ws: str, kind: str, path: str) -> None:
    cur = await conn.execute("DELETE FROM event_triggers WHERE workspace_id = %s AND kind = %s"
                             " AND path = %s", (ws, kind, path))
    if cur.rowcount == 0:
        raise NotFound(f"no {kind} trigger at {path!r} in workspace {ws!r}")
    await _changed(conn)
