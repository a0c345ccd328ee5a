"""Watching the daemon's database: the embedded PostgreSQL is restarted when it dies.

Every second the watch asks whether the embedded server's postmaster is alive and
whether a query answers. When the server died (a `kill -9`, an out-of-memory kill, a
crash) it is started again at once, then with a doubling back-off (0.5 s to 30 s) while
it keeps failing. Nothing else has to be told: the API's pool drops broken connections
on their next use, and the workers, the LISTEN connections, the scheduler, the reaper,
the timers and the trigger manager each reconnect in their own loop. The server keeps
its socket name (one per home) and so its URL. An external database
(TIDEMILL_DATABASE_URL) is only watched: its outage is reported, never acted on.

The state (`up`, `down`, `restarting`) is what `/api/health`, `tidemill daemon status`
(through `daemon.json` and the API) and the tray show.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg import AsyncConnection

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0


@dataclass
class DatabaseHealth:
    """What the daemon knows of its database, as `/api/health` reports it."""

    kind: str  # embedded | external
    state: str = "up"  # up | down | restarting
    since: float = 0.0  # epoch seconds of the last change of state
    outages: int = 0
    restarts: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "down_for_s": (round(time.time() - self.since, 1)
                                              if self.state != "up" else 0.0)}


class DatabaseWatch:
    def __init__(self, database_url: str, embedded: Any, *, check_s: float = 1.0,
                 on_change: Callable[[DatabaseHealth], None] | None = None) -> None:
        self.database_url = database_url
        self.embedded = embedded  # EmbeddedPostgres, or None for an external database
        self.check_s = check_s
        self.on_change = on_change
        self.health = DatabaseHealth("embedded" if embedded is not None else "external",
                                     since=time.time())
        self._conn: AsyncConnection[Any] | None = None

    async def run(self) -> None:
        backoff = 0.5
        try:
            while True:
                problem = await self._problem()
                if problem is None:
                    if self.health.state != "up":
                        log.warning("the database is back after %.1f s",
                                    time.time() - self.health.since)
                        self._set("up", None)
                    backoff = 0.5
                    await asyncio.sleep(self.check_s)
                    continue
                if self.health.state == "up":
                    self.health.outages += 1
                    log.error("the database is down: %s", problem)
                    self._set("down", problem)
                if self.embedded is None or self.embedded.is_running():
                    # External, or a server that runs but does not answer (starting up,
                    # overloaded): report, and look again.
                    self._set(self.health.state, problem)
                    await asyncio.sleep(min(backoff, self.check_s))
                    backoff = min(backoff * 2, _MAX_BACKOFF_S)
                    continue
                await self._restart(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
        finally:
            await self._close()

    async def _problem(self) -> str | None:
        """None when the database answers; otherwise what is wrong."""
        if self.embedded is not None and not self.embedded.is_running():
            await self._close()
            return "the embedded PostgreSQL server is not running"
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await AsyncConnection.connect(self.database_url, autocommit=True,
                                                           connect_timeout=5)
            await asyncio.wait_for(self._conn.execute("SELECT 1"), 10)
            return None
        except (psycopg.Error, TimeoutError, OSError) as exc:
            await self._close()
            return (str(exc).strip().splitlines() or [type(exc).__name__])[0]

    async def _restart(self, backoff: float) -> None:
        self._set("restarting", self.health.last_error)
        log.warning("restarting the embedded PostgreSQL (restart %d)", self.health.restarts + 1)
        try:
            url = await asyncio.to_thread(self.embedded.start)
        except Exception as exc:  # any failure: report it, try again later
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            log.error("the embedded PostgreSQL did not start: %s; next try in %.1f s",
                      message, backoff)
            self._set("down", message)
            await asyncio.sleep(backoff)
            return
        self.health.restarts += 1
        if url != self.database_url:  # its socket name was taken meanwhile
            log.error("the embedded PostgreSQL came back at %s, not %s: restart the daemon",
                      url, self.database_url)
            self._set("down", "the embedded PostgreSQL came back under another address;"
                              " restart the daemon")

    def _set(self, state: str, error: str | None) -> None:
        changed = state != self.health.state or error != self.health.last_error
        if state != self.health.state:
            self.health.since = time.time()
        self.health.state, self.health.last_error = state, error
        if changed and self.on_change is not None:
            self.on_change(self.health)

    async def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None
