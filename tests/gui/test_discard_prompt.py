"""Leaving the script editor or the flow designer with unsaved edits asks "Discard
changes?": Keep editing stays, Discard goes on and loses them — a real QMessageBox in the
real main window, against a real daemon."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from desktop_app.client.http import Connection, TidemillClient
from desktop_app.flowgraph.commands import SetFlowProperty
from desktop_app.gui.app import MainWindow
from tests.e2e.daemon_harness import RunningDaemon


def _answer(window: MainWindow, button: str, asked: list[str]) -> None:
    """Click `button` of the prompt once it is open (its exec() runs a nested loop)."""
    def click() -> None:
        box = next((b for b in window.findChildren(QMessageBox, "discardPrompt")
                    if b.isVisible()), None)
        if box is None:
            QTimer.singleShot(20, click)
            return
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == button).click()
    QTimer.singleShot(20, click)


def test_leaving_unsaved_edits_asks_first(daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/demo/edited", "def main():\n    return 1\n")

    async def body(w: MainWindow) -> None:
        await w.open_script("f/demo/edited")
        assert w.stack.currentWidget() is w.script
        w.show_view("runs")  # nothing changed: no question
        assert w.stack.currentWidget() is w.runs
        await w.open_script("f/demo/edited")
        w.script.editor.setPlainText("def main():\n    return 2\n")

        asked: list[str] = []
        _answer(w, "Keep editing", asked)
        w.show_view("runs")
        assert asked == ["Your changes to the script f/demo/edited are not saved (deployed). "
                         "Discard them?"]
        assert w.stack.currentWidget() is w.script and w.nav.currentRow() == 0
        assert "return 2" in w.script.editor.toPlainText()

        _answer(w, "Keep editing", asked)
        await w.show_job((await w.client.list_jobs(per_page=1) or [{"id": "x"}])[0]["id"])
        assert len(asked) == 2 and w.stack.currentWidget() is w.script

        _answer(w, "Discard changes", asked)
        w.show_view("schedules")
        assert len(asked) == 3 and w.stack.currentWidget() is w.schedules
        await w.open_script("f/demo/edited")  # the deployed code again, nothing asked
        assert w.script.editor.toPlainText() == "def main():\n    return 1\n"
        assert len(asked) == 3 and not w.script.has_unsaved_changes()

        # The flow designer: an edit not saved asks the same.
        await w.open_flow("f/demo/new_flow")
        assert w.stack.currentWidget() is w.flow
        w.flow.push(SetFlowProperty("summary", "A new summary"))
        _answer(w, "Keep editing", asked)
        await w.open_script("f/demo/edited")
        assert asked[-1] == ("Your changes to the flow f/demo/new_flow are not saved "
                             "(deployed). Discard them?")
        assert w.stack.currentWidget() is w.flow
        _answer(w, "Discard changes", asked)
        await w.open_script("f/demo/edited")
        assert len(asked) == 5 and w.stack.currentWidget() is w.script

    async def go() -> None:
        conn = Connection(url=daemon.url, token=daemon.token)
        async with TidemillClient(conn, timeout=120) as client:
            window = MainWindow(client)
            qtbot.addWidget(window)
            window.show()
            await body(window)
    qloop.run_until_complete(asyncio.wait_for(go(), 180))
