"""Starting this home's daemon in the background and watching it come up: shared by the
CLI (`tidemill daemon start`) and the desktop app (start-up, tray), below both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from desktop_app.daemon.home import HomeLayout


def daemon_info(home: Path) -> dict[str, Any] | None:
    try:
        return json.loads(HomeLayout(home).daemon_info.read_text())
    except (OSError, ValueError):
        return None


def alive(pid: int) -> bool:
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


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/version", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def running_info(home: Path) -> dict[str, Any] | None:
    """This home's `daemon.json` (pid, url) if its daemon is alive and answering, else None."""
    info = daemon_info(home)
    if info and alive(info["pid"]) and answers(info["url"]):
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
    info = daemon_info(home)
    if info and info.get("pid") == proc.pid and answers(info["url"]):
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
