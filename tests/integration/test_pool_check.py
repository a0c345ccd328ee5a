"""The API pool's checkout check (desktop_app/db/pool_check.py) against a real PostgreSQL:
a connection whose server process went away is never handed out, and a healthy one just
returned is handed out without a ping."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from desktop_app.db import pool_check


async def _pool(url: str) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True},
        check=pool_check.check_when_needed)
    await pool.open(wait=True)
    return pool


async def test_a_connection_whose_server_process_ended_is_replaced(database_url: str) -> None:
    pool = await _pool(database_url)
    try:
        async with pool.connection() as conn:
            first = (await (await conn.execute("SELECT pg_backend_pid()")).fetchone())[0]
        # What a restarted embedded server does to every pooled connection: its backend ends.
        async with await AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            for _ in range(50):  # wait until the backend is really gone
                cur = await admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,))
                if (await cur.fetchone())[0] == 0:
                    break
        async with pool.connection() as conn:  # at once: no idle-time ping would catch it
            row = await (await conn.execute("SELECT pg_backend_pid(), 1")).fetchone()
        assert row[1] == 1 and row[0] != first
    finally:
        await pool.close()


async def test_a_healthy_connection_just_used_is_handed_out_without_a_ping(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pings: list[object] = []
    real = AsyncConnectionPool.check_connection

    async def counted(conn: AsyncConnection[Any]) -> None:
        pings.append(conn)
        await real(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", staticmethod(counted))
    pool = await _pool(database_url)
    try:
        for _ in range(20):
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
        assert len(pings) == 1  # the first checkout of the connection only
        # One not handed out for a while is pinged again.
        monkeypatch.setattr(pool_check, "IDLE_PING_S", 0.0)
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        assert len(pings) == 2
    finally:
        await pool.close()
