"""The daemon's HTTP API served in the test process, without workers, scheduler or trigger
listeners: the middle of the test pyramid.

A test of a route's rules (who may call it, which body is a 400, what a list answers) needs
the real app on a real database, not a daemon subprocess with two worker processes: this
serves `create_app` exactly as the daemon builds it (same settings, admin token, resource
types, secret store, pool and completion waiter) on a free loopback port, from a thread of
the test process. `ApiServer` has the same surface as `RunningDaemon` (`url`, `token`,
`http`, `api`, `cli`, `deploy`), so moving a test between the two changes only its fixture.

Jobs pushed here are queued but never run: a test that needs a job's outcome uses the
`daemon` fixture.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from desktop_app.api.app import create_app
from desktop_app.api.state import ApiState
from desktop_app.daemon.daemon import ensure_admin_token
from desktop_app.daemon.home import HomeLayout
from desktop_app.db.resource_types import RESOURCE_TYPES_DIR, install_resource_types
from desktop_app.db.settings import (
    BASE_URL,
    INSTANCE_ID,
    JOB_TOKEN_KEY,
    ensure_secret_setting,
    set_setting,
)
from desktop_app.gitsync.recorder import recorder_of
from desktop_app.queue.waiter import CompletionWaiter
from desktop_app.secrets.store import open_secret_store
from tests.e2e.daemon_harness import RunningDaemon


@dataclass
class ApiServer:
    """The API of one home and database, served from a thread until `stop()`."""

    home: Path
    database_url: str
    # run_wait_result would otherwise wait 15 minutes for a job no worker will ever run
    sync_timeout_s: float = 5.0
    url: str = ""
    state: ApiState | None = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _server: uvicorn.Server | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None
    _records: list[str] = field(default_factory=list)
    _handler: logging.Handler | None = None

    def start(self, timeout: float = 30.0) -> ApiServer:
        # What a daemon would write to its log file (an exception inside a route, warnings)
        self._handler = _ListHandler(self._records)
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self._handler)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True,
                                        name="tidemill-test-api")
        self._thread.start()
        if not self._ready.wait(timeout) or self._failure is not None:
            raise RuntimeError(f"the in-process API did not start: {self._failure!r}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(30)
        if self._handler is not None:
            for name in _LOGGERS:
                logging.getLogger(name).removeHandler(self._handler)

    def log(self) -> str:
        """What the daemon would have logged while this server ran."""
        return "\n".join(self._records)

    # -- the same helpers as RunningDaemon (its methods, not copies) -------------------
    token = RunningDaemon.token
    cli = RunningDaemon.cli
    http = RunningDaemon.http
    api = RunningDaemon.api
    deploy = RunningDaemon.deploy

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"TIDEMILL_HOME": str(self.home), "TIDEMILL_URL": self.url,
                    "PYTHONWARNINGS": "ignore"})
        env.pop("TIDEMILL_TOKEN", None)
        env.pop("TIDEMILL_DATABASE_URL", None)
        return env

    # -- the server's thread ----------------------------------------------------------------
    def _run(self, sock: socket.socket) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(sock))
        except BaseException as exc:  # reported to start(), which raises it
            self._failure = exc
            self._ready.set()
        finally:
            sock.close()
            # background work the app started (the Git recorder) ends with the loop
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    async def _serve(self, sock: socket.socket) -> None:
        layout = HomeLayout(self.home)
        self.home.mkdir(parents=True, exist_ok=True)
        # What Daemon.run does before it serves (migrations are in the template database).
        async with await AsyncConnection.connect(self.database_url, autocommit=True) as conn:
            token_key = await ensure_secret_setting(conn, JOB_TOKEN_KEY)
            instance = (await ensure_secret_setting(conn, INSTANCE_ID))[:12]
            await set_setting(conn, BASE_URL, self.url)
            await ensure_admin_token(conn, layout)
            await install_resource_types(conn, RESOURCE_TYPES_DIR)
        secrets = await asyncio.to_thread(open_secret_store, self.home, instance)
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.database_url, min_size=1, max_size=8, open=False, kwargs={"autocommit": True})
        await pool.open()
        waiter = CompletionWaiter(self.database_url)
        self.state = ApiState(pool=pool, database_url=self.database_url, home=self.home,
                              token_key=token_key, waiter=waiter, secrets=secrets,
                              sync_timeout_s=self.sync_timeout_s)
        # Git sync records from a snapshot taken before serving, as in the daemon
        recorder = recorder_of(self.state)
        recorder.listen()
        waiter.start()
        await recorder.start()
        self._server = uvicorn.Server(uvicorn.Config(
            create_app(self.state), log_level="warning", lifespan="off", access_log=False))
        serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.01)
        self._ready.set()
        try:
            await serving
        finally:
            await recorder.stop()
            await waiter.stop()
            await pool.close()


_LOGGERS = ("uvicorn.error", "tidemill")


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


@contextmanager
def api_server(home: Path, database_url: str) -> Iterator[ApiServer]:
    server = ApiServer(home=home, database_url=database_url).start()
    try:
        yield server
    finally:
        server.stop()
