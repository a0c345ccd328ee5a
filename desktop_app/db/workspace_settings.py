"""A workspace's job settings: the log cap and how long finished jobs are kept.

A missing value (NULL) means the built-in default, so a setting can be "unset" again.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

#: name → what it is, for messages; every value is a positive whole number or null.
FIELDS: dict[str, str] = {
    "log_max_bytes": "the most log kept per job, in bytes",
    "keep_success_secs": "how long successful jobs and their logs are kept, in seconds",
    "keep_failure_secs": "how long failed or canceled jobs and their logs are kept, in seconds",
}


async def get(conn: AsyncConnection[Any], workspace: str) -> dict[str, int | None]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {', '.join(FIELDS)} FROM workspace_settings"
                      " WHERE workspace_id = %s", (workspace,))
    row = await cur.fetchone()
    return {name: (row or {}).get(name) for name in FIELDS}


async def update(conn: AsyncConnection[Any], workspace: str, values: dict[str, int | None]) -> None:
    """Set the given fields (others keep their value)."""
    names = [n for n in FIELDS if n in values]
    if not names:
        return
    cols = ", ".join(names)
    marks = ", ".join(["%s"] * len(names))
    sets = ", ".join(f"{n} = excluded.{n}" for n in names)
    await conn.execute(
        f"INSERT INTO workspace_settings (workspace_id, {cols}) VALUES (%s, {marks})"
        f" ON CONFLICT (workspace_id) DO UPDATE SET {sets}",
        (workspace, *[values[n] for n in names]))
