"""Users (name, email, role) and folders (owners, grants): the rows behind permissions."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound, UsageError
from desktop_app.core.permissions import Folder

_USER = "username, email, role, created_at, created_by"


async def get_user(conn: AsyncConnection[Any], username: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_USER} FROM users WHERE username = %s", (username,))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no user named {username!r}", hint="see `tidemill user list`")
    return row


async def role_of(conn: AsyncConnection[Any], username: str) -> str | None:
    cur = await conn.execute("SELECT role FROM users WHERE username = %s", (username,))
    row = await cur.fetchone()
    return row[0] if row else None


async def list_users(conn: AsyncConnection[Any]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_USER} FROM users ORDER BY username")
    return await cur.fetchall()


async def add_user(conn: AsyncConnection[Any], username: str, email: str, role: str,
                   by: str) -> None:
    cur = await conn.execute(
        "INSERT INTO users (username, email, role, created_by) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING", (username, email, role, by))
    if cur.rowcount == 0:
        raise UsageError(f"a user named {username!r} already exists",
                         hint="change their role with users/update instead")


async def _admins(conn: AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT count(*) FROM users WHERE role = 'admin'")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def set_role(conn: AsyncConnection[Any], username: str, role: str) -> str:
    """The user's previous role. The last admin cannot be demoted: nobody could undo it."""
    old = (await get_user(conn, username))["role"]
    if old == "admin" and role != "admin" and await _admins(conn) <= 1:
        raise UsageError(f"{username} is the last admin and must stay one",
                         hint="make another user admin first")
    await conn.execute("UPDATE users SET role = %s WHERE username = %s", (role, username))
    return str(old)


async def delete_user(conn: AsyncConnection[Any], username: str) -> None:
    """The user and their tokens (their items stay: an admin may still need them)."""
    row = await get_user(conn, username)
    if row["role"] == "admin" and await _admins(conn) <= 1:
        raise UsageError(f"{username} is the last admin and cannot be deleted",
                         hint="make another user admin first")
    await conn.execute("DELETE FROM tokens WHERE owner = %s", (username,))
    await conn.execute("DELETE FROM users WHERE username = %s", (username,))


# -- folders ------------------------------------------------------------------------------

_FOLDER = "workspace_id, name, display_name, summary, owners, extra_perms, created_by, edited_at"


def as_folder(row: dict[str, Any]) -> Folder:
    return Folder(row["name"], tuple(row["owners"] or ()), dict(row["extra_perms"] or {}))


async def get_folder(conn: AsyncConnection[Any], ws: str, name: str) -> dict[str, Any]:
    row = await find_folder(conn, ws, name)
    if row is None:
        raise NotFound(f"no folder named {name!r} in workspace {ws!r}",
                       hint="create it with folders/create")
    return row


async def find_folder(conn: AsyncConnection[Any], ws: str, name: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_FOLDER} FROM folders WHERE workspace_id = %s AND name = %s",
                      (ws, name))
    return await cur.fetchone()


async def list_folders(conn: AsyncConnection[Any], ws: str) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {_FOLDER} FROM folders WHERE workspace_id = %s ORDER BY name",
                      (ws,))
    return await cur.fetchall()


async def upsert_folder(conn: AsyncConnection[Any], ws: str, name: str, *, display_name: str,
                        summary: str | None, owners: list[str], extra_perms: dict[str, bool],
                        by: str, create_only: bool = False) -> None:
    sql = ("INSERT INTO folders (workspace_id, name, display_name, summary, owners,"
           " extra_perms, created_by) VALUES (%s, %s, %s, %s, %s, %s, %s)")
    if create_only:
        cur = await conn.execute(sql + " ON CONFLICT DO NOTHING",
                                 (ws, name, display_name, summary, owners, Jsonb(extra_perms),
                                  by))
        if cur.rowcount == 0:
            raise UsageError(f"folder {name!r} already exists",
                             hint=f"change it with folders/update/{name}")
        return
    await conn.execute(
        sql + " ON CONFLICT (workspace_id, name) DO UPDATE SET display_name ="
        " EXCLUDED.display_name, summary = EXCLUDED.summary, owners = EXCLUDED.owners,"
        " extra_perms = EXCLUDED.extra_perms, edited_at = now()",
        (ws, name, display_name, summary, owners, Jsonb(extra_perms), by))


async def delete_folder(conn: AsyncConnection[Any], ws: str, name: str) -> None:
    cur = await conn.execute("DELETE FROM folders WHERE workspace_id = %s AND name = %s",
                             (ws, name))
    if cur.rowcount == 0:
        raise NotFound(f"no folder named {name!r} in workspace {ws!r}")


# -- audit -------------------------------------------------------------------------------

async def audit(conn: AsyncConnection[Any], ws: str, username: str, operation: str,
                action_kind: str, resource: str | None, parameters: dict[str, Any] | None = None
                ) -> None:
    await conn.execute(
        "INSERT INTO audit_log (workspace_id, username, operation, action_kind, resource,"
        " parameters) VALUES (%s, %s, %s, %s, %s, %s)",
        (ws, username, operation, action_kind, resource,
         Jsonb(parameters) if parameters is not None else None))


async def list_audit(conn: AsyncConnection[Any], ws: str, *, username: str | None = None,
                     operation: str | None = None, resource: str | None = None,
                     action_kind: str | None = None, before: Any = None, after: Any = None,
                     entry_id: int | None = None, per_page: int = 100, page: int = 1
                     ) -> list[dict[str, Any]]:
    # Instance-wide changes (tokens) are logged under 'global' and shown in every workspace.
    clauses: list[str] = ["workspace_id IN (%s, 'global')"]
    params: list[Any] = [ws]
    for column, value in (("username", username), ("resource", resource), ("id", entry_id)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if operation is not None:
        clauses.append("operation LIKE %s")
        params.append(operation.replace("%", r"\%") + "%")
    if action_kind is not None:
        clauses.append("lower(action_kind) = lower(%s)")
        params.append(action_kind)
    if before is not None:
        clauses.append("timestamp < %s")
        params.append(before)
    if after is not None:
        clauses.append("timestamp > %s")
        params.append(after)
    per_page = max(1, min(per_page, 1000))
    offset = min((max(page, 1) - 1) * per_page, 2**62)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, workspace_id, timestamp, username, operation, action_kind, resource,"
        f" parameters FROM audit_log WHERE {' AND '.join(clauses)}"
        f" ORDER BY timestamp DESC, id DESC LIMIT {per_page} OFFSET {offset}", params)
    return await cur.fetchall()
