"""Instance settings shared by every daemon and worker on one database."""

from __future__ import annotations

import secrets
from typing import Any

from psycopg import AsyncConnection

JOB_TOKEN_KEY = "job_token_key"
BASE_URL = "base_url"
INSTANCE_ID = "instance_id"  # names this installation's entries in a shared OS keyring


async def get_setting(conn: AsyncConnection[Any], name: str) -> str | None:
    cur = await conn.execute("SELECT value FROM settings WHERE name = %s", (name,))
    row = await cur.fetchone()
    return row[0] if row else None


async def set_setting(conn: AsyncConnection[Any], name: str, value: str) -> None:
    await conn.execute(
        "INSERT INTO settings (name, value) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (name, value),
    )


async def ensure_secret_setting(conn: AsyncConnection[Any], name: str) -> str:
    """A random key created once per database (first writer wins, all agree after)."""
    await conn.execute(
        "INSERT INTO settings (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
        (name, secrets.token_hex(32)),
    )
    value = await get_setting(conn, name)
    assert value is not None
    return value
