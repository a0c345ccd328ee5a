"""Flow versions: every create/update stores a new version; runs use the newest."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound

_COLS = "workspace_id, path, version, summary, description, value, schema, archived," \
        " created_by, created_at, extra"


async def insert_version(conn: AsyncConnection[Any], ws: str, path: str, summary: str,
                         description: str, value: dict[str, Any], schema: Any,
                         created_by: str, extra: dict[str, Any]) -> int:
    cur = await conn.execute(
        "INSERT INTO flows (workspace_id, path, summary, description, value, schema, created_by,"
        " extra) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING version",
        (ws, path, summary, description, Jsonb(value), Jsonb(schema), created_by, Jsonb(extra)))
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def latest(conn: AsyncConnection[Any], ws: str, path: str, *,
                 include_archived: bool = False) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_COLS} FROM flows WHERE workspace_id = %s AND path = %s"
                      " ORDER BY version DESC LIMIT 1", (ws, path))
    row = await cur.fetchone()
    if row is None or (row["archived"] and not include_archived):
        raise NotFound(f"flow not found at path {path!r} in workspace {ws!r}",
                       hint="deploy it first (`tidemill deploy DIR --path PATH`)")
    return row


async def list_latest(conn: AsyncConnection[Any], ws: str, path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT DISTINCT ON (path) {_COLS} FROM flows WHERE workspace_id = %s"
                      " AND path LIKE %s ORDER BY path, version DESC", (ws, path_start + "%"))
    return [r for r in await cur.fetchall() if not r["archived"]]


async def archive(conn: AsyncConnection[Any], ws: str, path: str, archived: bool = True) -> None:
    cur = await conn.execute(
        "UPDATE flows SET archived = %s WHERE workspace_id = %s AND path = %s"
        " AND version = (SELECT max(version) FROM flows WHERE workspace_id = %s AND path = %s)",
        (archived, ws, path, ws, path))
    if cur.rowcount == 0:
        raise NotFound(f"flow not found at path {path!r} in workspace {ws!r}")


async def history(conn: AsyncConnection[Any], ws: str, path: str) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT version, created_at, created_by FROM flows WHERE workspace_id = %s"
                      " AND path = %s ORDER BY version DESC", (ws, path))
    rows = await cur.fetchall()
    if not rows:
        raise NotFound(f"flow not found at path {path!r} in workspace {ws!r}")
    return rows


async def delete(conn: AsyncConnection[Any], ws: str, path: str) -> bool:
    """False when there was no such flow (wmill deletes a flow folder once per file)."""
    cur = await conn.execute("DELETE FROM flows WHERE workspace_id = %s AND path = %s",
                             (ws, path))
    return cur.rowcount > 0
