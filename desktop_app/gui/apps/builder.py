"""The app builder: palette, grid canvas, property and runnables panels, preview, undo/redo
and save (deploy through the daemon).

Edits are commands of the plain-Python model (desktop_app.apps.commands) on one undo stack;
after each, the canvas and panels are rebuilt from the model. The canvas shows components
as they will look, with the data of the last preview run. Preview runs the *unsaved*
definition (a script or flow by path, inline code as a preview job): the builder's user may
run code; operators never get here (the run window offers no Edit for them).
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.apps import commands
from desktop_app.apps.evaluation import AppSession, RunOutcome
from desktop_app.apps.model import AppDefinition, Component, Runnable
from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.core.errors import UsageError
from desktop_app.gui.apps.base import ComponentView
from desktop_app.gui.apps.builder_canvas import BuilderCanvas, Palette
from desktop_app.gui.apps.canvas import GridCanvas, make_view
from desktop_app.gui.apps.property_panel import PropertyPanel
from desktop_app.gui.apps.run_window import AppSurface
from desktop_app.gui.apps.runnable_panel import RunnablePanel


class _DesignHost:
    """The host of the canvas' views: they show the state, nothing runs from them."""

    def __init__(self, builder: AppBuilderWindow) -> None:
        self.builder = builder

    @property
    def session(self) -> AppSession:
        return self.builder.session

    @property
    def schemas(self) -> dict[str, Any]:
        return self.builder.schemas

    def set_value(self, component_id: str, key: str, value: Any) -> None:
        pass

    def run(self, runnable_id: str, extra_args: dict[str, Any] | None = None,
            source: str | None = None) -> None:
        pass

    def child_canvas(self, children: list[Component]) -> QWidget:
        canvas = GridCanvas()
        for c in children:
            view = make_view(c, self)  # type: ignore[arg-type]
            self.builder.design_views[c.id] = view
            canvas.place(view, c.geometry)
            view.refresh()
        return canvas


class AppBuilderWindow(QMainWindow):
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.path = ""
        self.app = AppDefinition()
        self.stack = commands.UndoStack(self.app)
        self.schemas: dict[str, Any] = {}
        self.deployed: list[tuple[str, str]] = []
        self.design_views: dict[str, ComponentView] = {}
        self.session = AppSession(self.app, self._run_unsaved)
        self.preview: AppSurface | None = None
        self.saved_path = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self.resize(1280, 800)
        self._build()

    # -- layout --------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        bar = QWidget()
        bar.setObjectName("appBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 6, 12, 6)
        self.title = QLabel("New app")
        self.title.setObjectName("heading")
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.preview_button = QPushButton("Preview")
        self.preview_button.setCheckable(True)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("appButton")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.preview_button.toggled.connect(lambda on: self._spawn(self.set_preview(on)))
        self.save_button.clicked.connect(lambda: self._spawn(self.save()))
        row.addWidget(self.title)
        row.addWidget(self.status, 1)
        for b in (self.undo_button, self.redo_button, self.preview_button, self.save_button):
            row.addWidget(b)
        outer.addWidget(bar)
        for text, keys, slot in (("Undo", QKeySequence.StandardKey.Undo, self.undo),
                                 ("Redo", QKeySequence.StandardKey.Redo, self.redo),
                                 ("Save", QKeySequence.StandardKey.Save,
                                  lambda: self._spawn(self.save()))):
            action = QAction(text, self)
            action.setShortcut(keys)
            action.triggered.connect(slot)
            self.addAction(action)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 0, 8)
        heading = QLabel("Components")
        heading.setObjectName("appLabel")
        left_layout.addWidget(heading)
        self.kinds_list = Palette()
        self.kinds_list.itemDoubleClicked.connect(
            lambda item: self.add_component(str(item.data(Qt.ItemDataRole.UserRole))))
        left_layout.addWidget(self.kinds_list, 1)
        hint = QLabel("Drag onto the grid,\nor double-click.")
        hint.setObjectName("muted")
        left_layout.addWidget(hint)
        split.addWidget(left)

        self.center = QStackedWidget()
        self.canvas = BuilderCanvas(self.app, self.push, self._make_views)
        self.canvas.selection_changed.connect(self._selected)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.canvas)
        self.canvas_scroll = scroll
        self.center.addWidget(scroll)
        split.addWidget(self.center)

        self.side = QTabWidget()
        self.properties = PropertyPanel(self.app, self.push, lambda cid: self.canvas.select(cid))
        props_scroll = QScrollArea()
        props_scroll.setWidgetResizable(True)
        props_scroll.setWidget(self.properties)
        self.runnables = RunnablePanel(self.app, self.push, lambda: self.deployed)
        runs_scroll = QScrollArea()
        runs_scroll.setWidgetResizable(True)
        runs_scroll.setWidget(self.runnables)
        self.side.addTab(props_scroll, "Properties")
        self.side.addTab(runs_scroll, "Runnables")
        split.addWidget(self.side)
        split.setSizes([170, 750, 360])
        split.setStretchFactor(1, 1)
        outer.addWidget(split, 1)
        self.setCentralWidget(central)
        self._refresh_buttons()

    def _make_views(self, canvas: GridCanvas) -> None:
        self.design_views = {}
        host = _DesignHost(self)
        for c in self.app.components:
            view = make_view(c, host)  # type: ignore[arg-type]
            self.design_views[c.id] = view
            canvas.place(view, c.geometry)
            view.refresh()

    # -- loading and saving ---------------------------------------------------------------
    async def load(self, path: str) -> bool:
        """Open the app at `path`, or start a new one there when none exists."""
        try:
            body = await self.client.get_app(path)
        except ClientError as exc:
            if exc.status != 404:
                self._say(f"cannot open {path}: {exc.message}", error=True)
                return False
            self.set_document(path, AppDefinition().document)
            self.saved_path = ""
            self._say(f"new app: nothing is stored at {path} yet")
            await self._load_deployed()
            return True
        if body.get("code_visible") is False:  # the daemon withholds the code: not an editor
            self._say(f"cannot edit {path}: you may run this app but not change it or read "
                      "its code (ask an admin or the folder's owner for write access)",
                      error=True)
            return False
        app = AppDefinition.from_api(body)
        if app.foreign_format():
            self._say(f"cannot edit {path}: {app.foreign_format()}", error=True)
            return False
        self.set_document(path, app.document)
        self.saved_path = path
        self.schemas = body.get("schemas") or {}
        self._refresh_buttons()
        await self._load_deployed()
        await self.run_on_load()
        return True

    def set_document(self, path: str, document: dict[str, Any]) -> None:
        """Edit `document` (e.g. read from an app.yaml) as the app at `path`."""
        self.path = path
        self.app = AppDefinition(document)
        self.stack = commands.UndoStack(self.app)
        self.session = AppSession(self.app, self._run_unsaved)
        self.canvas.app = self.properties.app = self.runnables.app = self.app
        self.canvas.selected = ""
        self.title.setText(f"{self.app.summary or 'App'} — {path}")
        self.setWindowTitle(f"{path} — Tidemill app builder")
        self._changed()

    async def _load_deployed(self) -> None:
        try:
            scripts = await self.client.list_scripts()
            flows = await self.client.list_flows()
        except ClientError:
            return
        self.deployed = [("script", s["path"]) for s in scripts] + \
            [("flow", f["path"]) for f in flows]

    async def run_on_load(self) -> None:
        """Run what runs on load, so the canvas shows real data."""
        await self.session.start()
        self.canvas.rebuild()

    async def save(self) -> bool:
        try:
            self.app.validate()
        except UsageError as exc:
            self._say(f"not saved: {exc.message}", error=True)
            return False
        try:
            await self.client.save_app(self.path, self.app.document)
            body = await self.client.get_app(self.path)
        except ClientError as exc:
            self._say(f"not saved: {exc.message}", error=True)
            return False
        self.schemas = body.get("schemas") or {}
        self.stack.set_clean()
        self.saved_path = self.path
        self._say(f"saved {self.path} (version {body.get('id')})")
        self._refresh_buttons()
        return True

    # -- editing ---------------------------------------------------------------------------
    def push(self, command: commands.Command) -> None:
        try:
            self.stack.push(command)
        except UsageError as exc:
            self._say(exc.message, error=True)
            return
        self._say("")
        self._changed()

    def undo(self) -> None:
        if self.stack.undo() is not None:
            self._changed()

    def redo(self) -> None:
        if self.stack.redo() is not None:
            self._changed()

    def add_component(self, kind: str, x: int = 0, y: int | None = None,
                      parent: str | None = None) -> str:
        """Add a component (the palette's double-click: below everything)."""
        if y is None:
            y = max([c.geometry[1] + c.geometry[3] for c in self.app.components] + [0])
        command = commands.AddComponent(kind, x, y, parent=parent)
        self.push(command)
        self.canvas.select(command.component_id)
        return command.component_id

    def _changed(self) -> None:
        self.session.state.sync()
        self.canvas.rebuild()
        self.properties.show_component(self.canvas.selected)
        self.runnables.reload()
        self._refresh_buttons()

    def _selected(self, component_id: str) -> None:
        self.properties.show_component(component_id)
        if component_id:
            self.side.setCurrentIndex(0)

    def _refresh_buttons(self) -> None:
        self.undo_button.setEnabled(self.stack.can_undo())
        self.redo_button.setEnabled(self.stack.can_redo())
        dirty = "" if self.stack.is_clean() and self.saved_path == self.path else " •"
        self.save_button.setText("Save" + dirty)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setObjectName("fieldError" if error else "muted")
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # -- preview ----------------------------------------------------------------------------
    async def set_preview(self, on: bool) -> None:
        if self.preview is not None:
            self.center.removeWidget(self.preview)
            self.preview.deleteLater()
            self.preview = None
        if not on:
            self.center.setCurrentIndex(0)
            self.canvas.rebuild()
            return
        await self._refresh_schemas()
        self.preview = AppSurface(self.app, self._run_unsaved, self.schemas)
        self.center.addWidget(self.preview)
        self.center.setCurrentWidget(self.preview)
        await self.preview.start()

    async def _refresh_schemas(self) -> None:
        for r in self.app.runnables:
            try:
                if r.type == "inline" and r.content is not None:
                    self.schemas[r.id] = (await self.client.parse_schema(
                        r.content, r.language or "python3")).get("schema")
                elif r.type == "script" and r.path:
                    script = await self.client.get_script(r.path)
                    self.schemas[r.id] = await self._in_signature_order(script)
                elif r.type == "flow" and r.path:
                    self.schemas[r.id] = (await self.client.get_flow(r.path)).get("schema")
            except ClientError:
                self.schemas[r.id] = None

    async def _in_signature_order(self, script: dict[str, Any]) -> Any:
        """The stored schema (its keys come back sorted) in the order the code declares."""
        schema = script.get("schema")
        if not isinstance(schema, dict) or schema.get("order") or \
                not isinstance(schema.get("properties"), dict):
            return schema
        parsed = await self.client.parse_schema(script.get("content") or "",
                                                script.get("language") or "python3")
        declared = list((parsed.get("schema") or {}).get("properties") or {})
        names = list(schema["properties"])
        return {**schema, "order": [n for n in declared if n in names] +
                [n for n in names if n not in declared]}

    async def _run_unsaved(self, r: Runnable, args: dict[str, Any]) -> RunOutcome:
        if r.type == "inline":
            out = await self.client.run_preview(r.content or "", r.language or "python3", args)
        else:
            out = await self.client.run_wait(r.path or "", args,
                                             kind="flow" if r.type == "flow" else "script")
        return RunOutcome(out.success, out.result, out.job_id)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self.preview is not None:
            await self.preview.idle()

