"""`tidemill` with no arguments: find the daemon, or start one in the background with a
small progress window while it comes up (the first start initialises the embedded
database, which takes a few seconds), then open the main window."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from desktop_app.client import daemon_process as daemon_control
from desktop_app.client.http import ClientError, Connection, TidemillClient, connection_from_env


class StartingWindow(QWidget):
    """Shown while the daemon starts: what is happening and where its log is."""

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.setWindowTitle("Tidemill — starting")
        self.setFixedSize(460, 150)
        lay = QVBoxLayout(self)
        self.label = QLabel("Starting the Tidemill daemon…")
        self.label.setStyleSheet("font-size: 15px; font-weight: bold")
        self.detail = QLabel("The first start initialises the embedded database; this takes "
                             "a few seconds.")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("muted")
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy: the daemon does not report fractions
        bar.setTextVisible(False)
        log = QLabel(f"Log: {daemon_control.log_path(home)}")
        log.setObjectName("muted")
        log.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for w in (self.label, self.detail, bar, log):
            lay.addWidget(w)


async def answers(conn: Connection) -> bool:
    async with TidemillClient(conn, timeout=2.0) as client:
        try:
            await client.version()
            return True
        except ClientError:
            return False


def remote(conn: Connection) -> bool:
    """True when the user pointed us at a daemon we must not start (TIDEMILL_URL)."""
    return bool(os.environ.get("TIDEMILL_URL"))


async def ensure_daemon(home: Path, conn: Connection,
                        timeout_s: float = daemon_control.START_TIMEOUT_S) -> Connection:
    """A connection to a daemon that answers: the configured one, or a local one started
    now in the background. DaemonStartError says why it could not start."""
    if await answers(conn) or remote(conn):
        return conn  # a remote daemon that is down: the main window's banner says so
    window = StartingWindow(home)
    window.show()
    try:
        return await start_local_daemon(home, conn, timeout_s)
    finally:
        window.close()
        window.deleteLater()


async def start_local_daemon(home: Path, conn: Connection,
                             timeout_s: float = daemon_control.START_TIMEOUT_S) -> Connection:
    """Start this home's daemon (and its tray) in the background and wait until it answers."""
    # Where the client expects it: the URL's port (8765 unless configured otherwise).
    port = urlsplit(conn.url).port or 8765
    proc = daemon_control.launch(home, port=port,
                                 database_url=os.environ.get("TIDEMILL_DATABASE_URL"))
    daemon_control.launch_tray(home)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # poll_ready does blocking HTTP: off the GUI thread so the window stays live
        url = await asyncio.to_thread(daemon_control.poll_ready, home, proc)
        if url:
            return connection_from_env(home)
        await asyncio.sleep(0.1)
    raise daemon_control.DaemonStartError(
        f"the daemon did not answer within {timeout_s:.0f} s",
        f"see {daemon_control.log_path(home)}")
