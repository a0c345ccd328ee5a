"""Run mode: an app in its own window, as its users (operators too) see it.

The surface builds a view per component on the grid, runs the app's runnables through the
daemon (`apps_u/execute_component`: the deployed app's code, the caller's identity) and
shows loading, results, errors and messages. No editor and no code is offered here; the
Edit button appears only for a user the daemon shows the app's code to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_app.apps.evaluation import AppSession, RunOutcome
from desktop_app.apps.model import AppDefinition, Component, Runnable
from desktop_app.apps.windmill_grid import is_windmill_grid, to_tidemill
from desktop_app.client.http import ClientError, TidemillClient
from desktop_app.gui.apps.base import ComponentView
from desktop_app.gui.apps.canvas import GridCanvas, make_view

Runner = Callable[[Runnable, dict[str, Any]], Awaitable[RunOutcome]]
MESSAGE_SECONDS = 6


def client_runner(client: TidemillClient, app_path: str) -> Runner:
    async def run(runnable: Runnable, args: dict[str, Any]) -> RunOutcome:
        out = await client.execute_component(app_path, runnable.id, args)
        return RunOutcome(out.success, out.result, out.job_id)
    return run


class AppSurface(QWidget):
    """An app's components on the grid, live: the host every component view talks to."""

    def __init__(self, app: AppDefinition, runner: Runner, schemas: dict[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app = app
        self.schemas = schemas
        self.session = AppSession(app, runner, on_change=self._changed,
                                  on_message=self._message)
        self.views: dict[str, ComponentView] = {}
        self.messages: list[tuple[str, str]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.message = QLabel("")
        self.message.setObjectName("appMessage")
        self.message.setVisible(False)
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.canvas = self.child_canvas(app.components)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.canvas)
        layout.addWidget(scroll, 1)
        self._hide = QTimer(self)
        self._hide.setSingleShot(True)
        self._hide.timeout.connect(lambda: self.message.setVisible(False))

    # -- the Host protocol ----------------------------------------------------------------
    def child_canvas(self, children: list[Component]) -> QWidget:
        canvas = GridCanvas()
        for c in children:
            view = make_view(c, self)
            self.views[c.id] = view
            canvas.place(view, c.geometry)
            view.refresh()
        return canvas

    def set_value(self, component_id: str, key: str, value: Any) -> None:
        self._spawn(self.session.set_value(component_id, key, value))

    def run(self, runnable_id: str, extra_args: dict[str, Any] | None = None,
            source: str | None = None) -> None:
        self._spawn(self.session.run(runnable_id, extra_args, source=source))

    # -- life -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Run what runs on load; returns when those runs (and their follow-ups) end."""
        for view in list(self.views.values()):
            view.refresh()
        await self.session.start()
        await self.idle()

    async def idle(self) -> None:
        """Wait until every run and state change started from the UI has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _changed(self, ids: set[str]) -> None:
        for view in list(self.views.values()):
            if view.component.id in ids or view.reads & ids:
                view.refresh()

    def _message(self, level: str, text: str) -> None:
        self.messages.append((level, text))
        self.message.setText(("✓  " if level == "success" else "⚠  ") + text)
        self.message.setProperty("level", level)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setVisible(True)
        self._hide.start(MESSAGE_SECONDS * 1000)


class AppRunWindow(QMainWindow):
    """`tidemill app f/x/y`: the app at a path, in run mode."""

    def __init__(self, client: TidemillClient, open_builder: Callable[[str], Any] | None = None
                 ) -> None:
        super().__init__()
        self.client = client
        self.open_builder = open_builder
        self.path = ""
        self.surface: AppSurface | None = None
        self.code_visible = False
        self.resize(1280, 800)
        central = QWidget()
        self.layout_ = QVBoxLayout(central)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(0)
        bar = QWidget()
        bar.setObjectName("appBar")
        row = QHBoxLayout(bar)
        row.setContentsMargins(12, 8, 12, 8)
        self.title = QLabel("")
        self.title.setObjectName("heading")
        self.subtitle = QLabel("")
        self.subtitle.setObjectName("muted")
        self.reload = QPushButton("Reload")
        self.reload.clicked.connect(lambda: self._spawn(self.load(self.path)))
        self.edit = QPushButton("Edit app")
        self.edit.setVisible(False)
        self.edit.clicked.connect(lambda: self.open_builder and self.open_builder(self.path))
        row.addWidget(self.title)
        row.addWidget(self.subtitle, 1)
        row.addWidget(self.edit)
        row.addWidget(self.reload)
        self.layout_.addWidget(bar)
        self.notice = QLabel("")
        self.notice.setObjectName("empty")
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setWordWrap(True)
        self.layout_.addWidget(self.notice, 1)
        self.setCentralWidget(central)
        self._tasks: set[asyncio.Task[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def load(self, path: str) -> bool:
        """Fetch the app, build it and run what runs on load; False (with the reason shown)
        when it cannot be opened."""
        self.path = path
        if self.surface is not None:
            self.surface.setParent(None)
            self.surface.deleteLater()
            self.surface = None
        try:
            body = await self.client.get_app(path)
            app = AppDefinition.from_api(body)
            if is_windmill_grid(app.value):
                # Windmill's grid app, read as Tidemill's (the stored one is not changed);
                # its unknown components are placeholders, not errors
                app = AppDefinition({"summary": app.summary,
                                     "value": to_tidemill(app.value)})
            else:
                app.validate(with_code=bool(body.get("code_visible")))
        except ClientError as exc:
            return self._fail(f"Cannot open the app {path}", exc.message, exc.hint)
        except Exception as exc:  # a definition this version cannot show
            return self._fail(f"Cannot show the app {path}", getattr(exc, "message", str(exc)))
        self.code_visible = bool(body.get("code_visible"))
        self.edit.setVisible(self.code_visible and self.open_builder is not None)
        self.title.setText(app.summary or path)
        self.subtitle.setText(f"   {path}")
        self.setWindowTitle(f"{app.summary or path} — Tidemill")
        self.notice.setVisible(False)
        self.surface = AppSurface(app, client_runner(self.client, path),
                                  body.get("schemas") or {})
        self.layout_.addWidget(self.surface, 1)
        await self.surface.start()
        return True

    def _fail(self, title: str, message: str, hint: str | None = None) -> bool:
        self.title.setText(title)
        self.notice.setText(message + (f"\n\n{hint}" if hint else ""))
        self.notice.setVisible(True)
        return False
