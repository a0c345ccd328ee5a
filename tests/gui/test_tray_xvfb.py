"""The tray on a real tray host: Xvfb, Debian's `trayer` (an XEmbed system tray), the
tray process on the xcb platform, driven with real X clicks and keys (xdotool).

The icon appears (embedded in trayer's panel), a click opens the main window, the menu
pauses and resumes the workers, a failed job raises one notification, Quit ends the tray
(and stops the daemon)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "trayer", "xdotool", "xwininfo")
pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in TOOLS),
                                reason="needs xvfb, trayer, xdotool, x11-utils (.ci/run installs them)")


def _wait(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def display(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An X server with a tray host; the environment to reach it."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    env = {"DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
    trayer = subprocess.Popen(["trayer", "--edge", "top", "--align", "right", "--widthtype",
                               "request", "--height", "32", "--SetDockType", "true"],
                              env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        _wait("trayer's panel", lambda: "\"panel\"" in _tree(env))
        yield env
    finally:
        for p in (trayer, xvfb):
            p.terminate()
            p.wait(30)


def _tree(env: dict[str, str]) -> str:
    return subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=30).stdout


def _x(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["xdotool", *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=30).stdout.strip()


def _icon_geometry(env: dict[str, str]) -> tuple[int, int, int, int] | None:
    """The icon embedded in trayer's panel: the panel's child that is not trayer's own."""
    tree = _tree(env).splitlines()
    start = next(i for i, line in enumerate(tree) if '"panel"' in line)
    for line in tree[start + 1:]:
        if not line.startswith(" " * 8):
            break
        m = re.search(r"(\d+)x(\d+)\+-?\d+\+-?\d+\s+\+(-?\d+)\+(-?\d+)$", line.strip())
        if m and int(m[1]) > 8:  # trayer's own 1x1 helper window is not an icon
            w, h, x, y = map(int, m.groups())
            return x, y, w, h
    return None


def _workers_paused(d: RunningDaemon) -> bool:
    with httpx.Client(base_url=d.url, timeout=30,
                      headers={"Authorization": f"Bearer {d.token}"}) as c:
        return bool(c.get("/api/workers/status").json()["paused"])


def _menu(env: dict[str, str], icon: tuple[int, int, int, int], keys: list[str]) -> None:
    """Right-click the icon, then choose with the keyboard (the menu's first row is a
    disabled status line; Down starts at "Open Tidemill")."""
    x, y, w, h = icon
    _x(env, "mousemove", str(x + w // 2), str(y + h // 2))
    _x(env, "click", "3")
    time.sleep(0.8)  # the menu maps
    for key in keys:
        _x(env, "key", key)
        time.sleep(0.2)


def test_tray_on_a_real_tray_host(daemon: RunningDaemon, display: dict[str, str],
                                  tmp_path: Path) -> None:
    log = tmp_path / "tray.log"
    env = {**daemon.env(), **display, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        tray = subprocess.Popen([sys.executable, "-m", "desktop_app.gui.tray", "--home",
                                 str(daemon.home)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp_path)
    opened: list[int] = []
    try:
        icon = _wait("the icon in trayer's panel", lambda: _icon_geometry(display))
        assert "no system tray" not in log.read_text()

        # A left click opens the main window (a `tidemill gui` of its own). A click that
        # lands while the freshly embedded icon is not yet taking input is lost (seen once
        # in CI: no window after 120 s, nothing in the log): click again until the tray
        # says it heard it, then give the window's start the time a loaded machine needs.
        x, y, w, h = icon
        # Beside another test worker the tray's start can take a minute (CI #3 of session 6:
        # five clicks in 50 s unheard, the tray's log still empty): keep clicking for 3 min.
        for attempt in range(12):
            _x(display, "mousemove", str(x + w // 2), str(y + h // 2))
            _x(display, "click", "1")
            try:
                _wait("the tray to hear the click",
                      lambda: "opening the main window" in log.read_text(), timeout=15)
                break
            except AssertionError:
                assert attempt < 11, f"12 clicks on the icon were not heard: {log.read_text()}"
        window = _wait("the main window", lambda: _x(display, "search", "--name", "^Tidemill — "),
                       timeout=180)
        opened.append(int(_x(display, "getwindowpid", window.split()[0])))
        # Without a window manager the window covers the panel: close it to reach the icon.
        os.kill(opened[0], 9)
        _wait("the main window gone", lambda: not _x(display, "search", "--name", "^Tidemill — "))

        # Pause, then Resume, from the menu.
        assert not _workers_paused(daemon)
        _menu(display, icon, ["Down", "Down", "Return"])
        _wait("the workers paused", lambda: _workers_paused(daemon))
        time.sleep(3.5)  # the next poll relabels the action "Resume workers"
        _menu(display, icon, ["Down", "Down", "Return"])
        _wait("the workers resumed", lambda: not _workers_paused(daemon))

        # A failed job: one notification, however many polls follow.
        daemon.deploy("f/tray/boom", "def main():\n    raise ValueError('boom')\n")
        status, _ = daemon.run_wait("f/tray/boom")
        assert status == "failure"
        _wait("the notification", lambda: "notified:" in log.read_text(), timeout=30)
        time.sleep(7)  # two more polls
        notes = [line for line in log.read_text().splitlines() if line.startswith("notified:")]
        assert len(notes) == 1 and "f/tray/boom" in notes[0], notes

        # Quit (the menu's last row) ends the tray and stops the daemon.
        _menu(display, icon, ["Up", "Return"])
        assert tray.wait(60) == 0
        assert daemon.proc is not None and daemon.proc.wait(90) is not None
        assert _icon_geometry(display) is None
    finally:
        if tray.poll() is None:
            tray.kill()
            tray.wait()
        for pid in opened:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        print(log.read_text())
