"""The change log: every successful change writes one row — who, kind, path, action,
version — in the change's own transaction, so the change and its row commit together or
not at all. It is the audit log (`audit_log`, read by `GET audit/list`) and what the Git
recorder (gitsync/recorder.py) turns into commits, in the order the changes committed.

Item changes carry the item as its files show it after the change (`item`, NULL when it
is gone), so each commit writes exactly what that change made, whatever came after.

Change rows are written under a transaction-level advisory lock: two changes never
commit out of id order, so the recorder, reading `id > last recorded`, misses none.
"""

from __future__ import annotations

import contextvars
import json
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Json, Jsonb

CHANNEL = "tidemill_changes"
_LOCK_KEY = 0x7469_6465_6368  # "tidech": serializes the commits of change rows
#: Actions of item changes the operation itself recorded in Git (a pull's merge, an
#: import's one commit): the recorder leaves them alone.
RECORDED_BY_SYNC = ("pull", "import")
_ACTION_KIND = {"create": "Created", "deploy": "Created", "import": "Created",
                "delete": "Delete", "archive": "Delete"}

def _dumps(value: Any) -> str:
    """JSON for the row; dates as ISO 8601 (rows read from the store hold datetimes)."""
    def default(o: Any) -> Any:
        if isinstance(o, (datetime, date)):
            return o.isoformat()
        raise TypeError(f"{type(o).__name__} is not JSON")

    return json.dumps(value, default=default)


#: How many change rows the current request wrote (the API's fallback audit looks at it).
written: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "tidemill_changes_written", default=None)


async def record(conn: AsyncConnection[Any], ws: str, who: str, operation: str,
                 resource: str | None, *, kind: str | None = None, action: str | None = None,
                 item: dict[str, Any] | None = None, version: str | None = None,
                 old_path: str | None = None, action_kind: str | None = None,
                 parameters: dict[str, Any] | None = None) -> int:
    """Write one change row on `conn` (inside the change's transaction); returns its id.
    `kind`/`action` mark an item change (kept in Git); `operation` is the audit name
    (`variables.update`)."""
    if kind is not None:
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    verb = operation.rsplit(".", 1)[-1]
    cur = await conn.execute(
        "INSERT INTO audit_log (workspace_id, username, operation, action_kind, resource,"
        " parameters, item_kind, item_action, item, item_version, old_path)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (ws, who, operation,
         action_kind or _ACTION_KIND.get(action or verb, "Updated"), resource,
         Jsonb(parameters, dumps=_dumps) if parameters is not None else None, kind, action,
         # json, not jsonb: the item is written back to files, and jsonb would reorder
         # every object's keys (by length), so an app.yaml would no longer match its source
         Json(item, dumps=_dumps) if item is not None else None, version, old_path))
    row = await cur.fetchone()
    assert row is not None
    if kind is not None:
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, ws))
    ids = written.get()
    if ids is not None:
        ids.append(int(row[0]))
    return int(row[0])


async def record_item(conn: AsyncConnection[Any], ws: str, who: str, operation: str,
                      kind: str, path: str, action: str, *, old_path: str | None = None,
                      version: str | None = None, action_kind: str | None = None,
                      parameters: dict[str, Any] | None = None) -> int:
    """An item change: the item is read back (as its files show it) on the same
    connection, after the change, so the row holds what the change made."""
    from desktop_app.definitions.sync import read_item

    item = await read_item(conn, ws, kind, path)
    return await record(conn, ws, who, operation, path, kind=kind, action=action, item=item,
                        version=version, old_path=old_path, action_kind=action_kind,
                        parameters=parameters)


async def changes_after(conn: AsyncConnection[Any], ws: str, after: int,
                        limit: int = 100) -> list[dict[str, Any]]:
    """Item changes with id > `after`, oldest first."""
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, username, item_kind, resource, item_action, item, old_path FROM audit_log"
        " WHERE id > %s AND workspace_id = %s AND item_kind IS NOT NULL ORDER BY id LIMIT %s",
        (after, ws, limit))
    return list(await cur.fetchall())


async def last_id(conn: AsyncConnection[Any]) -> int:
    """The id of the newest item change (runs, also in audit_log, are not changes)."""
    cur = await conn.execute("SELECT coalesce(max(id), 0) FROM audit_log"
                             " WHERE item_kind IS NOT NULL")
    row = await cur.fetchone()
    return int(row[0]) if row else 0
