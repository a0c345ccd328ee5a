"""`tidemill daemon start|stop|status`: manage the background daemon of a home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from desktop_app.cli.output import fail
from desktop_app.daemon.home import HomeLayout


def _info(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads(HomeLayout(home).daemon_info.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A daemon started by this very process (the desktop app) stays a zombie once it
    # exits until reaped: it is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/version", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def running_info(home: Path) -> dict[str, Any] | None:
    """This home's `daemon.json` (pid, url) if its daemon is alive and answering, else None."""
    info = _info(home)
    if info and _alive(info["pid"]) and _answers(info["url"]):
        return info
    return None


def running_url(home: Path) -> str | None:
    """The URL of this home's daemon if it is alive and answering, else None."""
    info = running_info(home)
    return str(info["url"]) if info else None


class DaemonStartError(Exception):
    """The background daemon exited or never answered; the message says where to look."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def launch(home: Path, port: int = 8765, host: str = "127.0.0.1", workers: int = 2,
           database_url: str | None = None, heartbeat: float = 2.0,
           public_url: str | None = None,
           allowed_hosts: list[str] | None = None) -> subprocess.Popen[bytes]:
    """Start the daemon in the background (its own session: it outlives this process)."""
    layout = HomeLayout(home)
    layout.ensure()
    cmd = [sys.executable, "-m", "desktop_app.cli.main", "daemon", "--home", str(home),
           "--port", str(port), "--host", host, "--workers", str(workers),
           "--heartbeat", str(heartbeat)]
    if database_url:
        cmd += ["--database-url", database_url]
    if public_url:
        cmd += ["--public-url", public_url]
    for name in allowed_hosts or ():
        cmd += ["--allowed-host", name]
    with open(log_path(home), "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def log_path(home: Path) -> Path:
    return HomeLayout(home).logs / "daemon.log"


def poll_ready(home: Path, proc: subprocess.Popen[bytes]) -> str | None:
    """The daemon's URL once it answers; None while it is starting; DaemonStartError if
    it exited (with the end of its log)."""
    code = proc.poll()
    if code is not None:
        path = log_path(home)
        tail = path.read_text(errors="replace").splitlines()[-15:]
        raise DaemonStartError(f"the daemon exited with code {code} during start:\n  "
                               + "\n  ".join(tail), f"full log: {path}")
    info = _info(home)
    if info and info.get("pid") == proc.pid and _answers(info["url"]):
        return str(info["url"])
    return None


START_TIMEOUT_S = 120


def launch_tray(home: Path) -> subprocess.Popen[bytes] | None:
    """The tray icon runs in its own process beside the daemon (the daemon never loads
    Qt). Only on a desktop session; TIDEMILL_TRAY=0 turns it off; without a system tray
    it exits by itself and the daemon runs on without one."""
    if os.environ.get("TIDEMILL_TRAY", "1") == "0" or not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    with open(log_path(home).with_name("tray.log"), "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "desktop_app.gui.tray", "--home", str(home)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


DEFAULT_PORT = 8765


def start(home: Path, port: int | None, host: str, workers: int, database_url: str | None,
          heartbeat: float, public_url: str | None = None,
          allowed_hosts: list[str] | None = None) -> None:
    """Start the home's daemon in the background. One home has one daemon (it owns the
    home's database and workspace): asked for another port while it runs elsewhere, say
    where it runs and exit 1, rather than answer "already running" about a port not asked."""
    info = _info(home)
    if info and _alive(info["pid"]) and _answers(info["url"]):
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
    info = _info(home)
    if not info or not _alive(info["pid"]):
        print("no daemon is running for this home")
        return
    os.kill(info["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(info["pid"]):
            print(f"stopped (pid {info['pid']})")
            return
        time.sleep(0.1)
    fail(f"the daemon (pid {info['pid']}) did not stop within {timeout_s:g} s",
         f"kill it with `kill -9 {info['pid']}`; jobs it ran are recovered at next start", code=1)


def status(home: Path) -> None:
    info = _info(home)
    if not info or not _alive(info["pid"]):
        print(f"not running (home {home})")
        raise SystemExit(1)
    ok = _answers(info["url"])
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
