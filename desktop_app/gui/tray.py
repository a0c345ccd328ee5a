"""The tray icon beside a running daemon: status at a glance (running jobs, failures since
you last looked), a menu (open the app, pause/resume the workers, quit) and a
notification when a job fails.

Runs as its own process (`python -m desktop_app.gui.tray --home H`, started with the
daemon by `tidemill`) so the daemon never loads Qt. Without a system tray (a server, a
desktop without one) it says so and exits: the daemon runs on without an icon. It also
exits once the daemon has stopped answering for a while.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from desktop_app.client.activity import ActivityWatch, failure_message
from desktop_app.client.http import ClientError, TidemillClient, connection_from_env
from desktop_app.gui.gc_guard import GuiThreadCollector
from desktop_app.gui.tasks import spawn

LEVEL_COLOURS = {"idle": "#2e9e4f", "busy": "#3b82f6", "failed": "#d9453b",
                 "paused": "#c98a1a", "down": "#8a8f98"}
POLL_MS = 3000
GIVE_UP_AFTER_POLLS = 20  # about a minute without the daemon: it was stopped


def status_icon(level: str, count: int = 0) -> QIcon:
    """A coloured disc, with the number of failures (or running jobs) when there are."""
    pm = QPixmap(64, 64)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(LEVEL_COLOURS.get(level, "#8a8f98")))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(QRectF(4, 4, 56, 56))
    p.setPen(QColor("#ffffff"))
    font = p.font()
    font.setBold(True)
    font.setPixelSize(30)
    p.setFont(font)
    text = str(min(count, 99)) if count else {"paused": "II", "down": "?"}.get(level, "T")
    p.drawText(QRectF(0, 0, 64, 64), Qt.AlignmentFlag.AlignCenter, text)
    p.end()
    return QIcon(pm)


class Tray:
    """The icon and its menu over an ActivityWatch. `icon` is None without a system tray
    (everything else still works, so the logic is testable offscreen)."""

    def __init__(self, client: TidemillClient, home: Path | None = None) -> None:
        self.client = client
        self.home = home
        self.watch = ActivityWatch(client)
        self.notifications: list[tuple[str, str]] = []
        self.failed_polls = 0
        # How the tray ends; main() ends its coroutine instead, so the HTTP client closes
        # inside the event loop (QApplication.quit() there stopped the loop first, and the
        # client's close then failed outside it: exit 1 with a traceback on every Quit).
        self.on_quit: Callable[[], None] = QApplication.quit
        self.icon: QSystemTrayIcon | None = None
        self.menu = QMenu()
        self.open_action = QAction("Open Tidemill", self.menu)
        self.open_action.triggered.connect(self.open_app)
        self.pause_action = QAction("Pause workers", self.menu)
        self.pause_action.triggered.connect(lambda: spawn(self.toggle_pause()))
        self.seen_action = QAction("Mark failures as seen", self.menu)
        self.seen_action.triggered.connect(self.mark_seen)
        self.quit_action = QAction("Quit Tidemill (stop the daemon)", self.menu)
        self.quit_action.triggered.connect(self.quit)
        self.status_action = QAction("…", self.menu)
        self.status_action.setEnabled(False)
        for a in (self.status_action, self.open_action, self.pause_action, self.seen_action):
            self.menu.addAction(a)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(status_icon("down"))
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
            self.icon.show()
        self.timer = QTimer(self.menu)  # everything hangs off the menu: one object to free
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(lambda: spawn(self.poll()))

    def close(self) -> None:
        self.timer.stop()
        if self.icon is not None:
            self.icon.hide()
            self.icon.deleteLater()
        self.menu.deleteLater()

    def start(self) -> None:
        self.timer.start()
        spawn(self.poll())

    async def poll(self) -> None:
        new_failures = await self.watch.poll()
        a = self.watch.activity
        self.failed_polls = 0 if a.reachable else self.failed_polls + 1
        self.status_action.setText(a.tooltip().removeprefix("Tidemill: "))
        self.pause_action.setText("Resume workers" if a.paused else "Pause workers")
        self.pause_action.setEnabled(a.reachable)
        self.seen_action.setEnabled(bool(a.failures))
        for job in new_failures:
            title, text = failure_message(job)
            self.notifications.append((title, text))
            if self.icon is not None:
                self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 8000)
            print(f"notified: {title}", flush=True)  # tray.log keeps what was shown
        if self.icon is not None:
            self.icon.setIcon(status_icon(a.level, len(a.failures) or a.running))
            self.icon.setToolTip(a.tooltip())
        if self.failed_polls >= GIVE_UP_AFTER_POLLS:
            self.on_quit()  # the daemon is gone: so is its tray

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_app()

    def open_app(self) -> None:
        self.mark_seen()
        print("opening the main window", flush=True)  # tray.log: the click reached the tray
        subprocess.Popen([sys.executable, "-m", "desktop_app.cli.main", "gui"],
                         stdin=subprocess.DEVNULL, start_new_session=True)

    def mark_seen(self) -> None:
        self.watch.mark_seen()
        self.seen_action.setEnabled(False)
        if self.icon is not None:
            self.icon.setIcon(status_icon(self.watch.activity.level))

    async def toggle_pause(self) -> None:
        try:
            await self.client.pause_workers(not self.watch.activity.paused)
        except ClientError as exc:
            self.notifications.append(("Could not pause or resume the workers", exc.message))
        await self.poll()

    def quit(self) -> None:
        """Stop this home's daemon (it drains running jobs) and the tray with it."""
        if self.home is not None:
            from desktop_app.client.daemon_process import daemon_info as _info

            info = _info(self.home)
            if info:
                try:
                    os.kill(int(info["pid"]), signal.SIGTERM)
                except ProcessLookupError:
                    pass
        self.on_quit()


def main(argv: list[str] | None = None) -> int:
    import qasync

    from desktop_app.daemon.home import default_home

    parser = argparse.ArgumentParser(prog="tidemill-tray")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--probe", action="store_true",
                        help="only say whether a system tray is available (exit 0) or not (3)")
    args = parser.parse_args(argv)
    home = (args.home or default_home()).expanduser().resolve()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    if args.probe:  # `tidemill doctor` asks without loading Qt itself
        available = QSystemTrayIcon.isSystemTrayAvailable()
        print("system tray available" if available else "no system tray", flush=True)
        return 0 if available else 3
    if not QSystemTrayIcon.isSystemTrayAvailable():
        print("no system tray on this desktop: the daemon runs without a tray icon", flush=True)
        return 0
    app.setQuitOnLastWindowClosed(False)
    GuiThreadCollector(app).start()  # see gc_guard.py
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def run() -> None:
        async with TidemillClient(connection_from_env(home), timeout=10) as client:
            tray = Tray(client, home)
            done = asyncio.Event()
            tray.on_quit = done.set
            app.aboutToQuit.connect(done.set)  # the session ends
            tray.start()
            await done.wait()
            tray.close()

    with loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
