"""The run-mode surface with a stand-in runner (no daemon): images, messages, loading and
errors shown where the user looks. The real daemon's runs are in test_apps_gui.py."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from desktop_app.apps.evaluation import RunOutcome
from desktop_app.apps.model import AppDefinition, Runnable
from desktop_app.gui.apps.run_window import AppSurface


def _png_base64() -> str:
    image = QImage(4, 3, QImage.Format.Format_RGB32)
    image.fill(QColor("#2f6fdf"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return base64.b64encode(bytes(data.data())).decode()


APP = {"summary": "t", "value": {"components": [
    {"id": "logo", "type": "image", "x": 0, "y": 0, "w": 2, "h": 2,
     "props": {"source": {"expr": "pic.result"}}},
    {"id": "go", "type": "button", "x": 2, "y": 0, "w": 2, "h": 1, "runnable": "fail"},
    {"id": "out", "type": "text", "x": 4, "y": 0, "w": 4, "h": 1,
     "props": {"text": {"expr": "fail.result"}}},
], "runnables": [
    {"id": "pic", "type": "inline", "language": "python3", "content": "", "trigger": "load"},
    {"id": "fail", "type": "script", "path": "f/x/fail", "trigger": "button",
     "on_error": {"message": "It broke"}},
]}}


def test_images_messages_and_errors(qtbot: Any, qloop: Any) -> None:
    png = _png_base64()
    release = asyncio.Event()

    async def runner(r: Runnable, args: dict[str, Any]) -> RunOutcome:
        if r.id == "pic":
            return RunOutcome(True, f"data:image/png;base64,{png}")
        await release.wait()
        return RunOutcome(False, {"error": {"name": "ValueError", "message": "bad row 3"}})

    surface = AppSurface(AppDefinition(APP), runner, {})
    qtbot.addWidget(surface)
    surface.resize(800, 400)
    surface.show()

    async def go() -> None:
        await surface.start()
        logo = surface.views["logo"]
        assert not logo.pixmap.isNull() and logo.pixmap.width() == 4  # type: ignore[attr-defined]
        button = surface.views["go"]
        button.button.click()  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
        assert not button.button.isEnabled()  # type: ignore[attr-defined]
        assert button.button.text() == "Run…"  # type: ignore[attr-defined]
        assert surface.views["out"].badge.text() == "⟳ running fail…"
        release.set()
        await surface.idle()
        assert button.button.isEnabled()  # type: ignore[attr-defined]
        assert surface.messages == [("error", "It broke: ValueError: bad row 3")]
        assert surface.message.text() == "⚠  It broke: ValueError: bad row 3"
        assert not surface.message.isHidden()
        out = surface.views["out"]
        assert out.error.text() == "fail failed: ValueError: bad row 3"

    qloop.run_until_complete(asyncio.wait_for(go(), 30))
