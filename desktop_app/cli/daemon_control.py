"""`tidemill daemon start|stop|status`: manage the background daemon of a home."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from desktop_app.cli.output import fail
from desktop_app.client.daemon_process import (
    START_TIMEOUT_S,
    DaemonStartError,
    alive,
    answers,
    daemon_info,
    launch,
    launch_tray,
    log_path,
    poll_ready,
    running_info,
    running_url,
)

# Re-exported: `tidemill daemon` and its tests use them from here.
__all__ = ["START_TIMEOUT_S", "DaemonStartError", "launch", "launch_tray", "log_path",
           "poll_ready", "running_info", "running_url", "start", "status", "stop"]


DEFAULT_PORT = 8765


def start(home: Path, port: int | None, host: str, workers: int, database_url: str | None,
          heartbeat: float, public_url: str | None = None,
          allowed_hosts: list[str] | None = None) -> None:
    """Start the home's daemon in the background. One home has one daemon (it owns the
    home's database and workspace): asked for another port while it runs elsewhere, say
    where it runs and exit 1, rather than answer "already running" about a port not asked."""
    info = daemon_info(home)
    if info and alive(info["pid"]) and answers(info["url"]):
        running_port = urlsplit(str(info["url"])).port
        if port is not None and running_port != port:
            fail(f"the daemon of {home} already runs at {info['url']} (pid {info['pid']}), "
                 f"not on port {port}",
                 "a home has one daemon: `tidemill daemon stop` then start it on the new port, "
                 "or give a second daemon its own --home", code=1)
        print(f"already running: pid {info['pid']} at {info['url']}")
        return
    proc = launch(home, port or DEFAULT_PORT, host, workers, database_url, heartbeat, public_url,
                  allowed_hosts)
    deadline = time.monotonic() + START_TIMEOUT_S
    print("starting the Tidemill daemon...", file=sys.stderr, flush=True)
    while time.monotonic() < deadline:
        try:
            url = poll_ready(home, proc)
        except DaemonStartError as exc:
            fail(exc.message, exc.hint, code=1)
        if url:
            print(f"Tidemill daemon running: pid {proc.pid} at {url} (log: {log_path(home)})")
            launch_tray(home)
            return
        time.sleep(0.1)
    fail(f"the daemon did not answer within {START_TIMEOUT_S} s; see {log_path(home)}", code=1)


def stop(home: Path, timeout_s: float = 60.0) -> None:
    info = daemon_info(home)
    if not info or not alive(info["pid"]):
        print("no daemon is running for this home")
        return
    os.kill(info["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(info["pid"]):
            print(f"stopped (pid {info['pid']})")
            return
        time.sleep(0.1)
    fail(f"the daemon (pid {info['pid']}) did not stop within {timeout_s:g} s",
         f"kill it with `kill -9 {info['pid']}`; jobs it ran are recovered at next start", code=1)


def status(home: Path) -> None:
    info = daemon_info(home)
    if not info or not alive(info["pid"]):
        print(f"not running (home {home})")
        raise SystemExit(1)
    ok = answers(info["url"])
    print(f"running: pid {info['pid']} at {info['url']}, {info['workers']} workers, "
          f"{info['database']} database{'' if ok else ' (NOT answering)'}")
    database = _database_state(info["url"]) if ok else info.get("database_state")
    if database and database.get("state") != "up":
        what = {"down": "DOWN", "restarting": "DOWN, restarting"}.get(database["state"],
                                                                      database["state"])
        print(f"database {what} for {database.get('down_for_s', 0):g} s: "
              f"{database.get('last_error') or 'no answer'} "
              f"({database.get('restarts', 0)} restart(s) so far); jobs wait meanwhile")
    if not ok or (database and database.get("state") != "up"):
        raise SystemExit(1)


def _database_state(url: str) -> dict[str, Any] | None:
    """The database's state as the daemon watching it reports (`/api/health`)."""
    try:
        body = httpx.get(f"{url}/api/health", timeout=2.0).json()
    except (httpx.HTTPError, ValueError):
        return None
    database = body.get("database") if isinstance(body, dict) else None
    return database if isinstance(database, dict) else None
