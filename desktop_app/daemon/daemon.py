"""The daemon: database, migrations, API server, reaper and the worker pool, wired
together with one life cycle. SIGTERM or Ctrl-C drains the workers and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from desktop_app.api.app import create_app
from desktop_app.api.state import ApiState
from desktop_app.core import hosts
from desktop_app.core.errors import DaemonError, DatabaseError
from desktop_app.core.event_triggers import smtp_port_from_env
from desktop_app.core.tokens import hash_token, new_user_token
from desktop_app.daemon import quiet_log
from desktop_app.daemon.db_watch import DatabaseWatch
from desktop_app.daemon.home import HomeLayout
from desktop_app.daemon.instance_lock import InstanceLock
from desktop_app.daemon.internal_jobs import run_internal_jobs
from desktop_app.daemon.supervisor import WorkerSupervisor
from desktop_app.db.migrate import migrate
from desktop_app.db.pool_check import check_when_needed
from desktop_app.db.resource_types import RESOURCE_TYPES_DIR, install_resource_types
from desktop_app.db.settings import (
    BASE_URL,
    INSTANCE_ID,
    JOB_TOKEN_KEY,
    ensure_secret_setting,
    set_setting,
)
from desktop_app.flows import secrets_access
from desktop_app.gitsync.recorder import recorder_of
from desktop_app.queue import run_folders
from desktop_app.queue.reaper import reap
from desktop_app.queue.retention import run_pruner
from desktop_app.queue.waiter import CompletionWaiter
from desktop_app.runtimes import sandbox
from desktop_app.scheduler.scheduler import run_scheduler
from desktop_app.secrets.store import open_secret_store
from desktop_app.triggers.manager import TriggerManager
from desktop_app.worker import completion_handlers

log = logging.getLogger("tidemill.daemon")


@dataclass
class DaemonConfig:
    home: Path
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 2
    database_url: str | None = None
    heartbeat_s: float = 2.0
    drain_s: float = 30.0
    # The SMTP listener of email triggers (opened while one is enabled); 0 = any free port,
    # None = none at all. TIDEMILL_SMTP_PORT / TIDEMILL_SMTP_HOST override the defaults.
    smtp_port: int | None = field(default_factory=lambda: smtp_port_from_env())
    smtp_host: str = field(default_factory=lambda: os.environ.get("TIDEMILL_SMTP_HOST",
                                                                  "127.0.0.1"))
    # The address users reach the API at (links use it; its name is allowed as Host), and
    # other names the API answers to. Env: TIDEMILL_PUBLIC_URL, TIDEMILL_ALLOWED_HOSTS.
    public_url: str | None = None
    allowed_hosts: list[str] = field(default_factory=list)

    @property
    def stale_after_s(self) -> float:
        # A job whose worker missed five heartbeats in a row is considered lost.
        return max(self.heartbeat_s * 5, 2.0)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM/SIGINT."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every keep-alive response waits ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DaemonError(f"cannot listen on {host}:{port}: {exc.strerror}",
                          hint="another program uses this port; pick one with --port") from exc
    sock.listen(512)
    sock.setblocking(False)
    return sock


async def ensure_admin_token(conn: AsyncConnection[Any], layout: HomeLayout) -> str:
    """The local admin credential: a file only the owner can read, its hash in the DB."""
    token = None
    if layout.admin_token.exists():
        token = layout.admin_token.read_text().strip() or None
    if token is None:
        token = new_user_token()
        fd = os.open(layout.admin_token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
    os.chmod(layout.admin_token, 0o600)
    await conn.execute(
        "INSERT INTO tokens (token_hash, label, owner, scope) VALUES (%s, 'local admin', 'admin',"
        " 'admin') ON CONFLICT (token_hash) DO NOTHING", (hash_token(token),))
    # The local credential's user; an admin may have removed it: it comes back, as admin.
    await conn.execute(
        "INSERT INTO users (username, email, role, created_by) VALUES ('admin',"
        " 'admin@tidemill.local', 'admin', 'daemon') ON CONFLICT DO NOTHING")
    return token


class Daemon:
    def __init__(self, config: DaemonConfig) -> None:
        self.config = config
        self.layout = HomeLayout(config.home)
        self.embedded: Any = None
        self.stop_event = asyncio.Event()

    async def run(self) -> None:
        _cfg, layout = self.config, self.layout
        layout.ensure()
        lock = InstanceLock(layout.lock_file, layout.daemon_info)
        lock.acquire()
        # Our workers died with the previous daemon: their job folders go. A worker started
        # by hand on this home (`tidemill worker`) may still run a job: its folders stay.
        run_folders.sweep(layout.jobs)
        try:
            await self._run_locked()
        finally:
            with contextlib.suppress(FileNotFoundError):
                layout.daemon_info.unlink()
            lock.release()

    async def _run_locked(self) -> None:
        cfg, layout = self.config, self.layout
        # Blocking calls share the loop's default thread pool: keyring reads, Git, and the
        # trigger listeners' name lookups and MQTT connects (which may hang on an offline
        # laptop). asyncio's default (cpu + 4 threads) would let a few unreachable peers
        # starve the rest, so the pool is larger.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=64, thread_name_prefix="tidemill"))
        if cfg.public_url:
            hosts.public_url_host(cfg.public_url)  # a bad URL stops the start, with a hint
        sock = _bind(cfg.host, cfg.port)
        port = sock.getsockname()[1]
        base_url = f"http://{'127.0.0.1' if cfg.host in ('0.0.0.0', '::') else cfg.host}:{port}"
        completion_handlers.install()  # before anything here completes a job
        database_url = await self._start_database()
        watch = DatabaseWatch(database_url, self.embedded,
                              on_change=lambda _h: self._write_info(base_url, supervisor, watch))
        supervisor: WorkerSupervisor | None = None
        try:
            await asyncio.to_thread(migrate, database_url)
            async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                token_key = await ensure_secret_setting(conn, JOB_TOKEN_KEY)
                instance = (await ensure_secret_setting(conn, INSTANCE_ID))[:12]
                await set_setting(conn, BASE_URL, base_url)
                await ensure_admin_token(conn, layout)
                await install_resource_types(conn, RESOURCE_TYPES_DIR)
            # No keyring, no daemon: secrets must never fall back to plaintext silently.
            secrets = await asyncio.to_thread(open_secret_store, cfg.home, instance)
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                database_url, min_size=2, max_size=20, open=False,
                kwargs={"autocommit": True}, check=check_when_needed,
            )
            await pool.open()
            waiter = CompletionWaiter(database_url)
            state = ApiState(pool=pool, database_url=database_url, home=cfg.home,
                             token_key=token_key, waiter=waiter, secrets=secrets,
                             database_health=watch.health,
                             public_url=cfg.public_url or base_url,
                             allowed_hosts=hosts.allowed_names(cfg.public_url, cfg.allowed_hosts,
                                                               cfg.host))
            recorder = recorder_of(state)
            recorder.listen()
            waiter.start()  # after ApiState and the recorder have watched their channels
            # Its snapshot is taken before the API serves: every change after it is
            # its own commit (issue 15: none folded into a catch-up commit).
            await recorder.start()
            server = _QuietServer(uvicorn.Config(create_app(state), log_level="warning",
                                                 lifespan="off", access_log=False))
            supervisor = WorkerSupervisor(
                cfg.workers, database_url=database_url, home=cfg.home, base_url=base_url,
                name_prefix=f"{socket.gethostname()}-{os.getpid()}", heartbeat_s=cfg.heartbeat_s,
                log_dir=layout.logs)
            supervisor.start()
            secrets_access.configure(cfg.home, instance)
            tasks = [asyncio.create_task(server.serve(sockets=[sock])),
                     asyncio.create_task(watch.run()),
                     asyncio.create_task(supervisor.watch()),
                     asyncio.create_task(self._reaper(database_url)),
                     asyncio.create_task(run_internal_jobs(database_url)),
                     asyncio.create_task(run_scheduler(database_url)),
                     asyncio.create_task(run_pruner(database_url)),
                     asyncio.create_task(TriggerManager(
                         state, f"{socket.gethostname()}-{os.getpid()}",
                         smtp_host=cfg.smtp_host, smtp_port=cfg.smtp_port).run())]
            self._write_info(base_url, supervisor, watch)
            log.info("Tidemill daemon ready at %s (home %s, %d workers)", base_url, cfg.home,
                     cfg.workers)
            print(f"Tidemill daemon listening on {base_url}", flush=True)
            confinement = sandbox.status()  # said once: jobs unsandboxed can read this home
            (log.info if confinement.enabled else log.warning)("%s", confinement.detail)
            if not confinement.enabled:
                print(f"warning: {confinement.detail}", flush=True)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop_event.set)
            await self.stop_event.wait()
            log.info("stopping: draining workers")
            await supervisor.stop(cfg.drain_s)
            server.should_exit = True
            await recorder.stop()
            for t in tasks[1:]:
                t.cancel()  # everything but the server, which drains its requests
            await asyncio.gather(*tasks, return_exceptions=True)
            await waiter.stop()
            await pool.close()
        finally:
            sock.close()
            if self.embedded is not None:
                await asyncio.to_thread(self.embedded.stop)

    async def _start_database(self) -> str:
        if self.config.database_url:
            url: str = self.config.database_url
            try:
                async with await AsyncConnection.connect(url, connect_timeout=10):
                    pass
            except psycopg.OperationalError as exc:
                raise DatabaseError(
                    f"cannot connect to the database at {_redact(url)}: {str(exc).strip()}",
                    hint="check TIDEMILL_DATABASE_URL / --database-url, or leave it unset to use"
                         " the embedded database") from exc
            return url
        from desktop_app.db.embedded import EmbeddedPostgres

        self.embedded = EmbeddedPostgres(self.config.home)
        print("Starting the embedded PostgreSQL (first start initialises it, ~1 s)...",
              file=sys.stderr, flush=True)
        url = await asyncio.to_thread(self.embedded.start)
        return url

    async def _reaper(self, database_url: str) -> None:
        interval = max(self.config.heartbeat_s, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                    # After an outage every ping is old: give the workers the time to
                    # reconnect and ping before judging any of their jobs.
                    await asyncio.sleep(self.config.stale_after_s)
                    while True:
                        await reap(conn, self.config.stale_after_s, jobs_dir=self.layout.jobs)
                        await asyncio.sleep(interval)
            except psycopg.OperationalError as exc:
                log.warning("reaper lost the database: %s", str(exc).strip())

    def _write_info(self, base_url: str, supervisor: WorkerSupervisor | None,
                    watch: DatabaseWatch) -> None:
        """daemon.json: what `tidemill daemon status` and the clients read; rewritten when
        the database's state changes."""
        if supervisor is None:  # still starting
            return
        info = {"pid": os.getpid(), "url": base_url, "home": str(self.config.home),
                "workers": self.config.workers, "worker_pids": supervisor.pids(),
                "database": "external" if self.config.database_url else "embedded",
                "database_state": watch.health.as_dict()}
        tmp = self.layout.daemon_info.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        tmp.replace(self.layout.daemon_info)


def _redact(url: str) -> str:
    import re

    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", url)


def run_daemon(config: DaemonConfig) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_log.install()
    asyncio.run(Daemon(config).run())
