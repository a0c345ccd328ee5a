"""The flow designer view: the graph with its toolbar, the side panels, the YAML tab,
saving (deploying through the client) and running with live node states."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.core.errors import UsageError
from desktop_app.flowgraph.commands import (
    AddBranch,
    Command,
    DeleteStep,
    DuplicateStep,
    InsertStep,
    MoveStep,
    ReplaceFlow,
    SetFlowProperty,
    SetStepProperty,
    UndoStack,
    WrapInLoop,
)
from desktop_app.flowgraph.layout import InsertPoint, layout
from desktop_app.flowgraph.model import FlowDocument, ListRef, new_id, step_value
from desktop_app.flowgraph.run_status import RunView, child_job_ids, run_view
from desktop_app.flowgraph.step_args import NotTestable, step_args
from desktop_app.flowgraph.steps import KINDS, TEMPLATES, new_step
from desktop_app.flowgraph.validation import find_problems, problems_by_step, step_schema
from desktop_app.flows.model import InvalidFlow, validate_flow
from desktop_app.gui.flow_designer.canvas import FlowCanvas, FlowScene
from desktop_app.gui.flow_designer.inputs_panel import InputsPanel
from desktop_app.gui.flow_designer.step_panel import StepPanel
from desktop_app.gui.flow_designer.yaml_view import YamlView
from desktop_app.gui.schema_form import SchemaForm
from desktop_app.gui.tasks import spawn

# Keys of get_flow's answer that describe the stored version, not the flow.
_SERVER_KEYS = ("workspace_id", "path", "archived", "edited_by", "edited_at", "version_id",
                "extra_perms")
POLL_SECONDS = 0.4


def flow_form(schema: dict[str, Any] | None, client: TidemillClient | None,
              empty: str) -> SchemaForm:
    """The run form of a flow (the shared form says "script" when there are no fields)."""
    form = SchemaForm(schema, client)
    if not form.fields:
        for label in form.findChildren(QLabel):
            label.setText(empty)
    return form


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(widget)
    return area


class FlowDesigner(QWidget):
    canvas: FlowCanvas  # made in _build, after the buttons that refer to it
    def __init__(self, client: TidemillClient) -> None:
        super().__init__()
        self.client = client
        self.path = ""
        self.doc = FlowDocument.empty()
        self.stack = UndoStack(self.doc)
        self.run: RunView | None = None
        self.run_job_id: str | None = None
        self.selected: str | None = None
        self.problems: dict[str | None, list[str]] = {}
        self.schemas: dict[str, dict[str, Any]] = {}
        self._fetching: set[str] = set()
        self._poller: asyncio.Task[Any] | None = None
        self._shown_run: tuple[Any, str] | None = None
        self._run_form_schema: Any = None
        self.deployed = False
        self._build()
        self._shortcuts()
        self.refresh()

    # -- widgets -------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 4)
        top = QHBoxLayout()
        self.title = QLabel("New flow")
        self.title.setObjectName("heading")
        top.addWidget(self.title)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("f/folder/name")
        self.path_edit.setFixedWidth(220)
        self.path_edit.editingFinished.connect(lambda: setattr(self, "path",
                                                               self.path_edit.text().strip()))
        top.addWidget(self.path_edit)
        top.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for name, text, tip, slot in [
            ("undo", "↶ Undo", "Undo (Ctrl+Z)", self.undo),
            ("redo", "↷ Redo", "Redo (Ctrl+Shift+Z)", self.redo),
            ("zoom_out", "-", "Zoom out (Ctrl+wheel)", lambda: self.canvas.zoom_by(1 / 1.2)),
            ("zoom_in", "+", "Zoom in (Ctrl+wheel)", lambda: self.canvas.zoom_by(1.2)),
            ("fit", "Fit", "Fit the flow in view (Ctrl+0)", lambda: self.canvas.fit()),
            ("save", "Save", "Deploy this flow (Ctrl+S)", lambda: spawn(self.save())),
            ("run", "▶ Run", "Save and run with the inputs of the Run tab",
             lambda: spawn(self.run_flow())),
        ]:
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            if name in ("zoom_in", "zoom_out"):
                button.setFixedWidth(30)
            self.buttons[name] = button
            top.addWidget(button)
            if name == "zoom_in":
                self.zoom_label = QLabel("100 %")
                self.zoom_label.setFixedWidth(48)
                top.addWidget(self.zoom_label)
        outer.addLayout(top)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs, 1)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        outer.addWidget(self.status)

        self.scene = FlowScene(self)
        self.canvas = FlowCanvas(self.scene)
        self.scene.nodeClicked.connect(self.select)
        self.scene.insertRequested.connect(self._insert_menu)
        self.canvas.moveRequested.connect(self.move_step)
        self.canvas.contextRequested.connect(self._context_menu)
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.step_panel = StepPanel(self)
        self.inputs_panel = InputsPanel(self.set_schema)
        self.run_panel = QWidget()
        run_lay = QVBoxLayout(self.run_panel)
        self.run_form_holder = QVBoxLayout()
        run_lay.addLayout(self.run_form_holder)
        self.run_form = SchemaForm(None)
        self.run_form_holder.addWidget(self.run_form)
        run_button = QPushButton("▶ Run flow")
        run_button.clicked.connect(lambda: spawn(self.run_flow()))
        run_lay.addWidget(run_button)
        self.run_status = QLabel("Not run yet.")
        self.run_status.setWordWrap(True)
        run_lay.addWidget(self.run_status)
        self.run_result = QPlainTextEdit()
        self.run_result.setReadOnly(True)
        self.run_result.setObjectName("flowResult")
        run_lay.addWidget(self.run_result, 1)
        self.side = QTabWidget()
        self.side.addTab(_scrolled(self.step_panel), "Step")
        self.side.addTab(_scrolled(self.inputs_panel), "Flow inputs")
        self.side.addTab(self.run_panel, "Run")
        self.side.setMinimumWidth(380)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.canvas)
        split.addWidget(self.side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([760, 420])
        self.split = split
        self.yaml = YamlView()
        self.tabs.addTab(split, "Graph")
        self.tabs.addTab(self.yaml, "YAML")
        self.tabs.currentChanged.connect(self._tab_changed)

    def _shortcuts(self) -> None:
        shortcuts: list[tuple[QKeySequence | QKeySequence.StandardKey, Callable[[], Any]]] = [
            (QKeySequence.StandardKey.Undo, self.undo),
            (QKeySequence("Ctrl+Shift+Z"), self.redo), (QKeySequence("Ctrl+Y"), self.redo),
            (QKeySequence("Ctrl+S"), lambda: spawn(self.save())),
            (QKeySequence("Ctrl+0"), lambda: self.canvas.fit()),
            (QKeySequence("Ctrl+D"), lambda: self.selected and self.duplicate_step(self.selected)),
        ]
        for keys, slot in shortcuts:
            shortcut = QShortcut(keys, self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        delete = QShortcut(QKeySequence.StandardKey.Delete, self.canvas)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(lambda: self.selected and self._deletable(self.selected)
                                 and self.delete_step(self.selected))

    # -- opening -------------------------------------------------------------------------

    def open_document(self, flow: dict[str, Any], path: str) -> None:
        """Show `flow` (an OpenFlow dict, kept as it is) as the flow at `path`."""
        self.doc = FlowDocument(flow)
        self.stack = UndoStack(self.doc)
        self.path = path
        self.path_edit.setText(path)
        self.run = None
        self.run_job_id = None
        self.selected = None
        self.deployed = False
        self._run_form_schema = None  # a new flow: a fresh run form
        self.run_status.setText("Not run yet.")
        self.run_result.setPlainText("")
        self.tabs.setCurrentIndex(0)
        self.refresh()
        self.canvas.show_top()
        self.select("input")

    def has_unsaved_changes(self) -> bool:
        """Edits made since the flow was opened or saved (leaving would lose them)."""
        return bool(self.stack.dirty)

    def forget_changes(self) -> None:
        self.stack.mark_clean()

    async def load(self, path: str) -> None:
        """Open the flow deployed at `path`, or a new empty flow there if none is."""
        try:
            stored = await self.client.get_flow(path)
        except ClientError as exc:
            if exc.status != 404:
                self.status.setText(f"⚠ Could not open {path}: {exc.message}"
                                    + (f" — {exc.hint}" if exc.hint else ""))
                raise
            self.open_document(FlowDocument.empty().flow, path)
            self.status.setText(f"New flow: nothing is deployed at {path} yet. Save deploys it.")
            return
        flow = {k: v for k, v in stored.items() if k not in _SERVER_KEYS}
        for key in ("summary", "description"):
            if flow.get(key) is None:
                flow.pop(key, None)
        if flow.get("schema") is None:
            flow.pop("schema", None)
        self.open_document(flow, path)
        self.deployed = True
        await self.show_last_run()

    async def show_last_run(self) -> None:
        """Colour the nodes with the flow's most recent run (followed if still going)."""
        try:
            jobs = await self.client.list_jobs(script_path_exact=self.path, job_kinds="flow",
                                               per_page=20)
        except ClientError as exc:
            self.run_status.setText(f"Could not read the last run: {exc.message}")
            return
        top = [j for j in jobs if not j.get("parent_job")]
        if not top:
            return
        self.run_job_id = str(top[0]["id"])
        view = await self.poll(self.run_job_id)
        waiting = [sid for sid, state in view.states.items() if state == "suspended"]
        if waiting:  # what the run needs from the user: show its Approve / Reject
            self.select_and_show(waiting[0])
        if not view.finished:
            self._poller = spawn(self.follow(self.run_job_id))

    # -- refreshing ----------------------------------------------------------------------

    def refresh(self, rebuild_panel: bool = True) -> None:
        """Redraw the graph (and panels) from the model after any change."""
        self.problems = problems_by_step(find_problems(self.doc, self.schemas))
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        if self.selected is not None and self.selected not in ("input", "result") and \
                self.selected not in self.doc.ids():
            self.selected = None
        self.scene.build(layout(self.doc), self.problems,
                         self.run.states if self.run else None, self.selected)
        self.canvas.centerOn(center)
        self.canvas.minimap.refresh(rebuild=True)
        summary = self.doc.flow.get("summary")
        self.title.setText(str(summary) if summary else "Flow")
        if rebuild_panel:
            self._show_panel()
            self.inputs_panel.show_schema(self.doc.flow.get("schema"))
            self._rebuild_run_form()
        self.buttons["undo"].setEnabled(bool(self.stack.done))
        self.buttons["redo"].setEnabled(bool(self.stack.undone))
        count = sum(len(v) for v in self.problems.values())
        parts = [f"{len(self.doc.ids())} steps",
                 f"⚠ {count} problem{'s' if count != 1 else ''}" if count else "no problems",
                 "unsaved changes" if self.stack.dirty else "saved"]
        if self.run_job_id:
            parts.append(f"last run {self.run_job_id[:8]}")
        self.status.setText(" · ".join(parts))

    def _show_panel(self) -> None:
        if self.selected in (None, "result"):
            self.step_panel.show_step(None)
        elif self.selected == "input":
            self.side.setCurrentIndex(1)
        else:
            self.step_panel.show_step(self.selected)

    def _rebuild_run_form(self) -> None:
        """A new run form only when the inputs changed, so typed values stay."""
        schema = self.doc.flow.get("schema")
        if schema == self._run_form_schema and self._run_form_schema is not None:
            return
        self._run_form_schema = copy.deepcopy(schema)
        old = self.run_form
        self.run_form = flow_form(self.doc.flow.get("schema"), self.client,
                                  "This flow takes no inputs: press Run flow.")
        self.run_form_holder.replaceWidget(old, self.run_form)
        old.hide()  # kept parented until deleted: never a window of its own
        old.deleteLater()

    def select(self, key: str | None) -> None:
        if key == self.selected:
            return
        self.selected = key
        if key == "input":
            self.side.setCurrentIndex(1)
        elif key == "result":
            self.side.setCurrentIndex(2)
        elif key is not None:
            self.side.setCurrentIndex(0)
            self.step_panel.show_step(key)
            self._fetch_schema(key)

    # -- the panels' host interface ------------------------------------------------------

    def push(self, command: Command, *, from_panel: bool = False) -> bool:
        """Do `command` as one undoable edit; False (after saying why) if refused."""
        if not from_panel:
            self.step_panel.commit_code()  # code typed just before is its own edit, first
        try:
            self.stack.push(command)
        except UsageError as exc:
            self.status.setText(f"⚠ {exc.message}")
            return False
        self.refresh(rebuild_panel=not from_panel)
        if isinstance(command, SetStepProperty) and command.keys == ("value", "path"):
            self._fetch_schema(command.step_id)  # its inputs come from the script's schema
        if from_panel and self.step_panel.step_id is not None:
            # The panel's widgets stay (the user is typing); only its problems change.
            self.step_panel.show_problems(self.problems_of(self.step_panel.step_id))
        return True

    def completion_names(self, step_id: str | None) -> list[str]:
        names = [f"flow_input.{n}" for n in (self.doc.flow.get("schema") or {}).get(
            "properties") or {}]
        if step_id is not None and step_id in self.doc.ids():
            try:
                names += [f"results.{i}" for i in self.doc.ids_before(step_id)]
                ref, _i = self.doc.locate(step_id)
                if ref.owner is not None:
                    names += ["flow_input.iter.value", "flow_input.iter.index"]
            except UsageError:
                pass
        return [*names, "previous_result", "result"]

    def schema_of(self, step: dict[str, Any]) -> dict[str, Any] | None:
        return step_schema(step, self.schemas)

    def problems_of(self, step_id: str) -> list[str]:
        return self.problems.get(step_id, [])

    def _fetch_schema(self, step_id: str) -> None:
        try:
            value = step_value(self.doc.module(step_id))
        except UsageError:
            return
        path, kind = str(value.get("path") or ""), value.get("type")
        if kind not in ("script", "flow") or not path or path in self.schemas \
                or path in self._fetching:
            return
        self._fetching.add(path)

        async def fetch() -> None:
            try:
                item = await (self.client.get_script(path) if kind == "script"
                              else self.client.get_flow(path))
            except ClientError:
                return
            finally:
                self._fetching.discard(path)
            self.schemas[path] = item.get("schema") or {}
            self.refresh(rebuild_panel=self.step_panel.step_id == step_id)
        spawn(fetch())

    # -- edits (what the "+" menu, context menu and shortcuts call) --------------------

    def insert_step(self, ref: ListRef, index: int, kind: str, **options: Any) -> str | None:
        step_id = options.pop("step_id", None) or new_id(self.doc.ids())
        step = new_step(kind, step_id, **options)
        if self.push(InsertStep(ref, index, step)):
            self.select_and_show(step_id)
            return step_id
        return None

    def select_and_show(self, step_id: str) -> None:
        self.selected = None
        self.select(step_id)
        node = self.scene.nodes.get(step_id)
        if node is not None:
            self.scene.blockSignals(True)
            self.scene.clearSelection()
            node.setSelected(True)
            self.scene.blockSignals(False)
            self.canvas.ensureVisible(node, 40, 40)

    def delete_step(self, step_id: str) -> bool:
        return self.push(DeleteStep(step_id))

    def duplicate_step(self, step_id: str) -> str | None:
        command = DuplicateStep(step_id)
        return command.new_id if self.push(command) else None

    def move_step(self, step_id: str, point: InsertPoint) -> bool:
        ref, index = self.doc.locate(step_id)
        target = point.index
        if point.ref == ref and point.index > index:
            target -= 1  # counted after the step leaves its place
        if point.ref == ref and target == index:
            return False
        return self.push(MoveStep(step_id, point.ref, target))

    def move_by(self, step_id: str, delta: int) -> bool:
        ref, index = self.doc.locate(step_id)
        target = index + delta
        if not 0 <= target < len(self.doc.steps(ref)):
            return False
        return self.push(MoveStep(step_id, ref, target))

    def wrap_in_loop(self, step_id: str) -> bool:
        return self.push(WrapInLoop(step_id))

    def set_schema(self, schema: dict[str, Any]) -> None:
        self.push(SetFlowProperty(("schema",), schema))

    def undo(self) -> None:
        self.step_panel.commit_code()
        if self.stack.undo():
            self.refresh()

    def redo(self) -> None:
        if self.stack.redo():
            self.refresh()

    def _deletable(self, step_id: str) -> bool:
        return step_id not in ("input", "result")

    def _insert_menu(self, point: InsertPoint, screen_pos: Any) -> None:
        menu = self.insert_menu(point)
        menu.popup(screen_pos if isinstance(screen_pos, QPoint) else QPoint(0, 0))

    def insert_menu(self, point: InsertPoint) -> QMenu:
        menu = QMenu(self)
        scripts = menu.addMenu("Inline script")
        for language in TEMPLATES:
            action = QAction(language, scripts)
            action.triggered.connect(lambda _=False, lang=language: self.insert_step(
                point.ref, point.index, "rawscript", language=lang))
            scripts.addAction(action)
        for kind, text in KINDS.items():
            if kind == "rawscript":
                continue
            action = QAction(text, menu)
            action.triggered.connect(lambda _=False, k=kind: self.insert_step(
                point.ref, point.index, k))
            menu.addAction(action)
        return menu

    def _context_menu(self, step_id: str, screen_pos: QPoint) -> None:
        self.context_menu(step_id).popup(screen_pos)

    def context_menu(self, step_id: str) -> QMenu:
        menu = QMenu(self)
        entries: list[tuple[str, Any]] = [
            ("Duplicate", lambda: self.duplicate_step(step_id)),
            ("Move up", lambda: self.move_by(step_id, -1)),
            ("Move down", lambda: self.move_by(step_id, 1)),
            ("Wrap in a for loop", lambda: self.wrap_in_loop(step_id)),
        ]
        if step_value(self.doc.module(step_id)).get("type") in ("branchone", "branchall"):
            entries.append(("Add branch", lambda: self.push(AddBranch(step_id))))
        entries.append(("Delete", lambda: self.delete_step(step_id)))
        for text, slot in entries:
            action = QAction(text, menu)
            action.triggered.connect(lambda _=False, s=slot: s())
            menu.addAction(action)
        return menu

    # -- YAML ------------------------------------------------------------------------------

    def _tab_changed(self, index: int) -> None:
        if index == 1:
            self.step_panel.commit_code()
            self.yaml.show_text(self.doc.to_yaml())
        elif not self.apply_yaml():
            self.tabs.blockSignals(True)
            self.tabs.setCurrentIndex(1)
            self.tabs.blockSignals(False)

    def apply_yaml(self) -> bool:
        """Take the YAML tab's edits into the graph; False (showing the line) if invalid."""
        if not self.yaml.changed():
            return True
        flow = self.yaml.parsed()
        if flow is None:
            return False
        self.push(ReplaceFlow(flow))
        self.yaml.shown = self.yaml.editor.toPlainText()
        return True

    # -- testing one step ----------------------------------------------------------------

    def test(self, step_id: str) -> None:
        spawn(self.test_step(step_id))

    async def test_step(self, step_id: str) -> Any:
        """Run this one step (its code as it is now) with inputs from the Run tab's form
        and the last run's results; shows and returns the outcome."""
        self.step_panel.commit_code()
        step = self.doc.module(step_id)
        value = step_value(step)
        flow_input = self.run_form.collect() or {}
        results = dict(self.run.results) if self.run else {}
        try:
            args = step_args(value.get("input_transforms") or {}, flow_input, results)
        except NotTestable as exc:
            self.step_panel.show_test(False, f"{exc.message}. {exc.hint or ''}".strip())
            return None
        self.step_panel.show_test(None, f"Testing with {json.dumps(args, default=str)[:200]}…")
        try:
            if value.get("type") == "rawscript":
                outcome = await self.client.run_preview(str(value.get("content") or ""),
                                                        str(value.get("language")), args)
            else:
                outcome = await self.client.run_wait(str(value.get("path")), args)
        except ClientError as exc:
            self.step_panel.show_test(False, f"Could not test: {exc.message}")
            return None
        text = json.dumps(outcome.result, indent=2, default=str)
        if self.step_panel.step_id == step_id:
            self.step_panel.show_test(outcome.success, "Succeeded" if outcome.success
                                      else "Failed", text)
        return outcome

    # -- saving and running --------------------------------------------------------------

    async def save(self) -> bool:
        self.step_panel.commit_code()
        if self.tabs.currentIndex() == 1 and not self.apply_yaml():
            return False
        self.path = self.path_edit.text().strip() or self.path
        if not self.path:
            self.status.setText("⚠ Give the flow a path (f/folder/name) before saving.")
            return False
        try:
            validate_flow(self.doc.flow)
        except InvalidFlow as exc:
            self.status.setText(f"⚠ Not saved: {exc.problems[0]}"
                                + (f" (and {len(exc.problems) - 1} more)"
                                   if len(exc.problems) > 1 else ""))
            return False
        try:
            await self.client.deploy_flow(self.path, copy.deepcopy(self.doc.flow))
        except ClientError as exc:
            self.status.setText(f"⚠ Not saved: {exc.message}")
            return False
        self.stack.mark_clean()
        self.deployed = True
        self.refresh(rebuild_panel=False)
        self.status.setText(f"Saved {self.path} · " + self.status.text())
        return True

    async def run_flow(self, args: dict[str, Any] | None = None) -> str | None:
        """Save if needed, start the flow with `args` (else the Run tab's form) and follow
        it; returns the job id."""
        if args is None:
            args = self.run_form.collect()
            if args is None:
                self.side.setCurrentIndex(2)
                self.run_status.setText("Fix the inputs marked in the form.")
                return None
        if (self.stack.dirty or not self.deployed) and not await self.save():
            return None
        try:
            job_id = await self.client.run_async(self.path, args, kind="flow")
        except ClientError as exc:
            self.run_status.setText(f"⚠ Could not start: {exc.message}")
            self.side.setCurrentIndex(2)
            return None
        self.run_job_id = job_id
        self.run = RunView()
        self.run_status.setText(f"Running {job_id}…")
        self.run_result.setPlainText("")
        if self._poller is not None:
            self._poller.cancel()
        self._poller = spawn(self.follow(job_id))
        return job_id

    async def follow(self, job_id: str) -> RunView:
        """Poll the flow job until it ends, updating the nodes each time."""
        while True:
            try:
                view = await self.poll(job_id)
            except (ClientError, RuntimeError) as exc:  # daemon gone, or the app closing
                self.run_status.setText(f"Stopped following the run: {exc}")
                raise asyncio.CancelledError from exc
            if view.finished:
                return view
            await asyncio.sleep(POLL_SECONDS)

    async def poll(self, job_id: str) -> RunView:
        job = await self.client.get_job(job_id, logs=False)
        jobs: dict[str, dict[str, Any]] = {}
        todo = list(child_job_ids(job))
        while todo:
            child_id = todo.pop()
            if child_id in jobs:
                continue
            jobs[child_id] = child = await self.client.get_job(child_id, logs=False)
            todo.extend(child_job_ids(child))
        view = run_view(job, jobs, self.doc)
        if job_id != self.run_job_id:
            return view
        self.run = view
        self.scene.set_states(view.states)
        self.canvas.minimap.refresh(rebuild=True)
        self._show_run(view)
        return view

    def _show_run(self, view: RunView) -> None:
        counts: dict[str, int] = {}
        for state in view.states.values():
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if view.finished:
            self.run_status.setText(("Succeeded" if view.success else "Failed")
                                    + f" ({summary})")
            self.run_result.setPlainText(json.dumps(view.result, indent=2, default=str))
        else:
            self.run_status.setText(f"Running… ({summary})")
        sid = self.selected
        if sid not in (None, "input", "result"):
            # Rebuild the step's panel only when what it shows of the run changed.
            shown = (view.states.get(str(sid)), json.dumps(view.results.get(str(sid)),
                                                            default=str))
            if shown != self._shown_run:
                self._shown_run = shown
                self.step_panel.show_step(sid)

    def answer(self, step_id: str, approve: bool) -> None:
        spawn(self.answer_approval(step_id, approve))

    async def answer_approval(self, step_id: str, approve: bool) -> bool:
        """Approve (resume, with the resume form's values when the step has one) or reject
        the run waiting at `step_id`."""
        if self.run is None or step_id not in self.run.step_jobs:
            self.status.setText("⚠ This step is not waiting for an approval.")
            return False
        payload: dict[str, Any] = {"approved": approve, "at": time.time()}
        form = self.step_panel.resume_form if self.step_panel.step_id == step_id else None
        if approve and form is not None:
            values = form.collect()
            if values is None:
                return False  # the form shows what is wrong
            payload = {**values, "approved": True}
        try:
            await self.client.answer_approval(self.run.step_jobs[step_id], approve, payload)
        except ClientError as exc:
            self.status.setText(f"⚠ {exc.message}")
            return False
        if self.run_job_id:
            await self.poll(self.run_job_id)
        return True
