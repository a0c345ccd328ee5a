"""The API in this process (httpx's ASGITransport) on the test's own database: for route
rules that need no worker. Same app, auth and database as the daemon's; no sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from desktop_app.api.app import create_app
from desktop_app.api.state import ApiState
from desktop_app.daemon.daemon import ensure_admin_token
from desktop_app.daemon.home import HomeLayout
from desktop_app.queue.waiter import CompletionWaiter


@asynccontextmanager
async def api_client(database_url: str, home: Path) -> AsyncIterator[tuple[httpx.AsyncClient,
                                                                          ApiState]]:
    """(a client authenticated as the local admin, the app's state)."""
    layout = HomeLayout(home)
    home.mkdir(parents=True, exist_ok=True)
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        token = await ensure_admin_token(conn, layout)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=5, open=False, kwargs={"autocommit": True})
    await pool.open()
    waiter = CompletionWaiter(database_url)
    state = ApiState(pool=pool, database_url=database_url, home=home, token_key="test-key",
                     waiter=waiter)
    transport = httpx.ASGITransport(app=create_app(state))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://tidemill.test",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            yield client, state
    finally:
        await pool.close()
