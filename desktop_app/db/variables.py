"""Variables and resources as rows. Secret values are not here: see desktop_app.secrets."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound, UsageError

_VAR_COLS = "workspace_id, path, value, is_secret, secret_ref, description, created_by," \
            " created_at, updated_at, extra"
_RES_COLS = "workspace_id, path, value, resource_type, description, created_by, created_at," \
            " updated_at, extra"


async def get_variable(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_VAR_COLS} FROM variables WHERE workspace_id = %s AND path = %s",
                      (ws, path))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"variable not found at path {path!r} in workspace {ws!r}",
                       hint="create it first (POST /api/w/{ws}/variables/create)")
    return row


async def list_variables(conn: AsyncConnection[Any], ws: str, path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_VAR_COLS} FROM variables WHERE workspace_id = %s AND path LIKE %s"
                      " ORDER BY path", (ws, path_start + "%"))
    return await cur.fetchall()


async def insert_variable(conn: AsyncConnection[Any], ws: str, path: str, value: str | None,
                          is_secret: bool, secret_ref: str | None, description: str,
                          created_by: str) -> None:
    cur = await conn.execute(
        "INSERT INTO variables (workspace_id, path, value, is_secret, secret_ref, description,"
        " created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (ws, path, value, is_secret, secret_ref, description, created_by))
    if cur.rowcount == 0:
        raise UsageError(f"a variable already exists at path {path!r}",
                         hint="update it with POST variables/update/{path}")


async def update_variable(conn: AsyncConnection[Any], ws: str, at: str, /, **fields: Any) -> None:
    """Set `fields` (columns; `path` renames) on the variable at `at`."""
    sets = ", ".join(f"{k} = %s" for k in fields)
    cur = await conn.execute(
        f"UPDATE variables SET {sets}, updated_at = now() WHERE workspace_id = %s AND path = %s",
        (*fields.values(), ws, at))
    if cur.rowcount == 0:
        raise NotFound(f"variable not found at path {at!r} in workspace {ws!r}")


async def delete_variable(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any]:
    row = await get_variable(conn, ws, path)
    await conn.execute("DELETE FROM variables WHERE workspace_id = %s AND path = %s", (ws, path))
    return row


async def get_resource(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_RES_COLS} FROM resources WHERE workspace_id = %s AND path = %s",
                      (ws, path))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"resource not found at path {path!r} in workspace {ws!r}",
                       hint="create it first (POST /api/w/{ws}/resources/create)")
    return row


async def list_resources(conn: AsyncConnection[Any], ws: str, types: list[str] | None,
                         path_start: str = "") -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_RES_COLS} FROM resources WHERE workspace_id = %s AND path LIKE %s"
        " AND (%s::text[] IS NULL OR resource_type = ANY(%s)) ORDER BY path",
        (ws, path_start + "%", types, types))
    return await cur.fetchall()


async def upsert_resource(conn: AsyncConnection[Any], ws: str, path: str, value: Any,
                          resource_type: str, description: str, created_by: str,
                          *, update_if_exists: bool) -> None:
    conflict = ("ON CONFLICT (workspace_id, path) DO UPDATE SET value = excluded.value,"
                " resource_type = excluded.resource_type, description = excluded.description,"
                " updated_at = now()") if update_if_exists else "ON CONFLICT DO NOTHING"
    cur = await conn.execute(
        "INSERT INTO resources (workspace_id, path, value, resource_type, description, created_by)"
        f" VALUES (%s, %s, %s, %s, %s, %s) {conflict}",
        (ws, path, Jsonb(value), resource_type, description, created_by))
    if cur.rowcount == 0:
        raise UsageError(f"a resource already exists at path {path!r}",
                         hint="update it with POST resources/update_value/{path}")


async def update_resource(conn: AsyncConnection[Any], ws: str, at: str, /, **fields: Any) -> None:
    """Set `fields` (columns; `path` renames) on the resource at `at`."""
    values = [Jsonb(v) if k == "value" else v for k, v in fields.items()]
    sets = ", ".join(f"{k} = %s" for k in fields)
    cur = await conn.execute(
        f"UPDATE resources SET {sets}, updated_at = now() WHERE workspace_id = %s AND path = %s",
        (*values, ws, at))
    if cur.rowcount == 0:
        raise NotFound(f"resource not found at path {at!r} in workspace {ws!r}")


async def delete_resource(conn: AsyncConnection[Any], ws: str, path: str) -> dict[str, Any]:
    row = await get_resource(conn, ws, path)
    await conn.execute("DELETE FROM resources WHERE workspace_id = %s AND path = %s", (ws, path))
    return row


async def get_resource_type(conn: AsyncConnection[Any], ws: str, name: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT workspace_id, name, schema, description, created_by FROM"
                      " resource_types WHERE workspace_id = %s AND name = %s", (ws, name))
    return await cur.fetchone()


async def list_resource_types(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT workspace_id, name, schema, description, created_by FROM"
                      " resource_types WHERE workspace_id = %s ORDER BY name", (ws,))
    return await cur.fetchall()


async def upsert_resource_type(conn: AsyncConnection[Any], ws: str, name: str, schema: Any,
                               description: str, created_by: str, *, replace: bool) -> bool:
    conflict = ("ON CONFLICT (workspace_id, name) DO UPDATE SET schema = excluded.schema,"
                " description = excluded.description") if replace else "ON CONFLICT DO NOTHING"
    cur = await conn.execute(
        "INSERT INTO resource_types (workspace_id, name, schema, description, created_by)"
        f" VALUES (%s, %s, %s, %s, %s) {conflict}",
        (ws, name, Jsonb(schema), description, created_by))
    return cur.rowcount > 0


async def record_secret_read(conn: AsyncConnection[Any], job_id: str, ws: str, ref: str) -> None:
    """Remember that a job read this secret, so its worker masks the value in its logs."""
    await conn.execute("INSERT INTO job_secret_reads (job_id, workspace_id, secret_ref)"
                       " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", (job_id, ws, ref))
