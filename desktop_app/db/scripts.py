"""Script versions. Every deploy stores a new version keyed by its content hash;
the newest non-archived version of a path is the one that runs by path."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from desktop_app.core.errors import NotFound

#: Notified (payload: JSON [workspace, path]) in the transaction that deploys or archives
#: a version, so every API process drops what it cached for that path.
SCRIPTS_CHANNEL = "tidemill_scripts"


@dataclass
class ScriptVersion:
    path: str
    hash: str
    language: str
    content: str
    created_by: str
    schema: dict[str, Any] | None = None
    summary: str = ""
    description: str = ""
    lock: str | None = None
    lock_error: str | None = None
    kind: str = "script"
    tag: str | None = None
    timeout_s: int | None = None
    has_preprocessor: bool = False
    no_main_func: bool = False
    parent_hash: str | None = None
    archived: bool = False
    workspace_id: str = "main"
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_COLUMNS = (
    "workspace_id, hash, path, language, content, schema, summary, description, lock,"
    " lock_error, kind, tag, timeout_s, has_preprocessor, no_main_func, parent_hash, archived,"
    " created_by, created_at, extra"
)


async def insert_version(conn: AsyncConnection[Any], s: ScriptVersion) -> bool:
    """Store a version. Returns False if this exact version already existed."""
    cur = await conn.execute(
        "INSERT INTO scripts (workspace_id, hash, path, language, content, schema, summary,"
        " description, lock, lock_error, kind, tag, timeout_s, has_preprocessor, no_main_func,"
        " parent_hash, created_by, extra)"
        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (workspace_id, hash) DO UPDATE SET archived = false,"
        "   created_at = clock_timestamp()"
        " RETURNING (xmax = 0)",
        (s.workspace_id, s.hash, s.path, s.language, s.content,
         Jsonb(s.schema) if s.schema is not None else None, s.summary, s.description, s.lock,
         s.lock_error, s.kind, s.tag, s.timeout_s, s.has_preprocessor, s.no_main_func,
         s.parent_hash, s.created_by, Jsonb(s.extra)),
    )
    row = await cur.fetchone()
    await _notify_changed(conn, s.workspace_id, s.path)
    return bool(row and row[0])


async def _notify_changed(conn: AsyncConnection[Any], workspace: str, path: str) -> None:
    await conn.execute("SELECT pg_notify(%s, %s)",
                       (SCRIPTS_CHANNEL, json.dumps([workspace, path])))


async def latest(conn: AsyncConnection[Any], workspace: str, path: str) -> ScriptVersion:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM scripts WHERE workspace_id = %s AND path = %s AND NOT archived"
        " ORDER BY created_at DESC LIMIT 1",
        (workspace, path),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"script not found at path {path!r} in workspace {workspace!r}",
                       hint="deploy it first (`tidemill deploy FILE --path PATH`)")
    return ScriptVersion(**row)


async def by_hash(conn: AsyncConnection[Any], workspace: str, hash_: str) -> ScriptVersion:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM scripts WHERE workspace_id = %s AND hash = %s",
        (workspace, hash_),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"script version {hash_!r} not found in workspace {workspace!r}")
    return ScriptVersion(**row)


async def list_latest(conn: AsyncConnection[Any], workspace: str, *, include_archived: bool = False,
                      path_start: str | None = None) -> list[ScriptVersion]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT DISTINCT ON (path) {_COLUMNS} FROM scripts"
        " WHERE workspace_id = %s AND (%s OR NOT archived) AND path LIKE %s"
        " ORDER BY path, created_at DESC",
        (workspace, include_archived, (path_start or "") + "%"),
    )
    return [ScriptVersion(**r) for r in await cur.fetchall()]


async def history(conn: AsyncConnection[Any], workspace: str, path: str) -> list[ScriptVersion]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_COLUMNS} FROM scripts WHERE workspace_id = %s AND path = %s"
        " ORDER BY created_at DESC", (workspace, path),
    )
    return [ScriptVersion(**r) for r in await cur.fetchall()]


async def archive(conn: AsyncConnection[Any], workspace: str, path: str) -> None:
    cur = await conn.execute(
        "UPDATE scripts SET archived = true WHERE workspace_id = %s AND path = %s AND NOT archived",
        (workspace, path),
    )
    if cur.rowcount == 0:
        raise NotFound(f"script not found at path {path!r} in workspace {workspace!r}")
    await _notify_changed(conn, workspace, path)


async def set_lock(conn: AsyncConnection[Any], workspace: str, hash_: str, lock: str | None,
                   lock_error: str | None) -> None:
    await conn.execute(
        "UPDATE scripts SET lock = %s, lock_error = %s WHERE workspace_id = %s AND hash = %s",
        (lock, lock_error, workspace, hash_),
    )
