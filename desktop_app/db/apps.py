"""App versions: every create/update stores a new version; readers get the newest.
Deleting an app removes all its versions (as Windmill does)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Json

from desktop_app.core.errors import NotFound

_COLS = "workspace_id, path, version, summary, value, policy, extra, created_by, created_at," \
        " deployment_message"


async def insert_version(conn: AsyncConnection[Any], ws: str, path: str, summary: str,
                         value: dict[str, Any], policy: Any, extra: dict[str, Any],
                         created_by: str, message: str | None = None) -> int:
    cur = await conn.execute(
        "INSERT INTO apps (workspace_id, path, summary, value, policy, extra, created_by,"
        " deployment_message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING version",
        (ws, path, summary, Json(value), None if policy is None else Json(policy), Json(extra),
         created_by, message))
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


def not_found(ws: str, path: str) -> NotFound:
    return NotFound(f"app not found at path {path!r} in workspace {ws!r}",
                    hint="create it with the app builder or `POST apps/create`")


async def latest(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLS} FROM apps WHERE workspace_id = %s AND path = %s"
                      " ORDER BY version DESC LIMIT 1", (ws, path))
    row = await cur.fetchone()
    if row is None:
        raise not_found(ws, path)
    return row


async def exists(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM apps WHERE workspace_id = %s AND path = %s LIMIT 1",
                             (ws, path))
    return await cur.fetchone() is not None


async def list_latest(conn: AsyncConnection[Any], ws: str,
                      path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT DISTINCT ON (path) {_COLS} FROM apps WHERE workspace_id = %s"
                      " AND starts_with(path, %s) ORDER BY path, version DESC", (ws, path_start))
    return list(await cur.fetchall())


async def versions(conn: AsyncConnection[Any], ws: str, path: str) -> list[int]:
    cur = await conn.execute("SELECT version FROM apps WHERE workspace_id = %s AND path = %s"
                             " ORDER BY version", (ws, path))
    return [int(r[0]) for r in await cur.fetchall()]


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> None:
    cur = await conn.execute("DELETE FROM apps WHERE workspace_id = %s AND path = %s", (ws, path))
    if cur.rowcount == 0:
        raise not_found(ws, path)
