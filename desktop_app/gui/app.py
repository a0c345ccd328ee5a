"""The desktop app: QApplication on a qasync loop, the main window, and offscreen screenshots.

Every view reads through `TidemillClient`; no widget waits on the network (coroutines run
on Qt's own loop through qasync).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, Connection, TidemillClient
from desktop_app.gui.gc_guard import GuiThreadCollector
from desktop_app.gui.resources_view import ResourcesView
from desktop_app.gui.run_form_view import RunFormView
from desktop_app.gui.runs_view import JobView, RunsView
from desktop_app.gui.schedules_view import SchedulesView
from desktop_app.gui.script_view import ScriptView
from desktop_app.gui.settings_view import SettingsView
from desktop_app.gui.tasks import cancel_pending, spawn
from desktop_app.gui.theme import apply_theme
from desktop_app.gui.triggers_view import TriggersView
from desktop_app.gui.view_names import VIEWS as ALL_VIEWS
from desktop_app.gui.view_names import WINDOW_VIEWS
from desktop_app.gui.workspace_view import WorkspaceView

NAV = ["Scripts & flows", "Runs", "Resources & variables", "Schedules", "Triggers", "Settings"]
NAV_VIEWS = ["home", "runs", "resources", "schedules", "triggers", "settings"]  # one per NAV entry
VIEWS = list(WINDOW_VIEWS)
PING_SECONDS = 3.0


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
        self.job = JobView(client, lambda: self.show_view("runs"), self.open_job)
        self.script = ScriptView(client)
        self.run_form = RunFormView(client, self.open_job)  # what operators get instead
        self.resources = ResourcesView(client)
        self.schedules = SchedulesView(client)
        self.triggers = TriggersView(client)
        self.settings = SettingsView(client)
        for w in (self.home, self.runs, self.resources, self.schedules, self.triggers,
                  self.settings, self.job, self.script, self.run_form):
            self.stack.addWidget(w)
        self._flow: Any = None
        self.nav.currentRowChanged.connect(self._nav_changed)
        self.home.on_new_script = self.new_script
        self.home.on_new_flow = lambda path: spawn(self.open_flow(path))
        self.stack.currentChanged.connect(self._page_changed)
        self.setCentralWidget(central)
        self.connected: bool | None = None
        #: whoami(), asked once when the daemon first answers (None until then)
        self.me: dict[str, Any] | None = None
        self.version = ""
        self._ping_timer = QTimer(self)
        self._ping_timer.setInterval(int(PING_SECONDS * 1000))
        self._ping_timer.timeout.connect(lambda: spawn(self.ping()))
        QShortcut(QKeySequence("Ctrl+K"), self, self.focus_search)
        self.nav.setCurrentRow(0)

    @property
    def flow(self) -> Any:
        """The flow designer, built on first use (its graph modules cost ~0.3 s to import,
        which would otherwise delay every start)."""
        if self._flow is None:
            from desktop_app.gui.flow_designer.designer import FlowDesigner

            self._flow = FlowDesigner(self.client)
            self.stack.addWidget(self._flow)
        return self._flow

    def nav_widgets(self) -> list[QWidget]:
        return [self.home, self.runs, self.resources, self.schedules, self.triggers,
                self.settings]

    def focus_search(self) -> None:
        """Ctrl+K: jump to the workspace search, whatever view is open."""
        self.show_view("home")
        self.stack.setCurrentWidget(self.home)
        self.home.search.setFocus()
        self.home.search.selectAll()

    def _page_changed(self, _index: int) -> None:
        if self.stack.currentWidget() is not self.job:
            self.job.stop_following()  # no live stream for a job nobody looks at

    def start(self) -> None:
        """Begin the liveness checks (the foreground app; screenshots don't need them)."""
        self._ping_timer.start()
        spawn(self.ping())

    async def ping(self) -> bool:
        try:
            self.version = await self.client.version()
        except ClientError as exc:
            self._show_unreachable(exc)
            self.setWindowTitle(f"Tidemill — {self.client.conn.url} (not answering)")
            self.connected = False
            return False
        self.banner.setVisible(False)
        await self.identify()
        self.setWindowTitle(f"Tidemill — {self.client.conn.url} ({self.version})")
        if self.connected is False:
            spawn(self.refresh_current())
        self.connected = True
        return True

    async def identify(self) -> bool:
        """Whether the user is an operator, asking the daemon once. Operators get run forms
        instead of editors and no New… buttons (the API would refuse their edits anyway)."""
        if self.me is None:
            try:
                self.me = await self.client.whoami()
            except ClientError:
                return False  # asked again on the next ping or open
            operator = bool(self.me.get("operator"))
            for button in (self.home.new_button, self.home.new_flow_button,
                           self.home.new_app_button):
                button.setVisible(not operator)
        return bool(self.me.get("operator"))

    async def _open_run_form(self, kind: str, path: str) -> None:
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)
        await self.run_form.load(kind, path)
        self.stack.setCurrentWidget(self.run_form)

    def closeEvent(self, event: Any) -> None:
        if self.may_leave():
            event.accept()
        else:
            event.ignore()

    def unsaved_work(self) -> Any:
        """The editor (script view or flow designer) on screen with edits not saved, if any."""
        current = self.stack.currentWidget()
        for editor in (self.script, self._flow):
            if editor is not None and editor.has_unsaved_changes() and current is editor:
                return editor
        return None

    def may_leave(self) -> bool:
        """Before another view replaces an editor with unsaved edits: ask whether to discard
        them. True to go on (nothing unsaved, or discarded), False to stay."""
        editor = self.unsaved_work()
        if editor is None:
            return True
        what = f"the flow {editor.path}" if editor is self._flow else \
            f"the script {editor.path}"
        box = QMessageBox(QMessageBox.Icon.Warning, "Discard changes?",
                          f"Your changes to {what} are not saved (deployed). Discard them?",
                          parent=self)
        box.setObjectName("discardPrompt")
        discard = box.addButton("Discard changes", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        discarded = box.clickedButton() is discard
        box.setParent(None)  # one prompt at a time among the window's children
        box.deleteLater()
        if not discarded:
            return False
        editor.forget_changes()
        return True

    def _nav_changed(self, row: int) -> None:
        if not self.may_leave():
            # stay: the list goes back to the entry of the editor still on screen
            self.nav.blockSignals(True)
            current = self.stack.currentWidget()
            self.nav.setCurrentRow(1 if current is self.job else 0)  # editors sit under row 0
            self.nav.blockSignals(False)
            return
        self.stack.setCurrentWidget(self.nav_widgets()[row])
        spawn(self.refresh_current())

    async def refresh_current(self) -> None:
        current = self.stack.currentWidget()
        try:
            if current in self.nav_widgets():
                await current.refresh()  # type: ignore[attr-defined]
        except ClientError as exc:
            self._show_unreachable(exc)
            if current is not None and hasattr(current, "empty") and hasattr(current, "stack"):
                current.empty.setText("Waiting for the daemon…\n\n"
                                      "This list fills in as soon as it answers.")
                current.stack.setCurrentWidget(current.empty)

    def _show_unreachable(self, exc: ClientError) -> None:
        hint = f"  Hint: {exc.hint}" if exc.hint else ""
        self.banner.setText(f"⚠  {exc.message} — retrying every {PING_SECONDS:.0f} s.{hint}")
        self.banner.setVisible(True)

    def show_view(self, name: str) -> None:
        self.nav.setCurrentRow(NAV_VIEWS.index(name))

    def open_item(self, kind: str, path: str) -> None:
        """Open what the workspace tree shows at `path`, in the view that edits it."""
        if kind == "script":
            spawn(self.open_script(path))
        elif kind == "flow":
            spawn(self.open_flow(path))
        elif kind in ("resource", "variable", "schedule"):
            spawn(self._open_in(kind, path))
        elif kind in ("app", "app-builder"):
            self.open_app(path, builder=kind == "app-builder")

    def open_app(self, path: str, *, builder: bool = False) -> QMainWindow:
        """An app in its own window: run mode, or the builder."""
        from desktop_app.gui.apps.builder import AppBuilderWindow
        from desktop_app.gui.apps.run_window import AppRunWindow

        window: AppRunWindow | AppBuilderWindow
        if builder:
            window = AppBuilderWindow(self.client)
        else:
            window = AppRunWindow(self.client, lambda p: self.open_app(p, builder=True))
        self.app_windows = [w for w in getattr(self, "app_windows", []) if w.isVisible()]
        self.app_windows.append(window)
        window.show()
        spawn(window.load(path))
        return window

    async def _open_in(self, kind: str, path: str) -> None:
        view = "schedules" if kind == "schedule" else "resources"
        if self.stack.currentWidget() is not self.nav_widgets()[NAV_VIEWS.index(view)]:
            await self.goto(view)
        if kind == "schedule":
            found = next((s for s in self.schedules.schedules if s["path"] == path), None)
            if found:
                self.schedules.editor.edit(found)
                await self.schedules.editor.update_preview()
        elif kind == "resource":
            self.resources.tabs.setCurrentIndex(0)
            await self.resources.resource_editor.edit(path)
        else:
            self.resources.tabs.setCurrentIndex(1)
            found = next((v for v in self.resources.variables if v["path"] == path), None)
            if found:
                self.resources.variable_editor.edit(found)

    async def open_flow(self, path: str) -> None:
        if not self.may_leave():
            return
        if await self.identify():
            await self._open_run_form("flow", path)
            return
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)
        self.stack.setCurrentWidget(self.flow)
        await self.flow.load(path)

    def new_script(self, path: str, language: str) -> None:
        if not self.may_leave():
            return
        self.script.new_script(path, language)
        self.stack.setCurrentWidget(self.script)
        self.script.editor.setFocus()

    async def open_script(self, path: str) -> None:
        if not self.may_leave():
            return
        if await self.identify():
            await self._open_run_form("script", path)
            return
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(0)
        self.nav.blockSignals(False)
        await self.script.load(path)
        self.stack.setCurrentWidget(self.script)

    def open_job(self, job_id: str) -> None:
        spawn(self.show_job(job_id))

    async def show_job(self, job_id: str) -> None:
        if not self.may_leave():
            return
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
            self.stack.setCurrentWidget(self.nav_widgets()[NAV_VIEWS.index(view)])
            await self.ping()
            await self.refresh_current()
            if view == "triggers" and path:  # --path <kind>/<trigger path>
                kind, _, trigger = path.partition("/")
                await self.triggers.open(kind, trigger)
            elif path and view == "schedules":
                await self._open_in("schedule", path)
            elif path and view == "resources":
                kind = "variable" if any(v["path"] == path for v in self.resources.variables) \
                    else "resource"
                await self._open_in(kind, path)


def _application(theme: str) -> QApplication:
    """The process's QApplication, themed, with cycle collection kept on the GUI thread
    (gc_guard.py says why): every entry point that owns the process comes through here."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Tidemill")
    apply_theme(app, theme)
    if app.findChild(GuiThreadCollector) is None:
        GuiThreadCollector(app).start()
    return app


def _phase(name: str, **extra: Any) -> None:
    """Start-up timing for tests/benchmarks/bench_gui_startup.py (seconds since its T0)."""
    t0 = os.environ.get("TIDEMILL_T0")
    if t0:
        print(json.dumps({"phase": name, "t": round(time.time() - float(t0), 3), **extra}),
              flush=True)


def run_gui(conn: Connection, theme: str = "light", home: Path | None = None) -> int:
    """The foreground desktop app; returns when the window closes. With `home`, a local
    daemon that does not answer is started first (with a progress window)."""
    _phase("imported")
    app = _application(theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    app.setQuitOnLastWindowClosed(False)  # the progress window closing is not the end

    async def main() -> int:
        nonlocal conn
        _phase("qt")
        if home is not None:
            from desktop_app.client.daemon_process import DaemonStartError
            from desktop_app.gui.first_run import first_run, is_first_run
            from desktop_app.gui.startup import ensure_daemon

            try:
                if is_first_run(home):
                    conn = await first_run(home, conn)
                else:
                    conn = await ensure_daemon(home, conn)
            except DaemonStartError as exc:
                from PySide6.QtWidgets import QMessageBox

                QMessageBox.critical(None, "Tidemill could not start",
                                     f"{exc.message}\n\n{exc.hint}")
                return 1
            closed.clear()
        _phase("app")
        async with TidemillClient(conn) as client:
            window = MainWindow(client)
            window.show()
            _phase("window")
            window.start()
            if os.environ.get("TIDEMILL_GUI_EXIT_WHEN_READY"):  # start-up benchmark
                await window.refresh_current()
                _phase("ready", items=len(window.home.items))
                window.close()
                return 0
            await closed.wait()
        return 0

    with loop:
        return loop.run_until_complete(main())


def screenshot(conn: Connection, out: Path, view: str, path: str | None = None,
               theme: str = "light") -> None:
    """Render `view` at 1280x800 against the daemon at `conn` and save it as PNG."""
    from desktop_app.gui.apps import entry as app_views

    if view in app_views.APP_VIEWS:
        app_views.screenshot(conn, out, view, path, theme)
        return
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: one of {', '.join(ALL_VIEWS)}")

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
            window.hide()
            await cancel_pending()  # before the client closes under work still loading

    with loop:
        loop.run_until_complete(main())
