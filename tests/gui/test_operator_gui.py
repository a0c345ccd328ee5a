"""An operator in the desktop app: a real daemon, a real user with the operator role and a
read grant on the app's folder. The app runs for them; no editor and no code are offered."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from desktop_app.apps.model import AppDefinition
from desktop_app.client.http import TidemillClient
from desktop_app.gui.app import MainWindow
from desktop_app.gui.apps.chart import ChartView
from desktop_app.gui.apps.run_window import AppRunWindow
from desktop_app.gui.code_editor import CodeEditor
from desktop_app.gui.workspace_view import PATH_ROLE
from tests.e2e.daemon_harness import RunningDaemon
from tests.gui.test_apps_gui import FIXTURES, _drive


def test_an_operator_runs_a_shared_app_without_editor_or_code(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    dashboard = AppDefinition.from_yaml((FIXTURES / "dashboard.app.yaml").read_text())
    assert daemon.api("POST", "apps/create",
                      json=dashboard.to_api("f/sales/board")).status_code == 201
    assert daemon.api("POST", "folders/create",
                      json={"name": "sales", "extra_perms": {"u/opal": False}}).status_code == 201
    daemon.cli("user", "add", "opal", "--role", "operator", check=True)
    token = daemon.cli("token", "create", "--user", "opal", check=True).stdout.strip()

    async def body(client: TidemillClient) -> None:
        me = await client.whoami()
        assert me["operator"] is True and me["role"] == "operator"
        w = AppRunWindow(client, open_builder=lambda path: None)
        qtbot.addWidget(w)
        w.show()
        assert await w.load("f/sales/board")
        assert w.code_visible is False and w.edit.isHidden()
        assert w.findChildren(CodeEditor) == []
        assert w.surface is not None
        chart = w.surface.views["by_day"]
        assert isinstance(chart, ChartView)
        assert chart.shown()["series"] == {"amount": [10.0, 20.0, 30.0, 40.0, 50.0]}
        assert w.surface.views["total"].text.text() == "Total: 150"  # type: ignore[attr-defined]
        # a change re-runs the query, as the operator
        w.surface.views["region"].combo.setCurrentText("eu")  # type: ignore[attr-defined]
        await w.surface.idle()
        assert w.surface.views["total"].text.text() == "Total: 60"  # type: ignore[attr-defined]
        assert chart.shown()["series"] == {"amount": [4.0, 8.0, 12.0, 16.0, 20.0]}
        runs = await client.list_jobs()  # hers only, and they ran as her
        assert len(runs) >= 2 and {j["permissioned_as"] for j in runs} == {"u/opal"}

    _drive(qloop, daemon, body, token=token)


SHOUT = '''
def main(name: str, times: int = 1):
    print("shouting at", name)
    return {"shout": (name.upper() + "! ") * times}
'''


def test_an_operator_opens_a_shared_script_as_a_run_form_and_runs_it(
        daemon: RunningDaemon, qtbot: Any, qloop: Any) -> None:
    daemon.deploy("f/ops/shout", SHOUT, summary="Shout a name")
    assert daemon.api("POST", "folders/create",
                      json={"name": "ops", "extra_perms": {"u/otto": False}}).status_code == 201
    daemon.cli("user", "add", "otto", "--role", "operator", check=True)
    token = daemon.cli("token", "create", "--user", "otto", check=True).stdout.strip()

    async def body(client: TidemillClient) -> None:
        w = MainWindow(client)
        qtbot.addWidget(w)
        w.show()
        await w.goto("home")
        assert w.me is not None and w.me["operator"] is True
        assert not any(b.isVisible() for b in (w.home.new_button, w.home.new_flow_button,
                                               w.home.new_app_button))
        assert w.home.visible_paths() == ["f/ops/shout"]
        item = next(i for i in w.home.tree.findItems("", Qt.MatchFlag.MatchContains
                                                     | Qt.MatchFlag.MatchRecursive)
                    if i.data(0, PATH_ROLE) == "f/ops/shout")
        w.home.tree.itemActivated.emit(item, 0)  # a double-click in the workspace tree
        for _ in range(100):
            if w.stack.currentWidget() is w.run_form and w.run_form.form is not None:
                break
            await asyncio.sleep(0.05)
        assert w.stack.currentWidget() is w.run_form
        assert w.run_form.summary.text() == "Shout a name"
        assert w.run_form.form is not None and list(w.run_form.form.fields) == ["name", "times"]
        # no editor, no code, no deploy/history anywhere on screen
        shown = [e for e in w.findChildren(CodeEditor) if e.isVisible()]
        assert shown == []
        texts = [lbl.text() for lbl in w.run_form.findChildren(QLabel)]
        assert not any("def main" in t for t in texts)
        buttons = {b.text() for b in w.findChildren(QPushButton) if b.isVisible()}
        assert not buttons & {"Deploy", "History", "New script…", "New flow…", "New app…"}

        assert await w.run_form.run() is None  # `name` is required: the form says so
        assert "Fix the fields" in w.run_form.status.text()
        w.run_form.form.fields["name"].widget.setText("ada")  # type: ignore[attr-defined]
        w.run_form.form.fields["times"].widget.setText("2")  # type: ignore[attr-defined]
        w.run_form.run_button.click()
        for _ in range(600):
            if w.stack.currentWidget() is w.job and w.job.job.get("type") == "CompletedJob":
                break
            await asyncio.sleep(0.1)
        assert w.job.job.get("type") == "CompletedJob", w.job.job
        assert w.job.result.result == {"shout": "ADA! ADA! "}
        assert w.job.job["permissioned_as"] == "u/otto"
        assert "shouting at ada" in w.job.logs.text()

    _drive(qloop, daemon, body, token=token)
