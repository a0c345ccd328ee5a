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
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/version", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def start(home: Path, port: int, host: str, workers: int, database_url: str | None,
          heartbeat: float) -> None:
    info = _info(home)
    if info and _alive(info["pid"]) and _answers(info["url"]):
        print(f"already running: pid {info['pid']} at {info['url']}")
        return
    layout = HomeLayout(home)
    layout.ensure()
    cmd = [sys.executable, "-m", "desktop_app.cli.main", "daemon", "--home", str(home),
           "--port", str(port), "--host", host, "--workers", str(workers),
           "--heartbeat", str(heartbeat)]
    if database_url:
        cmd += ["--database-url", database_url]
    log_path = layout.logs / "daemon.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    print("starting the Tidemill daemon...", file=sys.stderr, flush=True)
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            fail(f"the daemon exited with code {code} during start:\n  " + "\n  ".join(tail),
                 f"full log: {log_path}", code=1)
        info = _info(home)
        if info and info.get("pid") == proc.pid and _answers(info["url"]):
            print(f"Tidemill daemon running: pid {proc.pid} at {info['url']} (log: {log_path})")
            return
        time.sleep(0.1)
    fail(f"the daemon did not answer within 120 s; see {log_path}", code=1)


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
    if not ok:
        raise SystemExit(1)
