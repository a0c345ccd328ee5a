"""Entry points: `tidemill app PATH` (run mode in its own window) and the offscreen
screenshots of the app views (`tidemill gui --screenshot F --view app|app-builder`)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication, QMainWindow

from desktop_app.client.http import ClientError, Connection, TidemillClient
from desktop_app.gui import view_names

APP_VIEWS = view_names.APP_VIEWS


def _application(theme: str) -> QApplication:
    from desktop_app.gui.app import _application as make

    return make(theme)


def run_app(conn: Connection, path: str, theme: str = "light") -> int:
    """Open the app at `path` in run mode; returns when its window closes."""
    from desktop_app.gui.apps.run_window import AppRunWindow

    app = _application(theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def main() -> None:
        async with TidemillClient(conn) as client:
            builders: list[QMainWindow] = []

            def open_builder(app_path: str) -> None:
                from desktop_app.gui.apps.builder import AppBuilderWindow
                from desktop_app.gui.tasks import spawn

                builder = AppBuilderWindow(client)
                builders.append(builder)
                builder.show()
                spawn(builder.load(app_path))

            window = AppRunWindow(client, open_builder)
            window.show()
            await window.load(path)
            await closed.wait()

    with loop:
        loop.run_until_complete(main())
    return 0


def screenshot(conn: Connection, out: Path, view: str, path: str | None,
               theme: str = "light") -> None:
    """Render the app at `path` in run mode (`app`) or in the builder (`app-builder`)."""
    if not path:
        raise ValueError(f"the {view} view needs --path f/folder/name (the app's path)")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = _application(theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)

    async def main() -> None:
        async with TidemillClient(conn) as client:
            window: QMainWindow
            if view == "app":
                from desktop_app.gui.apps.run_window import AppRunWindow

                runner = AppRunWindow(client)
                window = runner
                runner.resize(1280, 800)
                runner.show()
                ok = await runner.load(path)
                why = runner.notice.text()
            else:
                from desktop_app.gui.apps.builder import AppBuilderWindow

                builder = AppBuilderWindow(client)
                window = builder
                builder.resize(1280, 800)
                builder.show()
                ok = await builder.load(path)
                why = builder.status.text()
                # Show the property panel too: the first table (else first component).
                parts = [c for c in builder.app.components if c.type == "table"] or \
                    builder.app.components
                if ok and parts:
                    builder.canvas.select(parts[0].id)
            if not ok:
                raise ClientError(f"cannot open the app {path}: {why}")
            await asyncio.sleep(0.3)  # let layouts and charts settle
            app.processEvents()
            if not window.grab().save(str(out)):
                raise OSError(f"could not write {out}")

    with loop:
        loop.run_until_complete(main())
