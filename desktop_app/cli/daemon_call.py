"""One call to the daemon from a command: a client for the home's daemon, the coroutine
run to its end, a client error printed as the CLI prints them (and exit)."""

from __future__ import annotations

import asyncio
from typing import Any

from desktop_app.cli.output import fail_client
from desktop_app.client.http import ClientError, TidemillClient, connection_from_env


def call_daemon(fn: Any) -> Any:
    """`fn(client)` is awaited; its result returned."""
    from desktop_app.daemon.home import default_home

    async def runner() -> Any:
        async with TidemillClient(connection_from_env(default_home())) as c:
            return await fn(c)
    try:
        return asyncio.run(runner())
    except ClientError as exc:
        fail_client(exc)
