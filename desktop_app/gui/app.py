"""The desktop app: QApplication on a qasync loop, the main window, and offscreen screenshots.

Every view reads through `TidemillClient`; no widget waits on the network (coroutines run
on Qt's own loop through qasync).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, Connection, TidemillClient
from desktop_app.gui.flow_designer.designer import FlowDesigner
from desktop_app.gui.runs_view import JobView, RunsView
from desktop_app.gui.script_view import ScriptView
from desktop_app.gui.tasks import spawn
from desktop_app.gui.theme import apply_theme
from desktop_app.gui.workspace_view import WorkspaceView

NAV = ["Scripts & flows", "Runs", "Resources & variables", "Schedules", "Settings"]
VIEWS = ["home", "script", "flow", "runs", "job", "resources", "schedules", "settings"]
PING_SECONDS = 3.0


def _notice(title: str, text: str) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    heading = QLabel(title)
    heading.setObjectName("heading")
    body = QLabel(text)
    body.setObjectName("empty")
    body.setWordWrap(True)
    body.setAlignment(Qt.AlignmentFlag.AlignCenter)
    body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    lay.addWidget(heading)
    lay.addWidget(body, 1)
    box.body = body  # type: ignore[attr-defined]
    return box


class MainWindow(QMainWindow):
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.setWindowTitle(f"Tidemill — {client.conn.url}")
        self.resize(1280, 800)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.banner = QLabel("")
        self.banner.setObjectName("banner")
        self.banner.setVisible(False)
        outer.addWidget(self.banner)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(body, 1)
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.addItems(NAV)
        self.nav.setFixedWidth(200)
        body.addWidget(self.nav)
        self.stack = QStackedWidget()
        body.addWidget(self.stack, 1)
        self.home = WorkspaceView(client, self.open_item)
        self.runs = RunsView(client, self.open_job)
        self.job = JobView(client, lambda: self.show_view("runs"))
        self.script = ScriptView(client)
        self.flow = FlowDesigner(client)
        self.resources = _notice("Resources & variables",
                                 "Resources and variables are not editable here yet.\n\n"
                                 "Create them with Windmill's API or a sync folder "
                                 "(`tidemill import DIR`).")
        self.schedules = _notice("Schedules", "Schedules are not shown here yet.\n\n"
                                 "Add `*.schedule.yaml` files and `tidemill import DIR`, "
                                 "or use the /schedules API.")
        self.settings = _notice("Settings", "")
        for w in (self.home, self.runs, self.resources, self.schedules, self.settings,
                  self.job, self.script, self.flow):
            self.stack.addWidget(w)
        self.nav.currentRowChanged.connect(self._nav_changed)
        self.home.on_new_script = self.new_script
        QShortcut(QKeySequence("Ctrl+K"), self, self.focus_search)
        self.setCentralWidget(central)
        self.connected: bool | None = None
        self._ping_timer = QTimer(self)
        self._ping_timer.setInterval(int(PING_SECONDS * 1000))
        self._ping_timer.timeout.connect(lambda: spawn(self.ping()))
        self.nav.setCurrentRow(0)

    def start(self) -> None:
        """Begin the liveness checks (the foreground app; screenshots don't need them)."""
        self._ping_timer.start()
        spawn(self.ping())

    async def ping(self) -> bool:
        try:
            version = await self.client.version()
        except ClientError as exc:
            self._show_unreachable(exc)
            self.connected = False
            return False
        self.banner.setVisible(False)
        self.settings.body.setText(  # type: ignore[attr-defined]
            f"Connected to {self.client.conn.url}\nDaemon version {version}\n"
            f"Workspace {self.client.conn.workspace}\n\n"
            "Point the app at another daemon with TIDEMILL_URL and TIDEMILL_TOKEN.")
        if self.connected is False:
            spawn(self.refresh_current())
        self.connected = True
        return True

    def _nav_changed(self, row: int) -> None:
        widget = [self.home, self.runs, self.resources, self.schedules, self.settings][row]
        self.stack.setCurrentWidget(widget)
        spawn(self.refresh_current())

    async def refresh_current(self) -> None:
        current = self.stack.currentWidget()
        try:
            if current is self.home:
                await self.home.refresh()
            elif current is self.runs:
                await self.runs.refresh()
            elif current is self.settings:
                await self.ping()
        except ClientError as exc:
            self._show_unreachable(exc)
            for view in (self.home, self.runs):
                if current is view:
                    view.empty.setText("Waiting for the daemon…\n\n"
                                       "This list fills in as soon as it answers.")
                    view.stack.setCurrentWidget(view.empty)

    def _show_unreachable(self, exc: ClientError) -> None:
        hint = f"  Hint: {exc.hint}" if exc.hint else ""
        self.banner.setText(f"⚠  {exc.message} — retrying every {PING_SECONDS:.0f} s.{hint}")
        self.banner.setVisible(True)

    def show_view(self, name: str) -> None:
        rows = {"home": 0, "runs": 1, "resources": 2, "schedules": 3, "settings": 4}
        self.nav.setCurrentRow(rows[name])

    def open_item(self, kind: str, path: str) -> None:
        if kind == "script":
            spawn(self.open_script(path))
        elif kind == "flow":
            spawn(self.open_flow(path))

    async def open_flow(self, path: str) -> None:
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)
        self.stack.setCurrentWidget(self.flow)
        await self.flow.load(path)

    async def open_script(self, path: str) -> None:
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)
        await self.script.load(path)
        self.stack.setCurrentWidget(self.script)

    def new_script(self, path: str, language: str) -> None:
        self.script.new_script(path, language)
        self.stack.setCurrentWidget(self.script)
        self.script.editor.setFocus()

    def focus_search(self) -> None:
        """Ctrl+K: the workspace browser with its search field focused."""
        self.show_view("home")
        self.stack.setCurrentWidget(self.home)
        self.home.search.setFocus()
        self.home.search.selectAll()

    def open_job(self, job_id: str) -> None:
        spawn(self.show_job(job_id))

    async def show_job(self, job_id: str) -> None:
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(1)
        self.nav.blockSignals(False)
        await self.job.load(job_id)
        self.stack.setCurrentWidget(self.job)

    async def goto(self, view: str, path: str | None = None) -> None:
        """Show `view` (one of VIEWS) with its data loaded; `path` is a script path or job id."""
        if view == "script":
            if not path:
                raise ValueError("the script view needs --path f/folder/name")
            await self.open_script(path)
        elif view == "flow":
            if not path:
                raise ValueError("the flow view needs --path f/folder/name (a new flow if "
                                 "nothing is deployed there)")
            await self.open_flow(path)
        elif view == "job":
            job_id = path
            if not job_id:
                jobs = await self.client.list_jobs(per_page=1)
                if not jobs:
                    raise ValueError("no job to show: run something first, or pass --path JOB_ID")
                job_id = jobs[0]["id"]
            await self.show_job(job_id)
        else:
            self.nav.blockSignals(True)
            self.show_view(view)
            self.nav.blockSignals(False)
            self.stack.setCurrentWidget(
                [self.home, self.runs, self.resources, self.schedules, self.settings]
                [["home", "runs", "resources", "schedules", "settings"].index(view)])
            await self.ping()
            await self.refresh_current()


def _application(theme: str) -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Tidemill")
    apply_theme(app, theme)
    return app


def run_gui(conn: Connection, theme: str = "light") -> int:
    """The foreground desktop app; returns when the window closes."""
    app = _application(theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def main() -> None:
        async with TidemillClient(conn) as client:
            window = MainWindow(client)
            window.show()
            window.start()
            await closed.wait()

    with loop:
        loop.run_until_complete(main())
    return 0


def screenshot(conn: Connection, out: Path, view: str, path: str | None = None,
               theme: str = "light") -> None:
    """Render `view` at 1280x800 against the daemon at `conn` and save it as PNG."""
    from desktop_app.gui.apps import entry as app_views

    if view in app_views.APP_VIEWS:
        app_views.screenshot(conn, out, view, path, theme)
        return
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: one of {', '.join(VIEWS)}")
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application(theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def main() -> None:
        async with TidemillClient(conn) as client:
            window = MainWindow(client)
            window.resize(1280, 800)
            window.show()
            await window.goto(view, path)
            await asyncio.sleep(0.2)  # let layouts settle
            if not window.grab().save(str(out)):
                raise OSError(f"could not write {out}")

    with loop:
        loop.run_until_complete(main())
